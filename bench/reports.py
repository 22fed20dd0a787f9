"""`oblako bench reports`: every ready report over a month and a year of 10M receipts.

A throwaway PostgreSQL database (`create_all`): one company, ``registers`` registers in ten
stores, ``documents`` settlement documents loaded with COPY and spread over one year (opening
hours 08–22 Moscow; one in 20 a return, one in 200 a correction, one in 10 under УСН). The
`reports-rollup` job folds them (fleet/reports/rollup.py) and then a day's worth more arrive
past its watermark, so every report also reads raw documents, as in production. After `VACUUM
ANALYZE` each report is built ``n`` times for the last whole month and for the whole year
(`fleet.reports.service.ready`, as the pages call it) and the p95 is compared with the target
(month < 1 s, year < 5 s) and with a same-run baseline: a bare `count(*)` of the period's
documents over the (company_id, issued_at) index.

The documents carry no TLV (COPY of the columns only): payment, VAT and item figures are zeros,
so those reports time their queries over the rollup but not the job's TLV reading.
"""

from __future__ import annotations

import datetime as dt
import random
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

import psycopg
from sqlalchemy import text
from sqlmodel import Session, SQLModel

import fleet.models  # noqa: F401  (registers every table)
from bench.cabinet import _database, percentile
from fleet.access.permissions import CLIENT_PERMISSIONS
from fleet.access.principal import Principal
from fleet.accounts.models import Company
from fleet.core.clock import SettableClock
from fleet.core.db import make_engine, normalise_url
from fleet.general import figures as general_figures
from fleet.registers.models import Register, RegisterState
from fleet.reports import catalog, rollup, service
from fleet.reports.filters import ReportFilter
from fleet.stores.models import Store

__all__ = ["ReportsResult", "main", "print_table", "run"]

MONTH_TARGET_MS: Final = 1000.0
YEAR_TARGET_MS: Final = 5000.0
MSK: Final = dt.timezone(dt.timedelta(hours=3))
FIRST_DAY: Final = dt.date(2025, 3, 1)
DAYS: Final = 365
TAIL: Final = 20_000  # documents past the rollup's watermark


@dataclass(frozen=True)
class Timing:
    """One report over one period: latency of n builds (milliseconds) and rows."""

    report: str
    period: str
    n: int
    p50_ms: float
    p95_ms: float
    rows: int

    @property
    def ok(self) -> bool:
        """Within the target."""
        return self.p95_ms < (MONTH_TARGET_MS if self.period == "месяц" else YEAR_TARGET_MS)


