"""Device shadows: presence and the reported state, applied set-based inside the ingest's batch.

Presence (retained; the last will says offline) sets the online flag in arrival order; a
reported state replaces the stored one only when its `seq` is newer, so a state relayed late
or delivered twice never rolls the shadow back. Every message a register sends moves its
`last_seen_at` (the shadow's and the register list's).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Table, bindparam, func, or_, update
from sqlalchemy.engine import Connection

from fleet.link.ingest_models import DeviceShadow
from fleet.registers.models import Register

__all__ = ["apply_presence", "apply_seen", "apply_states", "newer_state", "upsert"]

_SHADOW: Table = DeviceShadow.__table__  # type: ignore[attr-defined]
_REGISTER: Table = Register.__table__  # type: ignore[attr-defined]


def upsert(conn: Connection, table: Table) -> Any:
    """The dialect's INSERT with ON CONFLICT (PostgreSQL and SQLite spell it alike)."""
    insert: Callable[[Table], Any]
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table)


def apply_seen(conn: Connection, seen: dict[int, float]) -> None:
    """Registers (id -> time of their latest message in the batch) were seen."""
    if not seen:
        return
    rows = [{"register_id": rid, "last_seen_at": at} for rid, at in sorted(seen.items())]
    stmt = upsert(conn, _SHADOW)
    stmt = stmt.on_conflict_do_update(
        index_elements=["register_id"],
        set_={"last_seen_at": stmt.excluded.last_seen_at},
        where=or_(
            _SHADOW.c.last_seen_at.is_(None),
            _SHADOW.c.last_seen_at < stmt.excluded.last_seen_at,
        ),
    )
    conn.execute(stmt, rows)
    reg = _REGISTER.c
    conn.execute(
        update(_REGISTER)
        .where(
            reg.id == bindparam("rid"),
            or_(reg.last_seen_at.is_(None), reg.last_seen_at < bindparam("at")),
        )
        .values(last_seen_at=bindparam("at")),
        [{"rid": rid, "at": at} for rid, at in sorted(seen.items())],
    )


def apply_presence(conn: Connection, presence: dict[int, tuple[dict[str, Any], float]]) -> None:
    """The last presence message of each register in the batch (payload, received time)."""
    if not presence:
        return
    rows = []
    for rid, (p, at) in sorted(presence.items()):
        online = p["status"] == "online"
        rows.append(
            {
                "register_id": rid,
                "online": online,
                "presence_at": at,
                "firmware": p.get("firmware"),
                "offline_reason": None if online else p.get("reason"),
            }
        )
    stmt = upsert(conn, _SHADOW)
    ex = stmt.excluded
    stmt = stmt.on_conflict_do_update(
        index_elements=["register_id"],
        set_={
            "online": ex.online,
            "presence_at": ex.presence_at,
            # the last will carries no firmware: keep the one the register announced
            "firmware": func.coalesce(ex.firmware, _SHADOW.c.firmware),
            "offline_reason": ex.offline_reason,
        },
    )
    conn.execute(stmt, rows)


def apply_states(conn: Connection, states: dict[int, tuple[dict[str, Any], float]]) -> None:
    """The newest reported state of each register in the batch: applied only if newer."""
    if not states:
        return
    rows = [
        {
            "register_id": rid,
            "seq": s["seq"],
            "reported": s,
            "reported_at": at,
            "drive_fn": s["drive"]["fn"],
            "drive_last_fd": s["drive"]["last_fd"],
            "outbox": s.get("outbox"),
        }
        for rid, (s, at) in sorted(states.items())
    ]
    stmt = upsert(conn, _SHADOW)
    ex = stmt.excluded
    stmt = stmt.on_conflict_do_update(
        index_elements=["register_id"],
        set_={
            "seq": ex.seq,
            "reported": ex.reported,
            "reported_at": ex.reported_at,
            "drive_fn": ex.drive_fn,
            "drive_last_fd": ex.drive_last_fd,
            "outbox": ex.outbox,
        },
        where=or_(_SHADOW.c.seq.is_(None), _SHADOW.c.seq < ex.seq),
    )
    conn.execute(stmt, rows)


def newer_state(
    current: tuple[dict[str, Any], float] | None, new: dict[str, Any], at: float
) -> tuple[dict[str, Any], float]:
    """The newer (by seq) of two states of one register inside a batch."""
    if current is None or current[0]["seq"] < new["seq"]:
        return new, at
    return current
