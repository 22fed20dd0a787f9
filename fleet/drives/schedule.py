"""The replacement schedule of a company's registers ("График замены ФН") and its warnings.

One row per register of the company: its current drive (the last one it reported), the expiry as
the drive reports it (or, before any report, the expiry the operator entered with the hardware),
the memory fill and the fitted date it runs out, the replace-by date, the regime check against
the registration application, and the re-registrations (done: re-registration reports on this
drive among the stored documents; left: what the drive reported in 32h, when a report carries it).

Stationary registers of the merchant known only to the OFD are not here: the OFD gateway
(`simulator/ofd`, `OfdGateway`) is an in-process interface of the simulator with no HTTP API the
fleet can reach, and its `KnownRegister` carries no drive expiry or memory figure.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import func, or_
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from fleet.access.principal import Principal
from fleet.core.clock import Clock
from fleet.documents.models import FiscalDocument
from fleet.drives import regime
from fleet.drives.history import date_of, day_of
from fleet.drives.models import Drive, DriveForecast
from fleet.notify.service import Event
from fleet.registers.models import Register, RegisterState
from fleet.registration.models import RegistrationApplication

__all__ = ["THRESHOLDS", "ScheduleRow", "due_events", "level_of", "schedule"]

#: notifications go out when replace-by is this many days away (and when it has passed)
THRESHOLDS: Final = (30, 7, 0)
_REREGISTRATION_DOC: Final = 11  # FFD document type: report on changed registration data
_UNTRACKED: Final = (RegisterState.FREE.value, RegisterState.DEREGISTERED.value)


def level_of(days_left: int | None) -> str:
    """ok / soon (≤ 30 days) / urgent (≤ 7) / overdue (passed) / unknown."""
    if days_left is None:
        return "unknown"
    if days_left < 0:
        return "overdue"
    if days_left <= 7:
        return "urgent"
    if days_left <= 30:
        return "soon"
    return "ok"


@dataclass(frozen=True)
class ScheduleRow:
    """One register in the schedule."""

    register_id: int
    label: str
    state: str
    fn_number: str | None
    expires: dt.date | None
    used_pct: int | None
    full: dt.date | None
    replace_by: dt.date | None
    days_left: int | None
    level: str
    reason: str  # "срок ключа" / "память" / ""
    term_months: int | None
    problems: tuple[str, ...]
    reregistrations_done: int
    reregistrations_left: int | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        d = self.__dict__.copy()
        for k in ("expires", "full", "replace_by"):
            d[k] = d[k].isoformat() if d[k] else None
        d["problems"] = list(self.problems)
        return d


def _profile(form_text: str | None) -> tuple[regime.Profile | None, str | None]:
    if not form_text:
        return None, None
    try:
        form = json.loads(form_text)
    except ValueError:
        return None, None
    flags = form.get("flags") or {}
    profile = regime.Profile.of(form.get("tax_systems") or [], flags)
    return profile, form.get("fn_model")


def schedule(
    session: Session, clock: Clock, principal: Principal, *, lead_days: int
) -> list[ScheduleRow]:
    """The company's registers (those the principal sees), soonest replacement first."""
    stmt = select(Register).where(
        Register.company_id == principal.company_id, col(Register.state).not_in(_UNTRACKED)
    )
    if principal.folder_ids is not None:
        stmt = stmt.where(col(Register.folder_id).in_(sorted(principal.folder_ids)))
    registers = list(session.exec(stmt))
    ids = [r.id for r in registers if r.id is not None]
    drives: dict[int, Drive] = {}
    for d in session.exec(
        select(Drive).where(col(Drive.register_id).in_(ids)).order_by(col(Drive.id))
    ):
        assert d.register_id is not None
        drives[d.register_id] = d  # the newest drive of each register wins
    forecasts = {
        f.drive_id: f
        for f in session.exec(
            select(DriveForecast).where(
                col(DriveForecast.drive_id).in_([d.id for d in drives.values()])
            )
        )
    }
    forms = dict(
        session.exec(
            select(RegistrationApplication.register_id, RegistrationApplication.form).where(
                col(RegistrationApplication.register_id).in_(ids)
            )
        ).all()
    )
    fns = [d.fn_number for d in drives.values()]
    rereg = dict(
        session.exec(
            select(FiscalDocument.fn_number, func.count())
            .where(
                col(FiscalDocument.fn_number).in_(fns),
                FiscalDocument.doc_type == _REREGISTRATION_DOC,
            )
            .group_by(col(FiscalDocument.fn_number))
        ).all()
    )
    today = day_of(clock.wall())
    rows = []
    for r in registers:
        assert r.id is not None
        drive = drives.get(r.id)
        fc = forecasts.get(drive.id) if drive and drive.id is not None else None
        expires_day = fc.expires_day if fc and fc.expires_day is not None else None
        if expires_day is None and r.drive_expires_at is not None:
            expires_day = day_of(r.drive_expires_at)
        full_day = fc.full_day if fc else None
        replace_by = fc.replace_by if fc and fc.replace_by is not None else None
        if replace_by is None and expires_day is not None:
            replace_by = expires_day - lead_days
        reason = ""
        if full_day is not None and (expires_day is None or full_day < expires_day):
            reason = "память"
        elif expires_day is not None:
            reason = "срок ключа"
        profile, fn_model = _profile(forms.get(r.id))
        term = drive.term_months if drive else None
        if term is None and expires_day is not None and drive is not None:
            term = regime.term_of_life(expires_day - day_of(drive.first_seen_at))
        problems = regime.check_drive(profile, term, fn_model).problems if profile else ()
        days_left = None if replace_by is None else replace_by - today
        rows.append(
            ScheduleRow(
                register_id=r.id,
                label=r.name or r.serial or f"Касса № {r.id}",
                state=r.state,
                fn_number=drive.fn_number if drive else r.drive_number,
                expires=date_of(expires_day) if expires_day is not None else None,
                used_pct=fc.last_pct if fc else None,
                full=date_of(full_day) if full_day is not None else None,
                replace_by=date_of(replace_by) if replace_by is not None else None,
                days_left=days_left,
                level=level_of(days_left),
                reason=reason,
                term_months=term,
                problems=problems,
                reregistrations_done=int(rereg.get(drive.fn_number, 0)) if drive else 0,
                reregistrations_left=drive.reregistrations_left if drive else None,
            )
        )
    rows.sort(key=lambda x: (x.days_left is None, x.days_left or 0, x.register_id))
    return rows


