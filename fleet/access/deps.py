"""FastAPI dependencies that check permissions: every route asks for what it needs.

``p: Annotated[Principal, need(Permission.REGISTERS_VIEW)]`` on an API route (bearer token),
``page_need(...)`` on a page (session cookie). A missing permission is 403 with the names of what
is missing; no credentials is 401 (API) or the sign-in page.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request

from fleet.access.permissions import Permission
from fleet.access.principal import Principal
from fleet.access.resolve import principal_for_token
from fleet.deps import SESSION_COOKIE, ApiTokenDep, SessionDep, StateDep

__all__ = ["ApiPrincipalDep", "PagePrincipalDep", "need", "page_need"]


def api_principal(session: SessionDep, state: StateDep, token: ApiTokenDep) -> Principal:
    """The principal of the bearer token (the API does not read the cookie: no CSRF there)."""
    return principal_for_token(session, state.clock, token)


def page_principal(request: Request, session: SessionDep, state: StateDep) -> Principal:
    """The principal of the session cookie."""
    return principal_for_token(session, state.clock, request.cookies.get(SESSION_COOKIE))


ApiPrincipalDep = Annotated[Principal, Depends(api_principal)]
PagePrincipalDep = Annotated[Principal, Depends(page_principal)]


def need(*permissions: Permission) -> Any:
    """An API dependency: the bearer's principal, which must hold every permission given."""

    def check(principal: ApiPrincipalDep) -> Principal:
        principal.check(*permissions)
        return principal

    return Depends(check)


def page_need(*permissions: Permission) -> Any:
    """A page dependency: the cookie's principal, which must hold every permission given."""

    def check(principal: PagePrincipalDep) -> Principal:
        principal.check(*permissions)
        return principal

    return Depends(check)
