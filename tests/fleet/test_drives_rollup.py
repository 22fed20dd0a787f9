"""The rollups give the same fit as a plain least-squares fit over the raw points.

Random register histories — drives replaced midway (the new drive's memory starts again near
0 %), days reported twice, late or out of order, in random batches — are
recorded through `record_reports`; then every drive's slope from its forecast sums must equal
numpy.polyfit's over that drive's points (each day's highest figure), the incremental forecast
must equal a rebuild from the rollups, and the rollups must equal a recomputation from the raw
history. The forecast never reads the history, so these checks are what keeps it honest.
"""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from fleet.accounts.models import Company
from fleet.core.clock import SettableClock
from fleet.drives.forecast import rebuild
from fleet.drives.history import DayReport, record_reports
from fleet.drives.models import Drive, DriveForecast, DriveReport, DriveRollup
from fleet.drives.rollup import rollup_history
from fleet.registers.models import Register, RegisterState

D0 = 20_000
_TABLES = ("driverollup", "drivereportinbox", "drivereport", "driveforecast")

# one drive's life on a register: (day offset, used %) reports, any order, repeats allowed
_life = st.lists(st.tuples(st.integers(0, 150), st.integers(0, 100)), min_size=1, max_size=30)


def _register(session: Session, clock: SettableClock) -> int:
    company = Company(
        name="ООО «Итоги»", inn="7700000011", ogrn="1027700000000", created_at=clock.wall()
    )
    session.add(company)
    session.flush()
    reg = Register(
        serial="R-1",
        state=RegisterState.ACTIVE.value,
        company_id=company.id,
        created_at=clock.wall(),
    )
    session.add(reg)
    session.flush()
    assert reg.id is not None
    return reg.id


def _sums(session: Session) -> dict[int, tuple[int, ...]]:
    rows = session.exec(select(DriveForecast)).all()
    return {
        r.drive_id: (r.n, r.sx, r.sy, r.sxy, r.sxx, r.last_day, r.last_pct, r.full_day)
        for r in rows
    }


def _rollups(session: Session) -> set[tuple[int, ...]]:
    return {
        (r.drive_id, r.period, r.n, r.sx, r.sy, r.sxy, r.sxx, r.top_day, r.top_pct)
        for r in session.exec(select(DriveRollup)).all()
    }


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    lives=st.lists(_life, min_size=1, max_size=3),
    cuts=st.lists(st.integers(0, 90), max_size=4),
)
def test_the_rollup_fit_is_numpys_least_squares_fit_over_each_drives_points(
    engine: Engine,
    clock: SettableClock,
    lives: list[list[tuple[int, int]]],
    cuts: list[int],
) -> None:
    with Session(engine) as session:
        for table in _TABLES:
            session.execute(text(f"DELETE FROM {table}"))
        session.execute(text("DELETE FROM drive"))
        rid = _register(session, clock)
        # drive k serves days 200·k … (a replacement resets the memory: its own line)
        reports = [
            DayReport(f"99990789{k:08d}", rid, D0 + 200 * k + day, pct)
            for k, life in enumerate(lives)
            for day, pct in life
        ]
        bounds = sorted({0, len(reports), *(c % (len(reports) + 1) for c in cuts)})
        for lo, hi in itertools.pairwise(bounds):
            record_reports(session, clock, reports[lo:hi])
        incremental = _sums(session)

        ids = {d.fn_number: d.id for d in session.exec(select(Drive)).all()}
        assert len(ids) == len(lives) == len(incremental)
        for k, life in enumerate(lives):
            points: dict[int, int] = {}
            for day, pct in life:
                x = D0 + 200 * k + day
                points[x] = max(points.get(x, 0), pct)
            drive_id = ids[f"99990789{k:08d}"]
            assert drive_id is not None
            n, sx, sy, sxy, sxx, last_day, last_pct, _full = incremental[drive_id]
            assert n == len(points) and sy == sum(points.values())
            assert last_day == max(points) and last_pct == max(points.values())
            if len(points) >= 2:
                xs = np.array(sorted(points), dtype=float) - D0  # slope is shift-invariant
                ys = np.array([points[x] for x in sorted(points)], dtype=float)
                slope = (n * sxy - sx * sy) / (n * sxx - sx * sx)
                assert np.isclose(slope, np.polyfit(xs, ys, 1)[0], rtol=1e-9, atol=1e-12)
                intercept_at_d0 = (sy - slope * sx) / n + slope * D0
                assert np.isclose(intercept_at_d0, np.polyfit(xs, ys, 1)[1], atol=1e-6)

        history = {(r.drive_id, r.day): r.used_pct for r in session.exec(select(DriveReport))}
        assert len(history) == sum(len({d for d, _ in life}) for life in lives)

        absorbed = _rollups(session)
        rebuild(session, clock)
        assert _sums(session) == incremental
        rollup_history(session)
        assert _rollups(session) == absorbed
        session.rollback()
