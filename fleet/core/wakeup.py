"""Waking a worker when its work arrives, across processes: PostgreSQL's LISTEN/NOTIFY.

A writer calls `notify(conn, channel)` inside the transaction that made the work (the
ingest storing results and documents, the API accepting receipts); PostgreSQL delivers it at
commit, to every listening connection in any process, and never for a rolled-back
transaction. A worker waits on a `Listener` instead of polling on a short period: it wakes
at once when work arrives and sleeps long when none does. On SQLite (one process, the
embedded default) `notify` does nothing and `Listener.wait` just sleeps its timeout: the
worker polls as before.
"""

from __future__ import annotations

import contextlib
import re
import select
import threading
from typing import Any, Final

from sqlalchemy import func, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.sql.elements import ColumnElement

__all__ = ["RECEIPTS", "Listener", "notify", "wake"]

#: work for the receipts worker (fleet/receipts/runner.py): accepted parts to route, answers
#: and documents of queued and fiscalised parts to track
RECEIPTS: Final = "oblako_receipts"

_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def _channel(name: str) -> str:
    if not _NAME.match(name):  # LISTEN takes an identifier, not a parameter
        raise ValueError(f"not a channel name: {name!r}")
    return name


def notify(conn: Connection, channel: str) -> None:
    """Wake the channel's listeners when this transaction commits (PostgreSQL; several
    notifications of one transaction reach a listener as one)."""
    name = _channel(channel)  # refused on every database, not only where it is used
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_notify(:c, '')"), {"c": name})


def wake(channel: str) -> ColumnElement[Any]:
    """`pg_notify(channel, '')` as a column of a PostgreSQL statement: the notification rides
    in the statement that made the work (one round trip less than `notify`); evaluated once
    per row the statement returns, delivered at commit like `notify`'s."""
    return func.pg_notify(_channel(channel), "")


class Listener:
    """Waits for a channel's notifications on a connection of its own (autocommit)."""

    def __init__(self, engine: Engine, channel: str) -> None:
        self.channel = _channel(channel)
        self._engine = engine
        self._raw: Any = None  # the psycopg connection while listening
        self._closed = threading.Event()

    def _connect(self) -> Any:
        if self._raw is None:
            raw = self._engine.raw_connection()
            dbapi: Any = raw.driver_connection  # psycopg.Connection
            dbapi.autocommit = True
            dbapi.execute(f"LISTEN {self.channel}")
            self._raw = raw
        return self._raw.driver_connection

    def wait(self, timeout_s: float) -> bool:
        """Sleep until a notification or `timeout_s`; True when woken by one. Notifications
        that arrived meanwhile are all consumed by one call. A lost connection sleeps the
        timeout and listens again on the next call."""
        if self._engine.dialect.name != "postgresql":
            self._closed.wait(timeout_s)
            return False
        try:
            conn = self._connect()
            got = any(True for _ in conn.notifies(timeout=0, stop_after=None))
            if not got:
                ready, _, _ = select.select([conn.fileno()], [], [], timeout_s)
                got = bool(ready) and any(True for _ in conn.notifies(timeout=0, stop_after=None))
            return got
        except Exception:  # the server restarted, the connection broke: poll, then again
            self.close()
            self._closed.wait(timeout_s)
            return False

    def close(self) -> None:
        """Stop listening (the connection goes back closed)."""
        raw, self._raw = self._raw, None
        if raw is not None:
            with contextlib.suppress(Exception):  # already gone
                raw.invalidate()
