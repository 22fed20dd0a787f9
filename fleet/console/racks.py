"""Racks and slots: where each register sits and how it is, with filters; a register's shadow,
desired against reported.

`register.rack_slot` is written "R<rack>-S<slot>" by the inventory (e.g. "R1-S07"); anything
else shows as its own rack. The desired half of the shadow is what the fleet's inventory and
rules expect of a register in service (its drive, firmware, the fiscal phase, a trusted clock,
an OFD link, nothing unsent or unstored); the reported half is the register's last state.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import Table, func, or_, select
from sqlmodel import Session

from fleet.accounts.models import Company
from fleet.console.exceptions import InvalidCommandError
from fleet.console.models import Alarm, AlarmStatus, Severity
from fleet.console.rules import CRITICAL_WARNING, MAX_CLOCK_DRIFT_S
from fleet.link.ingest_models import DeviceShadow
from fleet.registers.models import STATE_LABEL, Register, RegisterState

__all__ = [
    "DiffRow",
    "Filters",
    "RackRow",
    "list_registers",
    "parse_filters",
    "rack_and_slot",
    "shadow_diff",
]

FISCAL_PHASE: Final = 3  # 30h byte 0 (reference fiscal-protocols.md §1.5)
_SLOT: Final = re.compile(r"^\s*(R[^-\s]+)\s*-\s*(S\S+)\s*$", re.IGNORECASE)
_REG: Table = Register.__table__  # type: ignore[attr-defined]
_SHADOW: Table = DeviceShadow.__table__  # type: ignore[attr-defined]
_COMPANY: Table = Company.__table__  # type: ignore[attr-defined]
_ALARM: Table = Alarm.__table__  # type: ignore[attr-defined]
_RANK: Final = {Severity.CRITICAL.value: 3, Severity.WARNING.value: 2, Severity.INFO.value: 1}


def rack_and_slot(rack_slot: str | None) -> tuple[str, str]:
    """("R1", "S07") from "R1-S07"; ("—", "") when unplaced; (text, "") when not that form."""
    if not rack_slot:
        return "—", ""
    m = _SLOT.match(rack_slot)
    if m is None:
        return rack_slot.strip(), ""
    return m.group(1).upper(), m.group(2).upper()


@dataclass(frozen=True)
class Filters:
    """The list's filters (validated)."""

    q: str = ""
    rack: str = ""
    state: str = ""
    online: bool | None = None
    alarms: bool = False  # only registers with open alarms
    page: int = 1


def parse_filters(raw: dict[str, str]) -> Filters:
    """Filters from a query string; InvalidCommandError names each bad field."""
    errs: dict[str, str] = {}
    state = raw.get("state", "").strip()
    if state and state not in {s.value for s in RegisterState}:
        errs["state"] = "нет такого состояния"
    online_raw = raw.get("online", "").strip()
    online = {"": None, "yes": True, "no": False}.get(online_raw)
    if online_raw not in ("", "yes", "no"):
        errs["online"] = "yes, no или пусто"
    page_raw = raw.get("page", "1").strip() or "1"
    page = int(page_raw) if page_raw.isdigit() and int(page_raw) > 0 else 0
    if page == 0:
        errs["page"] = "целое число от 1"
    q = raw.get("q", "").strip()
    if len(q) > 64:
        errs["q"] = "не длиннее 64 символов"
    if errs:
        raise InvalidCommandError("Неверный фильтр", fields=errs)
    return Filters(
        q=q,
        rack=raw.get("rack", "").strip()[:32],
        state=state,
        online=online,
        alarms=raw.get("alarms", "") in ("1", "yes", "on"),
        page=page,
    )


@dataclass(frozen=True)
class RackRow:
    """One register in the racks view."""

    id: int
    serial: str
    rack: str
    slot: str
    model: str
    drive: str
    firmware: str
    company: str
    state: str
    state_label: str
    online: bool | None
    last_seen_at: float | None
    alarm_count: int
    alarm_severity: str | None


