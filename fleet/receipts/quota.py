"""The tariff's receipts quota: parts routed per register and Moscow month (`routingusage`).

The quota (fleet/billing/models.py Tariff.receipts_quota) is "receipts per register per
month"; the month is Moscow's, as billing's periods are. Routing raises a register's count in
the transaction that assigns parts to it; the tracker lowers it when a part comes back unmade
(a "not executed" answer, a refusal, an expired command), so the count is what was made or is
in flight. Counts move by a single upsert per register and pass, never by counting parts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Final

from sqlalchemy import Table, func
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from fleet.receipts.models import RoutingUsage

__all__ = ["MSK", "add_usage", "period_of"]

MSK: Final = dt.timezone(dt.timedelta(hours=3))

_USAGE: Table = RoutingUsage.__table__  # type: ignore[attr-defined]


def period_of(ts: float) -> str:
    """The Moscow month (`YYYY-MM`) of a Unix time, as billing names its periods."""
    return dt.datetime.fromtimestamp(ts, MSK).strftime("%Y-%m")


def add_usage(conn: Connection, deltas: Mapping[tuple[int, str], int]) -> None:
    """Add each (register, period) delta to its count (a new row starts at the delta; a count
    never goes below 0)."""
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    # SQLite's two-argument max() is PostgreSQL's greatest()
    floor = func.max if conn.dialect.name == "sqlite" else func.greatest
    for (rid, period), d in sorted(deltas.items()):
        if not d:
            continue
        stmt = insert(_USAGE).values(register_id=rid, period=period, routed=max(d, 0))
        conn.execute(
            stmt.on_conflict_do_update(
                index_elements=[_USAGE.c.register_id, _USAGE.c.period],
                set_={"routed": floor(_USAGE.c.routed + d, 0)},
            )
        )
