"""The main page: a summary for a signed-in user, the product pitch for a guest."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlmodel import Session

from fleet.access.permissions import Permission
from fleet.access.principal import Principal
from fleet.access.resolve import principal_for_token
from fleet.billing import ledger
from fleet.billing.money import rubles
from fleet.core.errors import AuthenticationError
from fleet.deps import SESSION_COOKIE, SessionDep, StateDep
from fleet.web.render import render_page
from fleet.web.summary import summarise, summarise_fleet

__all__ = ["optional_principal", "router"]

router = APIRouter(include_in_schema=False)


def optional_principal(request: Request, state: StateDep, session: Session) -> Principal | None:
    """The session cookie's principal, or None for a guest (an expired session is a guest)."""
    try:
        return principal_for_token(session, state.clock, request.cookies.get(SESSION_COOKIE))
    except AuthenticationError:
        return None


def _balance(session: Session, principal: Principal) -> str | None:
    """The company's balance as rubles, if the principal may see it."""
    if not principal.has(Permission.BILLING_VIEW):
        return None
    return rubles(ledger.balance(session, principal.company_id))


@router.get("/", response_class=HTMLResponse)
def index(request: Request, state: StateDep, session: SessionDep) -> HTMLResponse:
    """Signed in: registers by state with links and next steps (and the balance); a guest
    sees what Oblako offers and the sign-up and sign-in buttons."""
    principal = optional_principal(request, state, session)
    if principal is None:
        return render_page(request, state, "index.html")
    summary = summarise(session, principal) if principal.has(Permission.REGISTERS_VIEW) else None
    return render_page(
        request,
        state,
        "index.html",
        principal=principal,
        summary=summary,
        balance=_balance(session, principal),
        can_book=principal.has(Permission.BOOKINGS_CREATE),
        fleet=summarise_fleet(session) if principal.has(Permission.OPERATOR_FLEET) else None,
    )