def due_events(session: Session, clock: Clock) -> list[Event]:
    """ "Replace the drive by D" events for drives that crossed a threshold since last time.

    Marks each drive's smallest threshold reached (``notified_days``), so every drive gets each
    threshold's notification once. Does not commit.
    """
    today = day_of(clock.wall())
    rows: Sequence[Any] = session.execute(
        sa_select(
            DriveForecast,
            col(Drive.fn_number),
            col(Drive.register_id),
            col(Register.name),
            col(Register.serial),
        )
        .join(Drive, col(Drive.id) == col(DriveForecast.drive_id))
        .outerjoin(Register, col(Register.id) == col(Drive.register_id))
        .where(
            col(DriveForecast.replace_by).is_not(None),
            col(DriveForecast.company_id).is_not(None),
            # only the drives that crossed a threshold not raised yet: the job runs hourly
            # over every drive due, and the ones already told must not be read again each time
            or_(
                *(
                    (col(DriveForecast.replace_by) <= today + t)
                    & (
                        col(DriveForecast.notified_days).is_(None)
                        | (col(DriveForecast.notified_days) > t)
                    )
                    for t in THRESHOLDS
                )
            ),
        )
    ).all()
    events = []
    for fc, fn, register_id, name, serial in rows:
        assert fc.replace_by is not None and fc.company_id is not None
        days_left = fc.replace_by - today
        reached = min(t for t in THRESHOLDS if days_left <= t)
        if fc.notified_days is not None and reached >= fc.notified_days:
            continue
        fc.notified_days = reached
        session.add(fc)
        by = date_of(fc.replace_by).strftime("%d.%m.%Y")
        label = name or serial or f"№ {register_id}"
        why = (
            "закончится память"
            if fc.full_day is not None and (fc.expires_day is None or fc.full_day < fc.expires_day)
            else "истекает срок ключа"
        )
        title = (
            f"Просрочена замена ФН кассы {label}"
            if days_left < 0
            else f"Замените ФН кассы {label} до {by}"
        )
        events.append(
            Event(
                company_id=fc.company_id,
                kind="drive.replace",
                key=f"drive.replace:{fc.drive_id}:{reached}",
                title=title,
                body=(
                    f"Фискальный накопитель {fn} кассы {label}: {why}. Заменить его нужно "
                    f"до {by} (осталось дней: {max(days_left, 0)}). Закажите новый ФН в кабинете."
                ),
                link="/drives",
            )
        )
    session.flush()
    return events
