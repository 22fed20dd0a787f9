"""The General's report links and the main page's widget layouts (issue 12)."""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply (placeholder: filled by the issue's change)."""


def downgrade() -> None:
    """Revert."""
