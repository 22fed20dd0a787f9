"""Firmware bundles, provisioning and staged rollouts (issue 9)."""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply (placeholder: filled by the issue's change)."""


def downgrade() -> None:
    """Revert."""
