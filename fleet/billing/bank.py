"""Bank statements: load payment lines once, match them to invoices, queue the rest.

A line matches when its purpose names an invoice (СЧ-2026-000123) and the payer's ИНН equals the
invoice company's ИНН: the amount that arrived is credited at once (bank → client; a partial or
an over-payment credits what came) and the invoice is marked paid or partly paid. Any other line
waits in the queue until an operator credits it to a company by hand. A line is identified by
number|date|payer ИНН|amount, so a re-uploaded statement posts nothing twice; its ledger
transaction's idempotency key is ``bank:<that key>``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlmodel import Session, col, select

from fleet import audit
from fleet.access.principal import Principal
from fleet.accounts.models import Company
from fleet.billing import ledger
from fleet.billing.exceptions import (
    BankPaymentNotFoundError,
    InvalidBillingInputError,
    PaymentStateError,
)
from fleet.billing.invoices import find_number
from fleet.billing.models import (
    ACCOUNT_BANK,
    BankPayment,
    BankPaymentStatus,
    Invoice,
    InvoiceStatus,
)
from fleet.billing.statement import StatementLine, parse_statement
from fleet.core.clock import Clock
from fleet.core.config import Settings

__all__ = ["ImportResult", "import_statement", "list_unmatched", "resolve_by_hand"]


@dataclass(frozen=True)
class ImportResult:
    """What an upload did: payment orders read, matched, queued, already loaded, not ours."""

    lines: int
    matched: int
    unmatched: int
    duplicates: int
    skipped: int


def _line_key(line: StatementLine) -> str:
    return f"{line.number}|{line.date}|{line.payer_inn}|{line.amount}"


def _match(session: Session, line: StatementLine) -> tuple[Invoice | None, str | None]:
    number = find_number(line.purpose)
    if number is None:
        return None, "В назначении платежа нет номера счёта"
    invoice = session.exec(select(Invoice).where(Invoice.number == number)).first()
    if invoice is None:
        return None, f"Счёт {number} не найден"
    company = session.get(Company, invoice.company_id)
    if company is None or company.inn != line.payer_inn:
        return (
            None,
            f"ИНН плательщика {line.payer_inn} не совпадает с ИНН клиента по счёту {number}",
        )
    return invoice, None


def _credit(
    session: Session,
    clock: Clock,
    payment: BankPayment,
    company_id: int,
    user_id: int | None,
) -> None:
    posting = ledger.credit(
        session,
        clock,
        company_id=company_id,
        amount=payment.amount,
        source=ACCOUNT_BANK,
        kind="bank",
        memo=f"Платёж по выписке: п/п № {payment.doc_number} от {payment.doc_date}",
        idempotency_key=f"bank:{payment.line_key}",
        user_id=user_id,
    )
    payment.transaction_id = posting.transaction.id
    payment.company_id = company_id


def import_statement(
    *, session: Session, clock: Clock, settings: Settings, principal: Principal, data: bytes
) -> ImportResult:
    """Load a statement file (parsed whole before anything is written); commits."""
    lines = parse_statement(data)
    now = clock.wall()
    matched = unmatched = duplicates = skipped = 0
    for line in lines:
        if line.payer_inn == settings.bank_inn or (
            line.recipient_inn is not None and line.recipient_inn != settings.bank_inn
        ):
            skipped += 1  # our own outgoing payment, or money to someone else
            continue
        key = _line_key(line)
        if session.exec(select(BankPayment.id).where(BankPayment.line_key == key)).first():
            duplicates += 1
            continue
        invoice, reason = _match(session, line)
        payment = BankPayment(
            line_key=key,
            doc_number=line.number,
            doc_date=line.date,
            amount=line.amount,
            payer_inn=line.payer_inn,
            payer_name=line.payer_name[:300],
            purpose=line.purpose[:1000],
            status=BankPaymentStatus.UNMATCHED if invoice is None else BankPaymentStatus.MATCHED,
            reason=reason,
            created_at=now,
        )
        session.add(payment)
        session.flush()
        if invoice is None:
            unmatched += 1
            continue
        _credit(session, clock, payment, invoice.company_id, principal.user_id)
        payment.invoice_id = invoice.id
        invoice.paid_amount += line.amount
        invoice.status = (
            InvoiceStatus.PAID if invoice.paid_amount >= invoice.amount else InvoiceStatus.PARTIAL
        )
        if invoice.status == InvoiceStatus.PAID and invoice.paid_at is None:
            invoice.paid_at = now
        session.add_all([payment, invoice])
        audit.record(
            session,
            clock,
            action="bank_payment.match",
            entity="bank_payment",
            entity_id=payment.id,
            company_id=invoice.company_id,
            user_id=principal.user_id,
            invoice=invoice.number,
            amount=line.amount,
        )
        matched += 1
    result = ImportResult(len(lines), matched, unmatched, duplicates, skipped)
    audit.record(
        session,
        clock,
        action="bank_statement.upload",
        entity="bank_statement",
        user_id=principal.user_id,
        lines=result.lines,
        matched=matched,
        unmatched=unmatched,
        duplicates=duplicates,
        skipped=skipped,
    )
    session.commit()
    return result


def list_unmatched(session: Session) -> Sequence[BankPayment]:
    """The operator's queue: lines waiting to be credited by hand, oldest first."""
    return session.exec(
        select(BankPayment)
        .where(BankPayment.status == BankPaymentStatus.UNMATCHED)
        .order_by(col(BankPayment.id))
    ).all()


def resolve_by_hand(
    *, session: Session, clock: Clock, principal: Principal, bank_payment_id: int, company_id: int
) -> BankPayment:
    """An operator credits an unmatched line to a company; commits."""
    payment = session.get(BankPayment, bank_payment_id, with_for_update=True)
    if payment is None:
        raise BankPaymentNotFoundError(f"Платёж по выписке № {bank_payment_id} не найден")
    if payment.status != BankPaymentStatus.UNMATCHED:
        raise PaymentStateError(f"Платёж по выписке № {bank_payment_id} уже зачислен")
    if session.get(Company, company_id) is None:
        raise InvalidBillingInputError(
            "Компания не найдена", fields={"company_id": f"Нет компании № {company_id}"}
        )
    _credit(session, clock, payment, company_id, principal.user_id)
    payment.status = BankPaymentStatus.RESOLVED
    payment.resolved_at = clock.wall()
    payment.resolved_by = principal.user_id
    session.add(payment)
    audit.record(
        session,
        clock,
        action="bank_payment.resolve",
        entity="bank_payment",
        entity_id=payment.id,
        company_id=company_id,
        user_id=principal.user_id,
        amount=payment.amount,
    )
    session.commit()
    return payment
