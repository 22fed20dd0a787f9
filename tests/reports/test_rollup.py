"""The reports' rollup equals a direct aggregation of the raw documents, whatever the order in
which documents arrive, how far the job has read and where the period starts and ends."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, select, text
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel

from fleet.core.clock import SettableClock
from fleet.reports import items, rollup
from fleet.reports.models import ReportDaily, ReportItem, ReportMark, ReportRollup
from fleet.reports.rollup import Scope
from protocol import tlv
from protocol.tree import Field
from tests.reports.world import T0, World

DAY = 86400.0

doc_st = st.fixed_dictionaries(
    {
        "register": st.integers(0, 2),
        "at": st.floats(0, 40 * DAY, allow_nan=False).map(lambda x: T0 + round(x, 3)),
        "doc_type": st.sampled_from([3, 3, 3, 4, 31, 41, 2, 5]),
        "operation": st.sampled_from([1, 1, 1, 2, 3, 4, None]),
        "total": st.one_of(st.none(), st.integers(0, 10**9)),
        "tax_system": st.sampled_from([1, 2, 4, 32, None]),
        "shift": st.one_of(st.none(), st.integers(1, 5)),
    }
)


def _to(clock: SettableClock, moment: float) -> None:
    clock.advance(max(0.0, moment - clock.wall()))


def _direct(
    engine: Engine, scope: Scope, daily: bool
) -> dict[tuple[Any, ...], tuple[int, int, int]]:
    """(register, hour, type, op, tax, shift) → (documents, total, max) from raw rows (by
    day: the Moscow day's first UTC hour and no shift)."""
    out: dict[tuple[Any, ...], list[int]] = defaultdict(lambda: [0, 0, 0])
    with engine.connect() as c:
        rows = c.execute(
            text(
                "SELECT register_id, issued_at, doc_type, operation, tax_system, shift_number,"
                " total FROM fiscaldocument WHERE company_id = :c AND issued_at >= :a"
                " AND issued_at < :b AND doc_type IN (3, 4, 31, 41)"
            ),
            {"c": scope.company_id, "a": scope.start, "b": scope.end},
        ).all()
    for reg, at, dtp, op, tax, shift, total in rows:
        if scope.registers is not None and reg not in scope.registers:
            continue
        hour = int(at // 3600)
        if daily:
            hour, shift = (hour + 3) // 24 * 24 - 3, 0
        a = out[(reg, hour, dtp, op or 0, tax or 0, shift or 0)]
        a[0] += 1
        a[1] += total or 0
        a[2] = max(a[2], total or 0)
    return {k: (v[0], v[1], v[2]) for k, v in out.items()}


def _via_rollup(
    session: Session, scope: Scope, daily: bool
) -> dict[tuple[Any, ...], tuple[int, int, int]]:
    s = rollup.sales_source(session, scope, daily=daily)
    q = select(
        s.c.register_id, s.c.hour, s.c.doc_type, s.c.operation, s.c.tax_system,
        s.c.shift_number, func.sum(s.c.documents), func.sum(s.c.total), func.max(s.c.max_total),
    ).group_by(s.c.register_id, s.c.hour, s.c.doc_type, s.c.operation, s.c.tax_system,
               s.c.shift_number)  # fmt: skip
    return {
        tuple(int(x) for x in r[:6]): (int(r[6]), int(r[7]), int(r[8]))
        for r in session.connection().execute(q)
    }


def _reset(engine: Engine) -> None:
    with Session(engine) as s:
        for model in (ReportRollup, ReportDaily, ReportItem, ReportMark):
            s.execute(delete(model))
        s.execute(text("DELETE FROM fiscaldocument"))
        s.commit()


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    docs=st.lists(doc_st, max_size=40),
    cuts=st.lists(st.integers(0, 40), max_size=3),
    period=st.tuples(st.integers(0, 40), st.integers(1, 41)),
    registers=st.one_of(st.none(), st.sets(st.integers(0, 2))),
)
def test_rollup_plus_tail_equals_direct_aggregation(
    engine: Engine,
    clock: SettableClock,
    docs: list[dict[str, Any]],
    cuts: list[int],
    period: tuple[int, int],
    registers: set[int] | None,
) -> None:
    _reset(engine)
    world = World(engine, clock)
    _to(clock, T0 + 100 * DAY)
    filed = 0
    # the job runs at random points of the stream: part of the documents in the rollup, the
    # rest read raw past the watermark
    for cut in sorted(cuts) + [len(docs)]:
        for d in docs[filed:cut]:
            world.doc(**d, received_at=clock.wall() - 3600)
        filed = max(filed, cut)
        if cut < len(docs):
            with Session(engine) as s:
                rollup.refresh(s, clock)
                s.commit()
    first, length = period
    scope = Scope(
        world.company,
        T0 + first * DAY,
        T0 + (first + length) * DAY,
        None if registers is None else tuple(world.registers[i] for i in sorted(registers)),
    )
    with Session(engine) as s:
        for daily in (False, True):
            assert _via_rollup(s, scope, daily) == _direct(engine, scope, daily)


def test_job_waits_for_documents_received_in_the_last_minute(
    engine: Engine, clock: SettableClock
) -> None:
    world = World(engine, clock)
    _to(clock, T0 + DAY)
    world.doc(received_at=clock.wall() - 120)
    world.doc(received_at=clock.wall() - 5)  # may still have an older id uncommitted
    with Session(engine) as s:
        assert rollup.refresh(s, clock) == 1
        s.commit()
    with Session(engine) as s:
        assert rollup.watermark(s) == 1
        assert s.connection().execute(select(func.sum(ReportRollup.documents))).scalar() == 1
    clock.advance(61)
    with Session(engine) as s:
        assert rollup.refresh(s, clock) == 1
        assert rollup.refresh(s, clock) == 0
        s.commit()


def _item(name: str, qty: str, price: int) -> Field:
    q = Decimal(qty)
    total = int(q * price)
    return Field(1059, (Field(1030, name), Field(1079, price), Field(1023, q), Field(1043, total)))


def test_items_rollup_sums_sales_minus_returns_per_name(
    engine: Engine, clock: SettableClock
) -> None:
    world = World(engine, clock)
    _to(clock, T0 + 10 * DAY)
    sale = tlv.encode([_item("Хлеб", "2", 5000), _item("Молоко 3,2%", "1.5", 8000)])
    ret = tlv.encode([_item("Хлеб", "1", 5000)])
    world.doc(at=T0 + 3600, tlv=sale, received_at=T0)
    world.doc(at=T0 + 7200, tlv=ret, operation=2, received_at=T0)
    assert [(x.name, x.quantity_milli, x.total) for x in items.lines(sale)] == [
        ("Хлеб", 2000, 10000), ("Молоко 3,2%", 1500, 12000)]  # fmt: skip
    world.doc(at=T0 + 9000, tlv=sale)  # past the watermark: read raw
    with Session(engine) as s:
        rollup.refresh(s, clock)
        s.commit()
    world.doc(at=T0 + 9500, tlv=sale)
    scope = Scope(world.company, T0, T0 + DAY)
    with Session(engine) as s:
        src = rollup.item_source(s, scope)
        got = {
            r.name: (int(r.q), int(r.v))
            for r in s.connection().execute(
                select(
                    src.c.name,
                    func.sum(src.c.quantity_milli).label("q"),
                    func.sum(src.c.revenue).label("v"),
                ).group_by(src.c.name)
            )
        }
    assert got == {"Хлеб": (5000, 25000), "Молоко 3,2%": (4500, 36000)}


def test_moscow_day_is_whole_utc_hours() -> None:
    day = dt.date(2026, 3, 8)
    start = dt.datetime.combine(day, dt.time.min, tzinfo=dt.timezone(dt.timedelta(hours=3)))
    scope = Scope(1, start.timestamp(), start.timestamp() + DAY)
    h0, h1 = scope.hours
    assert h1 - h0 == 24 and h0 * 3600 == start.timestamp()
    d0, d1 = scope.days
    assert d1 - d0 == 1 and dt.date(1970, 1, 1) + dt.timedelta(days=d0) == day
    assert SQLModel is not None
