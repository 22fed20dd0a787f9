"""The Russian registration page: the form, the file to sign, the signature upload, the status."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

from fleet.access.deps import page_need
from fleet.access.permissions import Permission
from fleet.access.principal import Principal
from fleet.core import csrf
from fleet.core.errors import DomainError
from fleet.deps import SessionDep, StateDep
from fleet.registration import attorney, report, service
from fleet.registration.application import (
    DEREG_REASONS,
    FLAGS,
    TAX_SYSTEMS,
    Address,
    ApplicationForm,
)
from fleet.registration.config import ConfigDep
from fleet.registration.lifecycle import OVERRIDE_MIN_CHARS
from fleet.registration.models import KIND_LABEL, STATUS_LABEL, next_step
from fleet.registration.rules import REASON_LABEL, Decision
from fleet.web.render import render_page

__all__ = ["form_from_fields", "render", "router"]

router = APIRouter(include_in_schema=False)

Manager = Annotated[Principal, page_need(Permission.REGISTERS_MANAGE)]
Text = Annotated[str, Form()]
CsrfField = Annotated[str | None, Form(alias=csrf.FIELD)]
_ADDRESS = (
    "region_code",
    "municipal",
    "settlement",
    "street",
    "house",
    "building",
    "flat",
    "postal_code",
    "oktmo",
    "fias_id",
)


def _day(ts: float | None) -> str:
    if ts is None:
        return ""
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%d.%m.%Y")


def _render(
    request: Request,
    state: StateDep,
    session: Session,
    principal: Principal,
    st: service.State,
    *,
    form: ApplicationForm | None = None,
    errors: dict[str, str] | None = None,
    message: str | None = None,
    status: int = 200,
    notice: str | None = None,
    decision: Decision | None = None,
) -> HTMLResponse:
    row = st.application
    shown = form or st.form
    values: dict[str, Any] = {**shown.to_json(), **{k: getattr(shown.address, k) for k in _ADDRESS}}
    return render_page(
        request,
        state,
        "registration/page.html",
        principal=principal,
        status=status,
        register=st.register,
        company=st.company,
        app=row,
        status_value=st.status.value,
        status_label=STATUS_LABEL[st.status],
        next_step=next_step(st.status, row.rnm if row else None, st.kind),
        kind=st.kind.value,
        kind_label=KIND_LABEL[st.kind],
        registered=st.registered is not None,
        reason_codes=st.reason_codes,
        reason_label=REASON_LABEL,
        dereg_reasons=DEREG_REASONS,
        poas=[
            (p, _day(p.valid_from), _day(p.valid_to - 1))
            for p in attorney.list_poas(session, st.company.id or 0)
        ],
        notice=notice,
        decision=decision,
        reasons=st.reasons,
        card=st.card,
        values=values,
        flags=FLAGS,
        tax_systems=TAX_SYSTEMS,
        errors={k.removeprefix("address."): v for k, v in (errors or {}).items()},
        message=message,
        valid_from=_day(row.signer_valid_from if row else None),
        valid_to=_day(row.signer_valid_to if row else None),
        # the drive's closing report as the fleet knows it (deregistration): the OFD's answer
        closing=report.closing_state(session, st.register) if st.registered else None,
        override_min=OVERRIDE_MIN_CHARS,
    )


def refused(
    request: Request,
    state: StateDep,
    session: Session,
    principal: Principal,
    register_id: int,
    exc: DomainError,
    *,
    form: ApplicationForm | None = None,
    key: Callable[[str], str] = str,
) -> HTMLResponse:
    """The page again after the service refused an action: nothing it began is kept (rolled
    back), its message on top and its field errors (named by `key` as the form's inputs) by
    their fields; 422 when fields are wrong, 409 when the state forbids the action."""
    session.rollback()
    st = service.get_state(session=session, principal=principal, register_id=register_id)
    return _render(
        request,
        state,
        session,
        principal,
        st,
        form=form,
        errors={key(k): v for k, v in exc.fields.items()},
        message=exc.message,
        status=422 if exc.fields else 409,
    )


render = _render


def form_from_fields(data: Mapping[str, str], lists: Mapping[str, list[str]]) -> ApplicationForm:
    """The application form from the page's fields (``lists``: the checkbox groups)."""
    return ApplicationForm(
        fn_model=data.get("fn_model", ""),
        fn_number=data.get("fn_number", ""),
        ofd_inn=data.get("ofd_inn", ""),
        ofd_name=data.get("ofd_name", ""),
        address=Address(**{k: data.get(k, "") for k in _ADDRESS}),
        place=data.get("place", ""),
        flags={f: True for f in lists.get("flags", [])},
        automat_number=data.get("automat_number", ""),
        website=data.get("website", ""),
        tax_systems=list(lists.get("tax_systems", [])),
    )


def _url(register_id: int) -> str:
    return f"/registers/{register_id}/registration"


@router.get("/registers/{register_id}/registration", response_class=HTMLResponse)
def registration_page(
    register_id: int, request: Request, state: StateDep, session: SessionDep, principal: Manager
) -> HTMLResponse:
    """The application's status, the form and the signing steps."""
    st = service.get_state(session=session, principal=principal, register_id=register_id)
    return _render(request, state, session, principal, st)


@router.post("/registers/{register_id}/registration", response_model=None)
def registration_save(
    register_id: int,
    request: Request,
    state: StateDep,
    session: SessionDep,
    principal: Manager,
    fn_model: Text = "",
    fn_number: Text = "",
    ofd_inn: Text = "",
    ofd_name: Text = "",
    region_code: Text = "",
    municipal: Text = "",
    settlement: Text = "",
    street: Text = "",
    house: Text = "",
    building: Text = "",
    flat: Text = "",
    postal_code: Text = "",
    oktmo: Text = "",
    fias_id: Text = "",
    place: Text = "",
    automat_number: Text = "",
    website: Text = "",
    flags: Annotated[list[str] | None, Form()] = None,
    tax_systems: Annotated[list[str] | None, Form()] = None,
    csrf_token: CsrfField = None,
) -> Response:
    """Save the form; refusals show the form again with the reasons."""
    csrf.check(request, state.settings.secret_key, csrf_token)
    form = ApplicationForm(
        fn_model=fn_model,
        fn_number=fn_number,
        ofd_inn=ofd_inn,
        ofd_name=ofd_name,
        address=Address(
            region_code=region_code,
            municipal=municipal,
            settlement=settlement,
            street=street,
            house=house,
            building=building,
            flat=flat,
            postal_code=postal_code,
            oktmo=oktmo,
            fias_id=fias_id,
        ),
        place=place,
        flags={f: True for f in flags or []},
        automat_number=automat_number,
        website=website,
        tax_systems=list(tax_systems or []),
    )
    try:
        service.save_form(
            session=session,
            clock=state.clock,
            principal=principal,
            register_id=register_id,
            form=form,
        )
    except DomainError as exc:
        return refused(request, state, session, principal, register_id, exc, form=form)
    return RedirectResponse(_url(register_id), status_code=303)


@router.get("/registers/{register_id}/registration/document", response_model=None)
def registration_document(register_id: int, session: SessionDep, principal: Manager) -> Response:
    """The exact bytes to sign, as a file."""
    content = service.document_bytes(session=session, principal=principal, register_id=register_id)
    return Response(
        content,
        media_type="application/json; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="registration-{register_id}.json"'},
    )


@router.post("/registers/{register_id}/registration/signature", response_model=None)
def registration_signature(
    register_id: int,
    request: Request,
    state: StateDep,
    session: SessionDep,
    principal: Manager,
    config: ConfigDep,
    # A text field is accepted too (a pasted base64 signature), and checked after the tenant.
    signature: Annotated[UploadFile | str | None, File()] = None,
    csrf_token: CsrfField = None,
) -> Response:
    """Upload the detached signature (.p7s/.sig); a PEM/base64 file is accepted too."""
    csrf.check(request, state.settings.secret_key, csrf_token)
    if isinstance(signature, str):
        raw = signature.encode("ascii", "replace")
    else:
        raw = signature.file.read(200_000) if signature is not None else b""
    try:
        service.accept_signature(
            session=session,
            clock=state.clock,
            principal=principal,
            register_id=register_id,
            signature=raw,
            trusted_roots=config.trusted_roots,
            crls=config.crls,
            gateway=config.gateway,
        )
    except DomainError as exc:
        return refused(request, state, session, principal, register_id, exc)
    return RedirectResponse(_url(register_id), status_code=303)


@router.post("/registers/{register_id}/registration/refresh", response_model=None)
def registration_refresh(
    register_id: int,
    request: Request,
    state: StateDep,
    session: SessionDep,
    principal: Manager,
    config: ConfigDep,
    csrf_token: CsrfField = None,
) -> Response:
    """Ask the FNS again (or resend a signed application that did not go through)."""
    csrf.check(request, state.settings.secret_key, csrf_token)
    st = service.get_state(session=session, principal=principal, register_id=register_id)
    action = service.send if st.status.value == "signed" else service.refresh
    try:
        action(
            session=session,
            clock=state.clock,
            principal=principal,
            register_id=register_id,
            gateway=config.gateway,
        )
    except DomainError as exc:
        return _render(request, state, session, principal, st, message=exc.message, status=409)
    return RedirectResponse(_url(register_id), status_code=303)
