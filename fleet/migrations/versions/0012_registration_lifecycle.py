"""Re-registration, deregistration, drive replacement and МЧД: used drives, powers of attorney."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply."""
    op.create_table(
        "powerofattorney",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("number", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("principal_inn", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("principal_ogrn", sqlmodel.sql.sqltypes.AutoString(length=15), nullable=False),
        sa.Column(
            "representative_name", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False
        ),
        sa.Column(
            "representative_snils", sqlmodel.sql.sqltypes.AutoString(length=11), nullable=True
        ),
        sa.Column("representative_inn", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=True),
        sa.Column("valid_from", sa.Float(), nullable=False),
        sa.Column("valid_to", sa.Float(), nullable=False),
        sa.Column("powers", sa.Text(), nullable=False),
        sa.Column("xml", sa.Text(), nullable=False),
        sa.Column("signature", sa.Text(), nullable=False),
        sa.Column("uploaded_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["company_id"], ["company.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_powerofattorney_company_id"), "powerofattorney", ["company_id"], unique=False
    )
    op.create_index(
        op.f("ix_powerofattorney_representative_inn"),
        "powerofattorney",
        ["representative_inn"],
        unique=False,
    )
    op.create_index(
        op.f("ix_powerofattorney_representative_snils"),
        "powerofattorney",
        ["representative_snils"],
        unique=False,
    )
    op.create_table(
        "useddrive",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("drive_number", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("model", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("register_id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=True),
        sa.Column("rnm", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("close_fd_number", sa.Integer(), nullable=True),
        sa.Column("close_fiscal_sign", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=True),
        sa.Column("close_date", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("removed_at", sa.Float(), nullable=False),
        sa.Column("keep_until", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["company_id"], ["company.id"]),
        sa.ForeignKeyConstraint(["register_id"], ["register.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_useddrive_company_id"), "useddrive", ["company_id"], unique=False)
    op.create_index(op.f("ix_useddrive_drive_number"), "useddrive", ["drive_number"], unique=False)
    op.create_index(op.f("ix_useddrive_keep_until"), "useddrive", ["keep_until"], unique=False)
    op.create_index(op.f("ix_useddrive_register_id"), "useddrive", ["register_id"], unique=False)
    op.create_index(op.f("ix_useddrive_removed_at"), "useddrive", ["removed_at"], unique=False)
    with op.batch_alter_table("registrationapplication") as batch:
        batch.add_column(
            sa.Column(
                "kind",
                sqlmodel.sql.sqltypes.AutoString(length=16),
                nullable=False,
                server_default="registration",
            )
        )
        batch.add_column(sa.Column("reason_codes", sa.Text(), nullable=False, server_default="[]"))
        batch.add_column(
            sa.Column("dereg_reason", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True)
        )
        batch.add_column(sa.Column("registered", sa.Text(), nullable=True))
        batch.add_column(sa.Column("close_fd_number", sa.Integer(), nullable=True))
        batch.add_column(
            sa.Column(
                "close_fiscal_sign", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=True
            )
        )
        batch.add_column(
            sa.Column("close_date", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True)
        )
        batch.add_column(
            sa.Column("signer_poa", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )


def downgrade() -> None:
    """Revert."""
    with op.batch_alter_table("registrationapplication") as batch:
        for name in (
            "signer_poa",
            "close_date",
            "close_fiscal_sign",
            "close_fd_number",
            "registered",
            "dereg_reason",
            "reason_codes",
            "kind",
        ):
            batch.drop_column(name)
    for name in ("removed_at", "register_id", "keep_until", "drive_number", "company_id"):
        op.drop_index(op.f(f"ix_useddrive_{name}"), table_name="useddrive")
    op.drop_table("useddrive")
    for name in ("representative_snils", "representative_inn", "company_id"):
        op.drop_index(op.f(f"ix_powerofattorney_{name}"), table_name="powerofattorney")
    op.drop_table("powerofattorney")
