"""Compat receipts: created through fleet/receipts/service.py (the one pipeline), known to the
peers' clients by a UUID kept in `compatreceipt`.

Idempotency is the receipts service's, on (company, external id): the same request again is
the same receipt; another body under a known external id is refused with the existing
receipt, so each API can answer its peer's "duplicate" error *with* the existing UUID.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from fleet.access.permissions import Permission
from fleet.access.principal import Principal
from fleet.compat.exceptions import CompatNotFoundError
from fleet.compat.models import CompatCallbackStatus, CompatReceipt, Peer
from fleet.core.clock import Clock
from fleet.receipts import service
from fleet.receipts.exceptions import IdempotencyConflictError, ReceiptNotFoundError
from fleet.receipts.models import Receipt, ReceiptPart
from fleet.registers.models import Register

__all__ = ["Made", "by_external_id", "by_uuid", "create", "listed", "made_of"]


@dataclass(frozen=True)
class Made:
    """A compat receipt: its peer row, the receipt, its parts, and how the call ended."""

    compat: CompatReceipt
    receipt: Receipt
    parts: list[ReceiptPart]
    created: bool  # a new receipt
    conflict: bool = False  # the external id names a receipt with another body
    rnm: str | None = None  # the register's registration number (first part)


def made_of(
    session: Session, compat: CompatReceipt, rec: Receipt, created: bool, conflict: bool
) -> Made:
    """The compat receipt with its parts and its first part's register number."""
    assert rec.id is not None
    parts = service.parts_of(session, [rec.id])[rec.id]
    reg = None
    if parts and parts[0].register_id is not None:
        reg = session.get(Register, parts[0].register_id)
    return Made(compat, rec, parts, created, conflict, None if reg is None else reg.rnm)


def _compat_row(
    session: Session,
    clock: Clock,
    rec: Receipt,
    peer: Peer,
    operation: str,
    group_code: str | None,
    callback_url: str | None,
) -> CompatReceipt:
    """The receipt's peer row, made when a receipt first passes through a compat API."""
    assert rec.id is not None
    row = session.get(CompatReceipt, rec.id)
    if row is not None:
        return row
    row = CompatReceipt(
        receipt_id=rec.id,
        company_id=rec.company_id,
        peer=peer.value,
        uuid=str(uuid.uuid4()),
        group_code=group_code,
        operation=operation,
        callback_url=callback_url or None,
        callback_status=CompatCallbackStatus.PENDING.value if callback_url else None,
        callback_next_at=clock.wall() if callback_url else None,
        created_at=clock.wall(),
    )
    try:
        session.add(row)
        session.commit()
    except IntegrityError:  # a concurrent first call made it
        session.rollback()
        found = session.get(CompatReceipt, rec.id)
        if found is None:
            raise
        return found
    return row


def create(
    session: Session,
    clock: Clock,
    principal: Principal,
    peer: Peer,
    body: dict[str, Any],
    *,
    operation: str,
    group_code: str | None = None,
    store_id: int | None = None,
    callback_url: str | None = None,
) -> Made:
    """Create the receipt of a mapped request (the shared schema), or find the one its
    external id names. InvalidReceiptError when the shared check refuses it."""
    principal.check(Permission.RECEIPTS_CREATE)
    try:
        rec, created = service.create_receipt(
            session, principal, body, clock=clock, store_id=store_id
        )
        conflict = False
    except IdempotencyConflictError as e:
        rec = service.get_receipt(session, principal, e.receipt_id)
        created, conflict = False, True
    compat = _compat_row(session, clock, rec, peer, operation, group_code, callback_url)
    return made_of(session, compat, rec, created, conflict)


def by_uuid(session: Session, principal: Principal, receipt_uuid: str) -> Made:
    """The caller's compat receipt by its UUID."""
    principal.check(Permission.RECEIPTS_VIEW)
    row = session.exec(select(CompatReceipt).where(CompatReceipt.uuid == receipt_uuid)).first()
    rec = None if row is None else session.get(Receipt, row.receipt_id)
    if row is None or rec is None or rec.company_id != principal.company_id:
        raise CompatNotFoundError(f"Чек с UUID {receipt_uuid} не найден")
    return made_of(session, row, rec, False, False)


def by_external_id(
    session: Session, clock: Clock, principal: Principal, peer: Peer, external_id: str
) -> Made:
    """The caller's receipt by its external id (a native one gets its UUID now)."""
    principal.check(Permission.RECEIPTS_VIEW)
    try:
        rec = service.find_by_external_id(session, principal, external_id)
    except ReceiptNotFoundError as e:
        raise CompatNotFoundError(e.message) from e
    row = _compat_row(session, clock, rec, peer, rec.kind, None, None)
    return made_of(session, row, rec, False, False)


def listed(
    session: Session, principal: Principal, since: float, until: float, limit: int = 1000
) -> list[Made]:
    """The caller's compat receipts created in [since, until), oldest first."""
    principal.check(Permission.RECEIPTS_VIEW)
    rows: Sequence[tuple[CompatReceipt, Receipt]] = session.exec(
        select(CompatReceipt, Receipt)
        .join(Receipt, col(Receipt.id) == col(CompatReceipt.receipt_id))
        .where(
            CompatReceipt.company_id == principal.company_id,
            col(Receipt.created_at) >= since,
            col(Receipt.created_at) < until,
        )
        .order_by(col(Receipt.created_at), col(Receipt.id))
        .limit(limit)
    ).all()
    return [made_of(session, c, r, False, False) for c, r in rows]
