"""The fleet's throwaway-database fixtures (SQLite, or PostgreSQL with DATABASE_URL)."""

from tests.fleet.conftest import (  # noqa: F401  (fixtures by name)
    fixture_client,
    fixture_clock,
    fixture_ctx,
    fixture_empty_db_url,
    fixture_engine,
    fixture_mailer,
    fixture_pg_engine,
    fixture_pg_server,
    fixture_settings,
)
