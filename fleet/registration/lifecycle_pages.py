"""Russian pages after registration: settings changes, deregistration, МЧД upload, the report's
requisites; for operators, the drive replacement and the used drives on record."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from fleet.access.deps import page_need
from fleet.access.permissions import Permission
from fleet.access.principal import Principal
from fleet.core import csrf
from fleet.core.errors import DomainError
from fleet.deps import SessionDep, StateDep
from fleet.registers.exceptions import RegisterNotFoundError
from fleet.registers.models import Register
from fleet.registration import attorney, lifecycle, report, service
from fleet.registration.config import ConfigDep
from fleet.registration.exceptions import InvalidApplicationError
from fleet.registration.pages import form_from_fields, refused, render
from fleet.registration.used_drives import list_used_drives
from fleet.web.render import render_page

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

Manager = Annotated[Principal, page_need(Permission.REGISTERS_MANAGE)]
Text = Annotated[str, Form()]
CsrfField = Annotated[str | None, Form(alias=csrf.FIELD)]
_MAX_FILE = 400_000


def _url(register_id: int) -> str:
    return f"/registers/{register_id}/registration"


def _int(value: str) -> int:
    try:
        return int(value.strip())
    except ValueError:
        return 0


def _underscored(key: str) -> str:
    return key.replace(".", "_")  # "close.fd_number" → the input "close_fd_number"


def _day(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%d.%m.%Y")


@router.post("/registers/{register_id}/registration/settings", response_model=None)
async def settings_save(
    register_id: int, request: Request, state: StateDep, session: SessionDep, principal: Manager
) -> Response:
    """Edit a registered register's settings: the page says whether an application is needed."""
    data = await request.form()
    csrf_token = data.get(csrf.FIELD)
    csrf.check(
        request, state.settings.secret_key, csrf_token if isinstance(csrf_token, str) else None
    )
    fields = {k: v for k, v in data.items() if isinstance(v, str)}
    lists = {k: [str(v) for v in data.getlist(k)] for k in ("flags", "tax_systems")}
    form = form_from_fields(fields, lists)
    try:
        outcome = lifecycle.propose_change(
            session=session,
            clock=state.clock,
            principal=principal,
            register_id=register_id,
            form=form,
        )
    except DomainError as exc:
        return refused(request, state, session, principal, register_id, exc, form=form)
    return render(
        request,
        state,
        session,
        principal,
        outcome.state,
        notice=outcome.message,
        decision=outcome.decision,
    )


@router.post("/registers/{register_id}/registration/deregistration", response_model=None)
def deregistration_save(
    register_id: int,
    request: Request,
    state: StateDep,
    session: SessionDep,
    principal: Manager,
    reason: Text = "",
    close_fd_number: Text = "",
    close_fiscal_sign: Text = "",
    close_date: Text = "",
    ofd_override: Text = "",
    csrf_token: CsrfField = None,
) -> Response:
    """Draft the КНД 1110062 application; then it is signed like the registration."""
    csrf.check(request, state.settings.secret_key, csrf_token)
    given = any(v.strip() for v in (close_fd_number, close_fiscal_sign, close_date))
    close = (
        lifecycle.CloseReport(_int(close_fd_number), close_fiscal_sign, close_date)
        if given
        else None
    )
    try:
        lifecycle.prepare_deregistration(
            session=session,
            clock=state.clock,
            principal=principal,
            register_id=register_id,
            reason=reason,
            close=close,
            ofd_override=ofd_override,
        )
    except DomainError as exc:
        return refused(request, state, session, principal, register_id, exc, key=_underscored)
    return RedirectResponse(_url(register_id), status_code=303)


@router.post("/registers/{register_id}/registration/drive-close", response_model=None)
def drive_close(
    register_id: int,
    request: Request,
    state: StateDep,
    session: SessionDep,
    principal: Manager,
    csrf_token: CsrfField = None,
) -> Response:
    """Command the register to make the report on closing its drive's fiscal mode."""
    csrf.check(request, state.settings.secret_key, csrf_token)
    try:
        lifecycle.order_closing(
            session=session, clock=state.clock, principal=principal, register_id=register_id
        )
    except DomainError as exc:
        return refused(request, state, session, principal, register_id, exc, key=_underscored)
    return RedirectResponse(_url(register_id), status_code=303)


@router.post("/registers/{register_id}/registration/report", response_model=None)
def report_save(
    register_id: int,
    request: Request,
    state: StateDep,
    session: SessionDep,
    principal: Manager,
    config: ConfigDep,
    fd_number: Text = "",
    fiscal_sign: Text = "",
    date: Text = "",
    csrf_token: CsrfField = None,
) -> Response:
    """The registration (or change) report's requisites, typed from the register's report."""
    csrf.check(request, state.settings.secret_key, csrf_token)
    try:
        service.send_report(
            session=session,
            clock=state.clock,
            principal=principal,
            register_id=register_id,
            gateway=config.gateway,
            fd_number=_int(fd_number),
            fiscal_sign=fiscal_sign.strip(),
            date=date.strip(),
        )
    except DomainError as exc:
        return refused(request, state, session, principal, register_id, exc, key="report_{}".format)
    return RedirectResponse(_url(register_id), status_code=303)


