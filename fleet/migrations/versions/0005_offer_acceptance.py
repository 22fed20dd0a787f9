"""The public offer's acceptances (who accepted which version, when, from where)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 04:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply."""
    op.create_table(
        "offeracceptance",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("version", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("ip", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("accepted_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["company_id"], ["company.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("company_id", "version", name="uq_offer_company_version"),
    )
    with op.batch_alter_table("offeracceptance", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_offeracceptance_company_id"), ["company_id"], unique=False
        )


def downgrade() -> None:
    """Revert."""
    with op.batch_alter_table("offeracceptance", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_offeracceptance_company_id"))
    op.drop_table("offeracceptance")
