"""Stores, folders of registers and roles; registers get a store, a folder and a tariff

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 03:02:02.649181
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply."""
    op.create_table(
        "registerfolder",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["company.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("registerfolder", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_registerfolder_company_id"), ["company_id"], unique=False
        )

    op.create_table(
        "role",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("permissions", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["company.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("role", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_role_company_id"), ["company_id"], unique=False)

    op.create_table(
        "store",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["company.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("store", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_store_company_id"), ["company_id"], unique=False)

    with op.batch_alter_table("register", schema=None) as batch_op:
        batch_op.add_column(sa.Column("store_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("folder_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("tariff_code", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True)
        )
        batch_op.create_index(batch_op.f("ix_register_folder_id"), ["folder_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_register_store_id"), ["store_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_register_tariff_code"), ["tariff_code"], unique=False)
        batch_op.create_foreign_key("fk_register_store_id", "store", ["store_id"], ["id"])
        batch_op.create_foreign_key(
            "fk_register_folder_id", "registerfolder", ["folder_id"], ["id"]
        )

    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.add_column(sa.Column("role_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_user_role_id"), ["role_id"], unique=False)
        batch_op.create_foreign_key("fk_user_role_id", "role", ["role_id"], ["id"])


def downgrade() -> None:
    """Revert."""
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.drop_constraint("fk_user_role_id", type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_user_role_id"))
        batch_op.drop_column("role_id")

    with op.batch_alter_table("register", schema=None) as batch_op:
        batch_op.drop_constraint("fk_register_folder_id", type_="foreignkey")
        batch_op.drop_constraint("fk_register_store_id", type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_register_tariff_code"))
        batch_op.drop_index(batch_op.f("ix_register_store_id"))
        batch_op.drop_index(batch_op.f("ix_register_folder_id"))
        batch_op.drop_column("tariff_code")
        batch_op.drop_column("folder_id")
        batch_op.drop_column("store_id")

    with op.batch_alter_table("store", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_store_company_id"))

    op.drop_table("store")
    with op.batch_alter_table("role", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_role_company_id"))

    op.drop_table("role")
    with op.batch_alter_table("registerfolder", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_registerfolder_company_id"))

    op.drop_table("registerfolder")
