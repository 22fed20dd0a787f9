"""The console's Russian pages (operators only): racks, a register with its shadow, commands
and alarms, the fleet's commands and alarms, declaring a register dead.

Every page needs `operator.fleet`; forms carry the CSRF token. A refused form (a typed error)
shows the same page again with the reason, and nothing was written.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Final
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlmodel import Session, col, select

from fleet.access.deps import page_need
from fleet.access.permissions import Permission
from fleet.access.principal import Principal
from fleet.accounts.models import Company, User
from fleet.console import alarms as alarm_service
from fleet.console import commands, dead, racks
from fleet.console import desired as desired_service
from fleet.console.exceptions import (
    AlarmNotFoundError,
    ConsoleRegisterNotFoundError,
    InvalidAssigneeError,
)
from fleet.console.models import SEVERITY_LABEL, Alarm, AlarmStatus, DeadRegister
from fleet.console.rules import rule_by_code
from fleet.core import csrf
from fleet.core.errors import DomainError
from fleet.deps import AppState, SessionDep, StateDep
from fleet.link.ingest_models import DeviceShadow
from fleet.registers.models import STATE_LABEL, Register, RegisterState
from fleet.web.render import render_page

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
Operator = Annotated[Principal, page_need(Permission.OPERATOR_FLEET)]
MSK: Final = dt.timezone(dt.timedelta(hours=3))
STATUS_LABEL: Final = {
    AlarmStatus.OPEN: "Новая",
    AlarmStatus.ACKNOWLEDGED: "Принята",
    AlarmStatus.CLEARED: "Снята",
}
SEVERITY_BADGE: Final = {"critical": "badge-danger", "warning": "badge-warn", "info": "badge-info"}
STAGE_BADGE: Final = {
    "queued": "badge-info",
    "delivered": "badge-info",
    "acknowledged": "badge-warn",
    "done": "badge-ok",
    "failed": "badge-danger",
    "expired": "badge-danger",
}


def moment(at: float | None) -> str:
    """UTC seconds as Moscow time for the tables."""
    if at is None:
        return "—"
    return dt.datetime.fromtimestamp(at, MSK).strftime("%d.%m.%Y %H:%M:%S")


def _ctx() -> dict[str, Any]:
    return {
        "moment": moment,
        "severity_label": SEVERITY_LABEL,
        "severity_badge": SEVERITY_BADGE,
        "stage_badge": STAGE_BADGE,
        "status_label": STATUS_LABEL,
        "rule_label": lambda code: r.label if (r := rule_by_code(code)) else code,
    }


def _people(session: Session, ids: set[int | None]) -> dict[int, str]:
    wanted = sorted(i for i in ids if i is not None)
    if not wanted:
        return {}
    rows = session.exec(select(User.id, User.email).where(col(User.id).in_(wanted))).all()
    return {i: e for i, e in rows if i is not None}


def _operators(session: Session) -> list[tuple[int, str]]:
    rows = session.exec(
        select(User.id, User.email).where(col(User.is_operator).is_(True)).order_by(User.email)
    ).all()
    return [(i, e) for i, e in rows if i is not None]


# ---- racks -----------------------------------------------------------------------------------


@router.get("/console", response_class=HTMLResponse)
def racks_page(
    request: Request, state: StateDep, session: SessionDep, principal: Operator
) -> HTMLResponse:
    """Racks and slots: every register with hardware, filtered and searched."""
    raw = dict(request.query_params)
    errors: dict[str, str] = {}
    try:
        flt = racks.parse_filters(raw)
    except DomainError as exc:
        errors = exc.fields
        flt = racks.Filters()
    rows, total = racks.list_registers(session, flt)
    grouped: dict[str, list[racks.RackRow]] = {}
    for r in rows:
        grouped.setdefault(r.rack, []).append(r)
    return render_page(
        request,
        state,
        "console/racks.html",
        principal=principal,
        form=raw,
        errors=errors,
        grouped=grouped,
        total=total,
        page=flt.page,
        has_next=flt.page * 100 < total,
        query=urlencode({k: v for k, v in raw.items() if k != "page"}),
        states=[(s.value, STATE_LABEL[s]) for s in RegisterState],
        counts=alarm_service.open_counts(session),
        **_ctx(),
    )


# ---- one register ----------------------------------------------------------------------------


def _register_page(
    request: Request,
    state: AppState,
    session: Session,
    principal: Principal,
    register_id: int,
    *,
    error: DomainError | None = None,
    status: int = 200,
) -> HTMLResponse:
    reg = session.get(Register, register_id)
    if reg is None or reg.serial is None:
        raise ConsoleRegisterNotFoundError("Касса не найдена")
    shadow = session.get(DeviceShadow, register_id)
    company = session.get(Company, reg.company_id) if reg.company_id else None
    cmds = commands.list_commands(session, register_id=register_id, limit=50)
    reg_alarms = session.exec(
        select(Alarm)
        .where(Alarm.register_id == register_id)
        .order_by(col(Alarm.id).desc())
        .limit(50)
    ).all()
    dead_row = session.exec(
        select(DeadRegister).where(DeadRegister.register_id == register_id)
    ).first()
    assessment = None
    if dead_row is None and reg.state not in (
        RegisterState.FREE.value,
        RegisterState.DEREGISTERED.value,
    ):
        assessment = dead.assess(session, register_id)
    rack, slot = racks.rack_and_slot(reg.rack_slot)
    try:
        label = STATE_LABEL[RegisterState(reg.state)]
    except ValueError:
        label = reg.state
    want = desired_service.view(session, register_id, shadow)
    drift = want.form["max_clock_drift_s"]
    return render_page(
        request,
        state,
        "console/register.html",
        principal=principal,
        status=status,
        r=reg,
        rack=rack,
        slot=slot,
        state_label=label,
        company=company,
        shadow=shadow,
        diff=racks.shadow_diff(reg, shadow, int(drift) if drift else None),
        desired=want,
        cmds=cmds,
        people=_people(session, {c.requested_by for c in cmds}),
        alarms=reg_alarms,
        actions=commands.ACTION_LABEL,
        confirm_actions=commands.CONFIRM_ACTIONS,
        dead_row=dead_row,
        assessment=assessment,
        error=error,
        **_ctx(),
    )


@router.get("/console/registers/{register_id}", response_class=HTMLResponse)
def register_page(
    register_id: int, request: Request, state: StateDep, session: SessionDep, principal: Operator
) -> HTMLResponse:
    """A register: its place, its shadow (desired against reported), commands, alarms."""
    return _register_page(request, state, session, principal, register_id)


@router.get("/console/registers/{register_id}/commands", response_class=HTMLResponse)
def register_commands_fragment(
    register_id: int, request: Request, state: StateDep, session: SessionDep, principal: Operator
) -> HTMLResponse:
    """The register's commands table alone (the page polls it with HTMX while one runs)."""
    reg = session.get(Register, register_id)
    if reg is None or reg.serial is None:
        raise ConsoleRegisterNotFoundError("Касса не найдена")
    cmds = commands.list_commands(session, register_id=register_id, limit=50)
    html = state.templates.get_template("console/_commands.html").render(
        cmds=cmds,
        people=_people(session, {c.requested_by for c in cmds}),
        csrf_token=csrf.token_for(request, state.settings.secret_key),
        poll_url=f"/console/registers/{register_id}/commands",
        **_ctx(),
    )
    return HTMLResponse(html)