@dataclass
class ReportsResult:
    """The whole run."""

    documents: int
    registers: int
    load_s: float
    rollup_s: float
    rollup_rows: int
    baseline: dict[str, float] = field(default_factory=dict)  # period → p95 ms
    timings: list[Timing] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Every report within its target."""
        return all(t.ok for t in self.timings)


def _setup(session: Session, registers: int) -> tuple[int, list[int]]:
    company = Company(name="ООО «Сеть»", inn="7707083893", ogrn="1027700132195", created_at=0.0)
    session.add(company)
    session.flush()
    assert company.id is not None  # just inserted (the bench's own setup, not input data)
    stores = []
    for i in range(10):
        store = Store(company_id=company.id, name=f"Магазин {i + 1}", created_at=0.0)
        session.add(store)
        session.flush()
        stores.append(store.id)
    ids = []
    for i in range(registers):
        reg = Register(
            serial=f"B{i:011d}",
            name=f"Касса {i + 1}",
            company_id=company.id,
            store_id=stores[i % 10],
            state=RegisterState.ACTIVE.value,
            created_at=0.0,
        )
        session.add(reg)
        session.flush()
        assert reg.id is not None
        ids.append(reg.id)
    session.commit()
    return company.id, ids


def _copy(url: str, company: int, registers: list[int], first: int, count: int,
          start: float, span_days: float) -> None:  # fmt: skip
    """COPY ``count`` documents (fd numbers from ``first``) issued over ``span_days``."""
    rnd = random.Random(first)
    conninfo = normalise_url(url).replace("postgresql+psycopg://", "postgresql://")
    columns = (
        "register_id, company_id, fn_number, fd_number, doc_type, operation, total, tax_system,"
        " shift_number, fiscal_sign, has_marking, issued_at, received_at, ofd_status"
    )
    with psycopg.connect(conninfo) as conn, conn.cursor() as cur:
        with cur.copy(f"COPY fiscaldocument ({columns}) FROM STDIN") as copy:
            lines = []
            for k in range(count):
                g = first + k
                day = int(k * span_days / count)
                at = start + day * 86400 + 5 * 3600 + rnd.random() * 14 * 3600  # 08–22 MSK
                reg = registers[g % len(registers)]
                # text format, written in blocks: write_row per row costs ~15x more
                lines.append(
                    f"{reg}\t{company}\t99990789{reg:08d}\t{g}\t{31 if g % 200 == 0 else 3}\t"
                    f"{2 if g % 20 == 0 else 1}\t{rnd.randrange(5000, 500000)}\t"
                    f"{2 if g % 10 == 0 else 1}\t{int(at // 86400)}\t{3_000_000_000 + g}\tf\t"
                    f"{at:.3f}\t{at:.3f}\taccepted\n"
                )
                if len(lines) == 50_000:
                    copy.write("".join(lines))
                    lines.clear()
            copy.write("".join(lines))
        conn.commit()


def _time(n: int, call: Callable[[], int]) -> tuple[list[float], int]:
    rows = call()  # warm
    spent = []
    for _ in range(n):
        t = time.perf_counter()
        call()
        spent.append((time.perf_counter() - t) * 1000)
    return spent, rows


def run(
    database_url: str,
    registers: int = 200,
    documents: int = 10_000_000,
    *,
    n: int = 5,
    progress: Callable[[str], Any] = print,
) -> ReportsResult:
    """Load, fold, time; the database is dropped at the end."""
    with _database(database_url) as url:
        engine = make_engine(url)
        SQLModel.metadata.create_all(engine)
        with Session(engine) as s:
            company, reg_ids = _setup(s, registers)
        start = dt.datetime.combine(FIRST_DAY, dt.time.min, tzinfo=MSK).timestamp()
        t0 = time.perf_counter()
        # a bulk load: the secondary indexes are built once at the end, not row by row
        with engine.begin() as c:
            indexes = c.execute(text(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'fiscaldocument'"
                " AND indexname NOT IN (SELECT conname FROM pg_constraint)"
            )).all()  # fmt: skip
            for name, _ in indexes:
                c.execute(text(f'DROP INDEX "{name}"'))
        chunk = 1_000_000
        for first in range(0, documents, chunk):
            progress(f"COPY документов: {first:,} из {documents:,}")
            count = min(chunk, documents - first)
            # each chunk its own days, in order: ids grow with time as at ingest
            _copy(url, company, reg_ids, first + 1, count,
                  start + first / documents * DAYS * 86400, count / documents * DAYS)  # fmt: skip
        progress("строю индексы")
        with engine.begin() as c:
            for _, definition in indexes:
                c.execute(text(definition))
        load_s = time.perf_counter() - t0
        clock = SettableClock(start + (DAYS + 1) * 86400)
        t0 = time.perf_counter()
        while True:
            with Session(engine) as s:
                done = rollup.refresh(s, clock)
                s.commit()
            progress(f"свёртка: +{done:,}")
            if not done:
                break
        rollup_s = time.perf_counter() - t0
        # the last day's documents arrive after the job's last run
        _copy(url, company, reg_ids, documents + 1, TAIL, start + (DAYS - 1) * 86400, 1.0)
        with engine.connect() as c:
            c.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))
            rollup_rows = c.execute(text("SELECT count(*) FROM reportrollup")).scalar_one()
        result = ReportsResult(documents + TAIL, registers, load_s, rollup_s, rollup_rows)
        principal = Principal(company_id=company, permissions=CLIENT_PERMISSIONS)
        last = FIRST_DAY + dt.timedelta(days=DAYS - 1)
        month_end = last.replace(day=1) - dt.timedelta(days=1)
        periods = {
            "месяц": ReportFilter(month_end.replace(day=1), month_end),
            "год": ReportFilter(FIRST_DAY, last),
        }
        for label, flt in periods.items():
            a, b = flt.bounds

            def bare(a: float = a, b: float = b) -> int:
                with engine.connect() as c:
                    return int(c.execute(
                        text("SELECT count(*) FROM fiscaldocument WHERE company_id = :c"
                             " AND issued_at >= :a AND issued_at < :b"),
                        {"c": company, "a": a, "b": b},
                    ).scalar_one())  # fmt: skip

            spent, _ = _time(n, bare)
            result.baseline[label] = percentile(spent, 0.95)
            for code in catalog.REPORTS:
                progress(f"{code}: {label}")

                def build(code: str = code, flt: ReportFilter = flt) -> int:
                    with Session(engine) as s:
                        return len(service.ready(s, principal, code, flt).rows)

                spent, rows = _time(n, build)
                result.timings.append(
                    Timing(code, label, n, statistics.median(spent), percentile(spent, 0.95), rows)
                )
            # the General's report (fleet/general/figures.py) over the same rollups: the last
            # 30 or 365 Moscow days, and the equal period before them for the change
            days = 30 if label == "месяц" else 365

            def general(days: int = days) -> int:
                with Session(engine) as s:
                    return len(general_figures.build(s, company, last, days).by_day)

            spent, rows = _time(n, general)
            result.timings.append(
                Timing("general", label, n, statistics.median(spent), percentile(spent, 0.95), rows)
            )
        engine.dispose()
        return result


def print_table(result: ReportsResult) -> None:
    """The result as a Markdown table (docs/benchmarks.md takes it as is)."""
    print(
        f"документов: {result.documents:,}; касс: {result.registers}; загрузка COPY "
        f"{result.load_s:.0f} с; свёртка {result.rollup_s:.0f} с → {result.rollup_rows:,} строк"
    )
    print(
        "базовая линия (count(*) за период по индексу): "
        + ", ".join(f"{k} p95 {v:.0f} мс" for k, v in result.baseline.items())
    )
    print("| отчёт | период | p50, мс | p95, мс | строк | цель |")
    print("|---|---|---:|---:|---:|---|")
    for t in result.timings:
        print(
            f"| {t.report} | {t.period} | {t.p50_ms:.0f} | {t.p95_ms:.0f} | {t.rows} |"
            f" {'да' if t.ok else 'НЕТ'} |"
        )


def main(argv: list[str] | None = None) -> int:
    """Run with defaults (the CLI passes options)."""
    result = run("postgresql://postgres@127.0.0.1:5432/postgres")
    print_table(result)
    return 0 if result.ok else 1
