"""E-receipts (issue 10): delivery reports and bounces — a DSN's verdict kept on the attempt
(a late one too, after the bounce window, recorded without a resend)."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0030"
down_revision: str | None = "0029"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_S = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    """Apply."""
    with op.batch_alter_table("delivery_attempt") as t:
        t.add_column(sa.Column("bounced_at", sa.Float(), nullable=True))
        t.add_column(sa.Column("bounce", _S(length=300), nullable=True))


def downgrade() -> None:
    """Revert."""
    with op.batch_alter_table("delivery_attempt") as t:
        t.drop_column("bounce")
        t.drop_column("bounced_at")