def list_registers(
    session: Session, flt: Filters, *, per_page: int = 100
) -> tuple[list[RackRow], int]:
    """The page of registers matching the filters (by rack and slot), and how many match."""
    alarms = (
        select(_ALARM.c.register_id, _ALARM.c.severity, func.count())
        .where(_ALARM.c.status != AlarmStatus.CLEARED.value)
        .group_by(_ALARM.c.register_id, _ALARM.c.severity)
    )
    open_by: dict[int, tuple[int, str | None]] = {}
    conn = session.connection()
    for rid, sev, n in conn.execute(alarms).all():
        count, worst = open_by.get(rid, (0, None))
        if worst is None or _RANK.get(sev, 0) > _RANK.get(worst, 0):
            worst = sev
        open_by[rid] = (count + int(n), worst)
    where: list[Any] = [_REG.c.serial.is_not(None)]
    if flt.state:
        where.append(_REG.c.state == flt.state)
    if flt.online is not None:
        where.append(
            _SHADOW.c.online.is_(True)
            if flt.online
            else or_(_SHADOW.c.online.is_(False), _SHADOW.c.online.is_(None))
        )
    if flt.rack:
        where.append(or_(_REG.c.rack_slot.ilike(f"{flt.rack}-%"), _REG.c.rack_slot == flt.rack))
    if flt.q:
        like = f"%{flt.q}%"
        where.append(
            or_(
                _REG.c.serial.ilike(like),
                _REG.c.drive_number.ilike(like),
                _REG.c.rack_slot.ilike(like),
                _REG.c.rnm.ilike(like),
                _SHADOW.c.drive_fn.ilike(like),
                _COMPANY.c.name.ilike(like),
                _COMPANY.c.inn.ilike(like),
            )
        )
    if flt.alarms:
        where.append(_REG.c.id.in_(sorted(open_by) or [-1]))
    base = _REG.outerjoin(_SHADOW, _SHADOW.c.register_id == _REG.c.id).outerjoin(
        _COMPANY, _COMPANY.c.id == _REG.c.company_id
    )
    total = conn.execute(select(func.count()).select_from(base).where(*where)).scalar_one()
    rows = conn.execute(
        select(
            _REG.c.id,
            _REG.c.serial,
            _REG.c.rack_slot,
            _REG.c.model,
            _REG.c.drive_number,
            _REG.c.firmware_version,
            _REG.c.state,
            _REG.c.last_seen_at.label("reg_seen"),
            _COMPANY.c.name.label("company"),
            _SHADOW.c.online,
            _SHADOW.c.firmware,
            _SHADOW.c.drive_fn,
            _SHADOW.c.last_seen_at,
        )
        .select_from(base)
        .where(*where)
        .order_by(_REG.c.rack_slot.is_(None), _REG.c.rack_slot, _REG.c.id)
        .limit(per_page)
        .offset((flt.page - 1) * per_page)
    ).all()
    out = []
    for r in rows:
        rack, slot = rack_and_slot(r.rack_slot)
        count, worst = open_by.get(r.id, (0, None))
        try:
            label = STATE_LABEL[RegisterState(r.state)]
        except ValueError:
            label = r.state
        out.append(
            RackRow(
                id=r.id,
                serial=r.serial or "",
                rack=rack,
                slot=slot,
                model=r.model or "—",
                drive=r.drive_fn or r.drive_number or "—",
                firmware=r.firmware or r.firmware_version or "—",
                company=r.company or "—",
                state=r.state,
                state_label=label,
                online=r.online,
                last_seen_at=r.last_seen_at if r.last_seen_at is not None else r.reg_seen,
                alarm_count=count,
                alarm_severity=worst,
            )
        )
    return out, int(total)


@dataclass(frozen=True)
class DiffRow:
    """One field of the shadow."""

    label: str
    desired: str
    reported: str
    differs: bool


def _day(at: float | None) -> str:
    if at is None:
        return "—"
    return dt.datetime.fromtimestamp(at, dt.UTC).date().isoformat()


def _show(v: Any) -> str:
    if v is None:
        return "—"
    if isinstance(v, bool):
        return "да" if v else "нет"
    return str(v)


def shadow_diff(
    reg: Register, shadow: DeviceShadow | None, max_drift_s: int | None = None
) -> list[DiffRow]:
    """Desired against reported, field by field (`differs` marks what the console
    highlights). A register that never reported differs in everything it should report.
    `max_drift_s`: the desired document's clock drift limit (else the default 300 s)."""
    rep: dict[str, Any] = dict((shadow.reported if shadow else None) or {})
    drive: dict[str, Any] = dict(rep.get("drive") or {})
    ofd: dict[str, Any] = dict(rep.get("ofd") or {})
    shift: dict[str, Any] = dict(rep.get("shift") or {})
    in_service = reg.state == RegisterState.ACTIVE.value
    firmware = (shadow.firmware if shadow else None) or rep.get("firmware")
    rows: list[DiffRow] = []

    def row(label: str, desired: Any, reported: Any, differs: bool | None = None) -> None:
        d, r = _show(desired), _show(reported)
        rows.append(DiffRow(label, d, r, (d != r) if differs is None else differs))

    row("В сети", True, None if shadow is None else shadow.online)
    row("Прошивка", reg.firmware_version, firmware,
        reg.firmware_version is not None and firmware != reg.firmware_version)  # fmt: skip
    row("Номер ФН", reg.drive_number, drive.get("fn"),
        reg.drive_number is not None and drive.get("fn") != reg.drive_number)  # fmt: skip
    phase = drive.get("phase")
    fiscal = "фискальный режим (3)"
    shown_phase = None if phase is None else (fiscal if phase == FISCAL_PHASE else str(phase))
    row("Фаза ФН", fiscal if in_service else "—", shown_phase, in_service and phase != FISCAL_PHASE)
    warnings = drive.get("warnings")
    row("Критическая ошибка ФН", False,
        None if warnings is None else bool(int(warnings) & CRITICAL_WARNING))  # fmt: skip
    expires, want = drive.get("expires"), _day(reg.drive_expires_at)
    row("Срок ключа ФН", want, expires,
        reg.drive_expires_at is not None and expires not in (None, want))  # fmt: skip
    used = drive.get("memory_used_pct")
    row("Память ФН, %", "< 90", used, isinstance(used, int) and used >= 90)
    row("Время подтверждено", True, rep.get("clock_trusted"))
    clock, at = rep.get("clock"), shadow.reported_at if shadow else None
    drift = None if not isinstance(clock, int) or at is None else int(clock - at)
    limit = MAX_CLOCK_DRIFT_S if max_drift_s is None else max_drift_s
    row("Расхождение часов, с", f"≤ {int(limit)}", drift,
        drift is not None and abs(drift) > limit)  # fmt: skip
    row("Связь с ОФД", True, ofd.get("connected"), ofd.get("connected") is False)
    row("Не отправлено в ОФД", 0, drive.get("unsent"), bool(drive.get("unsent")))
    row("Не сохранено парком (outbox)", 0, rep.get("outbox"), bool(rep.get("outbox")))
    row("Смена открыта", "—", shift.get("open"), False)
    row("Последний ФД", "—", drive.get("last_fd"), False)
    return rows