def _int_or_none(text: str) -> int | str | None:
    text = text.strip()
    if not text:
        return None
    return int(text) if text.isdigit() else text


@router.post("/console/registers/{register_id}/commands", response_model=None)
def send_command(
    register_id: int,
    request: Request,
    state: StateDep,
    session: SessionDep,
    principal: Operator,
    action: Annotated[str, Form()] = "",
    fd_from: Annotated[str, Form()] = "",
    fd_to: Annotated[str, Form()] = "",
    confirm: Annotated[str, Form()] = "",
    csrf_token: Annotated[str | None, Form(alias=csrf.FIELD)] = None,
) -> HTMLResponse | RedirectResponse:
    """Send a command; back to the register page where its life shows."""
    csrf.check(request, state.settings.secret_key, csrf_token)
    params: dict[str, Any] = {}
    if action == "read_archive":
        params = {"from": _int_or_none(fd_from), "to": _int_or_none(fd_to)}
    try:
        commands.send(session, state.clock, principal, register_id, action, params, confirm=confirm)
    except ConsoleRegisterNotFoundError:
        raise
    except DomainError as exc:
        session.rollback()
        return _register_page(
            request, state, session, principal, register_id, error=exc, status=422
        )
    session.commit()
    return RedirectResponse(f"/console/registers/{register_id}#commands", status_code=303)


