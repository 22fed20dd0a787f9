"""Reports in as they arrive: the history, the per-period rollups and the forecast.

`absorb` takes the reports waiting in ``drivereportinbox`` and, set-based, in one pass:

* keeps each (drive, day)'s highest figure in the raw history ``drivereport`` (a drive's memory
  never empties, so a day reported again keeps its highest figure);
* adds each report's contribution to the least-squares sums of its drive's period in
  ``driverollup``: a day not in the history yet is a new point (n + 1, Σx + x, Σy + y, Σxy + xy,
  Σx² + x²); a day already there adds only its increase d (Σy + d, Σxy + x·d);
* adds the same contributions to the sums of the drive's forecast row and recomputes its
  dates there and then: the forecast is updated incrementally as the reports arrive (issue 7),
  at a cost per report measured by ``oblako bench forecast``; no end-of-day fold is left.

So the forecast (`fleet.drives.forecast`) never scans the raw history: from scratch it sums the
rollups (~13 rows a drive a year), incrementally each batch of reports updates its own rows.
`rollup_history` rebuilds the rollups from the raw history (a repair; the migration's backfill
does the same).
"""

from __future__ import annotations

from typing import Final

from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlmodel import Session

from fleet.core.clock import Clock
from fleet.drives.forecast import DEFAULT_LEAD_DAYS, dates_sql, derived_sql
from fleet.drives.models import ROLLUP_DAYS

__all__ = ["absorb", "rollup_history"]

_CONTRIBUTIONS: Final = (
    "nw AS (SELECT drive_id, day, MAX(used_pct) AS y, MAX(expires_day) AS e "
    "  FROM batch GROUP BY drive_id, day), "
    "d AS (SELECT nw.drive_id, CAST(nw.day AS BIGINT) AS x, nw.y, nw.e, "
    "  CASE WHEN r.used_pct IS NULL THEN 1 ELSE 0 END AS fresh, "
    "  CASE WHEN r.used_pct IS NULL THEN nw.y WHEN nw.y > r.used_pct "
    "       THEN nw.y - r.used_pct ELSE 0 END AS dy "
    "  FROM nw LEFT JOIN drivereport r ON r.day = nw.day AND r.drive_id = nw.drive_id)"
)

_SUMS: Final = (
    "SUM(fresh), SUM(fresh * x), SUM(dy), SUM(x * dy), SUM(fresh * x * x), MAX(x), MAX(y), MAX(e)"
)

_ROLLUP: Final = (
    "INSERT INTO driverollup (drive_id, period, n, sx, sy, sxy, sxx, top_day, top_pct, "
    "  expires_day) "
    f"SELECT drive_id, x / {ROLLUP_DAYS}, {_SUMS} FROM d WHERE true "
    f"GROUP BY drive_id, x / {ROLLUP_DAYS} "
    "ON CONFLICT (drive_id, period) DO UPDATE SET n = driverollup.n + excluded.n, "
    "  sx = driverollup.sx + excluded.sx, sy = driverollup.sy + excluded.sy, "
    "  sxy = driverollup.sxy + excluded.sxy, sxx = driverollup.sxx + excluded.sxx, "
    "  top_day = CASE WHEN excluded.top_day > driverollup.top_day THEN excluded.top_day "
    "    ELSE driverollup.top_day END, "
    "  top_pct = CASE WHEN excluded.top_pct > driverollup.top_pct THEN excluded.top_pct "
    "    ELSE driverollup.top_pct END, "
    "  expires_day = COALESCE(excluded.expires_day, driverollup.expires_day)"
)


