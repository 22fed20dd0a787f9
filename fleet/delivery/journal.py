"""The attempts journal: saving a cascade's attempts and counting them for the cabinet.

The counts feed the «Чеки покупателям» section (fleet/delivery/service.py, pages.py): sent,
delivered, failed by channel and period. `save_attempts` journals an in-memory `Cascade`; the
durable worker (worker.py) writes its attempts itself.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func
from sqlmodel import Session, col, delete, select

from fleet.delivery.cascade import Attempt
from fleet.delivery.models import DeliveryAttempt

__all__ = ["save_attempts", "stats"]


def save_attempts(
    session: Session, company_id: int, receipt_id: int, attempts: Sequence[Attempt]
) -> None:
    """Replace the receipt's journal with the cascade's attempts. Does not commit."""
    session.exec(delete(DeliveryAttempt).where(col(DeliveryAttempt.receipt_id) == receipt_id))
    for a in attempts:
        session.add(
            DeliveryAttempt(
                company_id=company_id,
                receipt_id=receipt_id,
                channel=a.channel.value,
                masked_address=a.masked_address,
                provider_id=a.provider_id,
                status=a.status.value,
                error=a.error,
                at=a.at,
            )
        )
    session.flush()


def stats(
    session: Session, company_id: int, since: float, until: float
) -> dict[tuple[str, str], int]:
    """Attempts of one company in [since, until) counted by (channel, status)."""
    rows = session.exec(
        select(DeliveryAttempt.channel, DeliveryAttempt.status, func.count())
        .where(
            col(DeliveryAttempt.company_id) == company_id,
            col(DeliveryAttempt.at) >= since,
            col(DeliveryAttempt.at) < until,
        )
        .group_by(col(DeliveryAttempt.channel), col(DeliveryAttempt.status))
    ).all()
    return {(channel, status): int(n) for channel, status, n in rows}
