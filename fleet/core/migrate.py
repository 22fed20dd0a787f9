"""Alembic, driven from code: `upgrade(engine)` applies fleet/migrations to head."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Engine

__all__ = ["ALEMBIC_INI", "alembic_config", "upgrade"]

ALEMBIC_INI = Path(__file__).resolve().parent.parent / "alembic.ini"


def alembic_config(engine: Engine | None = None) -> Config:
    """The project's Alembic config; with ``engine``, migrations run on its connection."""
    cfg = Config(str(ALEMBIC_INI))
    cfg.set_main_option("script_location", str(ALEMBIC_INI.parent / "migrations"))
    if engine is not None:
        cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply migrations up to ``revision`` on ``engine``'s database."""
    command.upgrade(alembic_config(engine), revision)
