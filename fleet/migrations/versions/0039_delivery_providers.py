"""E-receipt delivery: SMS and messenger providers (issue 10) — the delivery reports (DLR)
gateways post back, kept until the cascade asks (fleet/delivery/providers/reports.py), and
the count of an attempt's sends a provider refused for now (retried later, worker.py)."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0039"
down_revision: str | None = "0038"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_S = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    """Apply."""
    op.create_table(
        "delivery_report",
        sa.Column("provider_id", _S(length=200), nullable=False),
        sa.Column("status", _S(length=16), nullable=False),
        sa.Column("detail", _S(length=300), nullable=True),
        sa.Column("at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("provider_id"),
    )
    with op.batch_alter_table("delivery_attempt") as t:
        t.add_column(sa.Column("retries", sa.Integer(), server_default="0", nullable=False))


def downgrade() -> None:
    """Revert."""
    with op.batch_alter_table("delivery_attempt") as t:
        t.drop_column("retries")
    op.drop_table("delivery_report")
