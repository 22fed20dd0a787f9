"""Rendering a console page: the template, the CSRF token and cookie, and the navigation."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from fleet.access.principal import Principal
from fleet.core import csrf
from fleet.deps import AppState

__all__ = ["render_page"]


def render_page(
    request: Request,
    state: AppState,
    template: str,
    *,
    principal: Principal | None = None,
    status: int = 200,
    **context: Any,
) -> HTMLResponse:
    """Render ``template`` with ``csrf_token`` and ``principal`` (the layout builds the menu)."""
    token = csrf.token_for(request, state.settings.secret_key)
    html = state.templates.get_template(template).render(
        csrf_token=token, principal=principal, request_path=request.url.path, **context
    )
    response = HTMLResponse(html, status_code=status)
    csrf.set_cookie(response, token, secure=state.settings.cookie_secure)
    return response
