"""FastAPI dependencies that check permissions: every route asks for what it needs.

``p: Annotated[Principal, need(Permission.REGISTERS_VIEW)]`` on an API route (bearer token),
``page_need(...)`` on a page (session cookie). A missing permission is 403 with the names of what
is missing; no credentials is 401 (API) or the sign-in page. ``need_any``/``page_need_any`` accept
any one of the permissions given.

Each checker carries what it requires (``required``, ``mode`` "all"/"any", ``kind`` "api"/"page")
so the route walker test can read every route's requirement from ``app.routes``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Final

from fastapi import Depends, Request

from fleet.access.permissions import LABEL, Permission
from fleet.access.principal import Principal
from fleet.access.resolve import principal_for_token
from fleet.core.errors import PermissionDeniedError
from fleet.deps import SESSION_COOKIE, ApiTokenDep, SessionDep, StateDep

__all__ = [
    "REQUIREMENT_ATTR",
    "ApiPrincipalDep",
    "PagePrincipalDep",
    "need",
    "need_any",
    "page_need",
    "page_need_any",
]

REQUIREMENT_ATTR: Final = "required"


def api_principal(session: SessionDep, state: StateDep, token: ApiTokenDep) -> Principal:
    """The principal of the bearer token (the API does not read the cookie: no CSRF there)."""
    return principal_for_token(session, state.clock, token)


def page_principal(request: Request, session: SessionDep, state: StateDep) -> Principal:
    """The principal of the session cookie (API tokens are not accepted in cookies)."""
    return principal_for_token(
        session, state.clock, request.cookies.get(SESSION_COOKIE), allow_api_token=False
    )


ApiPrincipalDep = Annotated[Principal, Depends(api_principal)]
PagePrincipalDep = Annotated[Principal, Depends(page_principal)]


def _check_any(principal: Principal, permissions: tuple[Permission, ...]) -> None:
    if permissions and not any(principal.has(p) for p in permissions):
        raise PermissionDeniedError(
            "Недостаточно прав: нужно одно из — " + ", ".join(LABEL[p] for p in permissions)
        )


def _mark(fn: Callable[..., Principal], perms: tuple[Permission, ...], mode: str, kind: str) -> Any:
    fn.required = frozenset(perms)  # type: ignore[attr-defined]
    fn.mode = mode  # type: ignore[attr-defined]
    fn.kind = kind  # type: ignore[attr-defined]
    return Depends(fn)


def need(*permissions: Permission) -> Any:
    """An API dependency: the bearer's principal, which must hold every permission given."""

    def check(principal: ApiPrincipalDep) -> Principal:
        principal.check(*permissions)
        return principal

    return _mark(check, permissions, "all", "api")


def need_any(*permissions: Permission) -> Any:
    """An API dependency: the bearer's principal, which must hold at least one of them."""

    def check(principal: ApiPrincipalDep) -> Principal:
        _check_any(principal, permissions)
        return principal

    return _mark(check, permissions, "any", "api")


def page_need(*permissions: Permission) -> Any:
    """A page dependency: the cookie's principal, which must hold every permission given."""

    def check(principal: PagePrincipalDep) -> Principal:
        principal.check(*permissions)
        return principal

    return _mark(check, permissions, "all", "page")


def page_need_any(*permissions: Permission) -> Any:
    """A page dependency: the cookie's principal, which must hold at least one of them."""

    def check(principal: PagePrincipalDep) -> Principal:
        _check_any(principal, permissions)
        return principal

    return _mark(check, permissions, "any", "page")
