"""Delivery reports (DLR) the providers post to the fleet, kept until the worker asks.

A gateway calls the fleet back (`callback.py`) when the operator reports a message's fate; any
app process may take the call, and the delivery thread that asks (`report`) may be another, so
the report is a row (migration 0039), keyed by the provider id the attempt recorded. Only final
states are kept (delivered or failed; the first one wins: operators repeat themselves), with
the gateway's words (status and error code and their meaning) for the attempt's error.

The table is the source: the worker reads it (`kept`) when it records an attempt SENT, so a
report that came while the worker was between asking the provider and recording is applied
then; a report for an attempt already SENT makes its delivery due at once. Both sides take
the same lock per provider id first (PostgreSQL: a transaction's advisory lock; SQLite: the
one writer), so one of them always sees the other's commit — under READ COMMITTED alone the
report could find no SENT attempt while the worker's read found no report.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from typing import Final

from sqlalchemy import BigInteger, Table, and_, bindparam, func, update
from sqlalchemy import select as sa_select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Field, Session, SQLModel

from fleet.core.clock import Clock
from fleet.delivery.models import Delivery, DeliveryAttempt

__all__ = ["DELIVERED", "FAILED", "DeliveryReport", "StoredReports", "kept", "record_report"]

DELIVERED: Final = "delivered"
FAILED: Final = "failed"

_DELIVERY: Table = Delivery.__table__  # type: ignore[attr-defined]
_ATTEMPT: Table = DeliveryAttempt.__table__  # type: ignore[attr-defined]


class DeliveryReport(SQLModel, table=True):
    """A provider's final word on one message."""

    __tablename__ = "delivery_report"

    provider_id: str = Field(primary_key=True, max_length=200)
    status: str = Field(max_length=16)  # delivered | failed
    detail: str | None = Field(default=None, max_length=300)
    at: float


_REPORT: Table = DeliveryReport.__table__  # type: ignore[attr-defined]


def record_report(
    session: Session, clock: Clock, provider_id: str, status: str, detail: str | None
) -> bool:
    """Keep a final report (True if it is new) and make its delivery due. Does not commit."""
    if status not in (DELIVERED, FAILED):
        raise ValueError(f"not a final delivery report: {status!r}")
    conn = session.connection()
    lock(conn, [provider_id])
    now = clock.wall()
    row = {
        "provider_id": provider_id,
        "status": status,
        "detail": (detail or None) and detail[:300],
        "at": now,
    }
    # a write first (SQLite: the writer's lock is taken before anything is read; both: a
    # repeated report is no error)
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    if conn.execute(insert(_REPORT).values(row).on_conflict_do_nothing()).rowcount == 0:
        return False
    waiting = sa_select(_ATTEMPT.c.delivery_id).where(
        and_(_ATTEMPT.c.provider_id == provider_id, _ATTEMPT.c.status == "sent")
    )
    conn.execute(
        update(_DELIVERY)
        .where(and_(_DELIVERY.c.id.in_(waiting), _DELIVERY.c.state == "active"))
        .values(next_at=now, updated_at=now)
    )
    return True


def lock(conn: Connection, provider_ids: Collection[str]) -> None:
    """PostgreSQL: take this transaction's advisory lock of each provider id, in one order (no
    deadlock between two holders of several). SQLite needs none: one writer at a time, and
    both sides start with a write."""
    if conn.dialect.name != "postgresql" or not provider_ids:
        return
    keys = sorted({_lock_key(p) for p in provider_ids})
    array = bindparam("keys", keys, type_=ARRAY(BigInteger))
    each = func.unnest(array).table_valued("k").render_derived()
    conn.execute(sa_select(func.pg_advisory_xact_lock(each.c.k)).select_from(each)).all()


def kept(conn: Connection, provider_ids: Collection[str]) -> dict[str, str]:
    """The kept reports of ``provider_ids`` as the cascade reads them (``delivered`` or
    ``failed:<the gateway's words>``, cascade.settle), after taking their locks."""
    ids = list(set(provider_ids))
    if not ids:
        return {}
    lock(conn, ids)
    rows = conn.execute(
        sa_select(_REPORT.c.provider_id, _REPORT.c.status, _REPORT.c.detail).where(
            _REPORT.c.provider_id.in_(ids)
        )
    )
    return {r.provider_id: as_outcome(r.status, r.detail) for r in rows}


def as_outcome(status: str, detail: str | None) -> str:
    """A kept report as a provider's answer: ``failed:<detail>`` carries the gateway's words."""
    return f"{status}:{detail}" if status == FAILED and detail else status


def _lock_key(provider_id: str) -> int:
    # a namespaced 63-bit digest: the advisory lock space is shared by the whole database
    digest = hashlib.sha256(b"delivery-report:" + provider_id.encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class StoredReports:
    """The reports table as the adapters read it (one short query per ask)."""

    def __init__(self, engine: Engine) -> None:
        """Read through ``engine``."""
        self.engine = engine

    def get(self, provider_id: str) -> tuple[str, str | None] | None:
        """(status, detail) of a kept report, or None."""
        with Session(self.engine) as session:
            row = session.get(DeliveryReport, provider_id)
            return None if row is None else (row.status, row.detail)
