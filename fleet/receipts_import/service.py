"""Preview and send the receipts of a bank statement or an acquiring registry.

`read` parses the file (1CClientBankExchange by its first line, else the CSV registry);
`preview` says for each payment what will happen — a new receipt (with the shared schema's
verdict), already receipted (its receipt), or skipped and why; `send` makes the new ones through
fleet/receipts `create_receipt` (the one entry for every receipt) and files each payment's key.
`create_receipt` commits per receipt and is idempotent on the external id derived from the key,
so a send interrupted half-way and repeated makes each receipt once.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Final

from sqlmodel import Session, col, select

from fleet.access.principal import Principal
from fleet.accounts.models import Company
from fleet.core.clock import Clock
from fleet.receipts import service as receipts
from fleet.receipts.exceptions import IdempotencyConflictError, InvalidReceiptError
from fleet.receipts_import import acquiring, onec, plan
from fleet.receipts_import.exceptions import InvalidImportError
from fleet.receipts_import.models import ImportedPayment
from protocol.portable import codes, vat

__all__ = ["MAX_FILE", "Outcome", "PreviewRow", "preview", "read", "send", "settings_from"]

MAX_FILE: Final = 5 * 1024 * 1024
MSK: Final = dt.timezone(dt.timedelta(hours=3))


@dataclass(frozen=True)
class PreviewRow:
    """One payment and what sending will do with it: ``new``, ``done``, ``skip``, ``invalid``."""

    payment: plan.Payment
    status: str
    item_name: str
    reason: str = ""
    receipt_id: int | None = None


@dataclass
class Outcome:
    """What a send did."""

    created: list[int] = field(default_factory=list)  # receipt ids
    repeated: int = 0  # already receipted (skipped)
    failed: list[tuple[plan.Payment, str]] = field(default_factory=list)


def read(data: bytes, company_inn: str) -> tuple[str, list[plan.Payment]]:
    """("bank" | "acquiring", payments) of an uploaded file; ImportFileError names the line."""
    if not data.strip():
        raise InvalidImportError("Файл пуст", fields={"file": "Выберите файл выписки или реестра"})
    if len(data) > MAX_FILE:
        raise InvalidImportError(
            "Файл больше 5 МБ", fields={"file": "Разбейте выписку на части до 5 МБ"}
        )
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(onec.HEADER.encode()):
        return "bank", plan.from_statement(onec.parse(data), company_inn)
    return "acquiring", plan.from_acquiring(acquiring.parse(data))


def settings_from(
    tax_system: str, vat_name: str, item_type: str, item_name: str
) -> plan.ImportSettings:
    """The form's settings, checked; InvalidImportError names the field."""
    fields: dict[str, str] = {}
    if tax_system not in codes.TAX_SYSTEMS:
        fields["tax_system"] = "Выберите систему налогообложения"
    if vat_name not in vat.NAMES:
        fields["vat"] = "Выберите ставку НДС"
    kind = int(item_type) if item_type.isdigit() else 0
    if kind not in plan.ITEM_TYPES:
        fields["item_type"] = "Выберите признак предмета расчёта"
    if len(item_name) > plan.MAX_NAME:
        fields["item_name"] = f"Не длиннее {plan.MAX_NAME} символов"
    if fields:
        raise InvalidImportError("Настройки чеков неверны", fields=fields)
    return plan.ImportSettings(
        tax_system=tax_system, vat=vat_name, item_type=kind, item_name=item_name.strip()
    )


def _done(session: Session, company_id: int, keys: list[str]) -> dict[str, int | None]:
    if not keys:
        return {}
    rows = session.exec(
        select(ImportedPayment.key, ImportedPayment.receipt_id).where(
            ImportedPayment.company_id == company_id, col(ImportedPayment.key).in_(keys)
        )
    ).all()
    return {k: r for k, r in rows}


def company_inn(session: Session, principal: Principal) -> str:
    """The company's ИНН (own transfers are not sales)."""
    company = session.get(Company, principal.company_id)
    return company.inn if company is not None else ""


def preview(
    session: Session,
    principal: Principal,
    clock: Clock,
    payments: list[plan.Payment],
    s: plan.ImportSettings,
) -> list[PreviewRow]:
    """What sending would do with each payment (nothing is written)."""
    now = dt.datetime.fromtimestamp(clock.wall(), MSK).isoformat(timespec="seconds")
    done = _done(session, principal.company_id, [p.key for p in payments])
    seen: set[str] = set()
    out = []
    for p in payments:
        name = plan.item_name(p, s.item_name)
        if p.key in done:
            out.append(PreviewRow(p, "done", name, "чек уже пробит", done[p.key]))
            continue
        if p.key in seen:
            out.append(PreviewRow(p, "skip", name, "повтор строки в этом же файле"))
            continue
        seen.add(p.key)
        if p.skip_reason:
            out.append(PreviewRow(p, "skip", name, p.skip_reason))
            continue
        errors = plan.validate(plan.request_for(principal.company_id, p, s), now)
        if errors:
            reason = "; ".join(f"{path}: {msg}" if path else msg for path, _c, msg in errors)
            out.append(PreviewRow(p, "invalid", name, reason))
        else:
            out.append(PreviewRow(p, "new", name))
    return out


def send(
    session: Session,
    principal: Principal,
    clock: Clock,
    payments: list[plan.Payment],
    s: plan.ImportSettings,
    keys: set[str] | None = None,
) -> Outcome:
    """Make the receipts of the new payments (those in ``keys``, or all); commits per receipt."""
    out = Outcome()
    for row in preview(session, principal, clock, payments, s):
        p = row.payment
        if keys is not None and p.key not in keys:
            continue
        if row.status == "done":
            out.repeated += 1
            continue
        if row.status != "new":
            continue
        body = plan.request_for(principal.company_id, p, s)
        try:
            rec, _created = receipts.create_receipt(session, principal, body, clock=clock)
        except (InvalidReceiptError, IdempotencyConflictError) as e:
            session.rollback()
            out.failed.append((p, e.message))
            continue
        session.add(
            ImportedPayment(
                company_id=principal.company_id,
                key=p.key,
                source=p.source,
                amount=p.amount,
                receipt_id=rec.id,
                user_id=principal.user_id,
                created_at=clock.wall(),
            )
        )
        session.commit()
        assert rec.id is not None
        out.created.append(rec.id)
    return out
