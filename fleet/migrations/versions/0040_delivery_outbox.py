"""Delivery: the cascade's throughput (issue 10)."""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0040"
down_revision: str | None = "0039"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply (placeholder: filled by the issue's change)."""


def downgrade() -> None:
    """Revert."""
