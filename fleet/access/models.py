"""Access tables: roles (reusable permission sets), folders of registers, API tokens."""

from __future__ import annotations

from enum import StrEnum

from sqlmodel import Field, SQLModel

__all__ = ["ApiToken", "RegisterFolder", "Role", "RoleFolder", "RoleKind"]


class RoleKind(StrEnum):
    """Which built-in role a row is (``custom`` for the ones a company makes itself)."""

    OWNER = "owner"
    ADMIN = "admin"
    ACCOUNTANT = "accountant"
    CASHIER_MANAGER = "cashier_manager"
    INTEGRATOR = "integrator"
    CUSTOM = "custom"


class Role(SQLModel, table=True):
    """A named set of permissions of one company, optionally limited to folders of registers.

    Folder scope lives in `RoleFolder`: no rows means every folder (and registers in none).
    """

    id: int | None = Field(default=None, primary_key=True)
    company_id: int = Field(foreign_key="company.id", index=True)
    name: str = Field(max_length=100)
    permissions: str = Field(default="", max_length=2000)  # space-separated Permission values
    kind: str = Field(default=RoleKind.CUSTOM.value, max_length=32)
    created_at: float


class RegisterFolder(SQLModel, table=True):
    """A folder of a company's registers; roles may be limited to some folders."""

    id: int | None = Field(default=None, primary_key=True)
    company_id: int = Field(foreign_key="company.id", index=True)
    name: str = Field(max_length=100)
    created_at: float


class RoleFolder(SQLModel, table=True):
    """A role is limited to this folder (a role with no rows sees every folder)."""

    role_id: int = Field(foreign_key="role.id", primary_key=True)
    folder_id: int = Field(foreign_key="registerfolder.id", primary_key=True, index=True)


class ApiToken(SQLModel, table=True):
    """An integrator's API token: only its SHA-256 and a short visible prefix are stored."""

    id: int | None = Field(default=None, primary_key=True)
    company_id: int = Field(foreign_key="company.id", index=True)
    role_id: int = Field(foreign_key="role.id", index=True)
    name: str = Field(max_length=100)
    token_hash: str = Field(max_length=64, unique=True, index=True)
    prefix: str = Field(max_length=16)
    created_at: float
    created_by: int | None = Field(default=None, foreign_key="user.id")
    last_used_at: float | None = None
    revoked_at: float | None = None
