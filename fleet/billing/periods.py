"""Calendar months in Moscow time: billing periods ("2026-11") and dates on documents."""

from __future__ import annotations

import datetime as dt
from typing import Final

__all__ = ["MSK", "add_months", "moscow", "period_of"]

MSK: Final = dt.timezone(dt.timedelta(hours=3), "MSK")


def moscow(seconds: float) -> dt.datetime:
    """UTC seconds as Moscow time (documents and months follow the client's calendar)."""
    return dt.datetime.fromtimestamp(seconds, MSK)


def period_of(seconds: float) -> str:
    """The billing month ``YYYY-MM`` (Moscow time) of a moment."""
    return moscow(seconds).strftime("%Y-%m")


def add_months(period: str, months: int) -> str:
    """``"2026-11"`` + 3 → ``"2027-02"``."""
    year, month = (int(p) for p in period.split("-"))
    index = year * 12 + (month - 1) + months
    return f"{index // 12:04d}-{index % 12 + 1:02d}"
