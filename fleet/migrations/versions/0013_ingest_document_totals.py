"""Ingest: BIGINT for the numbers the link allows above 2^31 - 1 (issue 6).

The MQTT link (protocol/mqtt/schemas.py) allows a document's total up to 2^48 - 1 kopecks, FD,
shift, `last_fd` and outbox numbers up to 2^32 - 1 and a state's `seq` up to 2^53 - 1; on
PostgreSQL an INTEGER column refused such a value with a DataError that failed the whole batch.
SQLite's INTEGER already holds 64 bits; its columns are retyped too so the schema equals the
models.

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# table -> (column, nullable)
_WIDENED: Final = {
    "fiscaldocument": (("fd_number", False), ("total", True), ("shift_number", True)),
    "pendingofdanswer": (("fd_number", False),),
    "storedwatermark": (("through", False), ("highest", False)),
    "deviceshadow": (("seq", True), ("drive_last_fd", True), ("outbox", True)),
}


def _retype(old: sa.types.TypeEngine[int], new: sa.types.TypeEngine[int]) -> None:
    for table, columns in _WIDENED.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column, nullable in columns:
                batch_op.alter_column(
                    column, existing_type=old, type_=new, existing_nullable=nullable
                )


def upgrade() -> None:
    """Apply."""
    _retype(sa.Integer(), sa.BigInteger())


def downgrade() -> None:
    """Revert (fails on PostgreSQL if a stored value no longer fits INTEGER)."""
    _retype(sa.BigInteger(), sa.Integer())
