"""Reports (issue 12): report templates, schedules, finished reports, pre-aggregates."""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply (placeholder: filled by the issue's change)."""


def downgrade() -> None:
    """Revert."""
