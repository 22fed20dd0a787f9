"""The console's firmware pages (operators only): bundles (upload, certify), rollouts
(create, follow, abort), and the bundle download the registers use.

A refused form (a typed error) shows the same page again with the reason; nothing was written.
"""

from __future__ import annotations

from typing import Annotated, Any, Final

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session, select

from fleet.access.deps import page_need
from fleet.access.permissions import Permission
from fleet.access.principal import Principal
from fleet.console.pages import moment
from fleet.core import csrf
from fleet.core.errors import DomainError, status_for
from fleet.deps import AppState, SessionDep, StateDep
from fleet.rollouts import bundles, service
from fleet.rollouts.exceptions import BundleNotFoundError, InvalidBundleError
from fleet.rollouts.models import FirmwareBundle
from fleet.web.render import render_page

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
Operator = Annotated[Principal, page_need(Permission.OPERATOR_FLEET)]
CsrfField = Annotated[str | None, Form(alias=csrf.FIELD)]
STATUS_LABEL: Final = {
    "running": "Идёт",
    "completed": "Завершена",
    "aborted": "Остановлена",
    "waiting": "Ждёт",
    "sent": "Команда отправлена",
    "staged": "Загружена, перезагрузка",
    "succeeded": "Обновлена",
    "failed": "Отказ",
}
STATUS_BADGE: Final = {
    "running": "badge-info",
    "completed": "badge-ok",
    "aborted": "badge-danger",
    "waiting": "",
    "sent": "badge-info",
    "staged": "badge-warn",
    "succeeded": "badge-ok",
    "failed": "badge-danger",
}


def _ctx() -> dict[str, Any]:
    return {"moment": moment, "status_label": STATUS_LABEL, "status_badge": STATUS_BADGE}


# ---- bundles ---------------------------------------------------------------------------------


def _bundles_page(
    request: Request,
    state: AppState,
    session: Session,
    principal: Principal,
    *,
    error: DomainError | None = None,
    status: int = 200,
) -> HTMLResponse:
    return render_page(
        request,
        state,
        "console/firmware.html",
        principal=principal,
        status=status,
        bundles=bundles.list_bundles(session),
        error=error,
        **_ctx(),
    )


@router.get("/console/firmware", response_class=HTMLResponse)
def bundles_page(
    request: Request, state: StateDep, session: SessionDep, principal: Operator
) -> HTMLResponse:
    """Firmware bundles: upload, certify."""
    return _bundles_page(request, state, session, principal)


@router.post("/console/firmware", response_model=None)
def bundle_upload(
    request: Request,
    state: StateDep,
    session: SessionDep,
    principal: Operator,
    bundle: Annotated[UploadFile | str | None, File()] = None,
    csrf_token: CsrfField = None,
) -> HTMLResponse | RedirectResponse:
    """Upload a bundle built by `oblako firmware build`."""
    csrf.check(request, state.settings.secret_key, csrf_token)
    data = b""
    if bundle is not None and not isinstance(bundle, str):  # starlette's UploadFile
        data = bundle.file.read(bundles.MAX_BUNDLE + 1)
    try:
        if not data:
            raise InvalidBundleError("Файл пакета не выбран", fields={"bundle": "выберите .bin"})
        bundles.upload(session, state.clock, principal, data)
    except DomainError as exc:
        session.rollback()
        return _bundles_page(request, state, session, principal, error=exc, status=status_for(exc))
    session.commit()
    return RedirectResponse("/console/firmware", status_code=303)


@router.post("/console/firmware/{bundle_id}/certify", response_model=None)
def bundle_certify(
    bundle_id: int,
    request: Request,
    state: StateDep,
    session: SessionDep,
    principal: Operator,
    csrf_token: CsrfField = None,
) -> RedirectResponse:
    """Mark a version certified: it may go to registered registers."""
    csrf.check(request, state.settings.secret_key, csrf_token)
    bundles.certify(session, state.clock, principal, bundle_id)
    session.commit()
    return RedirectResponse("/console/firmware", status_code=303)


@router.get("/firmware/bundles/{sha256}.bin")
def bundle_download(sha256: str, session: SessionDep) -> Response:
    """The bundle's bytes for a register (it checks them against the SHA-256 in its
    command, file by file against the manifest, so the download needs no secret)."""
    bundle = session.exec(
        select(FirmwareBundle).where(FirmwareBundle.sha256 == sha256.lower())
    ).first()
    if bundle is None:
        raise BundleNotFoundError("Пакет прошивки не найден")
    return Response(bundle.data, media_type="application/octet-stream")