@router.post("/registers/{register_id}/registration/poa", response_model=None)
def poa_upload(
    register_id: int,
    request: Request,
    state: StateDep,
    session: SessionDep,
    principal: Manager,
    config: ConfigDep,
    poa: Annotated[UploadFile | str | None, File()] = None,
    poa_signature: Annotated[UploadFile | str | None, File()] = None,
    csrf_token: CsrfField = None,
) -> Response:
    """Upload an employee's МЧД (XML) with the head's detached signature over it."""
    csrf.check(request, state.settings.secret_key, csrf_token)
    st = service.get_state(session=session, principal=principal, register_id=register_id)

    def read(upload: UploadFile | str | None) -> bytes:
        if isinstance(upload, str):
            return upload.encode("utf-8")
        return upload.file.read(_MAX_FILE) if upload is not None else b""

    try:
        xml, raw_signature = read(poa), read(poa_signature)
        if not xml:
            raise InvalidApplicationError(
                "Файл доверенности не выбран", fields={"poa": "Выберите XML-файл МЧД"}
            )
        attorney.upload_poa(
            session=session,
            clock=state.clock,
            principal=principal,
            company=st.company,
            xml=xml,
            signature=service.signature_bytes(raw_signature) if raw_signature else b"",
            trusted_roots=config.trusted_roots,
            crls=config.crls,
        )
    except DomainError as exc:
        return refused(request, state, session, principal, register_id, exc)
    return RedirectResponse(_url(register_id), status_code=303)


Operator = Annotated[Principal, page_need(Permission.OPERATOR_INVENTORY)]


def _replacement_page(
    request: Request,
    state: StateDep,
    session: SessionDep,
    principal: Principal,
    register_id: int,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    message: str | None = None,
    notice: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    register = session.get(Register, register_id)
    if register is None or register.company_id is None:
        raise RegisterNotFoundError(f"Касса № {register_id} не найдена")
    st = service.state_of(session, register)
    return render_page(
        request,
        state,
        "registration/replacement.html",
        principal=principal,
        status=status,
        register=register,
        st=st,
        values=values or {"new_model": st.form.fn_model},
        closing=report.closing_state(session, register),
        override_min=lifecycle.OVERRIDE_MIN_CHARS,
        errors=errors or {},
        message=message,
        notice=notice,
    )


@router.get("/operator/registers/{register_id}/drive-replacement", response_class=HTMLResponse)
def replacement_page(
    register_id: int, request: Request, state: StateDep, session: SessionDep, principal: Operator
) -> HTMLResponse:
    """The operator's drive replacement form."""
    return _replacement_page(request, state, session, principal, register_id)


@router.post("/operator/registers/{register_id}/drive-close", response_model=None)
def operator_drive_close(
    register_id: int,
    request: Request,
    state: StateDep,
    session: SessionDep,
    principal: Operator,
    csrf_token: CsrfField = None,
) -> Response:
    """Command the register to close its drive's fiscal mode before the replacement."""
    csrf.check(request, state.settings.secret_key, csrf_token)
    try:
        lifecycle.order_closing(
            session=session, clock=state.clock, principal=None, register_id=register_id
        )
    except DomainError:
        session.rollback()
        raise
    return RedirectResponse(f"/operator/registers/{register_id}/drive-replacement", 303)


@router.post("/operator/registers/{register_id}/drive-replacement", response_model=None)
def replacement_save(
    register_id: int,
    request: Request,
    state: StateDep,
    session: SessionDep,
    principal: Operator,
    close_fd_number: Text = "",
    close_fiscal_sign: Text = "",
    close_date: Text = "",
    ofd_override: Text = "",
    new_model: Text = "",
    new_number: Text = "",
    csrf_token: CsrfField = None,
) -> Response:
    """Close the old drive, install the new one, draft the re-registration (reason 4)."""
    csrf.check(request, state.settings.secret_key, csrf_token)
    values = {
        "close_fd_number": close_fd_number,
        "close_fiscal_sign": close_fiscal_sign,
        "close_date": close_date,
        "new_model": new_model,
        "new_number": new_number,
        "ofd_override": ofd_override,
    }
    try:
        outcome = lifecycle.replace_drive(
            session=session,
            clock=state.clock,
            principal=principal,
            register_id=register_id,
            # empty: the requisites of the report the register made on command
            close=lifecycle.CloseReport(_int(close_fd_number), close_fiscal_sign, close_date)
            if any(v.strip() for v in (close_fd_number, close_fiscal_sign, close_date))
            else None,
            ofd_override=ofd_override,
            new_model=new_model,
            new_number=new_number,
        )
    except DomainError as exc:
        session.rollback()
        return _replacement_page(
            request,
            state,
            session,
            principal,
            register_id,
            values=values,
            errors={_underscored(k): v for k, v in exc.fields.items()},
            message=exc.message,
            status=422 if exc.fields else 409,
        )
    return _replacement_page(
        request, state, session, principal, register_id, notice=outcome.message
    )


@router.get("/operator/used-drives", response_class=HTMLResponse)
def used_drives_page(
    request: Request,
    state: StateDep,
    session: SessionDep,
    principal: Annotated[Principal, page_need(Permission.OPERATOR_FLEET)],
) -> HTMLResponse:
    """Used drives on record with their keep-until date (54-ФЗ ст. 5 п. 2: five years)."""
    rows = list_used_drives(session)
    return render_page(
        request,
        state,
        "registration/used_drives.html",
        principal=principal,
        rows=[(r, _day(r.removed_at), _day(r.keep_until)) for r in rows],
    )
