"""Roles: built-in permission sets every company gets, and the company's own custom roles.

A role is a set of client permissions, optionally limited to folders of registers (`RoleFolder`
rows; none means every folder). The owner role holds every client permission and is never
changed or deleted. A principal may only grant what it holds itself (no escalation), and
``operator.*`` permissions never go into a client role.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from sqlalchemy import func
from sqlmodel import Session, col, select

from fleet import audit
from fleet.access.exceptions import (
    EscalationError,
    FolderNotFoundError,
    InvalidRoleError,
    RoleInUseError,
    RoleNotFoundError,
    RoleProtectedError,
)
from fleet.access.models import ApiToken, RegisterFolder, Role, RoleFolder, RoleKind
from fleet.access.permissions import CLIENT_PERMISSIONS, LABEL, OPERATOR_PERMISSIONS, Permission
from fleet.access.principal import Principal
from fleet.access.token_cache import token_cache
from fleet.accounts.models import User
from fleet.core.clock import Clock

__all__ = [
    "BUILTIN",
    "BUILTIN_NAME",
    "RoleView",
    "check_grant",
    "create_role",
    "delete_role",
    "ensure_builtin_roles",
    "get_role",
    "is_owner",
    "list_roles",
    "parse_permissions",
    "role_folder_ids",
    "role_permissions",
    "update_role",
    "view_of",
]

P = Permission

BUILTIN: Final[dict[RoleKind, frozenset[Permission]]] = {
    RoleKind.OWNER: CLIENT_PERMISSIONS,
    RoleKind.ADMIN: CLIENT_PERMISSIONS,
    RoleKind.ACCOUNTANT: frozenset(
        {P.BILLING_VIEW, P.BILLING_PAY, P.REGISTERS_VIEW, P.RECEIPTS_VIEW, P.AUDIT_VIEW}
    ),
    RoleKind.CASHIER_MANAGER: frozenset(
        {P.REGISTERS_VIEW, P.REGISTERS_MANAGE, P.BOOKINGS_CREATE, P.RECEIPTS_VIEW}
    ),
    RoleKind.INTEGRATOR: frozenset({P.RECEIPTS_CREATE, P.RECEIPTS_VIEW, P.REGISTERS_VIEW}),
}

BUILTIN_NAME: Final[dict[RoleKind, str]] = {
    RoleKind.OWNER: "Владелец",
    RoleKind.ADMIN: "Администратор",
    RoleKind.ACCOUNTANT: "Бухгалтер",
    RoleKind.CASHIER_MANAGER: "Менеджер касс",
    RoleKind.INTEGRATOR: "Интегратор",
}

MAX_NAME: Final = 100


@dataclass(frozen=True)
class RoleView:
    """A role with its permissions, folder scope (None: all folders) and who holds it."""

    role: Role
    permissions: frozenset[Permission]
    folder_ids: frozenset[int] | None
    user_count: int
    token_count: int

    @property
    def builtin(self) -> bool:
        """One of the roles every company gets."""
        return self.role.kind != RoleKind.CUSTOM.value

    @property
    def editable(self) -> bool:
        """The owner role is fixed; every other role's permissions and folders may change."""
        return self.role.kind != RoleKind.OWNER.value


def parse_permissions(text: str) -> frozenset[Permission]:
    """The stored space-separated permissions (unknown words are ignored)."""
    known = {p.value for p in Permission}
    return frozenset(Permission(w) for w in text.split() if w in known)


def role_permissions(role: Role) -> frozenset[Permission]:
    """A role's client permissions (operator permissions never come from a role)."""
    return parse_permissions(role.permissions) & CLIENT_PERMISSIONS


def role_folder_ids(session: Session, role_id: int) -> frozenset[int] | None:
    """The role's folders, or None when it is not limited to folders."""
    ids = session.exec(select(RoleFolder.folder_id).where(RoleFolder.role_id == role_id)).all()
    return frozenset(ids) if ids else None


def is_owner(session: Session, user: User) -> bool:
    """A company owner: the owner role, or no role at all (accounts from before roles)."""
    if user.role_id is None:
        return True
    role = session.get(Role, user.role_id)
    return role is not None and role.kind == RoleKind.OWNER.value


def ensure_builtin_roles(session: Session, clock: Clock, company_id: int) -> dict[RoleKind, Role]:
    """Create whichever built-in roles the company lacks (flushed, not committed)."""
    existing = {
        RoleKind(r.kind): r
        for r in session.exec(
            select(Role).where(Role.company_id == company_id, Role.kind != RoleKind.CUSTOM.value)
        ).all()
    }
    for kind, perms in BUILTIN.items():
        if kind not in existing:
            role = Role(
                company_id=company_id,
                name=BUILTIN_NAME[kind],
                permissions=" ".join(sorted(perms)),
                kind=kind.value,
                created_at=clock.wall(),
            )
            session.add(role)
            existing[kind] = role
    session.flush()
    return existing


