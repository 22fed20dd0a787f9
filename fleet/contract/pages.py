"""The offer's page: its text, the company's acceptance, the accept button."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from fleet.access.deps import page_need
from fleet.access.permissions import Permission
from fleet.access.principal import Principal
from fleet.accounts.api import client_ip
from fleet.accounts.schemas import utc
from fleet.contract import service
from fleet.core import csrf
from fleet.deps import SessionDep, StateDep
from fleet.web.render import render_page

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


@router.get("/contract", response_class=HTMLResponse)
def offer_page(
    request: Request,
    principal: Annotated[Principal, page_need(Permission.BILLING_VIEW)],
    session: SessionDep,
    state: StateDep,
) -> HTMLResponse:
    """The offer and whether it is accepted."""
    s = service.state(session, principal.company_id)
    accepted_at = None if s.accepted_at is None else utc(s.accepted_at).strftime("%d.%m.%Y %H:%M")
    return render_page(
        request, state, "contract/offer.html", principal=principal, offer=s,
        accepted_at=accepted_at, can_accept=principal.has(Permission.COMPANY_MANAGE),
    )  # fmt: skip


@router.post("/contract", response_class=HTMLResponse)
def offer_accept(
    request: Request,
    principal: Annotated[Principal, page_need(Permission.COMPANY_MANAGE)],
    session: SessionDep,
    state: StateDep,
    csrf_token: Annotated[str | None, Form(alias=csrf.FIELD)] = None,
) -> RedirectResponse:
    """Accept the offer, then back to the page."""
    csrf.check(request, state.settings.secret_key, csrf_token)
    service.accept(session, state.clock, principal, client_ip(request))
    return RedirectResponse("/contract", status_code=303)
