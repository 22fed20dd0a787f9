"""Integration guides and the EDO gateway (issue 13): EDO connections and closing documents."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_S = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    """Apply."""
    op.create_table(
        "edoconnection",
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("operator_id", _S(length=3), nullable=False),
        sa.Column("participant_id", _S(length=46), nullable=False),
        sa.Column("status", _S(length=16), nullable=False),
        sa.Column("message", _S(length=300), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["company_id"], ["company.id"]),
        sa.PrimaryKeyConstraint("company_id"),
    )
    op.create_table(
        "edodocument",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("period", _S(length=7), nullable=False),
        sa.Column("kind", _S(length=16), nullable=False),
        sa.Column("number", _S(length=32), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("vat", sa.Integer(), nullable=False),
        sa.Column("lines", sa.JSON(), nullable=False),
        sa.Column("file_id", _S(length=200), nullable=False),
        sa.Column("xml", sa.Text(), nullable=False),
        sa.Column("recipient_id", _S(length=46), nullable=False),
        sa.Column("status", _S(length=16), nullable=False),
        sa.Column("edo_id", _S(length=64), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", _S(length=300), nullable=True),
        sa.Column("next_attempt_at", sa.Float(), nullable=True),
        sa.Column("refusal", _S(length=500), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("sent_at", sa.Float(), nullable=True),
        sa.Column("answered_at", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(["company_id"], ["company.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("company_id", "period", "kind", name="uq_edodocument_month_kind"),
    )
    op.create_index(op.f("ix_edodocument_company_id"), "edodocument", ["company_id"], unique=False)
    op.create_index(
        "ix_edodocument_status_next", "edodocument", ["status", "next_attempt_at"], unique=False
    )


def downgrade() -> None:
    """Revert."""
    op.drop_index("ix_edodocument_status_next", table_name="edodocument")
    op.drop_index(op.f("ix_edodocument_company_id"), table_name="edodocument")
    op.drop_table("edodocument")
    op.drop_table("edoconnection")