def get_role(session: Session, *, company_id: int, role_id: int) -> Role:
    """A role of the company; any other id is 'not found'."""
    role = session.get(Role, role_id)
    if role is None or role.company_id != company_id:
        raise RoleNotFoundError(f"Роль № {role_id} не найдена")
    return role


def view_of(session: Session, role: Role) -> RoleView:
    """The role with its folders and how many users and tokens hold it."""
    assert role.id is not None
    users = session.exec(
        select(func.count()).select_from(User).where(User.role_id == role.id)
    ).one()
    tokens = session.exec(
        select(func.count())
        .select_from(ApiToken)
        .where(ApiToken.role_id == role.id, col(ApiToken.revoked_at).is_(None))
    ).one()
    return RoleView(
        role=role,
        permissions=role_permissions(role),
        folder_ids=role_folder_ids(session, role.id),
        user_count=int(users),
        token_count=int(tokens),
    )


def list_roles(session: Session, clock: Clock, *, principal: Principal) -> list[RoleView]:
    """The company's roles: built-in first, then custom by name."""
    ensure_builtin_roles(session, clock, principal.company_id)
    session.commit()
    order = list(RoleKind)
    roles = session.exec(select(Role).where(Role.company_id == principal.company_id)).all()
    roles = sorted(roles, key=lambda r: (order.index(RoleKind(r.kind)), r.name, r.id or 0))
    return [view_of(session, r) for r in roles]


def check_grant(
    principal: Principal,
    permissions: Iterable[Permission],
    folder_ids: frozenset[int] | None,
    *,
    folders_change: bool = True,
) -> None:
    """Refuse to grant permissions or folders the principal does not hold itself.

    ``folder_ids`` None means every folder; a principal limited to folders may only grant a
    subset of its own (``folders_change=False`` skips that check when folders stay as they were).
    """
    missing = sorted(set(permissions) - principal.permissions)
    if missing:
        raise EscalationError(
            "Нельзя выдать права, которых нет у вас самих: " + ", ".join(LABEL[p] for p in missing)
        )
    if (
        folders_change
        and principal.folder_ids is not None
        and (folder_ids is None or not folder_ids <= principal.folder_ids)
    ):
        raise EscalationError("Нельзя выдать доступ к папкам касс, которых нет у вас самих")


def _clean_name(name: str, fields: dict[str, str]) -> str:
    clean = " ".join(name.split())
    if not clean:
        fields["name"] = "Укажите название роли"
    elif len(clean) > MAX_NAME:
        fields["name"] = f"Название должно быть не длиннее {MAX_NAME} символов"
    return clean


def _clean_permissions(words: Iterable[str], fields: dict[str, str]) -> frozenset[Permission]:
    known = {p.value for p in Permission}
    words = list(words)
    unknown = sorted({w for w in words if w not in known})
    operator = sorted({w for w in words if w in known and Permission(w) in OPERATOR_PERMISSIONS})
    if unknown:
        fields["permissions"] = "Неизвестные права: " + ", ".join(unknown)
    elif operator:
        fields["permissions"] = "Права сотрудников Облака нельзя выдать роли клиента: " + ", ".join(
            operator
        )
    return frozenset(Permission(w) for w in words if w in known) & CLIENT_PERMISSIONS


def _clean_folders(
    session: Session, company_id: int, folder_ids: Iterable[int] | None, fields: dict[str, str]
) -> frozenset[int] | None:
    if folder_ids is None:
        return None
    ids = frozenset(folder_ids)
    if not ids:
        return None
    found = session.exec(
        select(RegisterFolder.id).where(
            RegisterFolder.company_id == company_id, col(RegisterFolder.id).in_(ids)
        )
    ).all()
    missing = sorted(ids - {i for i in found if i is not None})
    if missing:
        fields["folder_ids"] = "Нет таких папок: " + ", ".join(str(i) for i in missing)
    return ids


def _name_taken(session: Session, company_id: int, name: str, except_id: int | None) -> bool:
    rows = session.exec(select(Role).where(Role.company_id == company_id)).all()
    return any(r.name.lower() == name.lower() and r.id != except_id for r in rows)


def _set_folders(session: Session, role_id: int, folder_ids: frozenset[int] | None) -> None:
    for link in session.exec(select(RoleFolder).where(RoleFolder.role_id == role_id)).all():
        session.delete(link)
    session.flush()
    for folder_id in sorted(folder_ids or ()):
        session.add(RoleFolder(role_id=role_id, folder_id=folder_id))


