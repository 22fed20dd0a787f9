"""The Russian notifications page: the list, «Прочитано», and which kinds go by e-mail."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from fleet.access.deps import page_need
from fleet.access.principal import Principal
from fleet.billing.periods import moscow
from fleet.core import csrf
from fleet.deps import SessionDep, StateDep
from fleet.notify import service
from fleet.notify.models import KINDS
from fleet.web.render import render_page

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

Anyone = Annotated[Principal, page_need()]


@router.get("/notifications", response_class=HTMLResponse)
def notifications_page(
    request: Request, state: StateDep, session: SessionDep, principal: Anyone
) -> HTMLResponse:
    """The user's notifications, newest first, and the e-mail choices."""
    return render_page(
        request,
        state,
        "notify/list.html",
        principal=principal,
        items=service.list_for(session, principal.user_id, limit=200),
        choices=service.email_choices(session, principal.user_id),
        kinds=KINDS,
        when=lambda t: moscow(t).strftime("%d.%m.%Y %H:%M"),
        saved="saved" in request.query_params,
    )


@router.post("/notifications/{notification_id}/read", response_model=None)
def read_one(
    request: Request,
    state: StateDep,
    session: SessionDep,
    principal: Anyone,
    notification_id: int,
    csrf_token: Annotated[str | None, Form(alias=csrf.FIELD)] = None,
) -> Response:
    """Mark one read and go back to the list."""
    csrf.check(request, state.settings.secret_key, csrf_token)
    service.mark_read(session, state.clock, principal.user_id, notification_id)
    return RedirectResponse("/notifications", status_code=303)


@router.post("/notifications/read-all", response_model=None)
def read_all(
    request: Request,
    state: StateDep,
    session: SessionDep,
    principal: Anyone,
    csrf_token: Annotated[str | None, Form(alias=csrf.FIELD)] = None,
) -> Response:
    """Mark every notification read."""
    csrf.check(request, state.settings.secret_key, csrf_token)
    service.mark_all_read(session, state.clock, principal.user_id)
    return RedirectResponse("/notifications", status_code=303)


@router.post("/notifications/preferences", response_model=None)
async def preferences(
    request: Request, state: StateDep, session: SessionDep, principal: Anyone
) -> Response:
    """Save the e-mail choices: a checked box per kind that goes by e-mail."""
    form = await request.form()
    token = form.get(csrf.FIELD)
    csrf.check(request, state.settings.secret_key, token if isinstance(token, str) else None)
    chosen = set(form.getlist("email"))
    service.set_email_choices(session, principal.user_id, {k: k in chosen for k in KINDS})
    return RedirectResponse("/notifications?saved=1", status_code=303)
