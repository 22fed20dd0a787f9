"""The main page: the user's widgets for a signed-in user, the product pitch for a guest."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlmodel import Session

from fleet.access.principal import Principal
from fleet.access.resolve import principal_for_token
from fleet.core.errors import AuthenticationError
from fleet.dashboard.pages import render_dashboard
from fleet.deps import SESSION_COOKIE, SessionDep, StateDep
from fleet.web.render import render_page

__all__ = ["optional_principal", "router"]

router = APIRouter(include_in_schema=False)


def optional_principal(request: Request, state: StateDep, session: Session) -> Principal | None:
    """The session cookie's principal, or None for a guest (an expired session is a guest)."""
    try:
        return principal_for_token(session, state.clock, request.cookies.get(SESSION_COOKIE))
    except AuthenticationError:
        return None


@router.get("/", response_class=HTMLResponse)
def index(request: Request, state: StateDep, session: SessionDep) -> HTMLResponse:
    """Signed in: the widgets of the user's layout (registers by state, balance, sales, ...);
    a guest sees what Oblako offers and the sign-up and sign-in buttons."""
    principal = optional_principal(request, state, session)
    if principal is None:
        return render_page(request, state, "index.html")
    return render_dashboard(request, state, session, principal)
