"""Receipts, their parts, routing profiles, callbacks and the fleet's sent commands."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply."""
    op.create_table(
        "callbacksettings",
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("url", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("secret", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["company.id"],
        ),
        sa.PrimaryKeyConstraint("company_id"),
    )
    op.create_table(
        "receipt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("external_id", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("idempotency_key", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
        sa.Column("body_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("parts", sa.Integer(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("failure", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("retryable", sa.Boolean(), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.Column("fiscalised_at", sa.Float(), nullable=True),
        sa.Column("confirmed_at", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["company.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("company_id", "external_id", name="uq_receipt_company_external"),
        sa.UniqueConstraint("company_id", "idempotency_key", name="uq_receipt_company_key"),
    )
    op.create_index(
        "ix_receipt_company_created", "receipt", ["company_id", "created_at"], unique=False
    )
    op.create_index("ix_receipt_status", "receipt", ["status"], unique=False)
    op.create_table(
        "callbackdelivery",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("receipt_id", sa.Integer(), nullable=False),
        sa.Column("event", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_at", sa.Float(), nullable=False),
        sa.Column("last_error", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("delivered_at", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["company.id"],
        ),
        sa.ForeignKeyConstraint(
            ["receipt_id"],
            ["receipt.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("event_id"),
    )
    op.create_index(
        "ix_callbackdelivery_due", "callbackdelivery", ["status", "next_at"], unique=False
    )
    op.create_index(
        op.f("ix_callbackdelivery_receipt_id"), "callbackdelivery", ["receipt_id"], unique=False
    )
    op.create_table(
        "receiptpart",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("receipt_id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("part_no", sa.Integer(), nullable=False),
        sa.Column("request_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("request", sa.JSON(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("register_id", sa.Integer(), nullable=True),
        sa.Column("pinned_register_id", sa.Integer(), nullable=True),
        sa.Column("tried", sa.JSON(), nullable=False),
        sa.Column("routed_at", sa.Float(), nullable=True),
        sa.Column("fn_number", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("fd_number", sa.Integer(), nullable=True),
        sa.Column("fiscal_sign", sqlmodel.sql.sqltypes.AutoString(length=20), nullable=True),
        sa.Column("shift_number", sa.Integer(), nullable=True),
        sa.Column("receipt_number", sa.Integer(), nullable=True),
        sa.Column("document_time", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("qr", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("ofd_status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("failure", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("retryable", sa.Boolean(), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["pinned_register_id"],
            ["register.id"],
        ),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["company.id"],
        ),
        sa.ForeignKeyConstraint(
            ["receipt_id"],
            ["receipt.id"],
        ),
        sa.ForeignKeyConstraint(
            ["register_id"],
            ["register.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("receipt_id", "part_no", name="uq_receiptpart_receipt_no"),
        sa.UniqueConstraint("request_id"),
    )
    op.create_index(op.f("ix_receiptpart_receipt_id"), "receiptpart", ["receipt_id"], unique=False)
    op.create_index(
        "ix_receiptpart_status_register", "receiptpart", ["status", "register_id"], unique=False
    )
    op.create_table(
        "routingprofile",
        sa.Column("register_id", sa.Integer(), nullable=False),
        sa.Column("inn", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("profile", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["register_id"],
            ["register.id"],
        ),
        sa.PrimaryKeyConstraint("register_id"),
    )
    op.create_index(op.f("ix_routingprofile_inn"), "routingprofile", ["inn"], unique=False)
    op.create_table(
        "sentcommand",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("register_id", sa.Integer(), nullable=False),
        sa.Column("serial", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("request_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("body", sa.JSON(), nullable=False),
        sa.Column("ttl_s", sa.Integer(), nullable=False),
        sa.Column("issued_at", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("sent_at", sa.Float(), nullable=True),
        sa.Column("next_at", sa.Float(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["register_id"],
            ["register.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("register_id", "request_id", name="uq_sentcommand_register_request"),
    )
    op.create_index("ix_sentcommand_due", "sentcommand", ["status", "next_at"], unique=False)


def downgrade() -> None:
    """Revert."""
    op.drop_index("ix_sentcommand_due", table_name="sentcommand")
    op.drop_table("sentcommand")
    op.drop_index(op.f("ix_routingprofile_inn"), table_name="routingprofile")
    op.drop_table("routingprofile")
    op.drop_index("ix_receiptpart_status_register", table_name="receiptpart")
    op.drop_index(op.f("ix_receiptpart_receipt_id"), table_name="receiptpart")
    op.drop_table("receiptpart")
    op.drop_index(op.f("ix_callbackdelivery_receipt_id"), table_name="callbackdelivery")
    op.drop_index("ix_callbackdelivery_due", table_name="callbackdelivery")
    op.drop_table("callbackdelivery")
    op.drop_index("ix_receipt_status", table_name="receipt")
    op.drop_index("ix_receipt_company_created", table_name="receipt")
    op.drop_table("receipt")
    op.drop_table("callbacksettings")
