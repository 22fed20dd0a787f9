"""E-receipt delivery wired to fiscalisation, public receipt pages, paid channels (issue 10)."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_S = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    """Apply."""
    with op.batch_alter_table("delivery_attempt") as t:
        t.add_column(sa.Column("delivery_id", sa.Integer(), nullable=True))
        t.add_column(sa.Column("key", _S(length=64), nullable=True))
        t.add_column(sa.Column("price_kop", sa.Integer(), nullable=False, server_default="0"))
        t.add_column(sa.Column("sent_at", sa.Float(), nullable=True))
        t.add_column(sa.Column("settled_at", sa.Float(), nullable=True))
    with op.batch_alter_table("delivery_attempt") as t:
        t.alter_column("price_kop", server_default=None)
    op.create_index("ix_delivery_attempt_delivery", "delivery_attempt", ["delivery_id"])
    op.create_index("ix_delivery_attempt_key", "delivery_attempt", ["key"], unique=True)
    op.create_table(
        "delivery",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("receipt_id", sa.Integer(), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=True),
        sa.Column("register_id", sa.Integer(), nullable=True),
        sa.Column("contact", _S(length=64), nullable=True),
        sa.Column("contact_kind", _S(length=8), nullable=False),
        sa.Column("contact_hash", _S(length=64), nullable=False),
        sa.Column("masked", _S(length=64), nullable=False),
        sa.Column("order", sa.JSON(), nullable=False),
        sa.Column("token", _S(length=43), nullable=False),
        sa.Column("state", _S(length=16), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("next_at", sa.Float(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("reason", _S(length=300), nullable=True),
        sa.Column("fiscalised_at", sa.Float(), nullable=False),
        sa.Column("first_attempt_at", sa.Float(), nullable=True),
        sa.Column("resent_at", sa.Float(), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["company_id"], ["company.id"]),
        sa.ForeignKeyConstraint(["receipt_id"], ["receipt.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("receipt_id"),
        sa.UniqueConstraint("token"),
    )
    op.create_index("ix_delivery_due", "delivery", ["state", "next_at"])
    op.create_index("ix_delivery_company_created", "delivery", ["company_id", "created_at"])
    op.create_index("ix_delivery_contact_hash", "delivery", ["company_id", "contact_hash"])
    op.create_table(
        "delivery_route",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("store_id", sa.Integer(), nullable=True),
        sa.Column("register_id", sa.Integer(), nullable=True),
        sa.Column("order", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["company_id"], ["company.id"]),
        sa.ForeignKeyConstraint(["store_id"], ["store.id"]),
        sa.ForeignKeyConstraint(["register_id"], ["register.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "company_id", "store_id", "register_id", name="uq_delivery_route_scope"
        ),
    )
    op.create_index("ix_delivery_route_company_id", "delivery_route", ["company_id"])
    op.create_table(
        "delivery_prefs",
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("retention_days", sa.Integer(), nullable=False),
        sa.Column("dkim_domain", _S(length=253), nullable=True),
        sa.Column("dkim_selector", _S(length=63), nullable=True),
        sa.Column("dkim_key_pem", _S(), nullable=True),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["company_id"], ["company.id"]),
        sa.PrimaryKeyConstraint("company_id"),
    )
    op.create_table(
        "delivery_price",
        sa.Column("tariff_code", _S(length=32), nullable=False),
        sa.Column("channel", _S(length=16), nullable=False),
        sa.Column("price_kop", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("tariff_code", "channel"),
    )


def downgrade() -> None:
    """Revert."""
    op.drop_table("delivery_price")
    op.drop_table("delivery_prefs")
    op.drop_index("ix_delivery_route_company_id", table_name="delivery_route")
    op.drop_table("delivery_route")
    op.drop_index("ix_delivery_contact_hash", table_name="delivery")
    op.drop_index("ix_delivery_company_created", table_name="delivery")
    op.drop_index("ix_delivery_due", table_name="delivery")
    op.drop_table("delivery")
    op.drop_index("ix_delivery_attempt_key", table_name="delivery_attempt")
    op.drop_index("ix_delivery_attempt_delivery", table_name="delivery_attempt")
    with op.batch_alter_table("delivery_attempt") as t:
        t.drop_column("settled_at")
        t.drop_column("sent_at")
        t.drop_column("price_kop")
        t.drop_column("key")
        t.drop_column("delivery_id")
