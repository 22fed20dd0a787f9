"""The tariff's receipts quota: parts routed per register and Moscow month (`routingusage`).

The quota (fleet/billing/models.py Tariff.receipts_quota) is "receipts per register per
month"; the month is Moscow's, as billing's periods are. Routing raises a register's count in
the transaction that assigns parts to it; the tracker lowers it when a part comes back unmade
(a "not executed" answer, a refusal, an expired command), so the count is what was made or is
in flight. Counts move by a single upsert per register and pass, never by counting parts.

Raising a count against a quota is a claim (`claim_usage`): a conditional upsert that moves
the count only while it stays within the quota, so two routers that both read "1 place left"
cannot both take it (on PostgreSQL the loser's statement waits for the winner's row lock, then
sees its count); the loser takes what is left under the row lock and its other parts wait.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Final

from sqlalchemy import Integer, Table, bindparam, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from fleet.receipts.models import RoutingUsage

__all__ = ["MSK", "add_usage", "claim_usage", "claim_usages", "period_of"]

MSK: Final = dt.timezone(dt.timedelta(hours=3))

_USAGE: Table = RoutingUsage.__table__  # type: ignore[attr-defined]


def period_of(ts: float) -> str:
    """The Moscow month (`YYYY-MM`) of a Unix time, as billing names its periods."""
    return dt.datetime.fromtimestamp(ts, MSK).strftime("%Y-%m")


def add_usage(conn: Connection, deltas: Mapping[tuple[int, str], int]) -> None:
    """Add each (register, period) delta to its count (a new row starts at the delta; a count
    never goes below 0). One executemany, in (register, period) order."""
    rows = [
        {"register_id": rid, "period": period, "routed": max(d, 0), "d": d}
        for (rid, period), d in sorted(deltas.items())
        if d
    ]
    if not rows:
        return
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    # SQLite's two-argument max() is PostgreSQL's greatest()
    floor = func.max if conn.dialect.name == "sqlite" else func.greatest
    stmt = insert(_USAGE).on_conflict_do_update(
        index_elements=[_USAGE.c.register_id, _USAGE.c.period],
        set_={"routed": floor(_USAGE.c.routed + bindparam("d", type_=Integer), 0)},
    )
    conn.execute(stmt, rows)


def claim_usages(
    conn: Connection, period: str, wants: Mapping[int, tuple[int, int | None]]
) -> dict[int, int]:
    """Raise several registers' counts at once: {register: (n, quota or None for unlimited)}
    → {register: granted}. An unlimited register is granted its n; one with a quota what fits
    under it, atomically against concurrent claims (`claim_usage`'s grants). The routing pass
    claims for every register it gives parts to, in two statements whatever their number (one
    when none has a quota): the quota'd registers' rows are made or locked and read in one
    upsert (`ON CONFLICT DO UPDATE` locks the row and returns its latest count; a second
    router waits on the locks, then reads the winner's counts; rows in register order: no
    deadlock), then every count is raised in one upsert."""
    want = {rid: nq for rid, nq in sorted(wants.items()) if nq[0] > 0}
    limited = [rid for rid, (_n, quota) in want.items() if quota is not None]
    used: dict[int, int] = {}
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    if limited:
        lock = (
            insert(_USAGE)
            .on_conflict_do_update(
                index_elements=[_USAGE.c.register_id, _USAGE.c.period],
                set_={"routed": _USAGE.c.routed},  # no change: the row locked, its count read
            )
            .returning(_USAGE.c.register_id, _USAGE.c.routed)
        )
        used = {
            rid: int(routed)
            for rid, routed in conn.execute(
                lock, [{"register_id": rid, "period": period, "routed": 0} for rid in limited]
            ).all()
        }
    granted = {
        rid: n if quota is None else max(0, min(n, quota - used.get(rid, 0)))
        for rid, (n, quota) in want.items()
    }
    add = insert(_USAGE)
    add = add.on_conflict_do_update(
        index_elements=[_USAGE.c.register_id, _USAGE.c.period],
        set_={"routed": _USAGE.c.routed + add.excluded.routed},
    )
    rows = [{"register_id": rid, "period": period, "routed": g} for rid, g in granted.items() if g]
    if rows:
        conn.execute(add, rows)
    return {rid: granted.get(rid, 0) for rid in wants}


def claim_usage(conn: Connection, rid: int, period: str, n: int, quota: int) -> int:
    """Raise the register's count for `period` by up to `n` without passing `quota`; return
    how many were granted (0..n). Atomic against concurrent claims: the common case is one
    conditional upsert that takes all `n` or nothing; when it takes nothing, the count is read
    under the row's lock (`FOR UPDATE`; SQLite's writer is single) and what is left is taken."""
    if n <= 0:
        return 0
    dialect = conn.dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    # a new row can take n only if n fits at all
    stmt = insert(_USAGE).values(register_id=rid, period=period, routed=min(n, quota))
    row = conn.execute(
        stmt.on_conflict_do_update(
            index_elements=[_USAGE.c.register_id, _USAGE.c.period],
            set_={"routed": _USAGE.c.routed + n},
            where=_USAGE.c.routed + n <= quota,
        ).returning(_USAGE.c.routed)
    ).first()
    if row is not None:
        return min(n, quota)  # inserted (min(n, quota)) or raised by n
    locked = select(_USAGE.c.routed).where(_USAGE.c.register_id == rid, _USAGE.c.period == period)
    if dialect == "postgresql":
        locked = locked.with_for_update()
    used = int(conn.execute(locked).scalar_one())
    grant = max(0, min(n, quota - used))
    if grant:
        conn.execute(
            _USAGE.update()
            .where(_USAGE.c.register_id == rid, _USAGE.c.period == period)
            .values(routed=_USAGE.c.routed + grant)
        )
    return grant
