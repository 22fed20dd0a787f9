"""The SQLAlchemy engine and sessions, identical code on SQLite and PostgreSQL.

Times are stored as UTC unix seconds (``float`` columns named ``*_at``) read from the injected
clock: the same type and comparisons on both databases, converted to aware datetimes at the edges.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import InvalidatePoolError
from sqlmodel import Session, create_engine

__all__ = ["IDLE_PING_S", "make_engine", "normalise_url", "session_scope"]

#: A pooled PostgreSQL connection idle longer than this is pinged before it is handed out.
#: Not every checkout (SQLAlchemy's `pool_pre_ping`): the receipts worker checks out 4-5
#: connections a pass, a pass every 50-250 ms, and each ping is a round trip (5-7 ms under
#: load in the fleet's process). A connection that died within this window (the server
#: restarted a moment ago) fails its first statement instead; SQLAlchemy then invalidates the
#: whole pool, and the worker retries its pass.
IDLE_PING_S: Final = 2.0


def normalise_url(url: str) -> str:
    """Use psycopg 3 for ``postgresql://`` URLs (SQLAlchemy's default driver is psycopg2)."""
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url[len("postgresql://") :]
    if url.startswith("postgres://"):
        return "postgresql+psycopg://" + url[len("postgres://") :]
    return url


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite gets a busy timeout, WAL and foreign keys, and its folder."""
    url = normalise_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    engine = create_engine(url)
    _ping_when_idle(engine, IDLE_PING_S)
    return engine


def _ping_when_idle(engine: Engine, idle_s: float) -> None:
    """Ping a pooled connection at checkout only when it sat in the pool for `idle_s`; when it
    is dead, the pool is invalidated and a new connection made, as `pool_pre_ping` does."""
    dialect = engine.dialect

    def checkin(_dbapi: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    def checkout(dbapi: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("idle_since")
        if since is None or time.monotonic() - since < idle_s:
            return  # new, or back in the pool a moment ago
        try:
            alive = dialect.do_ping(dbapi)
        except Exception as e:  # the driver's own error for a closed or broken connection
            raise InvalidatePoolError(str(e)) from e
        if not alive:
            raise InvalidatePoolError("the connection did not answer a ping")

    event.listen(engine, "checkin", checkin)
    event.listen(engine, "checkout", checkout)


def session_scope(engine: Engine) -> Iterator[Session]:
    """Yield one session; the caller commits. Used as a FastAPI dependency body."""
    with Session(engine, expire_on_commit=False) as session:
        yield session
