"""The replacement forecast: a least-squares line through each drive's memory history, in SQL.

Per drive the forecast row keeps the running sums n, Σx, Σy, Σxy, Σx² over (day, used %). The
fitted line reaches 100 % on day

    x̄ + (100 − ȳ) · (nΣx² − (Σx)²) / (nΣxy − ΣxΣy)        (when the slope is positive)

and the drive must be replaced by ``min(expiry as reported, that day) − lead``.

* `fold` (incremental): the inbox's new reports change the sums by their own contributions
  only (a day already in the history adds just its increase), so the work is O(new reports),
  and only the drives with new reports are touched. Set-based SQL, no per-row Python.
* `rebuild` (from scratch): one GROUP BY over the whole history.

Both run the same SQL on PostgreSQL and SQLite (CTE + ``UPDATE ... FROM``, SQLite ≥ 3.33).
"""

from __future__ import annotations

from typing import Final

from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlmodel import Session

from fleet.core.clock import Clock

__all__ = ["DEFAULT_LEAD_DAYS", "dates_sql", "derived_sql", "fold", "rebuild"]

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
    # the expression is repeated (SET clauses cannot see each other's new values)
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


def _upsert_sql(conn: Connection, batch: str) -> str:
    """The fold as one statement: the new (drive, day) figures from ``batch`` (a CTE named
    batch with drive_id, day, used_pct, expires_day), the history rows they add, and each
    drive's forecast row inserted or grown by their contributions, dates included."""
    t = "driveforecast"
    grown = {
        "n": f"({t}.n + excluded.n)",
        "sx": f"({t}.sx + excluded.sx)",
        "sy": f"({t}.sy + excluded.sy)",
        "sxy": f"({t}.sxy + excluded.sxy)",
        "sxx": f"({t}.sxx + excluded.sxx)",
        "expires": f"COALESCE(excluded.expires_day, {t}.expires_day)",
    }
    fresh = {
        "n": "g.dn",
        "sx": "g.dsx",
        "sy": "g.dsy",
        "sxy": "g.dsxy",
        "sxx": "g.dsxx",
        "expires": "g.expires_day",
    }
    newer = f"({t}.last_day IS NULL OR excluded.last_day >= {t}.last_day)"
    full_new, replace_new = dates_sql(conn, **fresh)
    return (
        f"WITH {batch}, "
        "nw AS (SELECT drive_id, day, MAX(used_pct) AS y, MAX(expires_day) AS e "
        "  FROM batch GROUP BY drive_id, day), "
        "d AS (SELECT nw.drive_id, nw.day AS x, nw.y, nw.e, "
        "  CASE WHEN r.used_pct IS NULL THEN 1 ELSE 0 END AS fresh, "
        "  CASE WHEN r.used_pct IS NULL THEN nw.y WHEN nw.y > r.used_pct "
        "       THEN nw.y - r.used_pct ELSE 0 END AS dy "
        "  FROM nw LEFT JOIN drivereport r ON r.day = nw.day AND r.drive_id = nw.drive_id), "
        "g AS (SELECT d.drive_id, SUM(fresh) AS dn, SUM(fresh * x) AS dsx, "
        "  SUM(fresh * x * x) AS dsxx, SUM(dy) AS dsy, SUM(x * dy) AS dsxy, "
        "  MAX(x) AS top_day, MAX(y) AS top_pct, MAX(e) AS expires_day "
        "  FROM d GROUP BY d.drive_id) "
        "{history}"
        f"INSERT INTO {t} (drive_id, company_id, n, sx, sy, sxy, sxx, last_day, last_pct, "
        "  expires_day, full_day, replace_by, updated_at) "
        "SELECT g.drive_id, dr.company_id, g.dn, g.dsx, g.dsy, g.dsxy, g.dsxx, g.top_day, "
        f"  g.top_pct, g.expires_day, {full_new}, {replace_new}, :now "
        "FROM g JOIN drive dr ON dr.id = g.drive_id WHERE true "
        "ON CONFLICT (drive_id) DO UPDATE SET "
        f"  n = {grown['n']}, sx = {grown['sx']}, sy = {grown['sy']}, sxy = {grown['sxy']}, "
        f"  sxx = {grown['sxx']}, expires_day = {grown['expires']}, "
        "  company_id = excluded.company_id, "
        f"  last_pct = CASE WHEN {newer} THEN excluded.last_pct ELSE {t}.last_pct END, "
        f"  last_day = CASE WHEN {newer} THEN excluded.last_day ELSE {t}.last_day END, "
        f"  {derived_sql(conn, **grown)}, updated_at = :now"
    )


