"""Alembic environment: the engine comes from the caller (`fleet.core.migrate`) or the settings."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

import fleet.models  # noqa: F401  (registers every table on SQLModel.metadata)
from fleet.core.config import Settings
from fleet.core.db import make_engine

target_metadata = SQLModel.metadata


def _engine() -> Engine:
    given = context.config.attributes.get("engine")
    if isinstance(given, Engine):
        return given
    return make_engine(Settings().database_url)


def run_migrations_online() -> None:
    """Run on a live connection (render_as_batch keeps ALTERs working on SQLite)."""
    with _engine().connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


if context.is_offline_mode():
    raise SystemExit("offline migrations are not supported: give a database")
run_migrations_online()
