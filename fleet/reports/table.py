"""A report's result: typed columns, rows of raw values, and how to draw its chart.

Money stays in kopecks and shares in hundredths of a percent until shown or exported, so
sums and comparisons are exact; `cell_text` renders one value in Russian.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

__all__ = ["MSK", "Column", "Kind", "ReportTable", "Series", "cell_text", "cell_value"]

MSK = ZoneInfo("Europe/Moscow")


class Kind(StrEnum):
    """How a column's values are stored and shown."""

    TEXT = "text"
    INT = "int"
    MONEY = "money"  # kopecks
    PCT = "pct"  # hundredths of a percent
    MOMENT = "moment"  # UTC seconds
    DATE = "date"  # dt.date
    QTY = "qty"  # thousandths


@dataclass(frozen=True)
class Column:
    """One column: its key in a row, its Russian heading, its kind."""

    key: str
    label: str
    kind: Kind = Kind.TEXT

    @property
    def numeric(self) -> bool:
        """Whether grouping sums it."""
        return self.kind in (Kind.INT, Kind.MONEY, Kind.QTY)


@dataclass(frozen=True)
class Series:
    """A chart's own figures for a list report, whose rows are documents, not a summary
    (the journal draws receipts per day, marked goods their positions per item)."""

    title: str
    kind: Kind
    points: list[tuple[str, int]]


@dataclass
class ReportTable:
    """What a report produced. ``chart``: (label column, value column) or None; ``series``:
    the chart's own figures when the rows cannot be drawn (``chart`` wins when both are set)."""

    code: str
    title: str
    columns: list[Column]
    rows: list[dict[str, Any]]
    chart: tuple[str, str] | None = None
    period: str = ""
    notes: list[str] = field(default_factory=list)
    truncated: bool = False
    series: Series | None = None

    def column(self, key: str) -> Column:
        """The column with this key (KeyError if none)."""
        return next(c for c in self.columns if c.key == key)


def _group(n: int) -> str:
    return f"{n:,}".replace(",", "\u00a0")


def cell_text(column: Column, value: Any) -> str:
    """A value as the pages and the PDF show it."""
    if value is None or value == "":
        return ""
    if column.kind == Kind.MONEY:
        sign = "−" if value < 0 else ""
        whole, kop = divmod(abs(int(value)), 100)
        return f"{sign}{_group(whole)},{kop:02d}"
    if column.kind == Kind.INT:
        return _group(int(value))
    if column.kind == Kind.PCT:
        return f"{value / 100:.2f}".replace(".", ",") + " %"
    if column.kind == Kind.QTY:
        return f"{value / 1000:.3f}".rstrip("0").rstrip(".").replace(".", ",")
    if column.kind == Kind.MOMENT:
        return dt.datetime.fromtimestamp(float(value), MSK).strftime("%d.%m.%Y %H:%M")
    if column.kind == Kind.DATE and isinstance(value, dt.date):
        return value.strftime("%d.%m.%Y")
    return str(value)


def cell_value(column: Column, value: Any) -> Any:
    """A value as a spreadsheet cell: numbers as numbers (rubles, percent), times as dates."""
    if value is None:
        return None
    if column.kind == Kind.MONEY:
        return Decimal(int(value)) / 100
    if column.kind == Kind.PCT:
        return Decimal(int(value)) / 100
    if column.kind == Kind.QTY:
        return Decimal(int(value)) / 1000
    if column.kind == Kind.MOMENT:
        return dt.datetime.fromtimestamp(float(value), MSK).replace(tzinfo=None)
    return value
