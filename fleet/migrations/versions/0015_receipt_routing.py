"""Issue 8: receipt routing by store (place and time zone) and by the tariff's receipts quota.

``receiptpart.store_id``: the store a receipt names (only its registers may make it);
``routingusage``: parts routed per register and Moscow month, against the tariff's quota.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply."""
    with op.batch_alter_table("receiptpart") as batch:
        batch.add_column(sa.Column("store_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_receiptpart_store_id_store", "store", ["store_id"], ["id"])
    op.create_table(
        "routingusage",
        sa.Column("register_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("routed", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["register_id"], ["register.id"]),
        sa.PrimaryKeyConstraint("register_id", "period"),
    )


def downgrade() -> None:
    """Revert."""
    op.drop_table("routingusage")
    with op.batch_alter_table("receiptpart") as batch:
        batch.drop_constraint("fk_receiptpart_store_id_store", type_="foreignkey")
        batch.drop_column("store_id")
