"""Reports in as they arrive: the history, the per-period rollups and the pending sums.

`absorb` takes the reports waiting in ``drivereportinbox`` and, set-based, in one pass:

* keeps each (drive, day)'s highest figure in the raw history ``drivereport`` (a drive's memory
  never empties, so a day reported again keeps its highest figure);
* adds each report's contribution to the least-squares sums of its drive's period in
  ``driverollup``: a day not in the history yet is a new point (n + 1, Σx + x, Σy + y, Σxy + xy,
  Σx² + x²); a day already there adds only its increase d (Σy + d, Σxy + x·d);
* adds the same contributions to the pending sums of the drive's forecast row (marked
  ``pending``) for the incremental forecast.

So the forecast (`fleet.drives.forecast`) never scans the raw history: from scratch it sums the
rollups (~13 rows a drive a year), incrementally it moves the pending sums into the sums.
`rollup_history` rebuilds the rollups from the raw history (a repair; the migration's backfill
does the same).
"""

from __future__ import annotations

from typing import Final

from sqlalchemy import text
from sqlmodel import Session

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

# the drive's forecast row: the contributions wait in its pending sums for the fold; its last
# day, highest figure and expiry are kept at once (a new drive gets its row here)
_PENDING: Final = (
    "INSERT INTO driveforecast (drive_id, company_id, n, sx, sy, sxy, sxx, last_day, last_pct, "
    "  expires_day, pending, pn, psx, psy, psxy, psxx) "
    "SELECT d.drive_id, MAX(dr.company_id), 0, 0, 0, 0, 0, MAX(x), MAX(y), MAX(e), true, "
    "  SUM(fresh), SUM(fresh * x), SUM(dy), SUM(x * dy), SUM(fresh * x * x) "
    "FROM d JOIN drive dr ON dr.id = d.drive_id GROUP BY d.drive_id "
    "ON CONFLICT (drive_id) DO UPDATE SET pending = true, "
    "  pn = driveforecast.pn + excluded.pn, psx = driveforecast.psx + excluded.psx, "
    "  psy = driveforecast.psy + excluded.psy, psxy = driveforecast.psxy + excluded.psxy, "
    "  psxx = driveforecast.psxx + excluded.psxx, company_id = excluded.company_id, "
    "  last_day = CASE WHEN driveforecast.last_day IS NULL "
    "    OR excluded.last_day > driveforecast.last_day THEN excluded.last_day "
    "    ELSE driveforecast.last_day END, "
    "  last_pct = CASE WHEN driveforecast.last_pct IS NULL "
    "    OR excluded.last_pct > driveforecast.last_pct THEN excluded.last_pct "
    "    ELSE driveforecast.last_pct END, "
    "  expires_day = COALESCE(excluded.expires_day, driveforecast.expires_day)"
)

_HISTORY: Final = (
    "INSERT INTO drivereport (day, drive_id, used_pct) SELECT day, drive_id, y FROM nw "
    "WHERE true ON CONFLICT (day, drive_id) DO UPDATE SET used_pct = CASE "
    "WHEN excluded.used_pct > drivereport.used_pct THEN excluded.used_pct "
    "ELSE drivereport.used_pct END"
)


def absorb(session: Session) -> int:
    """Move the inbox's reports into the history, the rollups and the pending sums; returns how
    many reports. No commit.

    On PostgreSQL one statement whose first step deletes the inbox rows it takes (``DELETE …
    RETURNING`` in a CTE): every step sees one snapshot (the history as it was before this
    batch), so a report committed meanwhile is neither lost nor counted twice. SQLite (no DML in
    a CTE) runs the steps in turn, the history last; its writers are serialised.
    """
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        conn.execute(text("SET LOCAL jit = off"))  # compiling costs more than these statements
        sql = (
            "WITH batch AS (DELETE FROM drivereportinbox "
            "  RETURNING drive_id, day, used_pct, expires_day), "
            f"{_CONTRIBUTIONS}, hist AS ({_HISTORY}), roll AS ({_ROLLUP}), "
            f"pend AS ({_PENDING}) SELECT COUNT(*) FROM batch"
        )
        return int(conn.execute(text(sql)).scalar_one())
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
    for step in (_ROLLUP, _PENDING, _HISTORY):  # the history last: the others compare with it
        conn.execute(text(f"{batch}{_CONTRIBUTIONS} {step}"), p)
    conn.execute(text("DELETE FROM drivereportinbox WHERE id <= :hi"), p)
    return int(taken)


def rollup_history(session: Session) -> int:
    """Recompute every rollup from the raw history (a repair); returns the rollup rows.

    Run `fleet.drives.forecast.rebuild` after it (the pending sums are in the rollups too).
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
