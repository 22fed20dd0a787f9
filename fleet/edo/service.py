"""The EDO service: connect a company to its operator, make the month's closing documents from
the billing ledger, send them once through the gateway and follow their signatures.

A document is one row per (company, month, kind) (a unique constraint), made with its XML before
anything is sent; the send carries the key ``<company>:<month>:<kind>`` so a retry after a lost
answer gets the operator's existing document back. A failed send stays "ready" with the error
and is tried again after a back-off; nothing is ever sent twice.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from dataclasses import dataclass
from typing import Final

from sqlmodel import Session, col, or_, select

from fleet.accounts.models import Company
from fleet.billing.ledger import client_account_code
from fleet.billing.models import LedgerAccount, LedgerEntry, LedgerTransaction
from fleet.core.clock import Clock
from fleet.edo.exceptions import (
    EdoDocumentNotFoundError,
    EdoInputError,
    EdoNotConnectedError,
    EdoUnavailableError,
)
from fleet.edo.gateway import EdoAnswer, EdoGateway, OutgoingDocument
from fleet.edo.models import (
    EdoConnection,
    EdoDocument,
    EdoDocumentKind,
    EdoDocumentStatus,
    EdoLinkStatus,
)
from fleet.edo.upd import Party, UpdLine, build_upd, check_upd, upd_bytes, vat_of

__all__ = [
    "KIND_LABEL",
    "MSK",
    "Seller",
    "assemble",
    "assemble_due",
    "connect",
    "connection",
    "disconnect",
    "document",
    "documents",
    "exchange",
    "kind_of",
    "previous_period",
]

MSK: Final = dt.timezone(dt.timedelta(hours=3))
OPERATOR_RE: Final = re.compile(r"2[0-9A-Z]{2}")
PARTICIPANT_RE: Final = re.compile(r"2[0-9A-Z]{2}[0-9A-Za-z-]{1,43}")
RETRY_S: Final = (60.0, 300.0, 900.0, 3600.0)  # back-off after failed sends, then hourly
KIND_LABEL: Final[dict[str, str]] = {
    EdoDocumentKind.TARIFFS: "Абонентская плата по тарифам",
    EdoDocumentKind.DRIVES: "Фискальные накопители",
    EdoDocumentKind.MESSAGES: "Платные сообщения (SMS и мессенджеры)",
}
_KIND_CODE: Final = {"tariffs": "Т", "drives": "Ф", "messages": "С"}
REFUND_KIND: Final = "delivery_refund"  # fleet/delivery/pricing.py: a refused message paid back


@dataclass(frozen=True)
class Seller:
    """Oblako itself on the document: requisites and its own EDO participant id."""

    name: str
    inn: str
    kpp: str
    participant_id: str


def kind_of(ledger_kind: str) -> EdoDocumentKind | None:
    """Which closing document a ledger charge belongs to (None: not a service sold)."""
    if ledger_kind in ("subscription", "booking"):
        return EdoDocumentKind.TARIFFS
    if ledger_kind == "drives" or ledger_kind.startswith("drive."):
        return EdoDocumentKind.DRIVES
    if ledger_kind.startswith(("message", "delivery", "sms")):
        return EdoDocumentKind.MESSAGES
    return None


def connection(session: Session, company_id: int) -> EdoConnection | None:
    """The company's EDO connection, if any."""
    return session.get(EdoConnection, company_id)


def connect(
    session: Session,
    clock: Clock,
    gateway: EdoGateway,
    company_id: int,
    *,
    operator_id: str,
    participant_id: str,
) -> EdoConnection:
    """Check the ids with the operator and keep the connection (active or refused). Commits.
    Bad input raises `EdoInputError`; a silent operator raises `EdoUnavailableError`; in both
    cases nothing changes."""
    operator_id, participant_id = operator_id.strip().upper(), participant_id.strip()
    fields: dict[str, str] = {}
    if not OPERATOR_RE.fullmatch(operator_id):
        fields["operator_id"] = (
            "Идентификатор оператора ЭДО: три символа, первый — 2 (например 2BE)"
        )
    if not PARTICIPANT_RE.fullmatch(participant_id):
        fields["participant_id"] = (
            "Идентификатор участника ЭДО: от 4 до 46 символов (латиница, цифры, дефис), "
            "начинается с идентификатора оператора"
        )
    elif not fields and not participant_id.upper().startswith(operator_id):
        fields["participant_id"] = (
            f"Идентификатор участника должен начинаться с идентификатора оператора {operator_id}"
        )
    if fields:
        raise EdoInputError("Проверьте данные подключения к ЭДО", fields=fields)
    company = session.get(Company, company_id)
    if company is None:
        raise EdoInputError(f"Компания {company_id} не найдена")
    answer = gateway.check_participant(operator_id, participant_id, company.inn)
    now = clock.wall()
    row = session.get(EdoConnection, company_id) or EdoConnection(
        company_id=company_id,
        operator_id=operator_id,
        participant_id=participant_id,
        status=EdoLinkStatus.ACTIVE.value,
        created_at=now,
        updated_at=now,
    )
    row.operator_id, row.participant_id, row.updated_at = operator_id, participant_id, now
    if answer.known:
        row.status, row.message = EdoLinkStatus.ACTIVE.value, answer.name[:300] or None
    else:
        row.status = EdoLinkStatus.REFUSED.value
        row.message = (answer.reason or "Оператор ЭДО не знает этого участника")[:300]
    session.add(row)
    session.commit()
    return row