# ---- rollouts --------------------------------------------------------------------------------


def _rollouts_page(
    request: Request,
    state: AppState,
    session: Session,
    principal: Principal,
    *,
    form: dict[str, str] | None = None,
    error: DomainError | None = None,
    status: int = 200,
) -> HTMLResponse:
    return render_page(
        request,
        state,
        "console/rollouts.html",
        principal=principal,
        status=status,
        rollouts=service.list_rollouts(session),
        bundles=bundles.list_bundles(session),
        form=form or {},
        errors=error.fields if error is not None else {},
        error=error,
        **_ctx(),
    )


@router.get("/console/rollouts", response_class=HTMLResponse)
def rollouts_page(
    request: Request, state: StateDep, session: SessionDep, principal: Operator
) -> HTMLResponse:
    """Rollouts: the list and a new one."""
    return _rollouts_page(request, state, session, principal)


@router.post("/console/rollouts", response_model=None)
def rollout_create(
    request: Request,
    state: StateDep,
    session: SessionDep,
    principal: Operator,
    bundle_id: Annotated[str, Form()] = "",
    target: Annotated[str, Form()] = "",
    canary: Annotated[str, Form()] = "",
    phases: Annotated[str, Form()] = "",
    threshold_pct: Annotated[str, Form()] = "",
    min_devices: Annotated[str, Form()] = "",
    timeout_min: Annotated[str, Form()] = "",
    csrf_token: CsrfField = None,
) -> HTMLResponse | RedirectResponse:
    """Start a rollout (the job takes it from the canary on)."""
    csrf.check(request, state.settings.secret_key, csrf_token)
    raw = {
        "bundle_id": bundle_id,
        "target": target,
        "canary": canary,
        "phases": phases,
        "threshold_pct": threshold_pct,
        "min_devices": min_devices,
        "timeout_min": timeout_min,
    }
    try:
        form = service.parse_form(raw)
        rollout = service.create(
            session, state.clock, principal, form, str(request.base_url).rstrip("/")
        )
    except DomainError as exc:
        session.rollback()
        return _rollouts_page(
            request, state, session, principal, form=raw, error=exc, status=status_for(exc)
        )
    session.commit()
    return RedirectResponse(f"/console/rollouts/{rollout.id}", status_code=303)


def _progress(session: Session, rollout_id: int) -> dict[str, Any]:
    rollout = service.get(session, rollout_id)
    devs = service.devices(session, rollout_id)
    bundle = bundles.get(session, rollout.bundle_id)
    return {
        "ro": rollout,
        "bundle": bundle,
        "devs": devs,
        "counts": service.counts(devs),
        "phase_label": service.phase_label(rollout, len(devs)),
    }


@router.get("/console/rollouts/{rollout_id}", response_class=HTMLResponse)
def rollout_page(
    rollout_id: int, request: Request, state: StateDep, session: SessionDep, principal: Operator
) -> HTMLResponse:
    """One rollout: its phase, every register's part, abort."""
    return render_page(
        request,
        state,
        "console/rollout.html",
        principal=principal,
        **_progress(session, rollout_id),
        **_ctx(),
    )


@router.get("/console/rollouts/{rollout_id}/progress", response_class=HTMLResponse)
def rollout_progress(
    rollout_id: int, request: Request, state: StateDep, session: SessionDep, principal: Operator
) -> HTMLResponse:
    """The progress block alone (the page polls it with HTMX while the rollout runs)."""
    html = state.templates.get_template("console/_rollout.html").render(
        csrf_token=csrf.token_for(request, state.settings.secret_key),
        **_progress(session, rollout_id),
        **_ctx(),
    )
    return HTMLResponse(html)


@router.post("/console/rollouts/{rollout_id}/abort", response_model=None)
def rollout_abort(
    rollout_id: int,
    request: Request,
    state: StateDep,
    session: SessionDep,
    principal: Operator,
    reason: Annotated[str, Form()] = "",
    csrf_token: CsrfField = None,
) -> RedirectResponse:
    """Stop a running rollout: nothing more is sent."""
    csrf.check(request, state.settings.secret_key, csrf_token)
    service.abort(session, state.clock, principal, rollout_id, reason)
    session.commit()
    return RedirectResponse(f"/console/rollouts/{rollout_id}", status_code=303)
