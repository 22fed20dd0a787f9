"""Drives (reported memory history, forecast sums, purchases) and notifications."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply."""
    op.create_table(
        "drive",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("fn_number", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("register_id", sa.Integer(), nullable=True),
        sa.Column("company_id", sa.Integer(), nullable=True),
        sa.Column("term_months", sa.Integer(), nullable=True),
        sa.Column("reregistrations_left", sa.Integer(), nullable=True),
        sa.Column("first_seen_at", sa.Float(), nullable=False),
        sa.Column("reported_at", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["company.id"],
        ),
        sa.ForeignKeyConstraint(
            ["register_id"],
            ["register.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("fn_number"),
    )
    with op.batch_alter_table("drive", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_drive_company_id"), ["company_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_drive_register_id"), ["register_id"], unique=False)

    op.create_table(
        "drivepurchase",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("model_code", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("model_name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("term_months", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("price_kop", sa.Integer(), nullable=False),
        sa.Column("total_kop", sa.Integer(), nullable=False),
        sa.Column("transaction_id", sa.Integer(), nullable=True),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["company.id"],
        ),
        sa.ForeignKeyConstraint(
            ["transaction_id"],
            ["ledgertransaction.id"],
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("drivepurchase", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_drivepurchase_company_id"), ["company_id"], unique=False
        )

    op.create_table(
        "notification",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("body", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.Column("link", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("read_at", sa.Float(), nullable=True),
        sa.Column("email_state", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("email_attempts", sa.Integer(), nullable=False),
        sa.Column("emailed_at", sa.Float(), nullable=True),
        sa.Column("email_error", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=True),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["company.id"],
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("user_id", "key", name="uq_notification_user_key"),
    )
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_notification_company_id"), ["company_id"], unique=False
        )
        batch_op.create_index("ix_notification_email", ["email_state"], unique=False)
        batch_op.create_index("ix_notification_user_read", ["user_id", "read_at"], unique=False)

    op.create_table(
        "notificationpreference",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("email", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user.id"],
        ),
        sa.PrimaryKeyConstraint("user_id", "kind"),
    )
    op.create_table(
        "driveforecast",
        sa.Column("drive_id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=True),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("sx", sa.BigInteger(), nullable=False),
        sa.Column("sy", sa.BigInteger(), nullable=False),
        sa.Column("sxy", sa.BigInteger(), nullable=False),
        sa.Column("sxx", sa.BigInteger(), nullable=False),
        sa.Column("last_day", sa.Integer(), nullable=True),
        sa.Column("last_pct", sa.Integer(), nullable=True),
        sa.Column("expires_day", sa.Integer(), nullable=True),
        sa.Column("full_day", sa.Integer(), nullable=True),
        sa.Column("replace_by", sa.Integer(), nullable=True),
        sa.Column("notified_days", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["company_id"],
            ["company.id"],
        ),
        sa.ForeignKeyConstraint(
            ["drive_id"],
            ["drive.id"],
        ),
        sa.PrimaryKeyConstraint("drive_id"),
        postgresql_with={"fillfactor": 50},
    )
    op.create_table(
        "drivereport",
        sa.Column("day", sa.Integer(), nullable=False),
        sa.Column("drive_id", sa.Integer(), nullable=False),
        sa.Column("used_pct", sa.SmallInteger(), nullable=False),
        sa.PrimaryKeyConstraint("day", "drive_id"),
    )
    op.create_table(
        "drivereportinbox",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("drive_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Integer(), nullable=False),
        sa.Column("used_pct", sa.SmallInteger(), nullable=False),
        sa.Column("expires_day", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["drive_id"],
            ["drive.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )


def downgrade() -> None:
    """Revert."""
    op.drop_table("drivereportinbox")
    op.drop_table("drivereport")
    op.drop_table("driveforecast")
    op.drop_table("notificationpreference")
    with op.batch_alter_table("notification", schema=None) as batch_op:
        batch_op.drop_index("ix_notification_user_read")
        batch_op.drop_index("ix_notification_email")
        batch_op.drop_index(batch_op.f("ix_notification_company_id"))

    op.drop_table("notification")
    with op.batch_alter_table("drivepurchase", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_drivepurchase_company_id"))

    op.drop_table("drivepurchase")
    with op.batch_alter_table("drive", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_drive_register_id"))
        batch_op.drop_index(batch_op.f("ix_drive_company_id"))

    op.drop_table("drive")
