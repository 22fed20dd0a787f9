"""The fleet's MQTT ingest: dead letters, device shadows, stored watermarks, early OFD answers,
command acks and results

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28 04:32:59.083440
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply."""
    op.create_table(
        "deadletter",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("topic", sqlmodel.sql.sqltypes.AutoString(length=512), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("serial", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("received_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("deadletter", schema=None) as batch_op:
        batch_op.create_index("ix_deadletter_received", ["received_at"], unique=False)

    op.create_table(
        "pendingofdanswer",
        sa.Column("fn_number", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("fd_number", sa.Integer(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("code", sa.Integer(), nullable=True),
        sa.Column("answered_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("fn_number", "fd_number"),
    )
    op.create_table(
        "deviceshadow",
        sa.Column("register_id", sa.Integer(), nullable=False),
        sa.Column("online", sa.Boolean(), nullable=False),
        sa.Column("presence_at", sa.Float(), nullable=True),
        sa.Column("last_seen_at", sa.Float(), nullable=True),
        sa.Column("firmware", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("offline_reason", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("seq", sa.Integer(), nullable=True),
        sa.Column("reported", sa.JSON(), nullable=True),
        sa.Column("reported_at", sa.Float(), nullable=True),
        sa.Column("drive_fn", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("drive_last_fd", sa.Integer(), nullable=True),
        sa.Column("outbox", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["register_id"],
            ["register.id"],
        ),
        sa.PrimaryKeyConstraint("register_id"),
    )
    op.create_table(
        "linkcommand",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("register_id", sa.Integer(), nullable=False),
        sa.Column("request_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("ack_status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("ack_errors", sa.JSON(), nullable=True),
        sa.Column("acked_at", sa.Float(), nullable=True),
        sa.Column("result_status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("result_at", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["register_id"],
            ["register.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("register_id", "request_id", name="uq_linkcommand_register_request"),
    )

    op.create_table(
        "storedwatermark",
        sa.Column("fn_number", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("register_id", sa.Integer(), nullable=False),
        sa.Column("through", sa.Integer(), nullable=False),
        sa.Column("highest", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["register_id"],
            ["register.id"],
        ),
        sa.PrimaryKeyConstraint("fn_number"),
    )
    with op.batch_alter_table("storedwatermark", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_storedwatermark_register_id"), ["register_id"], unique=False
        )


def downgrade() -> None:
    """Revert."""
    with op.batch_alter_table("storedwatermark", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_storedwatermark_register_id"))

    op.drop_table("storedwatermark")
    op.drop_table("linkcommand")
    op.drop_table("deviceshadow")
    op.drop_table("pendingofdanswer")
    with op.batch_alter_table("deadletter", schema=None) as batch_op:
        batch_op.drop_index("ix_deadletter_received")

    op.drop_table("deadletter")
