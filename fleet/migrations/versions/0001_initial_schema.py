"""Initial schema: accounts, audit log, bookings, jobs.

Revision ID: 0001
Revises:
Create Date: 2026-11-28 00:54:33.508864
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply."""
    op.create_table(
        "auditlog",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.Float(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("entity", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("entity_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("detail", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_auditlog_at"), "auditlog", ["at"], unique=False)
    op.create_index(op.f("ix_auditlog_company_id"), "auditlog", ["company_id"], unique=False)

    op.create_table(
        "company",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("inn", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("ogrn", sqlmodel.sql.sqltypes.AutoString(length=15), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_company_inn"), "company", ["inn"], unique=True)

    op.create_table(
        "job",
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("owner", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True),
        sa.Column("lease_until", sa.Float(), nullable=True),
        sa.Column("next_run_at", sa.Float(), nullable=False),
        sa.Column("last_started_at", sa.Float(), nullable=True),
        sa.Column("last_finished_at", sa.Float(), nullable=True),
        sa.Column("last_status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("last_error", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("runs", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "signinthrottle",
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=400), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_start", sa.Float(), nullable=False),
        sa.Column("locked_until", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_table(
        "booking",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("paid_at", sa.Float(), nullable=True),
        sa.Column("lapsed_at", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["company.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_booking_company_id"), "booking", ["company_id"], unique=False)
    op.create_index(op.f("ix_booking_status"), "booking", ["status"], unique=False)

    op.create_table(
        "user",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
        sa.Column("password_hash", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("email_confirmed", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["company.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_user_company_id"), "user", ["company_id"], unique=False)
    op.create_index(op.f("ix_user_email"), "user", ["email"], unique=True)

    op.create_table(
        "authsession",
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user.id"],
        ),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    op.create_index(op.f("ix_authsession_user_id"), "authsession", ["user_id"], unique=False)

    op.create_table(
        "emailtoken",
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
        sa.Column("used_at", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user.id"],
        ),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    op.create_index(op.f("ix_emailtoken_user_id"), "emailtoken", ["user_id"], unique=False)


def downgrade() -> None:
    """Revert."""
    op.drop_index(op.f("ix_emailtoken_user_id"), table_name="emailtoken")

    op.drop_table("emailtoken")
    op.drop_index(op.f("ix_authsession_user_id"), table_name="authsession")

    op.drop_table("authsession")
    op.drop_index(op.f("ix_user_email"), table_name="user")
    op.drop_index(op.f("ix_user_company_id"), table_name="user")

    op.drop_table("user")
    op.drop_index(op.f("ix_booking_status"), table_name="booking")
    op.drop_index(op.f("ix_booking_company_id"), table_name="booking")

    op.drop_table("booking")
    op.drop_table("signinthrottle")
    op.drop_table("job")
    op.drop_index(op.f("ix_company_inn"), table_name="company")

    op.drop_table("company")
    op.drop_index(op.f("ix_auditlog_company_id"), table_name="auditlog")
    op.drop_index(op.f("ix_auditlog_at"), table_name="auditlog")

    op.drop_table("auditlog")
