"""The one entry point delivery calls: the buyer's receipt framed by the template that applies.

`frame` returns None — send the receipt plain — when no template applies to the receipt's
campaign, register or store at the time it was made, or when the buyer has not agreed to
advertising. A string is an advertising receipt (billed at `pricing.ad_receipt_price`).
"""

from __future__ import annotations

from sqlmodel import Session, col, select

from fleet.adreceipts import consent, markup, service
from fleet.adreceipts.models import AdTemplate
from fleet.receipts.models import Receipt, ReceiptPart
from fleet.registers.models import Register

__all__ = ["frame", "template_for"]


def template_for(session: Session, receipt: Receipt) -> AdTemplate | None:
    """The template for this receipt by campaign > register > store, ignoring consent."""
    part = session.exec(
        select(ReceiptPart)
        .where(ReceiptPart.receipt_id == receipt.id)
        .order_by(col(ReceiptPart.part_no))
    ).first()
    register_id = None if part is None else part.register_id
    store_id = None if part is None else part.store_id
    if store_id is None and register_id is not None:
        register = session.get(Register, register_id)
        store_id = None if register is None else register.store_id
    at = receipt.fiscalised_at if receipt.fiscalised_at is not None else receipt.created_at
    return service.applicable(session, receipt.company_id, register_id, store_id, at)


def frame(
    session: Session, receipt_id: int, html: str, *, base_url: str | None = None
) -> str | None:
    """``html`` (a whole document or a fragment; kept byte for byte) framed by the applicable
    template, or None. Pictures link to ``{base_url}/ad/images/…`` when given, else are inline
    data URIs (some mail clients do not show those: pass the fleet's base URL)."""
    receipt = session.get(Receipt, receipt_id)
    if receipt is None:
        return None
    contact = receipt.body.get("buyer_contact") if isinstance(receipt.body, dict) else None
    if not isinstance(contact, str) or not consent.granted(session, receipt.company_id, contact):
        return None
    template = template_for(session, receipt)
    if template is None:
        return None
    return markup.document(service.view_of(session, template, base_url=base_url), html)
