"""MQTT ingest (issue 6): one index on a register's documents instead of two.

`ix_fiscaldocument_register_counters` (register_id, doc_type) INCLUDE (...) and
`ix_fiscaldocument_register_issued` (register_id, issued_at) become one
`ix_fiscaldocument_register_issued` (register_id, issued_at) INCLUDE (doc_type, operation,
ofd_status, has_marking, tax_system): the receipt search walks it newest first as before and the
register card's counters (`WHERE register_id = ?`, every column) stay an index-only scan, while
the ingest inserts one B-tree entry a document less (docs/benchmarks.md, issue 6).
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0031"
down_revision: str | None = "0030"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COUNTED = ["doc_type", "operation", "ofd_status", "has_marking", "tax_system"]


def upgrade() -> None:
    """Apply."""
    op.drop_index("ix_fiscaldocument_register_counters", table_name="fiscaldocument")
    op.drop_index("ix_fiscaldocument_register_issued", table_name="fiscaldocument")
    op.create_index(
        "ix_fiscaldocument_register_issued",
        "fiscaldocument",
        ["register_id", "issued_at"],
        postgresql_include=_COUNTED,
    )


def downgrade() -> None:
    """Revert."""
    op.drop_index("ix_fiscaldocument_register_issued", table_name="fiscaldocument")
    op.create_index(
        "ix_fiscaldocument_register_issued", "fiscaldocument", ["register_id", "issued_at"]
    )
    op.create_index(
        "ix_fiscaldocument_register_counters",
        "fiscaldocument",
        ["register_id", "doc_type"],
        postgresql_include=["operation", "ofd_status", "has_marking", "tax_system", "issued_at"],
    )
