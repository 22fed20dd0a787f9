"""Turning credentials into a `Principal`.

For now a client user holds every client permission (the company's owner) and an operator
(``user.is_operator``) every permission; roles, folders and API tokens refine this.
"""

from __future__ import annotations

from sqlmodel import Session

from fleet.access.permissions import CLIENT_PERMISSIONS, Permission
from fleet.access.principal import Principal
from fleet.accounts import service as accounts
from fleet.accounts.models import User
from fleet.core.clock import Clock

__all__ = ["principal_for_token", "principal_for_user"]


def principal_for_user(session: Session, user: User) -> Principal:
    """The principal of a signed-in user."""
    assert user.id is not None
    perms: frozenset[Permission] = (
        frozenset(Permission) if user.is_operator else frozenset(CLIENT_PERMISSIONS)
    )
    return Principal(company_id=user.company_id, permissions=perms, user_id=user.id)


def principal_for_token(session: Session, clock: Clock, token: str | None) -> Principal:
    """The principal of a session token (cookie or bearer); `NotSignedInError` otherwise."""
    user = accounts.current_user(session=session, clock=clock, token=token)
    return principal_for_user(session, user)
