"""The replacement forecast: history in, least-squares sums and dates out, incrementally.

An independent oracle (exact rational least squares in Python) checks the SQL; hypothesis checks
that recording reports in any batches equals a rebuild from the history.
"""

from __future__ import annotations

import math
from fractions import Fraction

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from fleet.accounts.models import Company
from fleet.core.clock import SettableClock
from fleet.drives.exceptions import InvalidReportError
from fleet.drives.forecast import rebuild
from fleet.drives.history import DayReport, day_of, record_reports, snapshot_shadows
from fleet.drives.models import Drive, DriveForecast, DriveReport, DriveReportInbox
from fleet.link.ingest_models import DeviceShadow
from fleet.registers.models import Register, RegisterState

FN = "9999078900012345"
D0 = 20_000  # a day number


def _register(session: Session, clock: SettableClock, n: int = 1) -> int:
    company = Company(
        name=f"ООО «Ф{n}»", inn=f"77000000{n:02d}", ogrn="1027700000000", created_at=clock.wall()
    )
    session.add(company)
    session.flush()
    reg = Register(
        serial=f"S-{n}-{clock.wall()}",
        state=RegisterState.ACTIVE.value,
        company_id=company.id,
        created_at=clock.wall(),
    )
    session.add(reg)
    session.flush()
    assert reg.id is not None
    return reg.id


def _oracle_full(points: dict[int, int]) -> int | None:
    """The day the least-squares line reaches 100 % (exact arithmetic), None if not growing."""
    n = len(points)
    if n < 2:
        return None
    sx = sum(points)
    sy = sum(points.values())
    sxy = sum(x * y for x, y in points.items())
    sxx = sum(x * x for x in points)
    num = n * sxy - sx * sy
    if num <= 0:
        return None
    days_left = (100 - Fraction(sy, n)) * Fraction(n * sxx - sx * sx, num)
    if days_left >= 100_000:  # a flat line: no fill date (the forecast's horizon)
        return None
    return math.floor(Fraction(sx, n) + days_left)


def _float_full(points: dict[int, int]) -> int | None:
    """The same in IEEE doubles, in the SQL's order of operations (as both databases do it)."""
    n = len(points)
    sx, sy = sum(points), sum(points.values())
    num = n * sum(x * y for x, y in points.items()) - sx * sy
    if n < 2 or num <= 0:
        return None
    days_left = (100.0 - float(sy) / n) * float(n * sum(x * x for x in points) - sx * sx)
    days_left /= float(num)
    return math.floor(float(sx) / n + days_left) if days_left < 100_000 else None


def _forecast(session: Session, fn: str = FN) -> DriveForecast:
    drive = session.exec(select(Drive).where(Drive.fn_number == fn)).one()
    fc = session.get(DriveForecast, drive.id)
    assert fc is not None
    session.refresh(fc)
    return fc


