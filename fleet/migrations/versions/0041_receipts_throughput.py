"""Receipts: the fleet's hops (issue 8)."""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0041"
down_revision: str | None = "0040"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply (placeholder: filled by the issue's change)."""


def downgrade() -> None:
    """Revert."""
