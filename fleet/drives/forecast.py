"""The replacement forecast: a least-squares line through each drive's memory history, in SQL.

Per drive the forecast row keeps the sums n, Σx, Σy, Σxy, Σx² over (day, used %). The
fitted line reaches 100 % on day

    x̄ + (100 − ȳ) · (nΣx² − (Σx)²) / (nΣxy − ΣxΣy)        (when the slope is positive)

and the drive must be replaced by ``min(expiry as reported, that day) − lead``.

The sums are kept as the reports arrive (a day already in the history adds just its increase):

* incrementally, `fleet.drives.rollup.absorb` adds each batch's contributions to its drives'
  sums and recomputes their dates with `derived_sql`, in the statement that records the batch;
  O(reports), set-based, no per-row Python, and no end-of-day fold;
* `rebuild` (from scratch): one GROUP BY over the per-period rollups (~13 rows a drive a year).

The forecast never reads the raw history.

Both run on PostgreSQL and SQLite (``UPDATE ... FROM``, SQLite ≥ 3.33); PostgreSQL-only
refinements (``LEAST``, a parallel temporary table, a lock) say why where they are used.
"""

from __future__ import annotations

from typing import Final

from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlmodel import Session

from fleet.core.clock import Clock

__all__ = ["DEFAULT_LEAD_DAYS", "dates_sql", "derived_sql", "rebuild"]

DEFAULT_LEAD_DAYS: Final = 30
#: beyond this many days the line is flat for every practical purpose: no fill date
_HORIZON_DAYS: Final = 100_000


def _float(conn: Connection) -> str:
    return "DOUBLE PRECISION" if conn.dialect.name == "postgresql" else "REAL"


def _floor(conn: Connection, expr: str) -> str:
    # PostgreSQL's integer cast rounds; SQLite's truncates (the values here are positive)
    if conn.dialect.name == "postgresql":
        return f"CAST(floor({expr}) AS INTEGER)"
    return f"CAST({expr} AS INTEGER)"


