"""Fiscal documents keep the TLV the register sent and the request id that made them

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28 10:17:59.814967
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply."""
    with op.batch_alter_table("fiscaldocument", schema=None) as batch_op:
        batch_op.add_column(sa.Column("tlv", sa.LargeBinary(), nullable=True))
        batch_op.add_column(
            sa.Column("request_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )


def downgrade() -> None:
    """Revert."""
    with op.batch_alter_table("fiscaldocument", schema=None) as batch_op:
        batch_op.drop_column("request_id")
        batch_op.drop_column("tlv")