def test_a_linear_history_gives_the_day_memory_runs_out(
    engine: Engine, clock: SettableClock
) -> None:
    with Session(engine) as session:
        rid = _register(session, clock)
        # 2 % a week (not exactly linear day by day): 10 % on day D0
        reports = [
            DayReport(FN, rid, D0 + d, 10 + (2 * d) // 7, expires_day=D0 + 1000) for d in range(60)
        ]
        assert record_reports(session, clock, reports, lead_days=30) == 60
        session.commit()
        fc = _forecast(session)
        points = {r.day: r.used_pct for r in reports}
        assert fc.n == 60 and fc.last_day == D0 + 59 and fc.last_pct == 10 + (2 * 59) // 7
        assert fc.full_day == _oracle_full(points)
        assert fc.full_day is not None and D0 + 300 < fc.full_day < D0 + 330  # ≈ 90 % / (2/7)
        # memory runs out before the expiry: replace-by is the fill date minus the lead time
        assert fc.replace_by == fc.full_day - 30
        assert session.exec(select(DriveReportInbox)).all() == []


def test_expiry_wins_when_earlier_and_a_flat_history_has_no_fill_date(
    engine: Engine, clock: SettableClock
) -> None:
    with Session(engine) as session:
        rid = _register(session, clock)
        other = "9999078900054321"
        record_reports(
            session,
            clock,
            [DayReport(FN, rid, D0 + d, 5 + d, expires_day=D0 + 50) for d in range(10)]
            + [DayReport(other, rid, D0 + d, 7, expires_day=D0 + 400) for d in range(10)],
            lead_days=14,
        )
        session.commit()
        fc = _forecast(session)
        assert fc.full_day == D0 + 95 and fc.replace_by == D0 + 50 - 14
        flat = _forecast(session, other)
        assert flat.full_day is None and flat.replace_by == D0 + 400 - 14


def test_a_day_reported_again_keeps_its_highest_figure(
    engine: Engine, clock: SettableClock
) -> None:
    with Session(engine) as session:
        rid = _register(session, clock)
        record_reports(session, clock, [DayReport(FN, rid, D0 + d, d) for d in range(5)])
        record_reports(
            session,
            clock,
            [
                DayReport(FN, rid, D0 + 4, 9),
                DayReport(FN, rid, D0 + 3, 1),
                DayReport(FN, rid, D0 + 5, 9),
            ],
        )
        session.commit()
        fc = _forecast(session)
        history = {r.day - D0: r.used_pct for r in session.exec(select(DriveReport)).all()}
        assert history == {0: 0, 1: 1, 2: 2, 3: 3, 4: 9, 5: 9}
        points = {D0 + k: v for k, v in history.items()}
        assert (fc.n, fc.sx, fc.sy) == (6, sum(points), sum(points.values()))
        assert fc.sxy == sum(x * y for x, y in points.items())
        assert fc.full_day == _oracle_full(points)


def test_only_drives_with_new_reports_are_touched(engine: Engine, clock: SettableClock) -> None:
    with Session(engine) as session:
        rid = _register(session, clock)
        a, b = "1111111111111111", "2222222222222222"
        record_reports(
            session,
            clock,
            [DayReport(a, rid, D0 + d, d) for d in range(3)]
            + [DayReport(b, rid, D0 + d, 2 * d) for d in range(3)],
        )
        session.commit()
        before_a, before_b = _forecast(session, a), _forecast(session, b)
        full_a, at_b = before_a.full_day, before_b.updated_at
        clock.advance(3600)
        # recording is the forecast's update: the reporting drive's dates move at once
        record_reports(session, clock, [DayReport(a, rid, D0 + 3, 30)])
        session.commit()
        after_a = _forecast(session, a)
        assert after_a.updated_at == clock.wall() and after_a.n == 4
        assert after_a.full_day == _oracle_full({D0: 0, D0 + 1: 1, D0 + 2: 2, D0 + 3: 30})
        assert after_a.full_day != full_a
        assert _forecast(session, b).updated_at == at_b


def test_bad_reports_are_refused_and_nothing_is_written(
    engine: Engine, clock: SettableClock
) -> None:
    with Session(engine) as session:
        rid = _register(session, clock)
        session.commit()
        for bad in (DayReport(FN, rid, D0, 101), DayReport("12345", rid, D0, 5)):
            try:
                record_reports(session, clock, [DayReport(FN, rid, D0, 5), bad])
            except InvalidReportError as exc:
                assert exc.fields
            else:
                raise AssertionError("accepted a bad report")
        assert session.exec(select(Drive)).all() == []
        assert session.exec(select(DriveReportInbox)).all() == []


def test_shadows_are_copied_once_per_new_state(engine: Engine, clock: SettableClock) -> None:
    with Session(engine) as session:
        rid = _register(session, clock)
        state = {
            "v": 1,
            "seq": 1,
            "at": int(clock.wall()),
            "drive": {
                "fn": FN,
                "phase": 3,
                "warnings": 0,
                "last_fd": 5,
                "expires": "2027-03-01",
                "memory_used_pct": 12,
            },
            "shift": {"open": False},
        }
        session.add(
            DeviceShadow(
                register_id=rid, seq=1, reported=state, reported_at=clock.wall(), drive_fn=FN
            )
        )
        session.commit()
        assert snapshot_shadows(session, clock, lead_days=30) == 1
        assert snapshot_shadows(session, clock) == 0  # the same state is not copied twice
        session.commit()
        fc = _forecast(session)
        assert fc.last_pct == 12 and fc.last_day == day_of(clock.wall())
        assert fc.expires_day is not None
        assert fc.replace_by == fc.expires_day - 30  # one day of history: no fill rate yet


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    days=st.lists(st.tuples(st.integers(0, 400), st.integers(0, 100)), min_size=1, max_size=40),
    cut=st.integers(0, 40),
)
def test_recording_in_batches_equals_a_rebuild(
    engine: Engine, clock: SettableClock, days: list[tuple[int, int]], cut: int
) -> None:
    with Session(engine) as session:
        for table in (
            "driverollup",
            "drivereportinbox",
            "drivereport",
            "driveforecast",
            "drive",
        ):
            session.execute(text(f"DELETE FROM {table}"))
        rid = _register(session, clock, n=len(days))
        reports = [DayReport(FN, rid, D0 + d, pct) for d, pct in days]
        record_reports(session, clock, reports[:cut])
        record_reports(session, clock, reports[cut:])
        fc = _forecast(session)
        incremental = (fc.n, fc.sx, fc.sy, fc.sxy, fc.sxx, fc.full_day, fc.last_pct)
        rebuild(session, clock)
        fc = _forecast(session)
        assert (fc.n, fc.sx, fc.sy, fc.sxy, fc.sxx, fc.full_day) == incremental[:6]
        points: dict[int, int] = {}
        for d, pct in days:
            points[D0 + d] = max(points.get(D0 + d, 0), pct)
        assert fc.n == len(points) and fc.full_day == _float_full(points)
        exact = _oracle_full(points)
        if exact is not None and fc.full_day is not None:
            assert abs(fc.full_day - exact) <= 1  # doubles vs exact rationals
        session.rollback()
