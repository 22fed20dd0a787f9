"""JSON shapes of the access API: roles, folders, API tokens, operator staff, the audit log."""

from __future__ import annotations

import datetime as dt
import json

from pydantic import BaseModel, Field

from fleet.access.models import ApiToken, RegisterFolder, Role
from fleet.access.permissions import LABEL, Permission
from fleet.access.roles import RoleView
from fleet.accounts.schemas import utc
from fleet.audit import AuditLog

__all__ = [
    "AuditEntryOut",
    "AuditPageOut",
    "FolderIn",
    "FolderOut",
    "FolderRegistersIn",
    "PermissionOut",
    "RoleIn",
    "RoleOut",
    "RolePatch",
    "StaffIn",
    "StaffOut",
    "TokenCreatedOut",
    "TokenIn",
    "TokenOut",
]


class PermissionOut(BaseModel):
    """One permission of the catalogue with its Russian label."""

    code: Permission
    label: str

    @classmethod
    def of(cls, p: Permission) -> PermissionOut:
        """From the enum."""
        return cls(code=p, label=LABEL[p])


class RoleIn(BaseModel):
    """A new custom role; no ``folder_ids`` (or an empty list) means every folder."""

    name: str = Field(max_length=300, examples=["Старший кассир"])
    permissions: list[str] = Field(default_factory=list, examples=[["registers.view"]])
    folder_ids: list[int] | None = None


class RolePatch(BaseModel):
    """A change of a role: only the fields given change (``folder_ids: []`` means all)."""

    name: str | None = Field(default=None, max_length=300)
    permissions: list[str] | None = None
    folder_ids: list[int] | None = None


class RoleOut(BaseModel):
    """A role: built-in or custom, its permissions, folders (None: all) and holders."""

    id: int
    name: str
    kind: str
    builtin: bool
    editable: bool
    permissions: list[Permission]
    folder_ids: list[int] | None
    users: int
    tokens: int
    created_at: dt.datetime

    @classmethod
    def of(cls, v: RoleView) -> RoleOut:
        """From the service's view."""
        assert v.role.id is not None
        return cls(
            id=v.role.id,
            name=v.role.name,
            kind=v.role.kind,
            builtin=v.builtin,
            editable=v.editable,
            permissions=sorted(v.permissions),
            folder_ids=None if v.folder_ids is None else sorted(v.folder_ids),
            users=v.user_count,
            tokens=v.token_count,
            created_at=utc(v.role.created_at),
        )


class FolderIn(BaseModel):
    """A folder's name."""

    name: str = Field(max_length=300, examples=["Магазин на Ленина"])


class FolderRegistersIn(BaseModel):
    """The registers a folder holds after the call (others leave it)."""

    register_ids: list[int] = Field(default_factory=list, max_length=10000)


class FolderOut(BaseModel):
    """A folder of registers."""

    id: int
    name: str
    registers: int
    created_at: dt.datetime

    @classmethod
    def of(cls, f: RegisterFolder, registers: int) -> FolderOut:
        """From the table row and its register count."""
        assert f.id is not None
        return cls(id=f.id, name=f.name, registers=registers, created_at=utc(f.created_at))


class TokenIn(BaseModel):
    """A new API token: a name to recognise it and a role of the company."""

    name: str = Field(max_length=300, examples=["Интернет-магазин"])
    role_id: int


class TokenOut(BaseModel):
    """An API token as listed (never the secret): its visible prefix, role, use."""

    id: int
    name: str
    prefix: str
    role_id: int
    role: str
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None

    @classmethod
    def of(cls, t: ApiToken, role: Role) -> TokenOut:
        """From the table rows."""
        assert t.id is not None
        return cls(
            id=t.id,
            name=t.name,
            prefix=t.prefix,
            role_id=t.role_id,
            role=role.name,
            created_at=utc(t.created_at),
            last_used_at=None if t.last_used_at is None else utc(t.last_used_at),
            revoked_at=None if t.revoked_at is None else utc(t.revoked_at),
        )


class TokenCreatedOut(TokenOut):
    """A new token: ``token`` is shown this once and never again."""

    token: str


class StaffIn(BaseModel):
    """Whom to make an operator."""

    email: str = Field(max_length=254)


class StaffOut(BaseModel):
    """An operator."""

    user_id: int
    email: str
    company_id: int


class AuditEntryOut(BaseModel):
    """One audit row."""

    id: int
    at: dt.datetime
    user_id: int | None
    token_id: int | None
    action: str
    entity: str
    entity_id: str | None
    detail: dict[str, object]

    @classmethod
    def of(cls, a: AuditLog) -> AuditEntryOut:
        """From the table row."""
        assert a.id is not None
        detail = json.loads(a.detail or "{}")
        return cls(
            id=a.id,
            at=utc(a.at),
            user_id=a.user_id,
            token_id=a.token_id,
            action=a.action,
            entity=a.entity,
            entity_id=a.entity_id,
            detail=detail if isinstance(detail, dict) else {},
        )


class AuditPageOut(BaseModel):
    """One page of the audit log (newest first) and the number of matching rows."""

    items: list[AuditEntryOut]
    total: int
    limit: int
    offset: int
