"""The balance over the last days as points of an inline SVG line (drawn by the template)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, select

from fleet.billing import ledger
from fleet.billing.models import LedgerAccount, LedgerEntry
from fleet.billing.money import rubles
from fleet.billing.periods import moscow

__all__ = ["Chart", "balance_chart"]

DAY = 86400.0


@dataclass(frozen=True)
class Chart:
    """An SVG polyline (``points`` in a ``width`` × ``height`` box) and its labels."""

    width: int
    height: int
    points: str
    low: str
    high: str
    first_day: str
    last_day: str
    values: list[tuple[str, int]]  # (day, balance in kopecks) for the table under the chart


def balance_chart(
    session: Session,
    company_id: int,
    now: float,
    *,
    days: int = 30,
    width: int = 600,
    height: int = 160,
) -> Chart:
    """The balance at the end of each of the last ``days`` days (the last one: now)."""
    current = ledger.balance(session, company_id)
    since = now - days * DAY
    moves = session.exec(
        select(LedgerEntry.created_at, LedgerEntry.amount)
        .join(LedgerAccount, col(LedgerAccount.id) == col(LedgerEntry.account_id))
        .where(
            LedgerAccount.code == ledger.client_account_code(company_id),
            col(LedgerEntry.created_at) > since,
        )
    ).all()
    values: list[tuple[str, int]] = []
    for i in range(days, 0, -1):
        moment = now - (i - 1) * DAY
        later = sum(amount for at, amount in moves if at > moment)
        values.append((moscow(moment).strftime("%d.%m"), current - later))
    low = min(0, *(v for _, v in values))
    high = max(1, *(v for _, v in values))
    pad = 10
    span_x = (width - 2 * pad) / max(1, len(values) - 1)
    span_y = (height - 2 * pad) / (high - low)
    points = " ".join(
        f"{pad + i * span_x:.1f},{height - pad - (v - low) * span_y:.1f}"
        for i, (_, v) in enumerate(values)
    )
    return Chart(
        width=width,
        height=height,
        points=points,
        low=rubles(low),
        high=rubles(high),
        first_day=values[0][0],
        last_day=values[-1][0],
        values=values,
    )
