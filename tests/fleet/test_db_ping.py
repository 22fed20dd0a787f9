"""fleet/core/db.py: a pooled PostgreSQL connection is pinged at checkout only after it sat
idle (`IDLE_PING_S`), not at every checkout as `pool_pre_ping` would."""

from __future__ import annotations

import os

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from fleet.core import db
from tests.fleet.conftest import PgServer


def _pid(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())


def _kill(pid: int) -> None:
    admin = os.environ["DATABASE_URL"]
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute("SELECT pg_terminate_backend(%s)", (pid,))


@pytest.fixture(name="server")
def fixture_server(pg_server: PgServer | None) -> PgServer:
    if pg_server is None:
        pytest.skip("the ping is PostgreSQL's (DATABASE_URL)")
    return pg_server


def test_a_connection_that_died_while_idle_is_replaced_at_checkout(
    server: PgServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db, "IDLE_PING_S", 0.0)  # every reused connection counts as idle
    engine = db.make_engine(server.create())
    try:
        first = _pid(engine)
        _kill(first)
        assert _pid(engine) != first  # pinged, found dead, a new connection: no error
    finally:
        engine.dispose()


def test_a_connection_reused_at_once_is_not_pinged(
    server: PgServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the trade-off: a connection that died a moment after its last use fails its first
    # statement (no ping spent on it); the pool is invalidated and the next checkout works
    monkeypatch.setattr(db, "IDLE_PING_S", 3600.0)
    engine = db.make_engine(server.create())
    try:
        first = _pid(engine)
        _kill(first)
        with pytest.raises(OperationalError):
            _pid(engine)
        assert _pid(engine) != first
    finally:
        engine.dispose()