def disconnect(session: Session, clock: Clock, company_id: int) -> EdoConnection:
    """Stop sending new documents (those sent keep their state). Commits."""
    row = session.get(EdoConnection, company_id)
    if row is None:
        raise EdoNotConnectedError("ЭДО не подключён")
    row.status, row.updated_at = EdoLinkStatus.DISCONNECTED.value, clock.wall()
    session.add(row)
    session.commit()
    return row


def previous_period(now: float) -> str:
    """The Moscow month before the one ``now`` falls in (``YYYY-MM``)."""
    first = dt.datetime.fromtimestamp(now, MSK).date().replace(day=1)
    return (first - dt.timedelta(days=1)).strftime("%Y-%m")


def _bounds(period: str) -> tuple[float, float, dt.date]:
    try:
        first = dt.datetime.strptime(period + "-01", "%Y-%m-%d").replace(tzinfo=MSK)
    except ValueError as exc:
        raise EdoInputError(f"Месяц «{period}» не в формате ГГГГ-ММ") from exc
    following = (first + dt.timedelta(days=32)).replace(day=1)
    return first.timestamp(), following.timestamp(), (following - dt.timedelta(days=1)).date()


def _charges(
    session: Session, company_id: int, start: float, end: float
) -> list[tuple[str, str, int]]:
    """The month's charges of the company: (ledger kind, memo, kopecks), oldest first; a
    refund of a paid message comes as a negative amount."""
    account = session.exec(
        select(LedgerAccount).where(LedgerAccount.code == client_account_code(company_id))
    ).first()
    if account is None:
        return []
    rows = session.exec(
        select(LedgerTransaction.kind, LedgerTransaction.memo, LedgerEntry.amount)
        .join(LedgerEntry, col(LedgerEntry.transaction_id) == col(LedgerTransaction.id))
        .where(
            LedgerEntry.account_id == account.id,
            or_(
                col(LedgerEntry.amount) < 0,
                col(LedgerTransaction.kind) == REFUND_KIND,
            ),
            col(LedgerTransaction.created_at) >= start,
            col(LedgerTransaction.created_at) < end,
        )
        .order_by(col(LedgerTransaction.created_at), col(LedgerTransaction.id))
    ).all()
    return [(kind, memo, -amount) for kind, memo, amount in rows]


def _net(lines: list[UpdLine], refunds: int) -> list[UpdLine]:
    """The lines less the month's refunds (taken from the last lines first): the document says
    what the client paid for in the end; a line brought to zero is left out."""
    out: list[UpdLine] = []
    for line in reversed(lines):
        taken = min(refunds, line.amount)
        refunds -= taken
        if line.amount > taken:
            out.append(UpdLine(line.name, line.amount - taken))
    return out[::-1]


def assemble(
    session: Session, clock: Clock, seller: Seller, company_id: int, period: str
) -> list[EdoDocument]:
    """Make the month's closing documents the company does not have yet (one per kind with
    charges). Needs an active connection. Flushes; returns the new documents."""
    link = session.get(EdoConnection, company_id)
    company = session.get(Company, company_id)
    if link is None or link.status != EdoLinkStatus.ACTIVE or company is None:
        raise EdoNotConnectedError("ЭДО не подключён: укажите оператора и идентификатор участника")
    start, end, last_day = _bounds(period)
    grouped: dict[EdoDocumentKind, list[UpdLine]] = defaultdict(list)
    messages: dict[str, list[int]] = {}  # memo → [count, kopecks]: one line per channel
    refunds = 0
    for ledger_kind, memo, amount in _charges(session, company_id, start, end):
        kind = kind_of(ledger_kind)
        if ledger_kind == REFUND_KIND:
            refunds -= amount
        elif kind == EdoDocumentKind.MESSAGES:
            counted = messages.setdefault(memo, [0, 0])
            counted[0], counted[1] = counted[0] + 1, counted[1] + amount
        elif kind is not None:
            grouped[kind].append(UpdLine(name=memo, amount=amount))
    grouped[EdoDocumentKind.MESSAGES] = _net(
        [UpdLine(f"{memo} ({n} шт.)", total) for memo, (n, total) in messages.items()], refunds
    )
    existing = set(
        session.exec(
            select(EdoDocument.kind).where(
                EdoDocument.company_id == company_id, EdoDocument.period == period
            )
        ).all()
    )
    made: list[EdoDocument] = []
    now = clock.wall()
    for kind in EdoDocumentKind:
        lines = grouped.get(kind)
        if not lines or kind.value in existing:
            continue
        number = f"{period}/{company_id}-{_KIND_CODE[kind]}"
        xml, fid = build_upd(
            seller=Party(seller.name, seller.inn, seller.kpp),
            buyer=Party(company.name, company.inn),
            sender_id=seller.participant_id,
            recipient_id=link.participant_id,
            number=number,
            day=last_day,
            made_at=dt.datetime.fromtimestamp(now, MSK),
            lines=lines,
            basis=f"Договор-оферта Облака, {KIND_LABEL[kind].lower()}",
        )
        check_upd(upd_bytes(xml))  # never send a document that breaks the format
        row = EdoDocument(
            company_id=company_id,
            period=period,
            kind=kind.value,
            number=number,
            amount=sum(line.amount for line in lines),
            vat=sum(vat_of(line.amount) for line in lines),
            lines=[{"name": line.name, "amount": line.amount} for line in lines],
            file_id=fid,
            xml=xml,
            recipient_id=link.participant_id,
            created_at=now,
            next_attempt_at=now,
        )
        session.add(row)
        made.append(row)
    session.flush()
    return made


