"""The access JSON API: roles, folders, API tokens, operator staff and the audit log."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query, status

from fleet import audit
from fleet.access import folders, roles, staff, tokens
from fleet.access.deps import need, need_any
from fleet.access.models import Role
from fleet.access.permissions import CLIENT_PERMISSIONS, Permission
from fleet.access.principal import Principal
from fleet.access.schemas import (
    AuditEntryOut,
    AuditPageOut,
    FolderIn,
    FolderOut,
    FolderRegistersIn,
    PermissionOut,
    RoleIn,
    RoleOut,
    RolePatch,
    StaffIn,
    StaffOut,
    TokenCreatedOut,
    TokenIn,
    TokenOut,
)
from fleet.accounts.models import User
from fleet.deps import SessionDep, StateDep

__all__ = ["router"]

router = APIRouter(prefix="/api")

P = Permission
UsersView = Annotated[Principal, need(P.USERS_VIEW)]
UsersManage = Annotated[Principal, need(P.USERS_MANAGE)]
FoldersView = Annotated[Principal, need(P.REGISTERS_VIEW)]
FoldersManage = Annotated[Principal, need_any(P.USERS_MANAGE, P.REGISTERS_MANAGE)]
TokensManage = Annotated[Principal, need(P.TOKENS_MANAGE)]
Staff = Annotated[Principal, need(P.OPERATOR_STAFF)]


def _seconds(moment: dt.datetime | None) -> float | None:
    if moment is None:
        return None
    if moment.tzinfo is None:  # a naive time is taken as UTC
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.timestamp()


@router.get("/permissions", tags=["Роли и права"])
def permission_catalogue(principal: UsersView) -> list[PermissionOut]:
    """The client permissions a role may hold, with Russian labels."""
    return [PermissionOut.of(p) for p in Permission if p in CLIENT_PERMISSIONS]


@router.get("/roles", tags=["Роли и права"])
def list_roles(principal: UsersView, session: SessionDep, state: StateDep) -> list[RoleOut]:
    """The company's roles: built-in first, then custom."""
    return [RoleOut.of(v) for v in roles.list_roles(session, state.clock, principal=principal)]


@router.post("/roles", status_code=status.HTTP_201_CREATED, tags=["Роли и права"])
def create_role(
    body: RoleIn, principal: UsersManage, session: SessionDep, state: StateDep
) -> RoleOut:
    """A custom role (only permissions and folders the caller holds itself)."""
    return RoleOut.of(
        roles.create_role(
            session,
            state.clock,
            principal=principal,
            name=body.name,
            permissions=body.permissions,
            folder_ids=body.folder_ids,
        )
    )


@router.get("/roles/{role_id}", tags=["Роли и права"])
def get_role(role_id: int, principal: UsersView, session: SessionDep) -> RoleOut:
    """One role of the company (another company's id: 404)."""
    role = roles.get_role(session, company_id=principal.company_id, role_id=role_id)
    return RoleOut.of(roles.view_of(session, role))


@router.patch("/roles/{role_id}", tags=["Роли и права"])
def update_role(
    role_id: int, body: RolePatch, principal: UsersManage, session: SessionDep, state: StateDep
) -> RoleOut:
    """Change a role's name (custom only), permissions or folders (never the owner role)."""
    return RoleOut.of(
        roles.update_role(
            session,
            state.clock,
            principal=principal,
            role_id=role_id,
            name=body.name,
            permissions=body.permissions,
            folder_ids=body.folder_ids,
            set_folders="folder_ids" in body.model_fields_set,
        )
    )


@router.delete("/roles/{role_id}", status_code=status.HTTP_204_NO_CONTENT, tags=["Роли и права"])
def delete_role(role_id: int, principal: UsersManage, session: SessionDep, state: StateDep) -> None:
    """Delete a custom role nobody holds (409 names the holders)."""
    roles.delete_role(session, state.clock, principal=principal, role_id=role_id)


@router.get("/folders", tags=["Папки касс"])
def list_folders(principal: FoldersView, session: SessionDep) -> list[FolderOut]:
    """The folders the caller sees, with register counts."""
    counts = folders.register_counts(session, company_id=principal.company_id)
    return [
        FolderOut.of(f, counts.get(f.id or 0, 0))
        for f in folders.list_folders(session, principal=principal)
    ]


@router.post("/folders", status_code=status.HTTP_201_CREATED, tags=["Папки касс"])
def create_folder(
    body: FolderIn, principal: FoldersManage, session: SessionDep, state: StateDep
) -> FolderOut:
    """A new folder."""
    folder = folders.create_folder(session, state.clock, principal=principal, name=body.name)
    return FolderOut.of(folder, 0)


@router.get("/folders/{folder_id}", tags=["Папки касс"])
def get_folder(folder_id: int, principal: FoldersView, session: SessionDep) -> FolderOut:
    """One folder (another company's id: 404)."""
    folder = folders.get_folder(session, principal=principal, folder_id=folder_id)
    counts = folders.register_counts(session, company_id=principal.company_id)
    return FolderOut.of(folder, counts.get(folder_id, 0))


