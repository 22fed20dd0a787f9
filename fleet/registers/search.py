"""Case-insensitive search that treats Cyrillic like PostgreSQL does, on SQLite too.

SQLite's built-in ``lower()`` folds ASCII only, so "касса" would not find "Касса" there while
PostgreSQL finds it. Every new SQLite connection gets ``lower()`` replaced by Python's
``str.lower`` (a deterministic function, so indexes on expressions stay usable).
"""

from __future__ import annotations

import sqlite3
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

__all__ = ["unicode_lower"]


def unicode_lower(value: Any) -> Any:
    """``lower()`` for SQLite: Unicode-aware, NULL stays NULL, non-text unchanged."""
    return value.lower() if isinstance(value, str) else value


@event.listens_for(Engine, "connect")
def _install(dbapi_connection: Any, _record: Any) -> None:
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.create_function("lower", 1, unicode_lower, deterministic=True)