def _forecast_sql(conn: Connection) -> str:
    """The drive's forecast row: the contributions go straight into its sums and its dates are
    recomputed (the forecast is current as soon as the reports are recorded: nothing is left
    for an end-of-day step); its last day, highest figure and expiry are kept at once (a new
    drive gets its row here). The SET clauses see the row as it was, so the new sums are
    spelled out as old + added."""
    new = {k: f"(driveforecast.{k} + excluded.{k})" for k in ("n", "sx", "sy", "sxy", "sxx")}
    new["expires"] = "COALESCE(excluded.expires_day, driveforecast.expires_day)"
    first = {k: f"s.{k}" for k in ("n", "sx", "sy", "sxy", "sxx")}
    first["expires"] = "s.e"
    full_first, replace_first = dates_sql(conn, **first)
    return (
        "INSERT INTO driveforecast (drive_id, company_id, n, sx, sy, sxy, sxx, last_day, "
        "  last_pct, expires_day, full_day, replace_by, updated_at) "
        f"SELECT s.drive_id, s.company_id, s.n, s.sx, s.sy, s.sxy, s.sxx, s.last_day, s.last_pct, "
        f"  s.e, {full_first}, {replace_first}, :now FROM ("
        "  SELECT d.drive_id, MAX(dr.company_id) AS company_id, SUM(fresh) AS n, "
        "    SUM(fresh * x) AS sx, SUM(dy) AS sy, SUM(x * dy) AS sxy, SUM(fresh * x * x) AS sxx, "
        "    MAX(x) AS last_day, MAX(y) AS last_pct, MAX(e) AS e "
        "  FROM d JOIN drive dr ON dr.id = d.drive_id GROUP BY d.drive_id) s WHERE true "
        "ON CONFLICT (drive_id) DO UPDATE SET "
        f"  n = {new['n']}, sx = {new['sx']}, sy = {new['sy']}, sxy = {new['sxy']}, "
        f"  sxx = {new['sxx']}, company_id = excluded.company_id, "
        "  last_day = CASE WHEN driveforecast.last_day IS NULL "
        "    OR excluded.last_day > driveforecast.last_day THEN excluded.last_day "
        "    ELSE driveforecast.last_day END, "
        "  last_pct = CASE WHEN driveforecast.last_pct IS NULL "
        "    OR excluded.last_pct > driveforecast.last_pct THEN excluded.last_pct "
        "    ELSE driveforecast.last_pct END, "
        f"  expires_day = {new['expires']}, {derived_sql(conn, **new)}, updated_at = :now"
    )


_HISTORY: Final = (
    "INSERT INTO drivereport (day, drive_id, used_pct) SELECT day, drive_id, y FROM nw "
    "WHERE true ON CONFLICT (day, drive_id) DO UPDATE SET used_pct = CASE "
    "WHEN excluded.used_pct > drivereport.used_pct THEN excluded.used_pct "
    "ELSE drivereport.used_pct END"
)


def absorb(session: Session, clock: Clock, *, lead_days: int = DEFAULT_LEAD_DAYS) -> int:
    """Move the inbox's reports into the history, the rollups and the forecast (sums and
    dates, ``lead_days`` before the earlier of expiry and fill); returns how many reports.
    No commit.

    On PostgreSQL one statement whose first step deletes the inbox rows it takes (``DELETE …
    RETURNING`` in a CTE): every step sees one snapshot (the history as it was before this
    batch), so a report committed meanwhile is neither lost nor counted twice. SQLite (no DML in
    a CTE) runs the steps in turn, the history last; its writers are serialised.
    """
    conn = session.connection()
    params = {"lead": lead_days, "now": clock.wall()}
    if conn.dialect.name == "postgresql":
        conn.execute(text("SET LOCAL jit = off"))  # compiling costs more than these statements
        sql = (
            "WITH batch AS (DELETE FROM drivereportinbox "
            "  RETURNING drive_id, day, used_pct, expires_day), "
            f"{_CONTRIBUTIONS}, hist AS ({_HISTORY}), roll AS ({_ROLLUP}), "
            f"fc AS ({_forecast_sql(conn)}) SELECT COUNT(*) FROM batch"
        )
        return int(conn.execute(text(sql), params).scalar_one())
    hi = conn.execute(text("SELECT MAX(id) FROM drivereportinbox")).scalar()
    if hi is None:
        return 0
    p = {"hi": hi}
    batch = (
        "WITH batch AS (SELECT drive_id, day, used_pct, expires_day FROM drivereportinbox "
        "WHERE id <= :hi), "
    )
    taken = conn.execute(
        text("SELECT COUNT(*) FROM drivereportinbox WHERE id <= :hi"), p
    ).scalar_one()
    # the history last: the others compare with it
    for step in (_ROLLUP, _forecast_sql(conn), _HISTORY):
        conn.execute(text(f"{batch}{_CONTRIBUTIONS} {step}"), {**p, **params})
    conn.execute(text("DELETE FROM drivereportinbox WHERE id <= :hi"), p)
    return int(taken)


def rollup_history(session: Session) -> int:
    """Recompute every rollup from the raw history (a repair); returns the rollup rows.

    Run `fleet.drives.forecast.rebuild` after it.
    The expiries are not in the history: the forecast rows keep theirs. No commit.
    """
    conn = session.connection()
    conn.execute(text("DELETE FROM driverollup"))
    conn.execute(
        text(
            "INSERT INTO driverollup (drive_id, period, n, sx, sy, sxy, sxx, top_day, top_pct) "
            f"SELECT drive_id, day / {ROLLUP_DAYS}, COUNT(*), SUM(CAST(day AS BIGINT)), "
            "  SUM(used_pct), SUM(CAST(day AS BIGINT) * used_pct), "
            "  SUM(CAST(day AS BIGINT) * day), MAX(day), MAX(used_pct) "
            f"FROM drivereport GROUP BY drive_id, day / {ROLLUP_DAYS}"
        )
    )
    return int(conn.execute(text("SELECT COUNT(*) FROM driverollup")).scalar_one())
