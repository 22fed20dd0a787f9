"""E-receipt delivery: the cascade's throughput (issue 10) — receipts found by the time they
were fiscalised (the delivery worker's pass reads the new ones only, fleet/delivery/worker.py)."""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0038"
down_revision: str | None = "0037"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply."""
    op.create_index("ix_receipt_fiscalised_at", "receipt", ["fiscalised_at"], unique=False)


def downgrade() -> None:
    """Revert."""
    op.drop_index("ix_receipt_fiscalised_at", table_name="receipt")