_HISTORY: Final = (
    "INSERT INTO drivereport (day, drive_id, used_pct) "
    "SELECT day, drive_id, MAX(used_pct) FROM batch GROUP BY day, drive_id "
    "ON CONFLICT (day, drive_id) DO UPDATE SET used_pct = CASE "
    "WHEN excluded.used_pct > drivereport.used_pct THEN excluded.used_pct "
    "ELSE drivereport.used_pct END"
)


def fold(session: Session, clock: Clock, *, lead_days: int = DEFAULT_LEAD_DAYS) -> int:
    """Fold the inbox into the history and the sums; returns the drives updated. No commit.

    Each reporting drive's row is written once: its sums grow by the new reports'
    contributions (a day already in the history adds just its increase) and its dates are
    computed from the new sums in the same statement. A drive's expiry does not move, and its
    memory never empties, so the batch's latest figure is its highest.

    On PostgreSQL it is one statement whose first step deletes the inbox rows it folds
    (``DELETE ... RETURNING`` in a CTE): every part sees the same snapshot, so a report
    committed meanwhile is neither lost nor counted twice. SQLite (no DML in a CTE) runs the
    parts in turn, safe because its writers are serialised for the whole transaction.
    """
    conn = session.connection()
    params = {"lead": lead_days, "now": clock.wall()}
    if conn.dialect.name == "postgresql":
        _tune(conn)
        batch = (
            "batch AS (DELETE FROM drivereportinbox RETURNING drive_id, day, used_pct, expires_day)"
        )
        sql = _upsert_sql(conn, batch).replace("{history}", f", hist AS ({_HISTORY}) ")
        return int(conn.execute(text(sql), params).rowcount)
    hi = conn.execute(text("SELECT MAX(id) FROM drivereportinbox")).scalar()
    if hi is None:
        return 0
    batch = (
        "batch AS (SELECT drive_id, day, used_pct, expires_day FROM drivereportinbox "
        "WHERE id <= :hi)"
    )
    p = {"hi": hi}
    changed = conn.execute(
        text("SELECT COUNT(DISTINCT drive_id) FROM drivereportinbox WHERE id <= :hi"), p
    ).scalar_one()
    conn.execute(text(_upsert_sql(conn, batch).replace("{history}", "")), {**p, **params})
    conn.execute(text(f"WITH {batch} {_HISTORY}"), p)
    conn.execute(text("DELETE FROM drivereportinbox WHERE id <= :hi"), p)
    return int(changed)


def rebuild(session: Session, clock: Clock, *, lead_days: int = DEFAULT_LEAD_DAYS) -> int:
    """Recompute every drive's sums and dates from the whole history, then fold the inbox.

    One GROUP BY over the history and one upsert that also computes the dates (each drive's
    row written once). Keeps each drive's reported expiry and the notifications already raised.
    The memory of a drive never empties, so the latest day's figure is the history's maximum.
    Returns the drives recomputed. No commit.
    """
    conn = session.connection()
    _tune(conn)
    cols = {
        "n": "g.n",
        "sx": "g.sx",
        "sy": "g.sy",
        "sxy": "g.sxy",
        "sxx": "g.sxx",
        "expires": "f.expires_day",
    }
    full_day, replace_by = dates_sql(conn, **cols)
    changed = conn.execute(
        text(
            "INSERT INTO driveforecast (drive_id, company_id, n, sx, sy, sxy, sxx, "
            "  last_day, last_pct, full_day, replace_by, updated_at) "
            "SELECT g.drive_id, d.company_id, g.n, g.sx, g.sy, g.sxy, g.sxx, g.last_day, "
            f"  g.last_pct, {full_day}, {replace_by}, :now "
            "FROM (SELECT drive_id, COUNT(*) AS n, SUM(day) AS sx, SUM(used_pct) AS sy, "
            "  SUM(day * used_pct) AS sxy, SUM(day * day) AS sxx, MAX(day) AS last_day, "
            "  MAX(used_pct) AS last_pct FROM drivereport GROUP BY drive_id) g "
            "JOIN drive d ON d.id = g.drive_id "
            "LEFT JOIN driveforecast f ON f.drive_id = g.drive_id WHERE true "
            "ON CONFLICT (drive_id) DO UPDATE SET company_id = excluded.company_id, "
            "  n = excluded.n, sx = excluded.sx, sy = excluded.sy, sxy = excluded.sxy, "
            "  sxx = excluded.sxx, last_day = excluded.last_day, last_pct = excluded.last_pct, "
            "  full_day = excluded.full_day, replace_by = excluded.replace_by, "
            "  updated_at = excluded.updated_at"
        ),
        {"lead": lead_days, "now": clock.wall()},
    ).rowcount
    if changed < 0:  # Python's sqlite3 gives no rowcount for INSERT ... SELECT with a join
        changed = conn.execute(
            text("SELECT COUNT(DISTINCT drive_id) FROM drivereport")
        ).scalar_one()
    fold(session, clock, lead_days=lead_days)
    return int(changed)
