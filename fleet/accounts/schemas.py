"""JSON shapes of the account API (validated models; table models never face the wire)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from fleet.accounts.models import Company, User

if TYPE_CHECKING:
    from fleet.accounts.users import UserView

__all__ = [
    "AcceptInviteIn",
    "CompanyPublic",
    "ConfirmIn",
    "InviteIn",
    "MeOut",
    "RoleChangeIn",
    "SessionOut",
    "SignInIn",
    "SignUpIn",
    "SignUpOut",
    "UserOut",
    "UserPublic",
    "utc",
]


def utc(seconds: float) -> dt.datetime:
    """UTC seconds as an aware datetime (times carry a zone at the edges)."""
    return dt.datetime.fromtimestamp(seconds, dt.UTC)


class SignUpIn(BaseModel):
    """Self sign-up: the first user and the company."""

    email: str = Field(max_length=254, examples=["buh@romashka.ru"])
    password: str = Field(max_length=256)
    company_name: str = Field(max_length=300, examples=["ООО «Ромашка»"])
    inn: str = Field(max_length=20, examples=["7707083893"])
    ogrn: str = Field(max_length=20, examples=["1027700132195"])


class ConfirmIn(BaseModel):
    """The token from the confirmation e-mail."""

    token: str = Field(max_length=200)


class SignInIn(BaseModel):
    """E-mail and password."""

    email: str = Field(max_length=254)
    password: str = Field(max_length=256)


class UserPublic(BaseModel):
    """A user as the API shows it."""

    id: int
    email: str
    company_id: int
    email_confirmed: bool
    created_at: dt.datetime

    @classmethod
    def of(cls, user: User) -> UserPublic:
        """From the table row."""
        assert user.id is not None
        return cls(
            id=user.id,
            email=user.email,
            company_id=user.company_id,
            email_confirmed=user.email_confirmed,
            created_at=utc(user.created_at),
        )


class CompanyPublic(BaseModel):
    """A company as the API shows it."""

    id: int
    name: str
    inn: str
    ogrn: str
    created_at: dt.datetime

    @classmethod
    def of(cls, company: Company) -> CompanyPublic:
        """From the table row."""
        assert company.id is not None
        return cls(
            id=company.id,
            name=company.name,
            inn=company.inn,
            ogrn=company.ogrn,
            created_at=utc(company.created_at),
        )


class SignUpOut(BaseModel):
    """The result of sign-up: confirm the e-mail next."""

    user: UserPublic
    company: CompanyPublic


class SessionOut(BaseModel):
    """A bearer token for the API."""

    token: str
    token_type: str = "bearer"
    expires_at: dt.datetime


class MeOut(BaseModel):
    """Who calls: the signed-in user (None for an API token) and the company, with the
    caller's permissions and folder scope (None: every folder)."""

    user: UserPublic | None
    company: CompanyPublic
    token_id: int | None = None
    permissions: list[str] = []
    folder_ids: list[int] | None = None


class InviteIn(BaseModel):
    """Invite a person by e-mail with a role of the company."""

    email: str = Field(max_length=254, examples=["kassir@romashka.ru"])
    role_id: int


class AcceptInviteIn(BaseModel):
    """The token from the invitation letter and the new password."""

    token: str = Field(max_length=200)
    password: str = Field(max_length=256)


class RoleChangeIn(BaseModel):
    """The user's new role."""

    role_id: int


class UserOut(BaseModel):
    """A user of the company with role and status (invited, active, blocked)."""

    id: int
    email: str
    role_id: int | None
    role: str
    owner: bool
    status: str
    status_label: str
    created_at: dt.datetime
    blocked_at: dt.datetime | None

    @classmethod
    def of(cls, v: UserView) -> UserOut:
        """From the service's view."""
        u = v.user
        assert u.id is not None
        return cls(
            id=u.id,
            email=u.email,
            role_id=u.role_id,
            role=v.role_name,
            owner=v.owner,
            status=v.status.value,
            status_label=v.status_label,
            created_at=utc(u.created_at),
            blocked_at=None if u.blocked_at is None else utc(u.blocked_at),
        )