@router.post("/console/registers/{register_id}/dead", response_model=None)
def declare_dead(
    register_id: int,
    request: Request,
    state: StateDep,
    session: SessionDep,
    principal: Operator,
    reason: Annotated[str, Form()] = "",
    archive_unreadable: Annotated[str, Form()] = "",
    csrf_token: Annotated[str | None, Form(alias=csrf.FIELD)] = None,
) -> HTMLResponse | RedirectResponse:
    """Declare the register dead: its unmade receipts go to other registers."""
    csrf.check(request, state.settings.secret_key, csrf_token)
    try:
        dead.declare(
            session, state.clock, principal, register_id, reason,
            archive_unreadable=archive_unreadable in ("1", "on", "yes"),
        )  # fmt: skip
    except ConsoleRegisterNotFoundError:
        raise
    except DomainError as exc:
        session.rollback()
        return _register_page(
            request, state, session, principal, register_id, error=exc, status=409
        )
    session.commit()
    return RedirectResponse(f"/console/registers/{register_id}#dead", status_code=303)


@router.post("/console/registers/{register_id}/desired", response_model=None)
def change_desired(
    register_id: int,
    request: Request,
    state: StateDep,
    session: SessionDep,
    principal: Operator,
    ofd_host: Annotated[str, Form()] = "",
    ofd_port: Annotated[str, Form()] = "",
    max_clock_drift_s: Annotated[str, Form()] = "",
    auto_close_shift: Annotated[str, Form()] = "",
    csrf_token: Annotated[str | None, Form(alias=csrf.FIELD)] = None,
) -> HTMLResponse | RedirectResponse:
    """Change the register's desired state; the fleet publishes it (retained) to the register."""
    csrf.check(request, state.settings.secret_key, csrf_token)
    form = {
        "ofd_host": ofd_host,
        "ofd_port": ofd_port,
        "max_clock_drift_s": max_clock_drift_s,
        "auto_close_shift": auto_close_shift,
    }
    try:
        desired_service.change(session, state.clock, principal, register_id, form)
    except ConsoleRegisterNotFoundError:
        raise
    except DomainError as exc:
        session.rollback()
        return _register_page(
            request, state, session, principal, register_id, error=exc, status=422
        )
    session.commit()
    return RedirectResponse(f"/console/registers/{register_id}#desired", status_code=303)


# ---- the fleet's commands ----------------------------------------------------------------------


@router.get("/console/commands", response_class=HTMLResponse)
def commands_page(
    request: Request, state: StateDep, session: SessionDep, principal: Operator
) -> HTMLResponse:
    """Every operator's commands, newest first, with their stage."""
    cmds = commands.list_commands(session, limit=200)
    return render_page(
        request,
        state,
        "console/commands.html",
        principal=principal,
        cmds=cmds,
        people=_people(session, {c.requested_by for c in cmds}),
        poll_url="/console/commands/table",
        **_ctx(),
    )


@router.get("/console/commands/table", response_class=HTMLResponse)
def commands_fragment(
    request: Request, state: StateDep, session: SessionDep, principal: Operator
) -> HTMLResponse:
    """The fleet's commands table alone (polled by HTMX)."""
    cmds = commands.list_commands(session, limit=200)
    html = state.templates.get_template("console/_commands.html").render(
        cmds=cmds,
        people=_people(session, {c.requested_by for c in cmds}),
        csrf_token=csrf.token_for(request, state.settings.secret_key),
        poll_url="/console/commands/table",
        show_register=True,
        **_ctx(),
    )
    return HTMLResponse(html)


@router.post("/console/commands/{command_id}/retry")
def retry_command(
    command_id: int,
    request: Request,
    state: StateDep,
    session: SessionDep,
    principal: Operator,
    csrf_token: Annotated[str | None, Form(alias=csrf.FIELD)] = None,
) -> RedirectResponse:
    """Send a failed or expired command again with the same request id."""
    csrf.check(request, state.settings.secret_key, csrf_token)
    cmd = commands.retry(session, state.clock, principal, command_id)
    session.commit()
    return RedirectResponse(f"/console/registers/{cmd.register_id}#commands", status_code=303)


# ---- alarms -------------------------------------------------------------------------------------


