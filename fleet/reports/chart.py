"""A bar chart of one column of a report table, laid out for an inline SVG (the template draws).

Server-side like the balance and drive charts (fleet/billing/chart.py, fleet/drives/chart.py):
no JavaScript. At most `MAX_BARS` bars: a longer table shows its first rows (the table's order).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from fleet.reports.table import Column, ReportTable, cell_text

__all__ = ["MAX_BARS", "Bar", "BarChart", "bar_chart"]

MAX_BARS: Final = 40


@dataclass(frozen=True)
class Bar:
    """One horizontal bar: its row's label, value text, and geometry in the SVG box."""

    label: str
    text: str
    y: float
    width: float
    negative: bool


@dataclass(frozen=True)
class BarChart:
    """Bars in a ``width`` × ``height`` box; labels take ``label_w`` on the left."""

    title: str
    width: int
    height: int
    label_w: int
    bar_h: int
    bars: list[Bar]


def bar_chart(table: ReportTable, *, width: int = 720, bar_h: int = 18) -> BarChart | None:
    """The chart of the table's chart columns, else of its own series; None when it has
    neither or nothing to draw."""
    if table.chart is not None and table.rows:
        label_key, value_key = table.chart
        label_col, value_col = table.column(label_key), table.column(value_key)
        rows = table.rows[:MAX_BARS]
        title = value_col.label
        points = [
            (cell_text(label_col, r.get(label_key)), int(r.get(value_key) or 0)) for r in rows
        ]
    elif table.series is not None and table.series.points:
        title = table.series.title
        value_col = Column("value", title, table.series.kind)
        points = table.series.points[:MAX_BARS]
    else:
        return None
    values = [v for _, v in points]
    top = max(1, *(abs(v) for v in values))
    label_w = 200
    room = width - label_w - 130
    gap = 6
    bars = [
        Bar(
            label=label[:32],
            text=cell_text(value_col, v),
            y=i * (bar_h + gap),
            width=max(1.0, abs(v) / top * room),
            negative=v < 0,
        )
        for i, (label, v) in enumerate(points)
    ]
    return BarChart(
        title=title,
        width=width,
        height=len(bars) * (bar_h + gap),
        label_w=label_w,
        bar_h=bar_h,
        bars=bars,
    )
