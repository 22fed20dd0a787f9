"""Rendering a console page: the template, the CSRF token and cookie, and the navigation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from sqlmodel import Session

from fleet.access.principal import Principal
from fleet.accounts.models import Company, User
from fleet.core import csrf
from fleet.deps import AppState
from fleet.notify.service import unread_count
from fleet.web.nav import menu_for, page_paths

__all__ = ["Viewer", "render_page", "viewer_for"]


@dataclass(frozen=True)
class Viewer:
    """What the layout shows about the signed-in person: e-mail and company name."""

    email: str
    company_name: str
    unread: int = 0  # unread notifications (the layout shows the count)


def viewer_for(state: AppState, principal: Principal | None) -> Viewer | None:
    """The header's e-mail and company (read in a short session of its own: pages need not
    pass theirs, and a read never blocks the request's transaction)."""
    if principal is None:
        return None
    with Session(state.engine) as session:
        user = session.get(User, principal.user_id) if principal.user_id is not None else None
        company = session.get(Company, principal.company_id)
        return Viewer(
            email=user.email if user else "API-токен",
            company_name=company.name if company else "",
            unread=unread_count(session, principal.user_id),
        )


def render_page(
    request: Request,
    state: AppState,
    template: str,
    *,
    principal: Principal | None = None,
    status: int = 200,
    **context: Any,
) -> HTMLResponse:
    """Render ``template`` with ``csrf_token``, ``principal``, the menu (``nav``) and the
    header (``viewer``); set the CSRF cookie. An HTMX request renders the same template: a
    partial template simply does not extend the layout."""
    token = csrf.token_for(request, state.settings.secret_key)
    html = state.templates.get_template(template).render(
        csrf_token=token,
        principal=principal,
        request_path=request.url.path,
        nav=menu_for(principal, page_paths(request.app), request.url.path, request.url.query),
        viewer=viewer_for(state, principal),
        **context,
    )
    response = HTMLResponse(html, status_code=status)
    csrf.set_cookie(response, token, secure=state.settings.cookie_secure)
    return response