@router.patch("/folders/{folder_id}", tags=["Папки касс"])
def rename_folder(
    folder_id: int, body: FolderIn, principal: FoldersManage, session: SessionDep, state: StateDep
) -> FolderOut:
    """Rename a folder."""
    folder = folders.rename_folder(
        session, state.clock, principal=principal, folder_id=folder_id, name=body.name
    )
    counts = folders.register_counts(session, company_id=principal.company_id)
    return FolderOut.of(folder, counts.get(folder_id, 0))


@router.delete("/folders/{folder_id}", status_code=status.HTTP_204_NO_CONTENT, tags=["Папки касс"])
def delete_folder(
    folder_id: int, principal: FoldersManage, session: SessionDep, state: StateDep
) -> None:
    """Delete a folder (its registers go to no folder; refused while roles are limited to it)."""
    folders.delete_folder(session, state.clock, principal=principal, folder_id=folder_id)


@router.put("/folders/{folder_id}/registers", tags=["Папки касс"])
def set_folder_registers(
    folder_id: int,
    body: FolderRegistersIn,
    principal: Annotated[Principal, need(P.REGISTERS_MANAGE)],
    session: SessionDep,
    state: StateDep,
) -> list[int]:
    """The folder holds exactly these registers afterwards (moved from other folders)."""
    return folders.set_folder_registers(
        session,
        state.clock,
        principal=principal,
        folder_id=folder_id,
        register_ids=body.register_ids,
    )


@router.get("/tokens", tags=["API-токены"])
def list_tokens(principal: TokensManage, session: SessionDep) -> list[TokenOut]:
    """The company's API tokens (never their secrets), newest first."""
    return [TokenOut.of(t, r) for t, r in tokens.list_tokens(session, principal=principal)]


@router.post("/tokens", status_code=status.HTTP_201_CREATED, tags=["API-токены"])
def create_token(
    body: TokenIn, principal: TokensManage, session: SessionDep, state: StateDep
) -> TokenCreatedOut:
    """A new API token with a role: the secret is in this answer only."""
    issued = tokens.create_token(
        session, state.clock, principal=principal, name=body.name, role_id=body.role_id
    )
    role = session.get(Role, issued.row.role_id)
    assert role is not None  # foreign key
    listed = TokenOut.of(issued.row, role)
    return TokenCreatedOut(**listed.model_dump(), token=issued.secret)


@router.delete("/tokens/{token_id}", tags=["API-токены"])
def revoke_token(
    token_id: int, principal: TokensManage, session: SessionDep, state: StateDep
) -> TokenOut:
    """Revoke a token: it stops working at once (401)."""
    row = tokens.revoke_token(session, state.clock, principal=principal, token_id=token_id)
    role = session.get(Role, row.role_id)
    assert role is not None  # foreign key
    return TokenOut.of(row, role)


def _staff_out(user: User) -> StaffOut:
    assert user.id is not None
    return StaffOut(user_id=user.id, email=user.email, company_id=user.company_id)


@router.get("/operator/staff", tags=["Сотрудники Облака (оператор)"])
def list_staff(principal: Staff, session: SessionDep) -> list[StaffOut]:
    """Every operator."""
    return [_staff_out(u) for u in staff.list_operators(session)]


@router.post(
    "/operator/staff", status_code=status.HTTP_201_CREATED, tags=["Сотрудники Облака (оператор)"]
)
def grant_staff(body: StaffIn, principal: Staff, session: SessionDep, state: StateDep) -> StaffOut:
    """Make a registered user an operator."""
    return _staff_out(
        staff.grant_operator(session, state.clock, body.email, actor_user_id=principal.user_id)
    )


@router.delete(
    "/operator/staff/{user_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    tags=["Сотрудники Облака (оператор)"],
)
def revoke_staff(user_id: int, principal: Staff, session: SessionDep, state: StateDep) -> None:
    """Take operator rights away (not from oneself)."""
    staff.revoke_operator(session, state.clock, principal=principal, user_id=user_id)


@router.get("/audit", tags=["Журнал действий"])
def audit_log(
    principal: Annotated[Principal, need(P.AUDIT_VIEW)],
    session: SessionDep,
    action: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=audit.MAX_PAGE)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> AuditPageOut:
    """The company's audit log, newest first; ``action`` exact or a prefix ending in a dot
    (``role.``); the period is [since, until)."""
    page = audit.list_entries(
        session,
        company_id=principal.company_id,
        action=action,
        since=_seconds(since),
        until=_seconds(until),
        limit=limit,
        offset=offset,
    )
    return AuditPageOut(
        items=[AuditEntryOut.of(a) for a in page.items],
        total=page.total,
        limit=page.limit,
        offset=page.offset,
    )
