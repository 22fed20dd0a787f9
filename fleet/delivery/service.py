"""What the «Чеки покупателям» section reads and does: statistics by channel and day (with the
chart's bars), the attempts journal, undelivered receipts, resend one by one or in bulk and
the bulk's progress."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final
from zoneinfo import ZoneInfo

from sqlalchemy import Integer, cast, func, update
from sqlmodel import Session, col, select

from fleet.core.clock import Clock
from fleet.delivery.cascade import AttemptStatus
from fleet.delivery.channels import Channel
from fleet.delivery.exceptions import ContactErasedError
from fleet.delivery.journal import stats
from fleet.delivery.models import Delivery, DeliveryAttempt
from fleet.delivery.pricing import LABEL
from fleet.delivery.worker import DeliveryState
from fleet.drives.chart import Bar  # the same bar geometry the drives schedule draws

__all__ = [
    "ChannelRow",
    "DayChart",
    "Progress",
    "channel_rows",
    "day_chart",
    "progress",
    "recent_attempts",
    "resend",
    "undelivered",
]

MSK: Final = ZoneInfo("Europe/Moscow")
DAY: Final = 86400.0
_MSK_OFFSET: Final = 3 * 3600.0  # Moscow has had no DST since 2014


@dataclass(frozen=True)
class ChannelRow:
    """One channel's counts in the period."""

    channel: str
    label: str
    sent: int  # handed to the provider (delivered, failed after sending, or waiting)
    delivered: int
    failed: int
    skipped: int


def channel_rows(session: Session, company_id: int, since: float, until: float) -> list[ChannelRow]:
    """Counts by channel (every channel, zeros included, in the cascade's order)."""
    counts = stats(session, company_id, since, until)
    rows = []
    for c in Channel:
        got = {status: n for (ch, status), n in counts.items() if ch == c.value}
        delivered = got.get(AttemptStatus.DELIVERED.value, 0)
        failed = got.get(AttemptStatus.FAILED.value, 0)
        waiting = got.get(AttemptStatus.SENT.value, 0) + got.get(AttemptStatus.QUEUED.value, 0)
        rows.append(
            ChannelRow(
                c.value,
                LABEL[c],
                sent=delivered + failed + waiting,
                delivered=delivered,
                failed=failed,
                skipped=got.get(AttemptStatus.SKIPPED.value, 0),
            )
        )
    return rows


@dataclass(frozen=True)
class DayChart:
    """Two bars a day (delivered, failed) in an SVG box; the template draws them."""

    width: int
    height: int
    bars: tuple[Bar, ...]
    peak: int
    days: tuple[tuple[str, int, int], ...]  # (dd.mm, delivered, failed) for the table


