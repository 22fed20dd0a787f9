"""Queue depth and lag: how many parts wait, and for how long, per register group."""

from __future__ import annotations

from typing import Any, Final, Literal

from sqlalchemy import Table, func, select
from sqlalchemy.engine import Connection

from fleet.access.models import RegisterFolder
from fleet.receipts.models import ReceiptPart, ReceiptStatus
from fleet.registers.models import Register
from fleet.stores.models import Store

__all__ = ["GROUPS", "GroupBy", "queue_depth"]

GroupBy = Literal["register", "folder", "store", "company"]
GROUPS: Final = ("register", "folder", "store", "company")
UNASSIGNED: Final = "не назначены кассе"
NO_FOLDER: Final = "без папки"
NO_STORE: Final = "без торговой точки"

_PART: Table = ReceiptPart.__table__  # type: ignore[attr-defined]
_REG: Table = Register.__table__  # type: ignore[attr-defined]
_FOLDER: Table = RegisterFolder.__table__  # type: ignore[attr-defined]
_STORE: Table = Store.__table__  # type: ignore[attr-defined]


def queue_depth(
    conn: Connection, now: float, *, company_id: int | None = None, group_by: GroupBy = "register"
) -> list[dict[str, Any]]:
    """Per group: `waiting` (accepted, no register yet), `queued` (given to a register, not yet
    fiscalised) and `lag_s` (the oldest such part's age). Parts not yet given to a register
    form their own group unless grouped by company or by store (a part that names a store
    waits in its store's group: the lag of a point of sale). Largest lag first, then by name."""
    stmt = (
        select(
            _PART.c.company_id,
            _REG.c.id,
            _REG.c.serial,
            _FOLDER.c.name,
            _STORE.c.name,
            _PART.c.status,
            func.count(),
            func.min(_PART.c.created_at),
        )
        .select_from(
            _PART.outerjoin(_REG, _REG.c.id == _PART.c.register_id)
            .outerjoin(_FOLDER, _FOLDER.c.id == _REG.c.folder_id)
            .outerjoin(_STORE, _STORE.c.id == func.coalesce(_REG.c.store_id, _PART.c.store_id))
        )
        .where(_PART.c.status.in_((ReceiptStatus.ACCEPTED.value, ReceiptStatus.QUEUED.value)))
        .group_by(
            _PART.c.company_id,
            _REG.c.id,
            _REG.c.serial,
            _FOLDER.c.name,
            _STORE.c.name,
            _PART.c.status,
        )
    )
    if company_id is not None:
        stmt = stmt.where(_PART.c.company_id == company_id)
    groups: dict[str, dict[str, Any]] = {}
    rows = conn.execute(stmt).all()
    for company, reg_id, serial, folder, store, status, count, oldest in rows:
        if group_by == "company":
            name = f"компания {company}"
        elif group_by == "store":
            name = store or NO_STORE
        elif reg_id is None:
            name = UNASSIGNED
        elif group_by == "folder":
            name = folder or NO_FOLDER
        else:
            name = serial or f"касса {reg_id}"
        g = groups.setdefault(name, {"group": name, "waiting": 0, "queued": 0, "lag_s": 0.0})
        g["waiting" if status == ReceiptStatus.ACCEPTED.value else "queued"] += int(count)
        g["lag_s"] = max(g["lag_s"], max(0.0, now - float(oldest)))
    return sorted(groups.values(), key=lambda g: (-g["lag_s"], g["group"]))
