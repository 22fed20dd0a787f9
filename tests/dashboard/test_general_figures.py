"""The General's report's figures against sums computed here, independently, over documents
filed through the documents service (the path a register's documents take)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine
from sqlmodel import Session

from fleet.core.clock import SettableClock
from fleet.general.figures import build
from fleet.reports.rollup import LAG_S, refresh
from tests.dashboard.world import make_shop

MOSCOW = ZoneInfo("Europe/Moscow")
#: 2026-11-20 15:00 Moscow
NOW = dt.datetime(2026, 11, 20, 15, 0, tzinfo=MOSCOW).timestamp()
TODAY = dt.date(2026, 11, 20)
END = dt.datetime(2026, 11, 21, tzinfo=MOSCOW).timestamp()  # the end of today
DAYS = 7


@dataclass(frozen=True)
class Doc:
    register: int
    doc_type: int
    operation: int | None
    total: int | None
    at: float


def _edges() -> list[float]:
    start = END - DAYS * 86400
    return [start, start - 0.5, END - 0.001, END, start - DAYS * 86400, END - 86400]


docs = st.lists(
    st.builds(
        lambda register, kind, operation, total, at: Doc(
            register,
            kind,
            None if kind == 2 else operation,
            None if kind == 2 else total,
            at,
        ),
        st.integers(0, 2),
        st.sampled_from([3, 3, 3, 4, 31, 2]),
        st.sampled_from([1, 1, 1, 2, 3, 4]),
        st.integers(1, 5_000_000),
        st.one_of(
            st.floats(END - (2 * DAYS + 2) * 86400, END + 86400, allow_nan=False),
            st.sampled_from(_edges()),
        ),
    ),
    max_size=40,
)


def _moscow_day(at: float) -> dt.date:
    return dt.datetime.fromtimestamp(at, MOSCOW).date()


def _signed(d: Doc) -> int:
    if d.doc_type == 2 or d.total is None:
        return 0
    return {1: d.total, 2: -d.total}.get(d.operation or 0, 0)


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(documents=docs, rolled=st.integers(0, 40))
def test_figures_equal_independent_sums(
    engine: Engine, clock: SettableClock, documents: list[Doc], rolled: int
) -> None:
    # the first `rolled` documents reach the reports' rollups (their job ran), the rest are
    # read raw past its watermark: the figures must not depend on where the line falls.
    # Each example moves the clock LAG_S on (it never goes back): 30 examples stay in TODAY.
    clock.advance(max(0.0, NOW - clock.wall()))
    shop = make_shop(engine, clock)
    with Session(engine) as s:
        for i, d in enumerate(documents):
            if i == rolled:
                s.commit()
                clock.advance(LAG_S + 1)
                refresh(s, clock)
            shop.ingest(
                s, clock, register=d.register, at=d.at, operation=d.operation, total=d.total,
                doc_type=d.doc_type,
            )  # fmt: skip
        s.commit()
    first = TODAY - dt.timedelta(days=DAYS - 1)
    prev_first = first - dt.timedelta(days=DAYS)
    now_docs = [d for d in documents if first <= _moscow_day(d.at) <= TODAY]
    prev_docs = [d for d in documents if prev_first <= _moscow_day(d.at) < first]

    with Session(engine) as s:
        report = build(s, shop.company, TODAY, DAYS)

    def is_sale(d: Doc) -> bool:
        return d.doc_type != 2 and d.operation == 1

    def is_return(d: Doc) -> bool:
        return d.doc_type != 2 and d.operation == 2

    assert report.totals.revenue == sum(_signed(d) for d in now_docs)
    assert report.totals.sales == sum(1 for d in now_docs if is_sale(d))
    assert report.totals.returns == sum(1 for d in now_docs if is_return(d))
    assert report.previous.revenue == sum(_signed(d) for d in prev_docs)
    sales = [d.total or 0 for d in now_docs if is_sale(d)]
    if sales:
        assert abs(report.totals.average_check - sum(sales) / len(sales)) <= 0.5
    per_day: dict[dt.date, int] = defaultdict(int)
    for d in now_docs:
        per_day[_moscow_day(d.at)] += _signed(d)
    assert [p.day for p in report.by_day] == [first + dt.timedelta(days=i) for i in range(DAYS)]
    assert {p.day: p.totals.revenue for p in report.by_day} == {
        p.day: per_day.get(p.day, 0) for p in report.by_day
    }
    store_of = {0: "Тверская", 1: "Вайнера", 2: "Без магазина"}
    region_of = {0: "Регион 77", 1: "Регион 66", 2: "Регион не указан"}
    for names, rows in ((store_of, report.stores), (region_of, report.regions)):
        want: dict[str, int] = defaultdict(int)
        for d in now_docs:
            want[names[d.register]] += _signed(d)
        got = {r.label: r.totals.revenue for r in rows}
        assert {k: v for k, v in got.items() if v} == {k: v for k, v in want.items() if v}
    assert sum(sum(row) for row in report.heat) == report.totals.revenue
    assert sum(v for _, v in report.by_month) == report.totals.revenue


def test_one_store_scope_and_the_heatmap_hour(engine: Engine, clock: SettableClock) -> None:
    clock.advance(NOW - clock.wall())
    shop = make_shop(engine, clock)
    friday_10 = dt.datetime(2026, 11, 20, 10, 30, tzinfo=MOSCOW).timestamp()
    with Session(engine) as s:
        shop.ingest(s, clock, register=0, at=friday_10, operation=1, total=100_00)
        shop.ingest(s, clock, register=1, at=friday_10, operation=1, total=50_00)
        shop.ingest(s, clock, register=0, at=friday_10 - 7 * 86400, operation=1, total=80_00)
        s.commit()
    with Session(engine) as s:
        report = build(s, shop.company, TODAY, DAYS, store_id=shop.stores[0])
    assert report.totals.revenue == 100_00
    assert report.previous.revenue == 80_00
    assert report.delta_pct == 25.0
    assert report.heat[4][10] == 100_00  # Friday (weekday 4), 10:00 Moscow
    assert [r.label for r in report.stores] == ["Тверская"]
    assert report.stores[0].share_pct == 100.0
    assert report.peaks[0].day == TODAY
