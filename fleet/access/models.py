"""Access tables: roles (reusable permission sets) and folders of registers."""

from __future__ import annotations

from sqlmodel import Field, SQLModel

__all__ = ["RegisterFolder", "Role"]


class Role(SQLModel, table=True):
    """A named set of permissions of one company, optionally limited to folders of registers."""

    id: int | None = Field(default=None, primary_key=True)
    company_id: int = Field(foreign_key="company.id", index=True)
    name: str = Field(max_length=100)
    permissions: str = Field(default="", max_length=2000)  # space-separated Permission values
    created_at: float


class RegisterFolder(SQLModel, table=True):
    """A folder of a company's registers; roles may be limited to some folders."""

    id: int | None = Field(default=None, primary_key=True)
    company_id: int = Field(foreign_key="company.id", index=True)
    name: str = Field(max_length=100)
    created_at: float
