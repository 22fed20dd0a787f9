"""Firmware bundles and staged rollouts; drive stock and replacement work orders (issue 9)."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_S = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    """Apply."""
    op.create_table(
        "firmwarebundle",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", _S(length=32), nullable=False),
        sa.Column("sha256", _S(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("board", _S(length=64), nullable=False),
        sa.Column("manifest", sa.JSON(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("certified", sa.Boolean(), nullable=False),
        sa.Column("certified_by", sa.Integer(), nullable=True),
        sa.Column("certified_at", sa.Float(), nullable=True),
        sa.Column("uploaded_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["certified_by"], ["user.id"]),
        sa.ForeignKeyConstraint(["uploaded_by"], ["user.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("version"),
        sa.UniqueConstraint("sha256"),
    )
    op.create_table(
        "rollout",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("bundle_id", sa.Integer(), nullable=False),
        sa.Column("target", _S(length=64), nullable=False),
        sa.Column("status", _S(length=16), nullable=False),
        sa.Column("canary", sa.Integer(), nullable=False),
        sa.Column("phases", sa.JSON(), nullable=False),
        sa.Column("phase", sa.Integer(), nullable=False),
        sa.Column("threshold_pct", sa.Integer(), nullable=False),
        sa.Column("min_devices", sa.Integer(), nullable=False),
        sa.Column("device_timeout_s", sa.Integer(), nullable=False),
        sa.Column("base_url", _S(length=256), nullable=False),
        sa.Column("abort_reason", _S(length=500), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("finished_at", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(["bundle_id"], ["firmwarebundle.id"]),
        sa.ForeignKeyConstraint(["created_by"], ["user.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_rollout_bundle_id", "rollout", ["bundle_id"])
    op.create_index("ix_rollout_status", "rollout", ["status"])
    op.create_table(
        "rolloutdevice",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rollout_id", sa.Integer(), nullable=False),
        sa.Column("register_id", sa.Integer(), nullable=False),
        sa.Column("serial", _S(length=32), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("status", _S(length=16), nullable=False),
        sa.Column("phase", sa.Integer(), nullable=True),
        sa.Column("request_id", _S(length=64), nullable=True),
        sa.Column("from_version", _S(length=32), nullable=True),
        sa.Column("sent_at", sa.Float(), nullable=True),
        sa.Column("staged_at", sa.Float(), nullable=True),
        sa.Column("finished_at", sa.Float(), nullable=True),
        sa.Column("reason", _S(length=500), nullable=True),
        sa.ForeignKeyConstraint(["rollout_id"], ["rollout.id"]),
        sa.ForeignKeyConstraint(["register_id"], ["register.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("rollout_id", "register_id", name="uq_rolloutdevice_register"),
    )
    op.create_index("ix_rolloutdevice_register_id", "rolloutdevice", ["register_id"])
    op.create_index("ix_rolloutdevice_rollout_status", "rolloutdevice", ["rollout_id", "status"])
    op.create_table(
        "drivestock",
        sa.Column("model_code", _S(length=32), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("model_code"),
    )
    op.create_table(
        "workorder",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("register_id", sa.Integer(), nullable=False),
        sa.Column("drive_id", sa.Integer(), nullable=False),
        sa.Column("fn_number", _S(length=16), nullable=False),
        sa.Column("model_code", _S(length=32), nullable=False),
        sa.Column("due_day", sa.Integer(), nullable=False),
        sa.Column("status", _S(length=16), nullable=False),
        sa.Column("steps", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("closed_at", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(["register_id"], ["register.id"]),
        sa.ForeignKeyConstraint(["drive_id"], ["drive.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("drive_id"),
    )
    op.create_index("ix_workorder_register_id", "workorder", ["register_id"])
    op.create_index("ix_workorder_status", "workorder", ["status"])


def downgrade() -> None:
    """Revert."""
    op.drop_table("workorder")
    op.drop_table("drivestock")
    op.drop_table("rolloutdevice")
    op.drop_table("rollout")
    op.drop_table("firmwarebundle")
