"""Fines control (issue 11): bank payments with no receipt.

The payments of uploaded statements and registries (`receivedpayment`), company-level findings
(`compliancefinding.register_id` may be NULL, one per company and check), and the index check
K23 probes to match a payment with a receipt of the same company and sum.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0026"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_S = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    """Apply."""
    op.create_table(
        "receivedpayment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("key", _S(length=200), nullable=False),
        sa.Column("source", _S(length=16), nullable=False),
        sa.Column("paid_at", sa.Float(), nullable=False),
        sa.Column("number", _S(length=64), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("operation", sa.Integer(), nullable=False),
        sa.Column("payer", _S(length=255), nullable=False),
        sa.Column("payer_inn", _S(length=12), nullable=False),
        sa.Column("purpose", _S(length=255), nullable=False),
        sa.Column("needs_receipt", sa.Boolean(), nullable=False),
        sa.Column("reason", _S(length=100), nullable=False),
        sa.Column("recorded_at", sa.Float(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["company_id"], ["company.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("company_id", "key", name="uq_receivedpayment_key"),
    )
    op.create_index("ix_receivedpayment_company_paid", "receivedpayment", ["company_id", "paid_at"])
    with op.batch_alter_table("compliancefinding") as batch:
        batch.alter_column("register_id", existing_type=sa.Integer(), nullable=True)
    op.create_index(
        "uq_compliancefinding_company_check",
        "compliancefinding",
        ["company_id", "check_code"],
        unique=True,
        postgresql_where=sa.text("register_id IS NULL"),
        sqlite_where=sa.text("register_id IS NULL"),
    )
    op.create_index(
        "ix_receiptcontent_company_total",
        "receiptcontent",
        ["company_id", "total", "issued_at"],
    )


def downgrade() -> None:
    """Revert (company-level findings are dropped: the column is NOT NULL again)."""
    op.drop_index("ix_receiptcontent_company_total", table_name="receiptcontent")
    op.drop_index("uq_compliancefinding_company_check", table_name="compliancefinding")
    op.execute("DELETE FROM compliancefinding WHERE register_id IS NULL")
    with op.batch_alter_table("compliancefinding") as batch:
        batch.alter_column("register_id", existing_type=sa.Integer(), nullable=False)
    op.drop_index("ix_receivedpayment_company_paid", table_name="receivedpayment")
    op.drop_table("receivedpayment")
