"""The schedule's chart: how many drives must be replaced in each coming month (inline SVG bars).

A bar per month from this month on (a first bar for replacements already overdue), the height the
number of drives due that month; the template draws it, colour by urgency.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from fleet.drives.schedule import ScheduleRow

__all__ = ["Bar", "Timeline", "timeline"]

_MONTHS: Final = (
    "янв",
    "фев",
    "мар",
    "апр",
    "май",
    "июн",
    "июл",
    "авг",
    "сен",
    "окт",
    "ноя",
    "дек",
)


@dataclass(frozen=True)
class Bar:
    """One month's bar in the SVG box."""

    label: str
    sublabel: str  # the year under the month
    count: int
    x: int
    y: int
    width: int
    height: int
    fill: str


@dataclass(frozen=True)
class Timeline:
    """The bars, the box size, and the registers beyond the last month or without a date."""

    width: int
    height: int
    bars: tuple[Bar, ...]
    later: int
    unknown: int
    peak: int


def _month_index(today: dt.date, day: dt.date) -> int:
    return (day.year - today.year) * 12 + day.month - today.month


def timeline(
    rows: Sequence[ScheduleRow], today: dt.date, *, months: int = 18, height: int = 160
) -> Timeline:
    """Bars: [overdue] + this month … ``months`` − 1 months ahead."""
    counts = [0] * (months + 1)  # 0: overdue
    later = unknown = 0
    for r in rows:
        if r.replace_by is None:
            unknown += 1
        elif r.replace_by < today:
            counts[0] += 1
        else:
            i = _month_index(today, r.replace_by)
            if i < months:
                counts[i + 1] += 1
            else:
                later += 1
    peak = max(1, *counts)
    step, gap, top, bottom = 34, 6, 16, 30
    plot = height - top - bottom
    bars = []
    for i, n in enumerate(counts):
        if i == 0:
            label, sub, fill = "срок", "прошёл", "#c62828"
        else:
            y, m = divmod(today.month - 1 + i - 1, 12)
            label, sub = _MONTHS[m], str(today.year + y)
            fill = "#ef6c00" if i == 1 else ("#f9a825" if i == 2 else "#2e7d32")
        h = round(plot * n / peak)
        bars.append(
            Bar(
                label,
                sub,
                n,
                x=i * step + gap,
                y=top + plot - h,
                width=step - gap,
                height=h,
                fill=fill,
            )
        )
    return Timeline(
        width=(months + 1) * step + gap,
        height=height,
        bars=tuple(bars),
        later=later,
        unknown=unknown,
        peak=peak,
    )
