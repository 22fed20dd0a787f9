"""Closing a drive's fiscal mode, confirmed by the OFD (issue 7).

The application records where its report's and its closing report's requisites came from:
"fleet" (checked against the fiscal document the register sent) or "manual" (typed for a
register whose drive's documents the fleet does not hold).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0036"
down_revision: str | None = "0035"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_S = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    """Apply."""
    with op.batch_alter_table("registrationapplication") as batch:
        batch.add_column(sa.Column("report_source", _S(length=16), nullable=True))
        batch.add_column(sa.Column("close_source", _S(length=16), nullable=True))


def downgrade() -> None:
    """Revert."""
    with op.batch_alter_table("registrationapplication") as batch:
        batch.drop_column("close_source")
        batch.drop_column("report_source")