def day_chart(
    session: Session, company_id: int, since: float, until: float, *, height: int = 160
) -> DayChart:
    """Delivered and failed attempts per Moscow day of [since, until)."""
    shifted = col(DeliveryAttempt.at) + _MSK_OFFSET
    day_no = (
        func.floor(shifted / DAY)
        if session.get_bind().dialect.name == "postgresql"
        else cast(shifted / DAY, Integer)
    )
    rows = session.exec(
        select(day_no, DeliveryAttempt.status, func.count())
        .where(
            DeliveryAttempt.company_id == company_id,
            col(DeliveryAttempt.at) >= since,
            col(DeliveryAttempt.at) < until,
            col(DeliveryAttempt.status).in_(
                [AttemptStatus.DELIVERED.value, AttemptStatus.FAILED.value]
            ),
        )
        .group_by(day_no, col(DeliveryAttempt.status))
    ).all()
    first = int((since + _MSK_OFFSET) // DAY)
    last = int((until - 1 + _MSK_OFFSET) // DAY)
    n_days = max(1, min(last - first + 1, 92))
    delivered = [0] * n_days
    failed = [0] * n_days
    for day, status, n in rows:
        i = int(day) - first
        if 0 <= i < n_days:
            (delivered if status == AttemptStatus.DELIVERED.value else failed)[i] += int(n)
    peak = max(1, *delivered, *failed)
    step, gap, top, bottom = 28, 4, 12, 30
    plot = height - top - bottom
    half = (step - gap) // 2
    bars: list[Bar] = []
    days: list[tuple[str, int, int]] = []
    for i in range(n_days):
        label = dt.datetime.fromtimestamp((first + i) * DAY, dt.UTC).strftime("%d.%m")
        days.append((label, delivered[i], failed[i]))
        for j, (count, fill) in enumerate(((delivered[i], "#2e7d32"), (failed[i], "#c62828"))):
            h = round(plot * count / peak)
            bars.append(
                Bar(
                    label if j == 0 else "",
                    "",
                    count,
                    x=i * step + gap + j * half,
                    y=top + plot - h,
                    width=half,
                    height=h,
                    fill=fill,
                )
            )
    return DayChart(n_days * step + gap, height, tuple(bars), peak, tuple(days))


def recent_attempts(
    session: Session,
    company_id: int,
    since: float,
    until: float,
    *,
    channel: str | None = None,
    status: str | None = None,
    limit: int = 100,
) -> Sequence[DeliveryAttempt]:
    """The newest attempts in the period (masked addresses only)."""
    q = select(DeliveryAttempt).where(
        DeliveryAttempt.company_id == company_id,
        col(DeliveryAttempt.at) >= since,
        col(DeliveryAttempt.at) < until,
    )
    if channel:
        q = q.where(DeliveryAttempt.channel == channel)
    if status:
        q = q.where(DeliveryAttempt.status == status)
    return session.exec(q.order_by(col(DeliveryAttempt.id).desc()).limit(limit)).all()


def undelivered(
    session: Session, company_id: int, since: float, until: float, *, limit: int = 100
) -> Sequence[Delivery]:
    """Receipts whose cascade ended without a delivery, newest first."""
    return session.exec(
        select(Delivery)
        .where(
            Delivery.company_id == company_id,
            Delivery.state == DeliveryState.FAILED,
            col(Delivery.created_at) >= since,
            col(Delivery.created_at) < until,
        )
        .order_by(col(Delivery.id).desc())
        .limit(limit)
    ).all()


def resend(
    session: Session,
    clock: Clock,
    company_id: int,
    delivery_ids: Sequence[int] | None,
    *,
    since: float | None = None,
    until: float | None = None,
) -> tuple[int, float]:
    """Start a new round for the company's undelivered receipts (the ids given, or every one
    in [since, until)). Returns (how many, the batch's mark for `progress`). Does not commit.

    A receipt whose contact was erased cannot be resent: `ContactErasedError` when one of the
    ids names such a receipt (nothing changed then)."""
    now = clock.wall()
    q = select(Delivery.id, Delivery.contact).where(
        Delivery.company_id == company_id, Delivery.state == DeliveryState.FAILED
    )
    if delivery_ids is not None:
        q = q.where(col(Delivery.id).in_(list(delivery_ids)))
    if since is not None:
        q = q.where(col(Delivery.created_at) >= since)
    if until is not None:
        q = q.where(col(Delivery.created_at) < until)
    rows = session.exec(q).all()
    if delivery_ids is not None and any(contact is None for _, contact in rows):
        raise ContactErasedError(
            "Контакт покупателя удалён: чек отправить некуда", fields={"ids": "удалён"}
        )
    ids = [i for i, contact in rows if contact is not None]
    if ids:
        session.connection().execute(
            update(Delivery)
            .where(col(Delivery.id).in_(ids))
            .values(
                state=DeliveryState.ACTIVE,
                round=Delivery.round + 1,
                position=0,
                next_at=now,
                reason=None,
                resent_at=now,
                updated_at=now,
            )
        )
    return len(ids), now


@dataclass(frozen=True)
class Progress:
    """A bulk resend's progress: how many of its receipts are still on their way."""

    total: int
    active: int
    delivered: int
    failed: int

    @property
    def done(self) -> bool:
        return self.active == 0

    @property
    def percent(self) -> int:
        return 100 if self.total == 0 else round(100 * (self.total - self.active) / self.total)


def progress(session: Session, company_id: int, mark: float) -> Progress:
    """The state of the receipts resent at ``mark``."""
    rows = session.exec(
        select(Delivery.state, func.count())
        .where(Delivery.company_id == company_id, Delivery.resent_at == mark)
        .group_by(col(Delivery.state))
    ).all()
    got: dict[str, Any] = {s: int(n) for s, n in rows}
    return Progress(
        total=sum(got.values()),
        active=got.get(DeliveryState.ACTIVE, 0),
        delivered=got.get(DeliveryState.DELIVERED, 0),
        failed=got.get(DeliveryState.FAILED, 0),
    )
