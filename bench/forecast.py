"""`oblako bench forecast`: the drive replacement forecast over a year of daily history.

On a throwaway PostgreSQL database (created on the server ``admin_url`` names, dropped at the
end) the schema is built with ``create_all``; ``registers`` registers each get a drive and
``days`` days of reported memory use (a drive-specific rate, whole per cents, never decreasing),
loaded with COPY into ``drivereport`` (its key dropped during the load and made again after, as
a bulk load does), and the per-period rollups built from it (`fleet.drives.rollup.rollup_history`,
what the migration's backfill does). Then, timed:

* **from scratch** — `fleet.drives.forecast.rebuild`: one GROUP BY over the rollups, the sums
  and the dates for every drive (the committed transaction);
* **incremental**: the forecast is updated as the reports are recorded. A day's reports are
  COPied into the inbox (not timed), then `fleet.drives.rollup.absorb` (the committed
  transaction) records them: history, rollups, and each reporting drive's sums and dates. Its
  forecast share is measured in the same run as the difference to the same statement without
  the forecast step (both on the same inbox, rolled back, in alternating order), and given per
  report;
* **end of day** — the forecast job (`fleet.drives.jobs.refresh`: shadows, notifications) after
  the day's reports are recorded: what is left to do once they are in (the target's 200 ms).

Baseline, measured in the same run: the naive way — read a drive's history and fit it with a
Python loop per row — over a sample of drives, extrapolated to all of them. The sample's dates
are checked against the SQL's (they must be equal).
Targets (issue 7): from scratch under 2 s, incremental under 200 ms.
"""

from __future__ import annotations

import io
import math
import random
import statistics
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Final

import psycopg
from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, SQLModel

import fleet.models  # noqa: F401  (registers every table)
from fleet.core.clock import SettableClock, SystemClock
from fleet.core.db import make_engine, normalise_url
from fleet.drives import rollup
from fleet.drives.forecast import rebuild
from fleet.drives.jobs import refresh
from fleet.drives.rollup import absorb, rollup_history

__all__ = ["ForecastResult", "print_table", "run"]

SCRATCH_TARGET_S: Final = 2.0
INCREMENTAL_TARGET_S: Final = 0.2
FIRST_DAY: Final = 20_089  # 2025-01-01
LEAD: Final = 30


@dataclass(frozen=True)
class ForecastResult:
    """What one run measured."""

    registers: int
    days: int
    rows: int
    load_s: float
    scratch_s: list[float]
    incremental_s: list[float]  # the end-of-day job after a day's reports
    incremental_tenth_s: list[float]  # the same on a day when a tenth of the drives report
    absorb_s: list[float]  # recording a day's reports with the forecast (committed)
    absorb_tenth_s: list[float]
    with_forecast_s: list[float]  # the same statement, rolled back
    without_forecast_s: list[float]  # it without the forecast step, rolled back
    rollups: int
    bare_update_s: list[float]  # UPDATE of every forecast row, no computation: the floor
    baseline_per_drive_s: float
    baseline_sample: int
    sample_agrees: bool

    @property
    def scratch_best(self) -> float:
        """The best from-scratch time."""
        return min(self.scratch_s)

    @property
    def incremental_best(self) -> float:
        """The best incremental time."""
        return min(self.incremental_s)

    @property
    def forecast_share_s(self) -> float:
        """The forecast's share of recording a day's reports (median difference)."""
        return statistics.median(
            a - b for a, b in zip(self.with_forecast_s, self.without_forecast_s, strict=True)
        )

    @property
    def baseline_s(self) -> float:
        """The naive fit extrapolated to every drive."""
        return self.baseline_per_drive_s * self.registers

    @property
    def ok(self) -> bool:
        """Both targets met and the sample agrees."""
        return (
            self.sample_agrees
            and self.scratch_best < SCRATCH_TARGET_S
            and self.incremental_best < INCREMENTAL_TARGET_S
        )


@contextmanager
def _database(admin_url: str) -> Iterator[str]:
    admin = make_url(normalise_url(admin_url))
    if admin.get_backend_name() != "postgresql":
        raise ValueError("the forecast benchmark needs PostgreSQL: give a postgresql:// URL")
    conninfo = admin.set(drivername="postgresql").render_as_string(hide_password=False)
    name = f"oblako_bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _drive_rows(drive_id: int, rng: random.Random, days: int) -> tuple[str, int, int]:
    """A drive's history as COPY text; also its (start %, rate in 1/1000 % per day)."""
    start = rng.randrange(0, 20)
    rate = rng.randrange(5, 250)  # 0.005 … 0.25 % a day
    lines = "".join(
        f"{drive_id}\t{FIRST_DAY + d}\t{min(100, start + rate * d // 1000)}\n" for d in range(days)
    )
    return lines, start, rate


