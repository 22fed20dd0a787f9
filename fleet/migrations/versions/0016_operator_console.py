"""The operator console (issue 9): operators' commands, alarms, alarm damping, dead registers."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_S = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    """Apply."""
    op.create_table(
        "alarm",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("register_id", sa.Integer(), nullable=False),
        sa.Column("rule", _S(length=32), nullable=False),
        sa.Column("severity", _S(length=16), nullable=False),
        sa.Column("message", _S(length=500), nullable=False),
        sa.Column("status", _S(length=16), nullable=False),
        sa.Column("raised_at", sa.Float(), nullable=False),
        sa.Column("last_at", sa.Float(), nullable=False),
        sa.Column("occurrences", sa.Integer(), nullable=False),
        sa.Column("assignee_id", sa.Integer(), nullable=True),
        sa.Column("acknowledged_by", sa.Integer(), nullable=True),
        sa.Column("acknowledged_at", sa.Float(), nullable=True),
        sa.Column("cleared_by", sa.Integer(), nullable=True),
        sa.Column("cleared_at", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(["acknowledged_by"], ["user.id"]),
        sa.ForeignKeyConstraint(["assignee_id"], ["user.id"]),
        sa.ForeignKeyConstraint(["cleared_by"], ["user.id"]),
        sa.ForeignKeyConstraint(["register_id"], ["register.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_alarm_register_rule_status", "alarm", ["register_id", "rule", "status"], unique=False
    )
    op.create_index("ix_alarm_status", "alarm", ["status"], unique=False)
    op.create_table(
        "alarmwatch",
        sa.Column("register_id", sa.Integer(), nullable=False),
        sa.Column("rule", _S(length=32), nullable=False),
        sa.Column("state", _S(length=16), nullable=False),
        sa.Column("since", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["register_id"], ["register.id"]),
        sa.PrimaryKeyConstraint("register_id", "rule"),
    )
    op.create_table(
        "consolecommand",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("register_id", sa.Integer(), nullable=False),
        sa.Column("request_id", _S(length=64), nullable=False),
        sa.Column("action", _S(length=32), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("ttl_s", sa.Integer(), nullable=False),
        sa.Column("requested_by", sa.Integer(), nullable=True),
        sa.Column("requested_at", sa.Float(), nullable=False),
        sa.Column("retries", sa.Integer(), nullable=False),
        sa.Column("retried_at", sa.Float(), nullable=True),
        sa.Column("history", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["register_id"], ["register.id"]),
        sa.ForeignKeyConstraint(["requested_by"], ["user.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("register_id", "request_id", name="uq_consolecommand_register_request"),
    )
    op.create_index(
        "ix_consolecommand_register_id", "consolecommand", ["register_id"], unique=False
    )
    op.create_index("ix_consolecommand_requested", "consolecommand", ["requested_at"], unique=False)
    op.create_table(
        "deadregister",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("register_id", sa.Integer(), nullable=False),
        sa.Column("replacement_id", sa.Integer(), nullable=True),
        sa.Column("declared_by", sa.Integer(), nullable=True),
        sa.Column("declared_at", sa.Float(), nullable=False),
        sa.Column("reason", _S(length=500), nullable=False),
        sa.Column("fn_number", _S(length=16), nullable=True),
        sa.Column("stored_through", sa.Integer(), nullable=False),
        sa.Column("made", sa.Integer(), nullable=False),
        sa.Column("moved", sa.Integer(), nullable=False),
        sa.Column("held", sa.Integer(), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["declared_by"], ["user.id"]),
        sa.ForeignKeyConstraint(["register_id"], ["register.id"]),
        sa.ForeignKeyConstraint(["replacement_id"], ["register.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("register_id"),
    )


def downgrade() -> None:
    """Revert."""
    op.drop_table("deadregister")
    op.drop_index("ix_consolecommand_requested", table_name="consolecommand")
    op.drop_index("ix_consolecommand_register_id", table_name="consolecommand")
    op.drop_table("consolecommand")
    op.drop_table("alarmwatch")
    op.drop_index("ix_alarm_status", table_name="alarm")
    op.drop_index("ix_alarm_register_rule_status", table_name="alarm")
    op.drop_table("alarm")
