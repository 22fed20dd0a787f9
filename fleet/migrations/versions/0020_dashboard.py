"""The General's report links and the main page's widget layouts (issue 12)."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_S = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    """Apply."""
    op.create_table(
        "general_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", _S(length=64), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=True),
        sa.Column("days", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("revoked_at", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(["company_id"], ["company.id"]),
        sa.ForeignKeyConstraint(["store_id"], ["store.id"]),
        sa.ForeignKeyConstraint(["created_by"], ["user.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index("ix_general_link_company", "general_link", ["company_id", "revoked_at"])
    op.create_table(
        "general_view",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("link_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.Column("ip", _S(length=64), nullable=False),
        sa.Column("user_agent", _S(length=300), nullable=False),
        sa.ForeignKeyConstraint(["link_id"], ["general_link.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_general_view_link_at", "general_view", ["link_id", "at"])
    op.create_table(
        "dashboard_layout",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("widgets", _S(length=400), nullable=False),
        sa.Column("sales_period", _S(length=8), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"]),
        sa.PrimaryKeyConstraint("user_id"),
    )


def downgrade() -> None:
    """Revert."""
    op.drop_table("dashboard_layout")
    op.drop_index("ix_general_view_link_at", table_name="general_view")
    op.drop_table("general_view")
    op.drop_index("ix_general_link_company", table_name="general_link")
    op.drop_table("general_link")