def _load(conninfo: str, registers: int, days: int, progress: Callable[[str], None]) -> None:
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO company (name, inn, ogrn, created_at) "
            "SELECT 'ООО «Бенч ' || g || '»', lpad(g::text, 10, '0'), '1027700000000', 0 "
            "FROM generate_series(1, %s) g",
            (max(1, registers // 100),),
        )
        conn.execute(
            "INSERT INTO register (serial, state, company_id, created_at, shift_open, "
            "  has_errors) "
            "SELECT 'B' || g, 'active', 1 + (g - 1) / 100, 0, false, false "
            "FROM generate_series(1, %s) g",
            (registers,),
        )
        conn.execute(
            "INSERT INTO drive (fn_number, register_id, company_id, first_seen_at) "
            "SELECT '99990000' || lpad(g::text, 8, '0'), g, 1 + (g - 1) / 100, 0 "
            "FROM generate_series(1, %s) g",
            (registers,),
        )
        conn.execute(
            "INSERT INTO driveforecast (drive_id, company_id, n, sx, sy, sxy, sxx, expires_day) "
            "SELECT id, company_id, 0, 0, 0, 0, 0, %s + 400 + id %% 700 FROM drive",
            (FIRST_DAY,),
        )
        conn.execute("ALTER TABLE drivereport DROP CONSTRAINT drivereport_pkey")
        rng = random.Random(7)
        with (
            conn.cursor() as cur,
            cur.copy("COPY drivereport (drive_id, day, used_pct) FROM STDIN") as copy,
        ):
            buf = io.StringIO()
            for drive_id in range(1, registers + 1):
                buf.write(_drive_rows(drive_id, rng, days)[0])
                if drive_id % 2000 == 0:
                    copy.write(buf.getvalue())
                    buf = io.StringIO()
                    progress(f"COPY: {drive_id * days:,} строк из {registers * days:,}")
            copy.write(buf.getvalue())
        progress("ключ истории…")
        conn.execute("ALTER TABLE drivereport ADD PRIMARY KEY (day, drive_id)")


def _vacuum(conninfo: str, progress: Callable[[str], None]) -> None:
    progress("VACUUM ANALYZE…")
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


def _copy_day(conninfo: str, registers: int, day: int) -> None:
    """Every one of the first ``registers`` drives reports ``day``."""
    rng = random.Random(day)
    with psycopg.connect(conninfo) as conn, conn.cursor() as cur:
        with cur.copy("COPY drivereportinbox (drive_id, day, used_pct) FROM STDIN") as copy:
            copy.write(
                "".join(
                    f"{d}\t{day}\t{min(100, 20 + rng.randrange(0, 60))}\n"
                    for d in range(1, registers + 1)
                )
            )
        conn.commit()
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("ANALYZE drivereportinbox")


def _naive_fit(rows: list[tuple[int, int]]) -> int | None:
    """The naive baseline: a Python loop per row, then the same formula."""
    n = sx = sy = sxy = sxx = 0
    for x, y in rows:
        n += 1
        sx += x
        sy += y
        sxy += x * y
        sxx += x * x
    num = n * sxy - sx * sy
    if n < 2 or num <= 0:
        return None
    days_left = (100.0 - sy / n) * (n * sxx - sx * sx) / num
    if days_left >= 100_000:
        return None
    return math.floor(sx / n + days_left)


def _baseline(conninfo: str, days: int, sample: int) -> tuple[float, dict[int, int | None]]:
    """The naive way over the first ``sample`` drives: stream their rows into Python and fit
    each drive with a loop per row. Returns the seconds per history row and the fits."""
    rows_wanted = sample * days
    fits: dict[int, int | None] = {}
    with psycopg.connect(conninfo) as conn:
        started = time.perf_counter()
        per_drive: dict[int, list[tuple[int, int]]] = {}
        # the heap holds the load in drive order: the first rows are the first drives
        with conn.cursor(name="baseline") as cur:
            cur.execute("SELECT drive_id, day, used_pct FROM drivereport LIMIT %s", (rows_wanted,))
            for drive_id, day, pct in cur:
                per_drive.setdefault(drive_id, []).append((day, pct))
        for drive_id, rows in per_drive.items():
            fits[drive_id] = _naive_fit(rows)
        elapsed = time.perf_counter() - started
    complete = {k: v for k, v in fits.items() if len(per_drive[k]) == days}
    return elapsed / rows_wanted, complete


def _forecast_share(engine: Engine, clock: SystemClock, *, first_with: bool) -> tuple[float, float]:
    """Recording the inbox's reports with and without the forecast step, each rolled back
    (the inbox is as it was after both): the seconds of each, in the order given."""
    plain = (
        "WITH batch AS (DELETE FROM drivereportinbox "
        "  RETURNING drive_id, day, used_pct, expires_day), "
        f"{rollup._CONTRIBUTIONS}, hist AS ({rollup._HISTORY}), roll AS ({rollup._ROLLUP}) "
        "SELECT COUNT(*) FROM batch"
    )
    times: dict[bool, float] = {}
    for with_fc in (first_with, not first_with):
        with Session(engine) as session:
            t0 = time.perf_counter()
            if with_fc:
                absorb(session, clock, lead_days=LEAD)
            else:
                session.execute(text("SET LOCAL jit = off"))
                session.execute(text(plain))
            times[with_fc] = time.perf_counter() - t0
            session.rollback()
    return times[True], times[False]


def run(
    admin_url: str,
    registers: int = 100_000,
    days: int = 365,
    *,
    repeats: int = 3,
    sample: int = 1000,
    progress: Callable[[str], None] = lambda _m: None,
) -> ForecastResult:
    """Load, then time from scratch and incremental ``repeats`` times each."""
    clock = SystemClock()
    with _database(admin_url) as url:
        engine = make_engine(url)
        SQLModel.metadata.create_all(engine)
        conninfo = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        started = time.perf_counter()
        _load(conninfo, registers, days, progress)
        progress("итоги по периодам из истории…")
        with Session(engine) as session:
            rollups = rollup_history(session)
            session.commit()
        _vacuum(conninfo, progress)
        load_s = time.perf_counter() - started
        scratch = []
        for i in range(repeats):
            progress(f"с нуля, попытка {i + 1}…")
            with Session(engine) as session:
                t0 = time.perf_counter()
                rebuild(session, clock, lead_days=LEAD)
                session.commit()
                scratch.append(time.perf_counter() - t0)
        progress("базовая линия (цикл Python по строкам)…")
        per_row, fits = _baseline(conninfo, days, sample)
        with Session(engine) as session:
            sql = dict(
                session.execute(
                    text("SELECT drive_id, full_day FROM driveforecast WHERE drive_id = ANY(:ids)"),
                    {"ids": list(fits)},
                ).all()
            )
        agrees = all(sql.get(k) == v for k, v in fits.items())
        incremental: list[float] = []
        absorbed: list[float] = []
        tenth: list[float] = []
        absorbed_tenth: list[float] = []
        with_fc: list[float] = []
        without_fc: list[float] = []
        # the job's clock: the day after the loaded history; one untimed pass first raises the
        # notifications already due (what the job did on the days before)
        day_clock = SettableClock((FIRST_DAY + days) * 86_400.0 + 43_200.0)
        with Session(engine) as session:
            refresh(session, day_clock, lead_days=LEAD)
            session.commit()
        for i in range(2 * repeats):
            full_day = i < repeats
            progress(
                f"{'один день отчётов' if full_day else 'отчёты десятой части ФН'}, "
                f"попытка {i % repeats + 1}…"
            )
            _copy_day(
                conninfo, registers if full_day else max(1, registers // 10), FIRST_DAY + days + i
            )
            if full_day:
                pair = _forecast_share(engine, clock, first_with=i % 2 == 0)
                with_fc.append(pair[0])
                without_fc.append(pair[1])
            with Session(engine) as session:
                t0 = time.perf_counter()
                absorb(session, clock, lead_days=LEAD)
                session.commit()
                (absorbed if full_day else absorbed_tenth).append(time.perf_counter() - t0)
            day_clock.advance(86_400.0)
            with Session(engine) as session:
                t0 = time.perf_counter()
                refresh(session, day_clock, lead_days=LEAD)
                session.commit()
                (incremental if full_day else tenth).append(time.perf_counter() - t0)
        floor: list[float] = []
        for i in range(repeats):
            progress(f"голое UPDATE тех же 100k строк, попытка {i + 1}…")
            with Session(engine) as session:
                t0 = time.perf_counter()
                # what any fold of every drive must do at least: rewrite each row once
                session.execute(text("UPDATE driveforecast SET updated_at = updated_at"))
                session.commit()
                floor.append(time.perf_counter() - t0)
        engine.dispose()
    return ForecastResult(
        registers=registers,
        days=days,
        rows=registers * days,
        load_s=load_s,
        scratch_s=scratch,
        incremental_s=incremental,
        incremental_tenth_s=tenth,
        absorb_s=absorbed,
        absorb_tenth_s=absorbed_tenth,
        with_forecast_s=with_fc,
        without_forecast_s=without_fc,
        rollups=rollups,
        bare_update_s=floor,
        baseline_per_drive_s=per_row * days,
        baseline_sample=len(fits),
        sample_agrees=agrees,
    )


def print_table(r: ForecastResult) -> None:
    """The figures, the targets and the ratio to the baseline."""
    from rich.console import Console
    from rich.table import Table

    t = Table(title=f"oblako bench forecast: {r.registers:,} ФН × {r.days} дн. = {r.rows:,} строк")
    t.add_column("что")
    t.add_column("время", justify="right")
    t.add_column("цель", justify="right")
    t.add_column("к базовой линии", justify="right")
    t.add_row(
        f"загрузка (COPY, ключи, {r.rollups:,} итогов по периодам, ANALYZE)",
        f"{r.load_s:.1f} с",
        "",
        "",
    )
    t.add_row(
        "с нуля (лучшее; все: " + ", ".join(f"{s:.2f}" for s in r.scratch_s) + ")",
        f"{r.scratch_best:.2f} с",
        f"< {SCRATCH_TARGET_S:.0f} с",
        f"в {r.baseline_s / r.scratch_best:.0f} раз быстрее",
    )
    per_report = 1e6 / r.registers
    t.add_row(
        "запись дня отчётов вместе с прогнозом: история, итоги, суммы и даты ФН (все: "
        + ", ".join(f"{s * 1000:.0f}" for s in r.absorb_s)
        + " мс)",
        f"{min(r.absorb_s) * 1000:.0f} мс",
        "",
        f"{min(r.absorb_s) * per_report:.1f} мкс на отчёт",
    )
    t.add_row(
        "из неё доля прогноза: с ним − без него, медиана (с ним: "
        + ", ".join(f"{s * 1000:.0f}" for s in r.with_forecast_s)
        + "; без: "
        + ", ".join(f"{s * 1000:.0f}" for s in r.without_forecast_s)
        + " мс)",
        f"{r.forecast_share_s * 1000:.0f} мс",
        "",
        f"{r.forecast_share_s * per_report:.1f} мкс на отчёт",
    )
    t.add_row(
        "инкрементально: конец дня, задание прогноза после записи дня (все: "
        + ", ".join(f"{s * 1000:.0f}" for s in r.incremental_s)
        + " мс)",
        f"{r.incremental_best * 1000:.0f} мс",
        f"< {INCREMENTAL_TARGET_S * 1000:.0f} мс",
        f"в {r.baseline_s / r.incremental_best:.0f} раз быстрее",
    )
    t.add_row(
        f"день, когда отчитались {r.registers // 10:,} ФН: запись (все: "
        + ", ".join(f"{s * 1000:.0f}" for s in r.absorb_tenth_s)
        + " мс); конец дня (все: "
        + ", ".join(f"{s * 1000:.0f}" for s in r.incremental_tenth_s)
        + " мс)",
        f"{min(r.absorb_tenth_s) * 1000:.0f} / {min(r.incremental_tenth_s) * 1000:.0f} мс",
        "",
        "",
    )
    t.add_row(
        f"базовая линия: строки в Python, цикл по строкам; {r.baseline_sample} ФН → все",
        f"{r.baseline_s:.1f} с",
        "",
        f"{r.baseline_per_drive_s * 1000:.2f} мс на ФН",
    )
    t.add_row(
        "для сравнения: голое UPDATE всех строк прогноза (все: "
        + ", ".join(f"{s * 1000:.0f}" for s in r.bare_update_s)
        + " мс)",
        f"{min(r.bare_update_s) * 1000:.0f} мс",
        "",
        "",
    )
    Console().print(t)
    print(f"даты выборки совпадают с SQL: {'да' if r.sample_agrees else 'НЕТ'}")
    print(
        f"медианы: с нуля {statistics.median(r.scratch_s):.2f} с, "
        f"запись дня {statistics.median(r.absorb_s) * 1000:.0f} мс, "
        f"конец дня {statistics.median(r.incremental_s) * 1000:.0f} мс"
    )
