"""FastAPI dependencies: the database session, the app's services, the signed-in user."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from jinja2 import Environment
from sqlalchemy.engine import Engine
from sqlmodel import Session

from fleet.accounts import service as accounts_service
from fleet.accounts.mail import MailSender
from fleet.accounts.models import User
from fleet.accounts.passwords import Passwords
from fleet.accounts.service import AccountsContext
from fleet.core.clock import Clock
from fleet.core.config import Settings
from fleet.core.db import session_scope

__all__ = [
    "SESSION_COOKIE",
    "ApiTokenDep",
    "ApiUserDep",
    "AppState",
    "CtxDep",
    "SessionDep",
    "StateDep",
    "get_state",
]

SESSION_COOKIE = "oblako_session"


@dataclass(frozen=True)
class AppState:
    """Everything `create_app` built, kept on ``app.state.fleet``."""

    settings: Settings
    clock: Clock
    engine: Engine
    mailer: MailSender
    passwords: Passwords
    templates: Environment

    @property
    def accounts(self) -> AccountsContext:
        """The account services' context."""
        return AccountsContext(self.settings, self.clock, self.mailer, self.passwords)


def get_state(request: Request) -> AppState:
    """The app's state."""
    state = request.app.state.fleet
    assert isinstance(state, AppState)
    return state


StateDep = Annotated[AppState, Depends(get_state)]


def get_session(state: StateDep) -> Iterator[Session]:
    """One database session per request."""
    yield from session_scope(state.engine)


SessionDep = Annotated[Session, Depends(get_session)]


def get_ctx(state: StateDep) -> AccountsContext:
    """The account services' context."""
    return state.accounts


CtxDep = Annotated[AccountsContext, Depends(get_ctx)]

_bearer = HTTPBearer(auto_error=False, description="Токен из POST /api/auth/signin")


def api_token(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str | None:
    """The bearer token, if any."""
    return credentials.credentials if credentials else None


ApiTokenDep = Annotated[str | None, Depends(api_token)]


def api_user(session: SessionDep, state: StateDep, token: ApiTokenDep) -> User:
    """The user of the bearer token (the JSON API does not accept the cookie: no CSRF there)."""
    return accounts_service.current_user(session=session, clock=state.clock, token=token)


ApiUserDep = Annotated[User, Depends(api_user)]
