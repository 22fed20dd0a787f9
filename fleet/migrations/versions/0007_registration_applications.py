"""Registration applications with the tax service (form КНД 1110061): form, signed bytes,
signature, status, the FNS's answers

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28 04:38:11.256062
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply."""
    op.create_table(
        "registrationapplication",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("register_id", sa.Integer(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("form", sa.Text(), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("signature", sa.Text(), nullable=True),
        sa.Column("signer_name", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
        sa.Column("signer_inn", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=True),
        sa.Column("signer_ogrn", sqlmodel.sql.sqltypes.AutoString(length=15), nullable=True),
        sa.Column("signer_person", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
        sa.Column("signer_valid_from", sa.Float(), nullable=True),
        sa.Column("signer_valid_to", sa.Float(), nullable=True),
        sa.Column("signer_issuer", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
        sa.Column("fns_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("rnm", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("reasons", sa.Text(), nullable=False),
        sa.Column("last_error", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True),
        sa.Column("report_fd_number", sa.Integer(), nullable=True),
        sa.Column("report_fiscal_sign", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=True),
        sa.Column("report_date", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("card", sa.Text(), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.Column("signed_at", sa.Float(), nullable=True),
        sa.Column("sent_at", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["company.id"],
        ),
        sa.ForeignKeyConstraint(
            ["register_id"],
            ["register.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("registrationapplication", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_registrationapplication_company_id"), ["company_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_registrationapplication_register_id"), ["register_id"], unique=True
        )
        batch_op.create_index(
            batch_op.f("ix_registrationapplication_status"), ["status"], unique=False
        )


def downgrade() -> None:
    """Revert."""
    with op.batch_alter_table("registrationapplication", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_registrationapplication_status"))
        batch_op.drop_index(batch_op.f("ix_registrationapplication_register_id"))
        batch_op.drop_index(batch_op.f("ix_registrationapplication_company_id"))

    op.drop_table("registrationapplication")