def assemble_due(session: Session, clock: Clock, seller: Seller) -> int:
    """The previous month's documents of every connected company (idempotent). Flushes."""
    period = previous_period(clock.wall())
    links = session.exec(
        select(EdoConnection).where(EdoConnection.status == EdoLinkStatus.ACTIVE.value)
    ).all()
    return sum(len(assemble(session, clock, seller, link.company_id, period)) for link in links)


def _apply(row: EdoDocument, answer: EdoAnswer, now: float) -> bool:
    """Take the operator's state; True when it changed."""
    before = (row.status, row.edo_id)
    row.edo_id = answer.edo_id
    if answer.status == "signed":
        row.status = EdoDocumentStatus.SIGNED.value
    elif answer.status == "refused":
        row.status = EdoDocumentStatus.REFUSED.value
        row.refusal = (answer.reason or "Отказ без указания причины")[:500]
    else:
        row.status = EdoDocumentStatus.SENT.value
    if row.status in (EdoDocumentStatus.SIGNED, EdoDocumentStatus.REFUSED):
        row.answered_at = answer.answered_at or now
    row.last_error, row.next_attempt_at = None, None
    return (row.status, row.edo_id) != before


def exchange(session: Session, clock: Clock, gateway: EdoGateway, seller: Seller) -> int:
    """Send the ready documents that are due and ask about the sent ones. Commits after each
    document, so one failure never undoes another's progress. Returns documents changed."""
    now = clock.wall()
    changed = 0
    due = session.exec(
        select(EdoDocument)
        .join(EdoConnection, col(EdoConnection.company_id) == col(EdoDocument.company_id))
        .where(
            EdoDocument.status == EdoDocumentStatus.READY.value,
            col(EdoDocument.next_attempt_at) <= now,
            EdoConnection.status == EdoLinkStatus.ACTIVE.value,  # disconnected: held back
        )
        .order_by(col(EdoDocument.id))
    ).all()
    for row in due:
        assert row.id is not None
        outgoing = OutgoingDocument(
            key=f"{row.company_id}:{row.period}:{row.kind}",
            sender_id=seller.participant_id,
            recipient_id=row.recipient_id,
            kind=row.kind,
            number=row.number,
            file_name=row.file_id + ".xml",
            content=upd_bytes(row.xml),
        )
        try:
            answer = gateway.send(outgoing)
        except EdoUnavailableError as exc:
            row.attempts += 1
            row.last_error = exc.message[:300]
            row.next_attempt_at = now + RETRY_S[min(row.attempts, len(RETRY_S)) - 1]
            session.add(row)
            session.commit()
            continue
        row.attempts += 1
        row.sent_at = now
        _apply(row, answer, now)
        session.add(row)
        session.commit()
        changed += 1
    waiting = session.exec(
        select(EdoDocument)
        .where(EdoDocument.status == EdoDocumentStatus.SENT.value)
        .order_by(col(EdoDocument.id))
    ).all()
    for row in waiting:
        assert row.edo_id is not None
        try:
            answer = gateway.status(row.edo_id)
        except EdoUnavailableError as exc:
            row.last_error = exc.message[:300]
            session.add(row)
            session.commit()
            continue
        if _apply(row, answer, now):
            changed += 1
        session.add(row)
        session.commit()
    return changed


def documents(session: Session, company_id: int) -> list[EdoDocument]:
    """The company's closing documents, newest month first."""
    return list(
        session.exec(
            select(EdoDocument)
            .where(EdoDocument.company_id == company_id)
            .order_by(col(EdoDocument.period).desc(), col(EdoDocument.kind))
        ).all()
    )


def document(session: Session, company_id: int, document_id: int) -> EdoDocument:
    """One of the company's documents (another company's is "not found")."""
    row = session.get(EdoDocument, document_id)
    if row is None or row.company_id != company_id:
        raise EdoDocumentNotFoundError(f"Документ ЭДО № {document_id} не найден")
    return row
