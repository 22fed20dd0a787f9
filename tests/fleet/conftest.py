"""Fleet fixtures: SQLite by default; PostgreSQL when DATABASE_URL names one.

With ``DATABASE_URL=postgresql://...`` the session creates a throwaway database
``oblako_test_<random>`` on that server, migrates it once, empties it between tests, and drops it
at the end. Without it, every test gets its own SQLite file.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import Engine, make_url
from sqlmodel import SQLModel

import fleet.models  # noqa: F401  (registers the tables)
from fleet.accounts.mail import MemoryMailSender
from fleet.accounts.passwords import Passwords
from fleet.accounts.service import AccountsContext
from fleet.core.clock import SettableClock
from fleet.core.config import Settings
from fleet.core.db import make_engine, normalise_url
from fleet.core.migrate import upgrade
from fleet.main import create_app


def _pg_admin_url() -> str | None:
    url = os.environ.get("DATABASE_URL", "")
    return url if url.startswith(("postgresql", "postgres:")) else None


class PgServer:
    """Creates and drops throwaway databases on the server DATABASE_URL names."""

    def __init__(self, admin_url: str) -> None:
        self.admin = make_url(normalise_url(admin_url))
        self.created: list[str] = []

    def _conninfo(self) -> str:
        return self.admin.set(drivername="postgresql").render_as_string(hide_password=False)

    def create(self) -> str:
        name = f"oblako_test_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self._conninfo(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        self.created.append(name)
        return self.admin.set(database=name).render_as_string(hide_password=False)

    def drop_all(self) -> None:
        with psycopg.connect(self._conninfo(), autocommit=True) as conn:
            for name in self.created:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(name="pg_server", scope="session")
def fixture_pg_server() -> Iterator[PgServer | None]:
    admin = _pg_admin_url()
    if admin is None:
        yield None
        return
    server = PgServer(admin)
    try:
        yield server
    finally:
        server.drop_all()


@pytest.fixture(name="pg_engine", scope="session")
def fixture_pg_engine(pg_server: PgServer | None) -> Iterator[Engine | None]:
    if pg_server is None:
        yield None
        return
    engine = make_engine(pg_server.create())
    upgrade(engine)
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture(name="empty_db_url")
def fixture_empty_db_url(pg_server: PgServer | None, tmp_path: Path) -> str:
    """A URL of a new, empty database (for migration tests)."""
    if pg_server is not None:
        return pg_server.create()
    return f"sqlite:///{tmp_path / 'empty.db'}"


def _empty(engine: Engine) -> None:
    tables = ", ".join(f'"{t.name}"' for t in SQLModel.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture(name="engine")
def fixture_engine(pg_engine: Engine | None, tmp_path: Path) -> Iterator[Engine]:
    if pg_engine is not None:
        _empty(pg_engine)
        yield pg_engine
        return
    engine = make_engine(f"sqlite:///{tmp_path / 'fleet.db'}")
    SQLModel.metadata.create_all(engine)
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture(name="settings")
def fixture_settings(engine: Engine) -> Settings:
    return Settings(
        environment="test",
        database_url=engine.url.render_as_string(hide_password=False),
        secret_key="test-secret-key",
        migrate_on_start=False,
        run_jobs=False,
        argon2_time_cost=1,
        argon2_memory_kib=8,
        base_url="http://testserver",
    )


@pytest.fixture(name="clock")
def fixture_clock() -> SettableClock:
    return SettableClock()


@pytest.fixture(name="mailer")
def fixture_mailer() -> MemoryMailSender:
    return MemoryMailSender()


@pytest.fixture(name="ctx")
def fixture_ctx(
    settings: Settings, clock: SettableClock, mailer: MemoryMailSender
) -> AccountsContext:
    return AccountsContext(settings, clock, mailer, Passwords(time_cost=1, memory_kib=8))


@pytest.fixture(name="client")
def fixture_client(
    settings: Settings, clock: SettableClock, mailer: MemoryMailSender, engine: Engine
) -> Iterator[TestClient]:
    app = create_app(settings, clock=clock, mailer=mailer, engine=engine)
    with TestClient(app) as client:
        yield client
