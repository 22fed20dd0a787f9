"""Receipt delivery to buyers (issue 10): the log of delivery attempts (proof of sending)."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_S = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    """Apply."""
    op.create_table(
        "delivery_attempt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("receipt_id", sa.Integer(), nullable=False),
        sa.Column("channel", _S(length=16), nullable=False),
        sa.Column("masked_address", _S(length=64), nullable=False),
        sa.Column("provider_id", _S(length=200), nullable=True),
        sa.Column("status", _S(length=16), nullable=False),
        sa.Column("error", _S(length=300), nullable=True),
        sa.Column("at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["company_id"], ["company.id"]),
        sa.ForeignKeyConstraint(["receipt_id"], ["receipt.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_delivery_attempt_company_at", "delivery_attempt", ["company_id", "at"], unique=False
    )
    op.create_index("ix_delivery_attempt_receipt", "delivery_attempt", ["receipt_id"], unique=False)


def downgrade() -> None:
    """Revert."""
    op.drop_index("ix_delivery_attempt_receipt", table_name="delivery_attempt")
    op.drop_index("ix_delivery_attempt_company_at", table_name="delivery_attempt")
    op.drop_table("delivery_attempt")
