"""ATOL- and Ferma-compatible APIs and the sandbox (issue 13)."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_S = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    """Apply."""
    op.create_table(
        "compattoken",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", _S(length=64), nullable=False),
        sa.Column("api_token_id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("peer", _S(length=8), nullable=False),
        sa.Column("sandbox", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["api_token_id"], ["apitoken.id"]),
        sa.ForeignKeyConstraint(["company_id"], ["company.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index("ix_compattoken_expires", "compattoken", ["expires_at"], unique=False)
    op.create_index(
        op.f("ix_compattoken_api_token_id"), "compattoken", ["api_token_id"], unique=False
    )
    op.create_table(
        "compatreceipt",
        sa.Column("receipt_id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("peer", _S(length=8), nullable=False),
        sa.Column("uuid", _S(length=36), nullable=False),
        sa.Column("group_code", _S(length=64), nullable=True),
        sa.Column("operation", _S(length=32), nullable=False),
        sa.Column("callback_url", _S(length=500), nullable=True),
        sa.Column("callback_status", _S(length=16), nullable=True),
        sa.Column("callback_attempts", sa.Integer(), nullable=False),
        sa.Column("callback_next_at", sa.Float(), nullable=True),
        sa.Column("callback_error", _S(length=500), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["company_id"], ["company.id"]),
        sa.ForeignKeyConstraint(["receipt_id"], ["receipt.id"]),
        sa.PrimaryKeyConstraint("receipt_id"),
        sa.UniqueConstraint("uuid", name="uq_compatreceipt_uuid"),
    )
    op.create_index(
        "ix_compatreceipt_callback_due",
        "compatreceipt",
        ["callback_status", "callback_next_at"],
        unique=False,
    )
    op.create_index(
        "ix_compatreceipt_company_created",
        "compatreceipt",
        ["company_id", "created_at"],
        unique=False,
    )
    op.create_table(
        "sandboxcompany",
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("sandbox_company_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["company_id"], ["company.id"]),
        sa.ForeignKeyConstraint(["sandbox_company_id"], ["company.id"]),
        sa.PrimaryKeyConstraint("company_id"),
        sa.UniqueConstraint("sandbox_company_id"),
    )
    op.create_table(
        "sandboxregister",
        sa.Column("register_id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("fn_number", _S(length=16), nullable=False),
        sa.Column("last_fd", sa.Integer(), nullable=False),
        sa.Column("shift_number", sa.Integer(), nullable=False),
        sa.Column("receipts_in_shift", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["company_id"], ["company.id"]),
        sa.ForeignKeyConstraint(["register_id"], ["register.id"]),
        sa.PrimaryKeyConstraint("register_id"),
    )
    op.create_index(
        op.f("ix_sandboxregister_company_id"), "sandboxregister", ["company_id"], unique=False
    )


def downgrade() -> None:
    """Revert."""
    op.drop_index(op.f("ix_sandboxregister_company_id"), table_name="sandboxregister")
    op.drop_table("sandboxregister")
    op.drop_table("sandboxcompany")
    op.drop_index("ix_compatreceipt_company_created", table_name="compatreceipt")
    op.drop_index("ix_compatreceipt_callback_due", table_name="compatreceipt")
    op.drop_table("compatreceipt")
    op.drop_index(op.f("ix_compattoken_api_token_id"), table_name="compattoken")
    op.drop_index("ix_compattoken_expires", table_name="compattoken")
    op.drop_table("compattoken")
