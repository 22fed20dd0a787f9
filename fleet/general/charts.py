"""The General's report's charts as geometry for inline SVG (the templates draw them).

Every chart has a fixed ``viewBox`` and is drawn at ``width="100%"``, so it scales to a phone's
width as well as a desktop's; labels are thinned so they never overlap at any size.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

__all__ = ["Bar", "Cell", "ColumnChart", "HeatMap", "LineChart", "columns", "heatmap", "line"]

MONTHS: Final = ("янв", "фев", "мар", "апр", "май", "июн", "июл", "авг", "сен", "окт", "ноя", "дек")
WEEKDAYS: Final = ("пн", "вт", "ср", "чт", "пт", "сб", "вс")


@dataclass(frozen=True)
class Bar:
    """One column: its label, value (kopecks) and box."""

    label: str
    value: int
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class ColumnChart:
    """Columns over a baseline (negative values are drawn as zero: a net loss day is rare)."""

    width: int
    height: int
    baseline: float
    bars: tuple[Bar, ...]
    peak: int


@dataclass(frozen=True)
class LineChart:
    """A polyline of daily revenue and its 7-day moving average, with thinned date labels."""

    width: int
    height: int
    baseline: float
    points: str
    average: str
    labels: tuple[tuple[float, str], ...]
    marks: tuple[tuple[float, float, str], ...]  # peaks and dips: x, y, "peak"/"dip"
    peak: int


@dataclass(frozen=True)
class Cell:
    """One weekday × hour square of the heatmap."""

    x: int
    y: int
    value: int
    opacity: float
    title: str


@dataclass(frozen=True)
class HeatMap:
    """Seven rows (Monday first) of 24 hours."""

    width: int
    height: int
    cells: tuple[Cell, ...]
    size: int
    left: int
    top: int


def columns(
    values: Sequence[tuple[str, int]], *, width: int = 600, height: int = 200
) -> ColumnChart:
    """Equal columns across ``width``."""
    top, bottom = 12, 24
    plot = height - top - bottom
    peak = max([1, *(v for _, v in values)])
    step = width / max(1, len(values))
    gap = min(8.0, step * 0.2)
    bars = []
    for i, (label, value) in enumerate(values):
        h = plot * max(0, value) / peak
        bars.append(Bar(label, value, i * step + gap / 2, top + plot - h, step - gap, h))
    return ColumnChart(width, height, top + plot, tuple(bars), peak)


def line(
    days: Sequence[tuple[dt.date, int]],
    *,
    peaks: Sequence[dt.date] = (),
    dips: Sequence[dt.date] = (),
    width: int = 720,
    height: int = 240,
    labels: int = 8,
) -> LineChart:
    """Daily values left to right; about ``labels`` date labels whatever the number of days."""
    left, right, top, bottom = 8, 8, 14, 26
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max([1, *(v for _, v in days)])
    n = len(days)
    step = plot_w / max(1, n - 1)

    def xy(i: int, value: float) -> tuple[float, float]:
        return round(left + i * step, 1), round(top + plot_h - plot_h * max(0.0, value) / peak, 1)

    points = " ".join(f"{x},{y}" for x, y in (xy(i, v) for i, (_, v) in enumerate(days)))
    window: list[int] = []
    avg = []
    for i, (_, v) in enumerate(days):
        window = [*window[-6:], v]
        avg.append(xy(i, sum(window) / len(window)))
    every = max(1, -(-n // labels))
    ticks = tuple(
        (xy(i, 0)[0], f"{d.day} {MONTHS[d.month - 1]}")
        for i, (d, _) in enumerate(days)
        if i % every == 0
    )
    index = {d: i for i, (d, _) in enumerate(days)}
    marks = tuple(
        (*xy(index[d], days[index[d]][1]), kind)
        for kind, chosen in (("peak", peaks), ("dip", dips))
        for d in chosen
        if d in index
    )
    return LineChart(
        width,
        height,
        top + plot_h,
        points,
        " ".join(f"{x},{y}" for x, y in avg),
        ticks,
        marks,
        peak,
    )


def heatmap(grid: Sequence[Sequence[int]], *, size: int = 22) -> HeatMap:
    """Weekday rows × hour columns, darker for more revenue."""
    left, top = 26, 16
    peak = max([1, *(v for row in grid for v in row)])
    cells = tuple(
        Cell(
            left + h * size,
            top + d * size,
            v,
            round(0.08 + 0.92 * max(0, v) / peak, 2) if v > 0 else 0.0,
            f"{WEEKDAYS[d]}, {h:02d}:00–{h:02d}:59",
        )
        for d, row in enumerate(grid)
        for h, v in enumerate(row)
    )
    return HeatMap(left + 24 * size + 4, top + 7 * size + 4, cells, size, left, top)
