"""Advertising receipt templates, campaigns and buyer consent (issue 10)."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_S = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    """Apply."""
    op.create_table(
        "ad_image",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("content_type", _S(length=32), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", _S(length=64), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["company_id"], ["company.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_ad_image_company_id", "ad_image", ["company_id"], unique=False)
    op.create_table(
        "ad_template",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("name", _S(length=100), nullable=False),
        sa.Column("background", _S(length=7), nullable=False),
        sa.Column("company_name", _S(length=200), nullable=False),
        sa.Column("logo_id", sa.Integer(), nullable=True),
        sa.Column("greeting", _S(length=300), nullable=False),
        sa.Column("text", _S(length=2000), nullable=False),
        sa.Column("banners", sa.JSON(), nullable=False),
        sa.Column("links", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["company_id"], ["company.id"]),
        sa.ForeignKeyConstraint(["logo_id"], ["ad_image.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_ad_template_company_id", "ad_template", ["company_id"], unique=False)
    op.create_table(
        "ad_assignment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("template_id", sa.Integer(), nullable=False),
        sa.Column("kind", _S(length=16), nullable=False),
        sa.Column("campaign", _S(length=100), nullable=True),
        sa.Column("store_id", sa.Integer(), nullable=True),
        sa.Column("register_id", sa.Integer(), nullable=True),
        sa.Column("starts_at", sa.Float(), nullable=True),
        sa.Column("ends_at", sa.Float(), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["company_id"], ["company.id"]),
        sa.ForeignKeyConstraint(["register_id"], ["register.id"]),
        sa.ForeignKeyConstraint(["store_id"], ["store.id"]),
        sa.ForeignKeyConstraint(["template_id"], ["ad_template.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_ad_assignment_company_kind", "ad_assignment", ["company_id", "kind"], unique=False
    )
    op.create_index("ix_ad_assignment_template_id", "ad_assignment", ["template_id"], unique=False)
    op.create_table(
        "ad_consent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("contact_hash", _S(length=64), nullable=False),
        sa.Column("masked", _S(length=64), nullable=False),
        sa.Column("granted", sa.Boolean(), nullable=False),
        sa.Column("source", _S(length=32), nullable=False),
        sa.Column("receipt_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["company_id"], ["company.id"]),
        sa.ForeignKeyConstraint(["receipt_id"], ["receipt.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("company_id", "contact_hash", name="uq_ad_consent_company_contact"),
    )


def downgrade() -> None:
    """Revert."""
    op.drop_table("ad_consent")
    op.drop_index("ix_ad_assignment_template_id", table_name="ad_assignment")
    op.drop_index("ix_ad_assignment_company_kind", table_name="ad_assignment")
    op.drop_table("ad_assignment")
    op.drop_index("ix_ad_template_company_id", table_name="ad_template")
    op.drop_table("ad_template")
    op.drop_index("ix_ad_image_company_id", table_name="ad_image")
    op.drop_table("ad_image")
