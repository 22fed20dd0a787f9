"""Issue 7: the forecast's per-period rollups and pending deltas, backfilled from the history.

The forecast stops scanning the raw history (36.5M rows a year for 100k drives): the
least-squares sums live per drive per 30-day period in ``driverollup`` (backfilled here from
``drivereport``; the expiries stay in ``driveforecast``), and each batch of reports adds its
contributions to pending sums on the drive's ``driveforecast`` row for the incremental fold.
Reports still in the inbox were in neither the history nor the sums: the next batch of reports
absorbs them with its own.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ROLLUP_DAYS = 30  # fleet.drives.models.ROLLUP_DAYS when this was written


def upgrade() -> None:
    """Apply."""
    # the pending sums on each forecast row (what reports added since the last fold)
    with op.batch_alter_table("driveforecast", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("pending", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("pn", sa.Integer(), nullable=False, server_default="0"))
        for name in ("psx", "psy", "psxy", "psxx"):
            batch_op.add_column(
                sa.Column(name, sa.BigInteger(), nullable=False, server_default="0")
            )
    with op.batch_alter_table("driveforecast", schema=None) as batch_op:
        for name in ("pending", "pn", "psx", "psy", "psxy", "psxx"):
            batch_op.alter_column(name, server_default=None)
    op.create_table(
        "driverollup",
        sa.Column("drive_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.Integer(), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("sx", sa.BigInteger(), nullable=False),
        sa.Column("sy", sa.BigInteger(), nullable=False),
        sa.Column("sxy", sa.BigInteger(), nullable=False),
        sa.Column("sxx", sa.BigInteger(), nullable=False),
        sa.Column("top_day", sa.Integer(), nullable=False),
        sa.Column("top_pct", sa.Integer(), nullable=False),
        sa.Column("expires_day", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("drive_id", "period"),
    )
    # the backfill: the history's exact integer sums per drive and period (the same numbers
    # fleet.drives.rollup.rollup_history computes); driveforecast already holds their totals
    op.execute(
        "INSERT INTO driverollup (drive_id, period, n, sx, sy, sxy, sxx, top_day, top_pct) "
        f"SELECT drive_id, day / {_ROLLUP_DAYS}, COUNT(*), SUM(CAST(day AS BIGINT)), "
        "  SUM(used_pct), SUM(CAST(day AS BIGINT) * used_pct), "
        "  SUM(CAST(day AS BIGINT) * day), MAX(day), MAX(used_pct) "
        f"FROM drivereport GROUP BY drive_id, day / {_ROLLUP_DAYS}"
    )


def downgrade() -> None:
    """Revert."""
    op.drop_table("driverollup")
    with op.batch_alter_table("driveforecast", schema=None) as batch_op:
        for name in ("psxx", "psxy", "psy", "psx", "pn", "pending"):
            batch_op.drop_column(name)
