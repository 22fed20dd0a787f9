"""Registration and the drive lifecycle (issue 7).

The forecast is updated as the reports are recorded (`fleet.drives.rollup.absorb` adds each
batch to its drives' sums and recomputes their dates), so the pending sums 0014 added for an
end-of-day fold go: what is still pending is moved into the sums first and those drives' dates
are recomputed (the formula of `fleet.drives.forecast.dates_sql` as of this revision, with
the default lead time of 30 days).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0032"
down_revision: str | None = "0031"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_LEAD_DAYS = 30  # fleet.drives.forecast.DEFAULT_LEAD_DAYS when this was written
_HORIZON_DAYS = 100_000
_PENDING = ("pending", "pn", "psx", "psy", "psxy", "psxx")


def _dates(postgresql: bool) -> str:
    """SET clauses for full_day and replace_by from the (already folded) sums."""
    f = "DOUBLE PRECISION" if postgresql else "REAL"
    num = f"CAST(n * sxy - sx * sy AS {f})"
    den = f"CAST(n * sxx - sx * sx AS {f})"
    days_left = f"((100.0 - CAST(sy AS {f}) / n) * {den} / {num})"
    full = f"(CAST(sx AS {f}) / n + {days_left})"
    floor = f"CAST(floor({full}) AS INTEGER)" if postgresql else f"CAST({full} AS INTEGER)"
    full_day = (
        f"CASE WHEN n >= 2 AND n * sxy - sx * sy > 0 THEN CASE WHEN {days_left} < "
        f"{_HORIZON_DAYS} THEN {floor} END END"
    )
    replace = (
        f"CASE WHEN expires_day IS NULL AND ({full_day}) IS NULL THEN NULL "
        f"WHEN expires_day IS NULL THEN ({full_day}) - {_LEAD_DAYS} "
        f"WHEN ({full_day}) IS NULL OR expires_day <= ({full_day}) "
        f"THEN expires_day - {_LEAD_DAYS} ELSE ({full_day}) - {_LEAD_DAYS} END"
    )
    return f"full_day = {full_day}, replace_by = {replace}"


def upgrade() -> None:
    """Apply."""
    postgresql = op.get_bind().dialect.name == "postgresql"
    # two statements: the dates read the folded sums (SET clauses see the old row)
    op.execute(
        "UPDATE driveforecast SET n = n + pn, sx = sx + psx, sy = sy + psy, "
        "  sxy = sxy + psxy, sxx = sxx + psxx, pn = 0 WHERE pending"
    )
    op.execute(f"UPDATE driveforecast SET {_dates(postgresql)} WHERE pending")
    with op.batch_alter_table("driveforecast", schema=None) as batch_op:
        for name in reversed(_PENDING):
            batch_op.drop_column(name)


def downgrade() -> None:
    """Revert (nothing pending: the sums are complete)."""
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
        for name in _PENDING:
            batch_op.alter_column(name, server_default=None)
