"""Fines control (issue 11): receipt content read from TLVs, compliance findings."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_S = sqlmodel.sql.sqltypes.AutoString
_MONEY = (
    "total",
    "cash",
    "electronic",
    "prepaid",
    "credit",
    "consideration",
    "vat1102",
    "vat1103",
    "vat1104",
    "vat1105",
    "vat1106",
    "vat1107",
    "vat1120",
)


def upgrade() -> None:
    """Apply."""
    op.create_table(
        "receiptcontent",
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=True),
        sa.Column("register_id", sa.Integer(), nullable=False),
        sa.Column("issued_at", sa.Float(), nullable=False),
        sa.Column("doc_type", sa.Integer(), nullable=False),
        sa.Column("operation", sa.Integer(), nullable=True),
        *(sa.Column(name, sa.BigInteger(), nullable=True) for name in _MONEY),
        sa.Column("vat_codes", sa.Integer(), nullable=False),
        sa.Column("items", sa.Integer(), nullable=False),
        sa.Column("items_sum", sa.BigInteger(), nullable=False),
        sa.Column("internet", sa.Boolean(), nullable=False),
        sa.Column("buyer_contact", sa.Boolean(), nullable=False),
        sa.Column("place", _S(length=256), nullable=True),
        sa.Column("flags", sa.Integer(), nullable=False),
        sa.Column("tax_system", sa.Integer(), nullable=True),
        sa.Column("reg_tax", sa.Integer(), nullable=True),
        sa.Column("reg_usage", sa.Integer(), nullable=True),
        sa.Column("reg_agent", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["company_id"], ["company.id"]),
        sa.ForeignKeyConstraint(["document_id"], ["fiscaldocument.id"]),
        sa.ForeignKeyConstraint(["register_id"], ["register.id"]),
        sa.PrimaryKeyConstraint("document_id"),
    )
    op.create_index(
        "ix_receiptcontent_company_issued", "receiptcontent", ["company_id", "issued_at"]
    )
    op.create_index("ix_receiptcontent_register_id", "receiptcontent", ["register_id"])
    op.create_index(
        "ix_receiptcontent_registration",
        "receiptcontent",
        ["register_id", "issued_at"],
        postgresql_where=sa.text("doc_type IN (1, 11)"),
        sqlite_where=sa.text("doc_type IN (1, 11)"),
    )
    op.create_table(
        "compliancefinding",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("register_id", sa.Integer(), nullable=False),
        sa.Column("check_code", _S(length=8), nullable=False),
        sa.Column("severity", _S(length=8), nullable=False),
        sa.Column("status", _S(length=8), nullable=False),
        sa.Column("first_seen", sa.Float(), nullable=False),
        sa.Column("last_seen", sa.Float(), nullable=False),
        sa.Column("fixed_at", sa.Float(), nullable=True),
        sa.Column("detail", _S(length=500), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["company_id"], ["company.id"]),
        sa.ForeignKeyConstraint(["register_id"], ["register.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "register_id", "check_code", name="uq_compliancefinding_register_check"
        ),
    )
    op.create_index(
        "ix_compliancefinding_company_status",
        "compliancefinding",
        ["company_id", "status", "severity"],
    )


def downgrade() -> None:
    """Revert."""
    op.drop_index("ix_compliancefinding_company_status", table_name="compliancefinding")
    op.drop_table("compliancefinding")
    op.drop_index("ix_receiptcontent_registration", table_name="receiptcontent")
    op.drop_index("ix_receiptcontent_register_id", table_name="receiptcontent")
    op.drop_index("ix_receiptcontent_company_issued", table_name="receiptcontent")
    op.drop_table("receiptcontent")
