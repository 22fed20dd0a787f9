"""Turning credentials into a `Principal`.

A client user acts with their role's permissions and folders; a user with no role (accounts
from before roles existed: the company's owner) holds every client permission; an operator
(``user.is_operator``) holds every permission. A bearer starting with ``obl_`` is an API token
(`fleet.access.tokens`); anything else is a session token.
"""

from __future__ import annotations

from sqlmodel import Session

from fleet.access.models import Role
from fleet.access.permissions import CLIENT_PERMISSIONS, Permission
from fleet.access.principal import Principal
from fleet.access.roles import role_folder_ids, role_permissions
from fleet.access.tokens import PREFIX, principal_for_api_token
from fleet.accounts import service as accounts
from fleet.accounts.exceptions import NotSignedInError
from fleet.accounts.models import User
from fleet.core.clock import Clock

__all__ = ["principal_for_token", "principal_for_user"]


def principal_for_user(session: Session, user: User) -> Principal:
    """The principal of a signed-in user."""
    assert user.id is not None
    if user.is_operator:
        return Principal(
            company_id=user.company_id, permissions=frozenset(Permission), user_id=user.id
        )
    role = None if user.role_id is None else session.get(Role, user.role_id)
    if role is None or role.id is None:
        return Principal(
            company_id=user.company_id, permissions=CLIENT_PERMISSIONS, user_id=user.id
        )
    return Principal(
        company_id=user.company_id,
        permissions=role_permissions(role),
        user_id=user.id,
        folder_ids=role_folder_ids(session, role.id),
    )


def principal_for_token(
    session: Session, clock: Clock, token: str | None, *, allow_api_token: bool = True
) -> Principal:
    """The principal of a session token (cookie or bearer) or an API token; 401 otherwise."""
    if token and token.startswith(PREFIX):
        if not allow_api_token:
            raise NotSignedInError("Войдите в кабинет")
        return principal_for_api_token(session, clock, token)
    user = accounts.current_user(session=session, clock=clock, token=token)
    return principal_for_user(session, user)
