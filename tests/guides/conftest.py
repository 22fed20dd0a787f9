"""The fleet's fixtures (SQLite, or PostgreSQL with DATABASE_URL) for the guides tests."""

from __future__ import annotations

from tests.fleet.conftest import (
    fixture_client,
    fixture_clock,
    fixture_ctx,
    fixture_engine,
    fixture_mailer,
    fixture_pg_engine,
    fixture_pg_server,
    fixture_settings,
)

__all__ = [
    "fixture_client",
    "fixture_clock",
    "fixture_ctx",
    "fixture_engine",
    "fixture_mailer",
    "fixture_pg_engine",
    "fixture_pg_server",
    "fixture_settings",
]
