"""`column IN (ids)` that PostgreSQL's driver does not re-parse for every list length.

SQLAlchemy renders `in_(ids)` as one placeholder per id: each pass's statement then has a new
text, and psycopg converts and splits every such query anew (`_query2pg_nocache`, ~5 ms a
statement of a few hundred ids in the worker's profile). On PostgreSQL the list is one array
parameter (`= ANY(:ids)`), one statement text whatever its length; SQLite keeps `IN`.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import BigInteger, any_, bindparam
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection
from sqlalchemy.sql.elements import ColumnElement

__all__ = ["in_ids"]


def in_ids(conn: Connection, column: Any, ids: Collection[int]) -> ColumnElement[bool]:
    """`column` is one of `ids` (integers), as one array parameter on PostgreSQL."""
    if conn.dialect.name == "postgresql":
        same: ColumnElement[bool] = column == any_(
            bindparam(None, sorted(ids), type_=ARRAY(BigInteger))
        )
        return same
    inside: ColumnElement[bool] = column.in_(sorted(ids))
    return inside
