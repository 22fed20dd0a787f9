"""Buyers' contacts are personal data (152-FZ): kept only as long as the company's retention
setting says, exportable and erasable on a buyer's request; both requests are audited.

What stays after erasure: the masked address (``i***@m***.ru``) and a keyed hash, so the proof
of sending survives and a repeated request still finds the rows. The fiscal document itself
(tag 1008 inside it) is kept as the law on cash registers requires and is not touched here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import case, true, update
from sqlmodel import Session, col, select

from fleet import audit
from fleet.access.principal import Principal
from fleet.core.clock import Clock
from fleet.delivery.exceptions import DeliveryError
from fleet.delivery.models import Delivery, DeliveryAttempt, DeliveryPrefs
from fleet.delivery.worker import DeliveryState, contact_hash
from fleet.receipts.models import Receipt

__all__ = [
    "DEFAULT_RETENTION_DAYS",
    "BadRetentionError",
    "erase",
    "export",
    "prefs_for",
    "purge_expired",
    "set_retention",
]

DEFAULT_RETENTION_DAYS: Final = 30
DAY: Final = 86400.0
ERASED_REASON: Final = "контакт покупателя удалён по его запросу"


class BadRetentionError(DeliveryError):
    """The retention period is out of range."""


def prefs_for(session: Session, clock: Clock, company_id: int) -> DeliveryPrefs:
    """The company's settings row (made with the defaults when missing; not committed)."""
    prefs = session.get(DeliveryPrefs, company_id)
    if prefs is None:
        prefs = DeliveryPrefs(
            company_id=company_id,
            retention_days=DEFAULT_RETENTION_DAYS,
            updated_at=clock.wall(),
        )
        session.add(prefs)
    return prefs


def set_retention(session: Session, clock: Clock, actor: Principal, days: int) -> None:
    """Keep buyers' contacts ``days`` days (1…1095). Does not commit."""
    if not 1 <= days <= 1095:
        raise BadRetentionError(
            "Срок хранения контактов — от 1 до 1095 дней", fields={"retention_days": str(days)}
        )
    prefs = prefs_for(session, clock, actor.company_id)
    prefs.retention_days = days
    prefs.updated_at = clock.wall()
    session.add(prefs)
    audit.record_by(
        session,
        clock,
        actor,
        action="delivery.retention",
        entity="company",
        entity_id=actor.company_id,
        days=days,
    )


def purge_expired(session: Session, clock: Clock) -> int:
    """The retention job: blank contacts older than each company's setting (finished
    cascades only: an active one still needs its contact)."""
    now = clock.wall()
    changed = 0
    custom = session.exec(select(DeliveryPrefs)).all()
    for p in custom:
        changed += _blank(
            session,
            (
                Delivery.company_id == p.company_id,
                col(Delivery.created_at) < now - p.retention_days * DAY,
            ),
            now,
        )
    changed += _blank(
        session,
        (
            col(Delivery.company_id).not_in([p.company_id for p in custom]) if custom else true(),
            col(Delivery.created_at) < now - DEFAULT_RETENTION_DAYS * DAY,
        ),
        now,
    )
    return changed


def _blank(session: Session, where: tuple[Any, ...], now: float) -> int:
    result = session.connection().execute(
        update(Delivery)
        .where(
            *where,
            col(Delivery.contact).is_not(None),
            col(Delivery.state) != DeliveryState.ACTIVE,
        )
        .values(contact=None, updated_at=now)
    )
    return int(result.rowcount or 0)


@dataclass(frozen=True)
class _Found:
    hash: str
    rows: list[Delivery]


def _find(session: Session, secret: str, company_id: int, contact: str) -> _Found:
    digest = contact_hash(secret, contact)  # BadContactError for garbage: nothing looked up
    rows = session.exec(
        select(Delivery)
        .where(Delivery.company_id == company_id, Delivery.contact_hash == digest)
        .order_by(col(Delivery.id))
    ).all()
    return _Found(digest, list(rows))


def export(
    session: Session, clock: Clock, secret: str, actor: Principal, contact: str
) -> dict[str, Any]:
    """Everything the company holds on this buyer's contact (for the buyer's request).
    Audited; does not commit."""
    found = _find(session, secret, actor.company_id, contact)
    ids = [d.id for d in found.rows if d.id is not None]
    attempts = session.exec(
        select(DeliveryAttempt)
        .where(col(DeliveryAttempt.delivery_id).in_(ids))
        .order_by(col(DeliveryAttempt.id))
    ).all()
    receipts = {
        r.id: r.external_id
        for r in session.exec(
            select(Receipt).where(col(Receipt.id).in_([d.receipt_id for d in found.rows]))
        )
    }
    audit.record_by(
        session,
        clock,
        actor,
        action="delivery.contact_export",
        entity="buyer",
        entity_id=found.hash[:16],
        receipts=len(found.rows),
    )
    return {
        "contact": contact.strip(),
        "receipts": [
            {
                "receipt": receipts.get(d.receipt_id),
                "contact_kept": d.contact is not None,
                "state": d.state,
                "created_at": d.created_at,
                "attempts": [
                    {
                        "channel": a.channel,
                        "address": a.masked_address,
                        "status": a.status,
                        "at": a.at,
                    }
                    for a in attempts
                    if a.delivery_id == d.id
                ],
            }
            for d in found.rows
        ],
    }


def erase(session: Session, clock: Clock, secret: str, actor: Principal, contact: str) -> int:
    """Blank this buyer's contact everywhere the delivery keeps it; a cascade under way stops.
    Audited; returns the receipts touched. Does not commit."""
    found = _find(session, secret, actor.company_id, contact)
    ids = [d.id for d in found.rows if d.id is not None and d.contact is not None]
    now = clock.wall()
    if ids:
        session.connection().execute(
            update(Delivery)
            .where(col(Delivery.id).in_(ids))
            .values(
                contact=None,
                state=_stop_state(),
                reason=ERASED_REASON,
                updated_at=now,
            )
        )
    audit.record_by(
        session,
        clock,
        actor,
        action="delivery.contact_erase",
        entity="buyer",
        entity_id=found.hash[:16],
        receipts=len(ids),
    )
    return len(ids)


def _stop_state() -> Any:
    """Delivered stays delivered; anything else ends as failed."""
    return case(
        (col(Delivery.state) == DeliveryState.DELIVERED, DeliveryState.DELIVERED),
        else_=DeliveryState.FAILED,
    )
