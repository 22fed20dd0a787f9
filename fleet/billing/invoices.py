"""Invoices for payment by bank transfer: numbered СЧ-<year>-<6 digits>, printed as a page."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final

from sqlmodel import Session, col, select

from fleet import audit
from fleet.access.principal import Principal
from fleet.billing.acquiring import validate_amount
from fleet.billing.exceptions import InvoiceNotFoundError
from fleet.billing.models import Invoice
from fleet.billing.periods import moscow
from fleet.core.clock import Clock

__all__ = ["NUMBER_PATTERN", "create_invoice", "find_number", "get_invoice", "list_invoices"]

#: An invoice number in a payment's purpose; the dash may be any dash, the prefix any case.
NUMBER_PATTERN: Final = re.compile(r"СЧ\s*[-‐‑–—]\s*(\d{4})\s*[-‐‑–—]\s*(\d{6})", re.IGNORECASE)


def invoice_number(year: int, invoice_id: int) -> str:
    """The printed number of an invoice."""
    return f"СЧ-{year}-{invoice_id:06d}"


def find_number(purpose: str) -> str | None:
    """The first invoice number in a payment purpose, normalised, or None."""
    match = NUMBER_PATTERN.search(purpose)
    return None if match is None else f"СЧ-{match.group(1)}-{match.group(2)}"


def create_invoice(*, session: Session, clock: Clock, principal: Principal, amount: int) -> Invoice:
    """Issue an invoice to the company for a top-up of ``amount`` kopecks."""
    validate_amount(amount)
    now = clock.wall()
    invoice = Invoice(
        company_id=principal.company_id, user_id=principal.user_id, amount=amount, created_at=now
    )
    session.add(invoice)
    session.flush()
    assert invoice.id is not None
    invoice.number = invoice_number(moscow(now).year, invoice.id)
    session.add(invoice)
    audit.record(
        session,
        clock,
        action="invoice.create",
        entity="invoice",
        entity_id=invoice.id,
        company_id=principal.company_id,
        user_id=principal.user_id,
        number=invoice.number,
        amount=amount,
    )
    session.commit()
    return invoice


def get_invoice(*, session: Session, company_id: int, invoice_id: int) -> Invoice:
    """The company's invoice (another company's: not found)."""
    invoice = session.get(Invoice, invoice_id)
    if invoice is None or invoice.company_id != company_id:
        raise InvoiceNotFoundError(f"Счёт № {invoice_id} не найден")
    return invoice


def list_invoices(*, session: Session, company_id: int) -> Sequence[Invoice]:
    """The company's invoices, newest first."""
    return session.exec(
        select(Invoice).where(Invoice.company_id == company_id).order_by(col(Invoice.id).desc())
    ).all()
