"""The General's report's figures, from the reports' rollups of the fiscal documents.

Revenue is income receipts minus income returns (tag 1054 = 1 and 2) over the settlement
documents (receipts, BSO and their corrections); expense operations are the merchant's own
purchases and are left out. The average check is gross sales over the number of sales. Days
are Moscow days (UTC+3, no daylight saving since 2014). A register belongs to the store it is
placed in now; the region is the store's region code.

Two grouped queries over the reports' rollups (fleet/reports/rollup.py `sales_source`: the
daily and hourly rollups plus the documents past their watermark, so a fresh receipt counts at
once): (register, day, operation) over this period and the previous one of equal length (for
Δ), and (hour, operation) over this period for the weekday × hour heatmap. Everything else is
folded in Python from those rows. `sales_totals` (the main page's widget) still reads the
documents directly.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from sqlalchemy import ColumnElement, Integer, cast, func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from fleet.billing.periods import MSK
from fleet.documents.models import RECEIPT_TYPES, FiscalDocument, Operation
from fleet.registers.models import Register
from fleet.reports.rollup import Scope, sales_source
from fleet.stores.models import Store

__all__ = [
    "DayPoint",
    "GeneralReport",
    "GroupRow",
    "Totals",
    "build",
    "day_bounds",
    "sales_totals",
]

_MSK_OFFSET: Final = 3 * 3600
_DAY: Final = 86400
_SIGN: Final = {Operation.INCOME.value: 1, Operation.INCOME_RETURN.value: -1}
_DOC_TYPES: Final = [int(t) for t in RECEIPT_TYPES]
NO_STORE: Final = "Без магазина"
NO_REGION: Final = "Регион не указан"


@dataclass
class Totals:
    """Sales and returns of some slice, kopecks."""

    sales: int = 0  # number of income receipts
    sales_sum: int = 0
    returns: int = 0
    returns_sum: int = 0

    @property
    def revenue(self) -> int:
        """Net revenue: sales minus returns."""
        return self.sales_sum - self.returns_sum

    @property
    def average_check(self) -> int:
        """Gross sales per sale (0 without sales), kopecks rounded half up."""
        return (2 * self.sales_sum + self.sales) // (2 * self.sales) if self.sales else 0

    def add(self, operation: int, count: int, total: int) -> None:
        """Count one grouped row in."""
        if operation == Operation.INCOME.value:
            self.sales += count
            self.sales_sum += total
        elif operation == Operation.INCOME_RETURN.value:
            self.returns += count
            self.returns_sum += total


@dataclass(frozen=True)
class DayPoint:
    """One Moscow day of the period."""

    day: dt.date
    totals: Totals


@dataclass(frozen=True)
class GroupRow:
    """A store or a region: this period, the previous one, Δ and share."""

    key: str
    label: str
    detail: str
    totals: Totals
    previous: int  # revenue of the previous period
    share_pct: float
    delta_pct: float | None  # None when the previous period had no revenue


@dataclass(frozen=True)
class GeneralReport:
    """Everything the page draws."""

    start: dt.date
    end: dt.date  # inclusive
    days: int
    totals: Totals
    previous: Totals
    by_day: tuple[DayPoint, ...]
    stores: tuple[GroupRow, ...]
    regions: tuple[GroupRow, ...]
    by_month: tuple[tuple[str, int], ...]  # ("2026-11", revenue)
    by_weekday: tuple[int, ...]  # average revenue per weekday, Monday first
    heat: tuple[tuple[int, ...], ...] = field(default=())  # [weekday][hour] revenue

    @property
    def delta_pct(self) -> float | None:
        """Revenue change against the previous period, per cent."""
        return _delta(self.totals.revenue, self.previous.revenue)

    @property
    def peaks(self) -> tuple[DayPoint, ...]:
        """The three days of highest revenue (those with any sales)."""
        active = [d for d in self.by_day if d.totals.sales or d.totals.returns]
        return tuple(sorted(active, key=lambda d: (-d.totals.revenue, d.day))[:3])

    @property
    def dips(self) -> tuple[DayPoint, ...]:
        """The three days of lowest revenue (quiet days included), not among the peaks."""
        peaks = {d.day for d in self.peaks}
        rest = [d for d in self.by_day if d.day not in peaks]
        return tuple(sorted(rest, key=lambda d: (d.totals.revenue, d.day))[:3])


def _delta(now: int, before: int) -> float | None:
    return None if before == 0 else round((now - before) * 100 / before, 1)


def day_bounds(today: dt.date, days: int) -> tuple[float, float]:
    """UTC seconds of the start of the first and the end of the last of ``days`` Moscow days
    ending with ``today``."""
    first = today - dt.timedelta(days=days - 1)
    start = dt.datetime.combine(first, dt.time(), MSK).timestamp()
    return start, start + days * _DAY


def _floor(session: Session, expr: ColumnElement[Any]) -> ColumnElement[int]:
    # PostgreSQL's integer cast rounds; SQLite's truncates (the values here are positive)
    if session.get_bind().dialect.name == "postgresql":
        return cast(func.floor(expr), Integer)
    return cast(expr, Integer)


def _scope(company_id: int, store_id: int | None, registers: Iterable[int] | None) -> list[Any]:
    where: list[Any] = [
        FiscalDocument.company_id == company_id,
        col(FiscalDocument.doc_type).in_(_DOC_TYPES),
        col(FiscalDocument.operation).in_(list(_SIGN)),
    ]
    if store_id is not None:
        where.append(
            col(FiscalDocument.register_id).in_(
                select(Register.id).where(
                    Register.company_id == company_id, Register.store_id == store_id
                )
            )
        )
    if registers is not None:
        where.append(col(FiscalDocument.register_id).in_(list(registers)))
    return where


def sales_totals(
    session: Session,
    company_id: int,
    start: float,
    end: float,
    *,
    folder_ids: Iterable[int] | None = None,
) -> Totals:
    """Sales and returns over [start, end) (the main page's sales widget); ``folder_ids``
    limits them to registers in those folders."""
    where = _scope(company_id, None, None)
    if folder_ids is not None:
        where.append(
            col(FiscalDocument.register_id).in_(
                select(Register.id).where(
                    Register.company_id == company_id, col(Register.folder_id).in_(folder_ids)
                )
            )
        )
    operation_col, issued = col(FiscalDocument.operation), col(FiscalDocument.issued_at)
    query = (
        sa_select(operation_col, func.count(), func.coalesce(func.sum(FiscalDocument.total), 0))
        .where(*where, issued >= start, issued < end)
        .group_by(operation_col)
    )
    totals = Totals()
    for operation, count, total in session.execute(query).all():
        totals.add(int(operation or 0), int(count), int(total))
    return totals


def _store_labels(session: Session, company_id: int) -> dict[int, Store]:
    return {
        s.id: s
        for s in session.exec(select(Store).where(Store.company_id == company_id)).all()
        if s.id is not None
    }


def _grouped(
    keys: dict[str, tuple[str, str]],
    now: dict[str, Totals],
    before: dict[str, int],
    total_revenue: int,
) -> tuple[GroupRow, ...]:
    rows = [
        GroupRow(
            key=k,
            label=label,
            detail=detail,
            totals=now.get(k, Totals()),
            previous=before.get(k, 0),
            share_pct=round(now[k].revenue * 100 / total_revenue, 1)
            if total_revenue and k in now
            else 0.0,
            delta_pct=_delta(now.get(k, Totals()).revenue, before.get(k, 0)),
        )
        for k, (label, detail) in keys.items()
        if k in now or before.get(k)
    ]
    return tuple(sorted(rows, key=lambda r: (-r.totals.revenue, r.label)))


def build(
    session: Session,
    company_id: int,
    today: dt.date,
    days: int,
    *,
    store_id: int | None = None,
) -> GeneralReport:
    """The report over ``days`` Moscow days ending with ``today``."""
    start, end = day_bounds(today, days)
    prev_start = start - days * _DAY
    # the reports' rollups (fleet/reports/rollup.py: daily and hourly, plus the documents past
    # their watermark), so a year over millions of receipts reads ~365 rows per register
    store_registers: tuple[int, ...] | None = None
    if store_id is not None:
        store_registers = tuple(
            r
            for r in session.exec(
                select(Register.id).where(
                    Register.company_id == company_id, Register.store_id == store_id
                )
            ).all()
            if r is not None
        )
    daily = sales_source(session, Scope(company_id, prev_start, end, store_registers), daily=True)
    day_expr = (daily.c.hour + 3) // 24  # a daily row's hour is its Moscow day's first
    rows = session.execute(
        sa_select(
            daily.c.register_id,
            day_expr,
            daily.c.operation,
            func.sum(daily.c.documents),
            func.coalesce(func.sum(daily.c.total), 0),
        )
        .where(col(daily.c.doc_type).in_(_DOC_TYPES), col(daily.c.operation).in_(list(_SIGN)))
        .group_by(daily.c.register_id, day_expr, daily.c.operation)
    ).all()
    hourly = sales_source(session, Scope(company_id, start, end, store_registers), daily=False)
    hour_expr = hourly.c.hour + 3  # UTC hour number → Moscow hour number
    hours = session.execute(
        sa_select(hour_expr, hourly.c.operation, func.coalesce(func.sum(hourly.c.total), 0))
        .where(col(hourly.c.doc_type).in_(_DOC_TYPES), col(hourly.c.operation).in_(list(_SIGN)))
        .group_by(hour_expr, hourly.c.operation)
    ).all()

    registers = {
        r.id: r.store_id
        for r in session.exec(select(Register).where(Register.company_id == company_id)).all()
    }
    stores = _store_labels(session, company_id)
    first_day = int((start + _MSK_OFFSET) // _DAY)
    totals, previous = Totals(), Totals()
    per_day: dict[int, Totals] = defaultdict(Totals)
    store_now: dict[str, Totals] = defaultdict(Totals)
    region_now: dict[str, Totals] = defaultdict(Totals)
    store_before: dict[str, int] = defaultdict(int)
    region_before: dict[str, int] = defaultdict(int)
    for register_id, day, operation, count, total in rows:
        op, n, kop = int(operation or 0), int(count), int(total)
        store = stores.get(registers.get(register_id) or -1)
        skey = str(store.id) if store else ""
        rkey = (store.region_code or "") if store else ""
        if int(day) >= first_day:
            totals.add(op, n, kop)
            per_day[int(day)].add(op, n, kop)
            store_now[skey].add(op, n, kop)
            region_now[rkey].add(op, n, kop)
        else:
            previous.add(op, n, kop)
            store_before[skey] += _SIGN[op] * kop
            region_before[rkey] += _SIGN[op] * kop

    store_keys: dict[str, tuple[str, str]] = {"": (NO_STORE, "")}
    region_keys: dict[str, tuple[str, str]] = {"": (NO_REGION, "")}
    for s in stores.values():
        store_keys[str(s.id)] = (s.name, f"регион {s.region_code}" if s.region_code else "")
        if s.region_code:
            region_keys[s.region_code] = (f"Регион {s.region_code}", s.city or "")

    by_day = tuple(
        DayPoint(_date_of(first_day + i), per_day.get(first_day + i, Totals())) for i in range(days)
    )
    return GeneralReport(
        start=by_day[0].day,
        end=by_day[-1].day,
        days=days,
        totals=totals,
        previous=previous,
        by_day=by_day,
        stores=_grouped(store_keys, store_now, store_before, totals.revenue),
        regions=_grouped(region_keys, region_now, region_before, totals.revenue),
        by_month=_months(by_day),
        by_weekday=_weekdays(by_day),
        heat=_heat(hours),
    )


def _date_of(day: int) -> dt.date:
    return dt.date(1970, 1, 1) + dt.timedelta(days=day)


def _months(points: Sequence[DayPoint]) -> tuple[tuple[str, int], ...]:
    months: dict[str, int] = {}
    for p in points:
        key = f"{p.day.year}-{p.day.month:02d}"
        months[key] = months.get(key, 0) + p.totals.revenue
    return tuple(months.items())


def _weekdays(points: Sequence[DayPoint]) -> tuple[int, ...]:
    sums, counts = [0] * 7, [0] * 7
    for p in points:
        sums[p.day.weekday()] += p.totals.revenue
        counts[p.day.weekday()] += 1
    return tuple(s // c if c else 0 for s, c in zip(sums, counts, strict=True))


def _heat(rows: Sequence[Any]) -> tuple[tuple[int, ...], ...]:
    grid = [[0] * 24 for _ in range(7)]
    for hour, operation, total in rows:
        h = int(hour)
        # hour 0 of day 0 (1970-01-01) was a Thursday: weekday 3 counting from Monday
        weekday = (h // 24 + 3) % 7
        grid[weekday][h % 24] += _SIGN[int(operation)] * int(total)
    return tuple(tuple(row) for row in grid)
