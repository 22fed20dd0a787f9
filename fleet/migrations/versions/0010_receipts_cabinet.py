"""Receipts cabinet: document facts from the TLV, imported payments, search indexes."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply."""
    op.create_table(
        "receiptfacts",
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=True),
        sa.Column("register_id", sa.Integer(), nullable=False),
        sa.Column("issued_at", sa.Float(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=True),
        sa.Column("buyer_contact", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("marked_item", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
        sa.Column("marked_items", sa.Integer(), nullable=False),
        sa.Column("mark_error", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["company_id"], ["company.id"]),
        sa.ForeignKeyConstraint(["document_id"], ["fiscaldocument.id"]),
        sa.ForeignKeyConstraint(["register_id"], ["register.id"]),
        sa.PrimaryKeyConstraint("document_id"),
    )
    with op.batch_alter_table("receiptfacts", schema=None) as batch_op:
        batch_op.create_index(
            "ix_receiptfacts_company_contact",
            ["company_id", "buyer_contact"],
            postgresql_where=sa.text("buyer_contact IS NOT NULL"),
            sqlite_where=sa.text("buyer_contact IS NOT NULL"),
        )
        for name, columns in (
            ("issued", ["issued_at"]),
            ("total", ["total"]),
            ("item", ["marked_item"]),
            ("register", ["register_id", "issued_at"]),
        ):
            batch_op.create_index(
                f"ix_receiptfacts_marked_{name}",
                ["company_id", *columns],
                postgresql_where=sa.text("marked_items > 0"),
                sqlite_where=sa.text("marked_items > 0"),
            )
    op.create_table(
        "receiptfactsmark",
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("through_id", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "importedpayment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("amount", sa.Integer(), nullable=False),
        sa.Column("receipt_id", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["company_id"], ["company.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("company_id", "key", name="uq_importedpayment_key"),
    )
    with op.batch_alter_table("fiscaldocument", schema=None) as batch_op:
        batch_op.create_index(
            "ix_fiscaldocument_company_fd", ["company_id", "fd_number", "issued_at"]
        )
        batch_op.create_index("ix_fiscaldocument_company_sign", ["company_id", "fiscal_sign"])
        batch_op.create_index(
            "ix_fiscaldocument_company_total", ["company_id", "total", "issued_at"]
        )
        batch_op.create_index("ix_fiscaldocument_register_issued", ["register_id", "issued_at"])


def downgrade() -> None:
    """Revert."""
    with op.batch_alter_table("fiscaldocument", schema=None) as batch_op:
        batch_op.drop_index("ix_fiscaldocument_register_issued")
        batch_op.drop_index("ix_fiscaldocument_company_total")
        batch_op.drop_index("ix_fiscaldocument_company_sign")
        batch_op.drop_index("ix_fiscaldocument_company_fd")
    op.drop_table("importedpayment")
    op.drop_table("receiptfactsmark")
    op.drop_table("receiptfacts")  # its indexes go with it