def create_role(
    session: Session,
    clock: Clock,
    *,
    principal: Principal,
    name: str,
    permissions: Iterable[str],
    folder_ids: Iterable[int] | None = None,
) -> RoleView:
    """A new custom role of the principal's company."""
    fields: dict[str, str] = {}
    clean = _clean_name(name, fields)
    perms = _clean_permissions(permissions, fields)
    folders = _clean_folders(session, principal.company_id, folder_ids, fields)
    if fields:
        raise InvalidRoleError("Проверьте поля роли", fields=fields)
    check_grant(principal, perms, folders)
    if _name_taken(session, principal.company_id, clean, None):
        raise InvalidRoleError(
            "Роль с таким названием уже есть", fields={"name": "Название уже занято"}
        )
    role = Role(
        company_id=principal.company_id,
        name=clean,
        permissions=" ".join(sorted(perms)),
        kind=RoleKind.CUSTOM.value,
        created_at=clock.wall(),
    )
    session.add(role)
    session.flush()
    assert role.id is not None
    _set_folders(session, role.id, folders)
    audit.record_by(
        session,
        clock,
        principal,
        action="role.create",
        entity="role",
        entity_id=role.id,
        name=clean,
        permissions=sorted(perms),
        folder_ids=sorted(folders or ()),
    )
    session.commit()
    return view_of(session, role)


def update_role(
    session: Session,
    clock: Clock,
    *,
    principal: Principal,
    role_id: int,
    name: str | None = None,
    permissions: Iterable[str] | None = None,
    folder_ids: Iterable[int] | None = None,
    set_folders: bool = False,
) -> RoleView:
    """Change a role's name (custom roles), permissions and folders (not the owner role).

    ``set_folders`` says whether ``folder_ids`` is given (None or empty then means all folders).
    """
    role = get_role(session, company_id=principal.company_id, role_id=role_id)
    assert role.id is not None
    if role.kind == RoleKind.OWNER.value:
        raise RoleProtectedError("Роль «Владелец» изменить нельзя: у неё всегда все права")
    fields: dict[str, str] = {}
    clean = role.name
    if name is not None and " ".join(name.split()) != role.name:
        if role.kind != RoleKind.CUSTOM.value:
            fields["name"] = "Встроенную роль переименовать нельзя"
        else:
            clean = _clean_name(name, fields)
    old_perms = role_permissions(role)
    perms = old_perms if permissions is None else _clean_permissions(permissions, fields)
    old_folders = role_folder_ids(session, role.id)
    folders = (
        _clean_folders(session, principal.company_id, folder_ids, fields)
        if set_folders
        else old_folders
    )
    if fields:
        raise InvalidRoleError("Проверьте поля роли", fields=fields)
    check_grant(principal, perms - old_perms, folders, folders_change=folders != old_folders)
    if clean != role.name and _name_taken(session, principal.company_id, clean, role.id):
        raise InvalidRoleError(
            "Роль с таким названием уже есть", fields={"name": "Название уже занято"}
        )
    role.name = clean
    role.permissions = " ".join(sorted(perms))
    session.add(role)
    if folders != old_folders:
        _set_folders(session, role.id, folders)
    audit.record_by(
        session,
        clock,
        principal,
        action="role.update",
        entity="role",
        entity_id=role.id,
        name=clean,
        added=sorted(perms - old_perms),
        removed=sorted(old_perms - perms),
        folder_ids=sorted(folders or ()),
    )
    session.commit()
    token_cache.clear()  # its tokens act with the new permissions at once (fleet/access/tokens.py)
    return view_of(session, role)


def delete_role(session: Session, clock: Clock, *, principal: Principal, role_id: int) -> None:
    """Delete a custom role nobody holds (409 names who holds it)."""
    role = get_role(session, company_id=principal.company_id, role_id=role_id)
    assert role.id is not None
    if role.kind != RoleKind.CUSTOM.value:
        raise RoleProtectedError(f"Встроенную роль «{role.name}» удалить нельзя")
    users = session.exec(select(User.email).where(User.role_id == role.id)).all()
    tokens = session.exec(
        select(ApiToken.name).where(ApiToken.role_id == role.id, col(ApiToken.revoked_at).is_(None))
    ).all()
    if users or tokens:
        holders = [*(f"пользователь {e}" for e in users), *(f"токен «{n}»" for n in tokens)]
        raise RoleInUseError(
            f"Роль «{role.name}» используется: " + ", ".join(holders),
            fields={"users": ", ".join(users), "tokens": ", ".join(tokens)},
        )
    # revoked tokens hold the role only by foreign key; the audit log keeps their history
    for revoked in session.exec(select(ApiToken).where(ApiToken.role_id == role.id)).all():
        session.delete(revoked)
    _set_folders(session, role.id, None)
    session.delete(role)
    audit.record_by(
        session,
        clock,
        principal,
        action="role.delete",
        entity="role",
        entity_id=role_id,
        name=role.name,
    )
    session.commit()
    token_cache.clear()


def folder_exists(session: Session, company_id: int, folder_id: int) -> RegisterFolder:
    """A folder of the company, else 'not found'."""
    folder = session.get(RegisterFolder, folder_id)
    if folder is None or folder.company_id != company_id:
        raise FolderNotFoundError(f"Папка № {folder_id} не найдена")
    return folder
