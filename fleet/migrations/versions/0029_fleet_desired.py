"""Operator console and firmware (issue 9): the desired half of the shadow (`desiredstate`)."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0029"
down_revision: str | None = "0028"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply."""
    op.create_table(
        "desiredstate",
        sa.Column("register_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("doc", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.Column("updated_by", sa.Integer(), nullable=True),
        sa.Column("published_seq", sa.BigInteger(), nullable=True),
        sa.Column("published_at", sa.Float(), nullable=True),
        sa.Column("next_at", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(["register_id"], ["register.id"]),
        sa.ForeignKeyConstraint(["updated_by"], ["user.id"]),
        sa.PrimaryKeyConstraint("register_id"),
    )
    op.create_index("ix_desiredstate_next_at", "desiredstate", ["next_at"], unique=False)


def downgrade() -> None:
    """Revert."""
    op.drop_index("ix_desiredstate_next_at", table_name="desiredstate")
    op.drop_table("desiredstate")
