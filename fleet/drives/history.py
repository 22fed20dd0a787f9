"""The daily history of reported memory use: one day's reports in, shadows copied in.

Reports land in ``drivereportinbox`` and `fleet.drives.rollup.absorb` moves them at once into the
history, the per-period rollups and the forecast (its sums and dates updated as they arrive).
A day reported twice keeps its highest figure (a drive's memory never empties), so copying the
same shadow again changes nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import Table, bindparam, insert, select, update
from sqlmodel import Session, col

from fleet.core.clock import Clock
from fleet.drives.exceptions import InvalidReportError
from fleet.drives.forecast import DEFAULT_LEAD_DAYS
from fleet.drives.models import Drive, DriveReportInbox
from fleet.drives.rollup import absorb
from fleet.link.ingest_models import DeviceShadow
from fleet.link.shadow import upsert
from fleet.registers.models import Register

__all__ = ["DayReport", "date_of", "day_of", "day_of_date", "record_reports", "snapshot_shadows"]

_EPOCH: Final = dt.date(1970, 1, 1)
_DRIVE: Table = Drive.__table__  # type: ignore[attr-defined]
_INBOX: Table = DriveReportInbox.__table__  # type: ignore[attr-defined]


def day_of(seconds: float) -> int:
    """The UTC day number (days since 1970-01-01) of a time."""
    return int(seconds // 86_400)


def day_of_date(date: dt.date) -> int:
    """The day number of a calendar date."""
    return (date - _EPOCH).days


def date_of(day: int) -> dt.date:
    """The calendar date of a day number."""
    return _EPOCH + dt.timedelta(days=day)


@dataclass(frozen=True)
class DayReport:
    """What a drive reported on a day: memory use in per cent, and its expiry if it said."""

    fn_number: str
    register_id: int
    day: int
    used_pct: int
    expires_day: int | None = None
    reregistrations_left: int | None = None


def _check(reports: Sequence[DayReport]) -> None:
    for i, r in enumerate(reports):
        if not (len(r.fn_number) == 16 and r.fn_number.isascii() and r.fn_number.isdigit()):
            raise InvalidReportError(
                "Номер ФН — 16 цифр", fields={f"reports[{i}].fn_number": r.fn_number}
            )
        if not 0 <= r.used_pct <= 100:
            raise InvalidReportError(
                "Заполнение памяти ФН — от 0 до 100 %",
                fields={f"reports[{i}].used_pct": str(r.used_pct)},
            )


def record_reports(
    session: Session,
    clock: Clock,
    reports: Sequence[DayReport],
    *,
    lead_days: int = DEFAULT_LEAD_DAYS,
) -> int:
    """Record a day's reports (any number of drives) into the history, the rollups and the
    forecast (replace-by ``lead_days`` ahead); returns how many. Does not commit.

    Bad input (a wrong number, a percentage out of range) is refused before anything is written.
    """
    _check(reports)
    if not reports:
        return 0
    conn = session.connection()
    reg_ids = sorted({r.register_id for r in reports})
    company = dict(
        conn.execute(
            select(col(Register.id), col(Register.company_id)).where(col(Register.id).in_(reg_ids))
        ).all()
    )
    latest: dict[str, DayReport] = {}
    for r in reports:
        if r.fn_number not in latest or latest[r.fn_number].day <= r.day:
            latest[r.fn_number] = r
    rows: list[dict[str, Any]] = [
        {
            "fn_number": fn,
            "register_id": r.register_id,
            "company_id": company.get(r.register_id),
            "first_seen_at": clock.wall(),
            "reregistrations_left": r.reregistrations_left,
        }
        for fn, r in sorted(latest.items())
    ]
    stmt = upsert(conn, _DRIVE)
    ex = stmt.excluded
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["fn_number"],
            set_={
                "register_id": ex.register_id,
                "company_id": ex.company_id,
                "reregistrations_left": ex.reregistrations_left,
            },
        ),
        rows,
    )
    ids = dict(
        conn.execute(
            select(col(Drive.fn_number), col(Drive.id)).where(
                col(Drive.fn_number).in_(sorted(latest))
            )
        ).all()
    )
    conn.execute(
        insert(_INBOX),
        [
            {
                "drive_id": ids[r.fn_number],
                "day": r.day,
                "used_pct": r.used_pct,
                "expires_day": r.expires_day,
            }
            for r in reports
        ],
    )
    absorb(session, clock, lead_days=lead_days)
    return len(reports)


def _expires(drive: dict[str, Any]) -> int | None:
    text = drive.get("expires")
    if not isinstance(text, str):
        return None
    try:
        return day_of_date(dt.date.fromisoformat(text))
    except ValueError:
        return None


def snapshot_shadows(session: Session, clock: Clock, *, lead_days: int = DEFAULT_LEAD_DAYS) -> int:
    """Copy every shadow reported since its drive's last copy into the history (the inbox).

    Reads `DeviceShadow.reported` (the state schema's ``drive.memory_used_pct``, ``expires`` and,
    when a firmware sends it, ``reregistrations_left`` from 32h); a state without the memory
    figure is skipped. Returns the reports recorded.
    """
    conn = session.connection()
    sh = DeviceShadow.__table__.c  # type: ignore[attr-defined]
    dr = _DRIVE.c
    rows = conn.execute(
        select(sh.register_id, sh.reported, sh.reported_at, dr.id, dr.reported_at)
        .select_from(
            DeviceShadow.__table__.outerjoin(  # type: ignore[attr-defined]
                _DRIVE, dr.fn_number == sh.drive_fn
            )
        )
        .where(
            sh.reported_at.is_not(None),
            sh.drive_fn.is_not(None),
            (dr.reported_at.is_(None)) | (dr.reported_at < sh.reported_at),
        )
    ).all()
    reports = []
    taken: list[tuple[str, float]] = []
    for register_id, reported, reported_at, _drive_id, _seen in rows:
        drive = (reported or {}).get("drive") or {}
        pct = drive.get("memory_used_pct")
        if not isinstance(pct, int) or not 0 <= pct <= 100:
            continue
        left = drive.get("reregistrations_left")
        reports.append(
            DayReport(
                fn_number=drive["fn"],
                register_id=register_id,
                day=day_of(reported_at),
                used_pct=pct,
                expires_day=_expires(drive),
                reregistrations_left=left if isinstance(left, int) else None,
            )
        )
        taken.append((drive["fn"], reported_at))
    record_reports(session, clock, reports, lead_days=lead_days)
    if taken:
        conn.execute(
            update(_DRIVE)
            .where(dr.fn_number == bindparam("fn"))
            .values(reported_at=bindparam("at")),
            [{"fn": fn, "at": at} for fn, at in taken],
        )
    return len(reports)