@router.get("/console/alarms", response_class=HTMLResponse)
def alarms_page(
    request: Request,
    state: StateDep,
    session: SessionDep,
    principal: Operator,
    show: str = "open",
) -> HTMLResponse:
    """Alarms, worst first: open and acknowledged (or all)."""
    stmt = select(Alarm, Register.serial, Register.rack_slot).join(
        Register, col(Register.id) == col(Alarm.register_id)
    )
    if show != "all":
        stmt = stmt.where(col(Alarm.status) != AlarmStatus.CLEARED.value)
    rows = session.exec(stmt.order_by(col(Alarm.id).desc()).limit(500)).all()
    rank = {"critical": 0, "warning": 1, "info": 2}
    items = sorted(rows, key=lambda t: (t[0].status == AlarmStatus.CLEARED.value,
                                         rank.get(t[0].severity, 3), -(t[0].id or 0)))  # fmt: skip
    ids: set[int | None] = set()
    for a, _s, _r in items:
        ids |= {a.assignee_id, a.acknowledged_by, a.cleared_by}
    if request.headers.get("HX-Request") == "true":
        html = state.templates.get_template("console/_alarms.html").render(
            items=items, people=_people(session, ids), show=show,
            csrf_token=csrf.token_for(request, state.settings.secret_key), **_ctx(),
        )  # fmt: skip
        return HTMLResponse(html)
    return render_page(
        request,
        state,
        "console/alarms.html",
        principal=principal,
        items=items,
        people=_people(session, ids),
        show=show,
        counts=alarm_service.open_counts(session),
        **_ctx(),
    )


@router.get("/console/alarms/{alarm_id}", response_class=HTMLResponse)
def alarm_page(
    alarm_id: int, request: Request, state: StateDep, session: SessionDep, principal: Operator
) -> HTMLResponse:
    """One alarm: what, where, since when, who has it; acknowledge, assign, clear."""
    alarm = session.get(Alarm, alarm_id)
    if alarm is None:
        raise AlarmNotFoundError("Тревога не найдена")
    reg = session.get(Register, alarm.register_id)
    return render_page(
        request,
        state,
        "console/alarm.html",
        principal=principal,
        a=alarm,
        reg=reg,
        people=_people(session, {alarm.assignee_id, alarm.acknowledged_by, alarm.cleared_by}),
        operators=_operators(session),
        **_ctx(),
    )


def _back(request: Request, alarm_id: int) -> RedirectResponse:
    ref = request.headers.get("referer", "")
    target = (
        "/console/alarms"
        if ref.rstrip("/").endswith("/console/alarms")
        else f"/console/alarms/{alarm_id}"
    )
    return RedirectResponse(target, status_code=303)


@router.post("/console/alarms/{alarm_id}/ack")
def acknowledge_alarm(
    alarm_id: int,
    request: Request,
    state: StateDep,
    session: SessionDep,
    principal: Operator,
    csrf_token: Annotated[str | None, Form(alias=csrf.FIELD)] = None,
) -> RedirectResponse:
    """Acknowledge: an operator has it."""
    csrf.check(request, state.settings.secret_key, csrf_token)
    alarm_service.acknowledge(session, state.clock, principal, alarm_id)
    session.commit()
    return _back(request, alarm_id)


@router.post("/console/alarms/{alarm_id}/clear")
def clear_alarm(
    alarm_id: int,
    request: Request,
    state: StateDep,
    session: SessionDep,
    principal: Operator,
    csrf_token: Annotated[str | None, Form(alias=csrf.FIELD)] = None,
) -> RedirectResponse:
    """Clear by hand (its rule raises it again if the condition still holds)."""
    csrf.check(request, state.settings.secret_key, csrf_token)
    alarm_service.clear(session, state.clock, principal, alarm_id)
    session.commit()
    return _back(request, alarm_id)


@router.post("/console/alarms/{alarm_id}/assign")
def assign_alarm(
    alarm_id: int,
    request: Request,
    state: StateDep,
    session: SessionDep,
    principal: Operator,
    assignee_id: Annotated[str, Form()] = "",
    csrf_token: Annotated[str | None, Form(alias=csrf.FIELD)] = None,
) -> RedirectResponse:
    """Give the alarm to an operator (empty: nobody)."""
    csrf.check(request, state.settings.secret_key, csrf_token)
    text = assignee_id.strip()
    if text and not text.isdigit():
        raise InvalidAssigneeError("Неверный исполнитель", fields={"assignee_id": "номер"})
    alarm_service.assign(session, state.clock, principal, alarm_id, int(text) if text else None)
    session.commit()
    return _back(request, alarm_id)
