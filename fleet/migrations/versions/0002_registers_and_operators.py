"""Registers (inventory, booking assignment, lifecycle state) and the operator flag on users.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 01:42:54.184872
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply."""
    op.create_table(
        "register",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("serial", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("model", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("rack_slot", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("drive_number", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("drive_expires_at", sa.Float(), nullable=True),
        sa.Column("firmware_version", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("state", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=True),
        sa.Column("booking_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("booked_at", sa.Float(), nullable=True),
        sa.Column("paid_at", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(["booking_id"], ["booking.id"]),
        sa.ForeignKeyConstraint(["company_id"], ["company.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_register_booking_id"), "register", ["booking_id"], unique=False)
    op.create_index(op.f("ix_register_company_id"), "register", ["company_id"], unique=False)
    op.create_index(
        op.f("ix_register_drive_expires_at"), "register", ["drive_expires_at"], unique=False
    )
    op.create_index(op.f("ix_register_serial"), "register", ["serial"], unique=True)
    op.create_index(op.f("ix_register_state"), "register", ["state"], unique=False)

    # existing users are not operators: the server default fills the rows already there
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("is_operator", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    """Revert."""
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.drop_column("is_operator")

    op.drop_index(op.f("ix_register_state"), table_name="register")
    op.drop_index(op.f("ix_register_serial"), table_name="register")
    op.drop_index(op.f("ix_register_drive_expires_at"), table_name="register")
    op.drop_index(op.f("ix_register_company_id"), table_name="register")
    op.drop_index(op.f("ix_register_booking_id"), table_name="register")
    op.drop_table("register")
