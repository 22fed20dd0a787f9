"""Account tables. Times are UTC unix seconds from the injected clock."""

from __future__ import annotations

from sqlmodel import Field, SQLModel

__all__ = ["AuthSession", "Company", "EmailToken", "SignInThrottle", "User"]


class Company(SQLModel, table=True):
    """A client company (a tenant): an organisation (ИНН 10, ОГРН 13) or a sole trader (12, 15)."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    inn: str = Field(max_length=12, unique=True, index=True)
    ogrn: str = Field(max_length=15)
    created_at: float


class User(SQLModel, table=True):
    """A person who signs in to the cabinet; belongs to exactly one company."""

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=254, unique=True, index=True)
    password_hash: str = Field(max_length=200)
    company_id: int = Field(foreign_key="company.id", index=True)
    email_confirmed: bool = False
    created_at: float
    is_operator: bool = False  # an Oblako operator: manages the register inventory
    role_id: int | None = Field(default=None, foreign_key="role.id", index=True)  # None: owner
    blocked_at: float | None = None  # blocked users cannot sign in; their sessions are ended
    invited_by: int | None = None  # the user who invited them (None: signed up themselves)


class EmailToken(SQLModel, table=True):
    """A one-time e-mailed token (confirmation or invitation); only its SHA-256 is stored."""

    token_hash: str = Field(primary_key=True, max_length=64)
    user_id: int = Field(foreign_key="user.id", index=True)
    purpose: str = Field(default="confirm", max_length=16)  # "confirm" or "invite"
    expires_at: float
    used_at: float | None = None


class AuthSession(SQLModel, table=True):
    """A signed-in session (cookie or bearer token); only the token's SHA-256 is stored."""

    token_hash: str = Field(primary_key=True, max_length=64)
    user_id: int = Field(foreign_key="user.id", index=True)
    created_at: float
    expires_at: float


class SignInThrottle(SQLModel, table=True):
    """Failed sign-ins per account+IP: a window of failures and a lock-out deadline."""

    key: str = Field(primary_key=True, max_length=400)
    failures: int = 0
    window_start: float
    locked_until: float | None = None
