"""Folders of registers: a company groups its registers; roles may be limited to folders."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from sqlalchemy import func
from sqlmodel import Session, col, select

from fleet import audit
from fleet.access.exceptions import FolderConflictError, FolderNotFoundError, InvalidFolderError
from fleet.access.models import RegisterFolder, Role, RoleFolder
from fleet.access.principal import Principal
from fleet.access.roles import folder_exists
from fleet.core.clock import Clock
from fleet.registers.models import Register

__all__ = [
    "create_folder",
    "delete_folder",
    "get_folder",
    "list_folders",
    "register_counts",
    "rename_folder",
    "set_folder_registers",
]

MAX_NAME: Final = 100


def _clean_name(name: str) -> str:
    clean = " ".join(name.split())
    if not clean:
        raise InvalidFolderError("Укажите название папки", fields={"name": "Укажите название"})
    if len(clean) > MAX_NAME:
        raise InvalidFolderError(
            "Название слишком длинное",
            fields={"name": f"Название должно быть не длиннее {MAX_NAME} символов"},
        )
    return clean


def get_folder(session: Session, *, principal: Principal, folder_id: int) -> RegisterFolder:
    """A folder the principal sees; another company's (or a hidden) folder is 'not found'."""
    folder = folder_exists(session, principal.company_id, folder_id)
    if not principal.sees_folder(folder_id):
        raise FolderNotFoundError(f"Папка № {folder_id} не найдена")
    return folder


def list_folders(session: Session, *, principal: Principal) -> list[RegisterFolder]:
    """The folders the principal sees, by name."""
    rows = session.exec(
        select(RegisterFolder)
        .where(RegisterFolder.company_id == principal.company_id)
        .order_by(col(RegisterFolder.name), col(RegisterFolder.id))
    ).all()
    return [f for f in rows if principal.sees_folder(f.id)]


def register_counts(session: Session, *, company_id: int) -> dict[int, int]:
    """How many registers each folder of the company holds."""
    rows = session.exec(
        select(Register.folder_id, func.count())
        .where(Register.company_id == company_id, col(Register.folder_id).is_not(None))
        .group_by(col(Register.folder_id))
    ).all()
    return {int(f): int(n) for f, n in rows if f is not None}


def _taken(session: Session, company_id: int, name: str, except_id: int | None) -> bool:
    rows = session.exec(select(RegisterFolder).where(RegisterFolder.company_id == company_id))
    return any(f.name.lower() == name.lower() and f.id != except_id for f in rows.all())


def create_folder(
    session: Session, clock: Clock, *, principal: Principal, name: str
) -> RegisterFolder:
    """A new folder (a principal limited to folders cannot make new ones it would not see)."""
    clean = _clean_name(name)
    if principal.folder_ids is not None:
        raise FolderConflictError(
            "Ваша роль ограничена папками касс: новые папки создаёт пользователь без ограничения"
        )
    if _taken(session, principal.company_id, clean, None):
        raise FolderConflictError(
            "Папка с таким названием уже есть", fields={"name": "Название уже занято"}
        )
    folder = RegisterFolder(company_id=principal.company_id, name=clean, created_at=clock.wall())
    session.add(folder)
    session.flush()
    audit.record_by(
        session,
        clock,
        principal,
        action="folder.create",
        entity="folder",
        entity_id=folder.id,
        name=clean,
    )
    session.commit()
    return folder


def rename_folder(
    session: Session, clock: Clock, *, principal: Principal, folder_id: int, name: str
) -> RegisterFolder:
    """Rename a folder."""
    folder = get_folder(session, principal=principal, folder_id=folder_id)
    clean = _clean_name(name)
    if _taken(session, principal.company_id, clean, folder.id):
        raise FolderConflictError(
            "Папка с таким названием уже есть", fields={"name": "Название уже занято"}
        )
    old = folder.name
    folder.name = clean
    session.add(folder)
    audit.record_by(
        session,
        clock,
        principal,
        action="folder.rename",
        entity="folder",
        entity_id=folder.id,
        old=old,
        name=clean,
    )
    session.commit()
    return folder


def delete_folder(session: Session, clock: Clock, *, principal: Principal, folder_id: int) -> None:
    """Delete a folder: its registers go to no folder. Refused while roles are limited to it
    (removing it would silently widen or empty those roles' scope)."""
    folder = get_folder(session, principal=principal, folder_id=folder_id)
    roles = session.exec(
        select(Role.name)
        .join(RoleFolder, col(RoleFolder.role_id) == col(Role.id))
        .where(RoleFolder.folder_id == folder_id)
    ).all()
    if roles:
        raise FolderConflictError(
            "Папкой ограничены роли: "
            + ", ".join(f"«{n}»" for n in roles)
            + "; сначала измените их"
        )
    moved = 0
    for register in session.exec(select(Register).where(Register.folder_id == folder_id)).all():
        register.folder_id = None
        session.add(register)
        moved += 1
    session.flush()
    session.delete(folder)
    audit.record_by(
        session,
        clock,
        principal,
        action="folder.delete",
        entity="folder",
        entity_id=folder_id,
        name=folder.name,
        registers_released=moved,
    )
    session.commit()


def set_folder_registers(
    session: Session,
    clock: Clock,
    *,
    principal: Principal,
    folder_id: int,
    register_ids: Iterable[int],
) -> list[int]:
    """Make the folder hold exactly these registers of the company (others leave it).

    Registers are moved out of their current folders; each must be the company's and visible to
    the principal, else nothing changes and the unknown ids are named (422).
    """
    get_folder(session, principal=principal, folder_id=folder_id)
    wanted = sorted(set(register_ids))
    found = (
        session.exec(
            select(Register).where(
                Register.company_id == principal.company_id, col(Register.id).in_(wanted)
            )
        ).all()
        if wanted
        else []
    )
    visible = {r.id: r for r in found if principal.sees_folder(r.folder_id)}
    unknown = [i for i in wanted if i not in visible]
    if unknown:
        raise InvalidFolderError(
            "Нет таких касс: " + ", ".join(str(i) for i in unknown),
            fields={"register_ids": "Кассы не найдены: " + ", ".join(str(i) for i in unknown)},
        )
    removed = []
    for register in session.exec(
        select(Register).where(
            Register.company_id == principal.company_id, Register.folder_id == folder_id
        )
    ).all():
        if register.id not in visible:
            register.folder_id = None
            session.add(register)
            removed.append(register.id)
    for register in visible.values():
        register.folder_id = folder_id
        session.add(register)
    audit.record_by(
        session,
        clock,
        principal,
        action="folder.set_registers",
        entity="folder",
        entity_id=folder_id,
        register_ids=wanted,
        removed=sorted(i for i in removed if i is not None),
    )
    session.commit()
    return wanted