def _tune(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        # 100k groups overflow the default 4 MB (the aggregate would spill to disk), and JIT
        # compiling these short statements costs more than it saves
        conn.execute(text("SET LOCAL work_mem = '256MB'"))
        conn.execute(text("SET LOCAL jit = off"))


def dates_sql(
    conn: Connection,
    *,
    n: str = "n",
    sx: str = "sx",
    sy: str = "sy",
    sxy: str = "sxy",
    sxx: str = "sxx",
    expires: str = "expires_day",
) -> tuple[str, str]:
    """SQL for full_day and replace_by (:lead days) from the sums, given as SQL expressions
    (the columns by default; the new values inside one upsert)."""
    f = _float(conn)
    num = f"CAST({n} * {sxy} - {sx} * {sy} AS {f})"
    den = f"CAST({n} * {sxx} - {sx} * {sx} AS {f})"
    days_left = f"((100.0 - CAST({sy} AS {f}) / {n}) * {den} / {num})"
    full = f"(CAST({sx} AS {f}) / {n} + {days_left})"
    # nested CASEs: PostgreSQL evaluates WHEN clauses in order, never the division first
    full_day = (
        f"CASE WHEN {n} >= 2 AND {n} * {sxy} - {sx} * {sy} > 0 THEN CASE WHEN {days_left} < "
        f"{_HORIZON_DAYS} THEN {_floor(conn, full)} END END"
    )
    if conn.dialect.name == "postgresql":
        # the same with days_left computed once (beyond the horizon LEAST gives the horizon,
        # which NULLIF makes NULL): a day's reports evaluate this for 100k rows
        bounded = f"NULLIF(LEAST({days_left}, {_HORIZON_DAYS}), {_HORIZON_DAYS})"
        full_day = (
            f"CASE WHEN {n} >= 2 AND {n} * {sxy} - {sx} * {sy} > 0 THEN "
            f"{_floor(conn, f'(CAST({sx} AS {f}) / {n} + {bounded})')} END"
        )
        # PostgreSQL's LEAST skips NULLs: the earlier of the two, or the one known
        return full_day, f"LEAST({expires}, {full_day}) - :lead"
    # SQLite's min() is NULL when either is: the expression is repeated (SET clauses cannot
    # see each other's new values)
    replace = (
        f"CASE WHEN {expires} IS NULL AND ({full_day}) IS NULL THEN NULL "
        f"WHEN {expires} IS NULL THEN ({full_day}) - :lead "
        f"WHEN ({full_day}) IS NULL OR {expires} <= ({full_day}) THEN {expires} - :lead "
        f"ELSE ({full_day}) - :lead END"
    )
    return full_day, replace


def derived_sql(conn: Connection, **exprs: str) -> str:
    """SET clauses for full_day and replace_by (see `dates_sql`)."""
    full_day, replace = dates_sql(conn, **exprs)
    return f"full_day = {full_day}, replace_by = {replace}"


def rebuild(session: Session, clock: Clock, *, lead_days: int = DEFAULT_LEAD_DAYS) -> int:
    """Recompute every drive's sums and dates from the rollups; returns the drives. No commit.

    A GROUP BY over the rollups (~13 rows a drive a year; the raw history is not read), then one
    UPDATE from it, each drive's row written once. On PostgreSQL the rollups are locked against
    writers first (SHARE): a batch absorbed meanwhile would be in its forecast rows but not in
    this snapshot's rollups, and lost by the UPDATE; and the GROUP BY fills a temporary table,
    because PostgreSQL runs no part of an UPDATE in parallel but does a CREATE TABLE AS (half
    the time on two cores). Keeps the notifications already raised, and a drive's expiry when
    its rollups have none. Every drive with rollups has its row (`fleet.drives.rollup.absorb`
    makes it).
    """
    conn = session.connection()
    _tune(conn)
    f = _float(conn)

    def total(column: str) -> str:
        # PostgreSQL sums BIGINT as NUMERIC (slow); doubles add these integers exactly (each
        # total < 2⁵³: Σx² of a drive grows by ~6e8 a day), so sum doubles and cast back
        return f"CAST(SUM(CAST({column} AS {f})) AS BIGINT) AS {column}"

    totals = (
        "SELECT drive_id, CAST(SUM(n) AS INTEGER) AS n, "
        f"  {total('sx')}, {total('sy')}, {total('sxy')}, {total('sxx')}, "
        "  MAX(top_day) AS last_day, MAX(top_pct) AS last_pct, "
        "  MAX(expires_day) AS expires_day FROM driverollup GROUP BY drive_id"
    )
    if conn.dialect.name == "postgresql":
        conn.execute(text("LOCK TABLE driverollup IN SHARE MODE"))
        conn.execute(text(f"CREATE TEMPORARY TABLE forecast_totals ON COMMIT DROP AS {totals}"))
        source = "forecast_totals"
    else:
        source = f"({totals})"
    g = {
        "n": "g.n",
        "sx": "g.sx",
        "sy": "g.sy",
        "sxy": "g.sxy",
        "sxx": "g.sxx",
        "expires": "COALESCE(g.expires_day, driveforecast.expires_day)",
    }
    changed = conn.execute(
        text(
            "UPDATE driveforecast SET n = g.n, sx = g.sx, sy = g.sy, sxy = g.sxy, "
            "  sxx = g.sxx, last_day = g.last_day, last_pct = g.last_pct, "
            f"  expires_day = {g['expires']}, {derived_sql(conn, **g)}, updated_at = :now "
            f"FROM {source} g WHERE driveforecast.drive_id = g.drive_id"
        ),
        {"lead": lead_days, "now": clock.wall()},
    ).rowcount
    if conn.dialect.name == "postgresql":
        conn.execute(text("DROP TABLE forecast_totals"))  # a second rebuild in this transaction
    return int(changed)
