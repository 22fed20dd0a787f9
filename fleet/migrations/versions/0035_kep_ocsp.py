"""KEP revocation by OCSP (issue 7): how the signer's certificate status was checked."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0035"
down_revision: str | None = "0034"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """registrationapplication.signer_status: the OCSP answer or CRL the check relied on."""
    with op.batch_alter_table("registrationapplication", schema=None) as batch_op:
        batch_op.add_column(sa.Column("signer_status", sa.Text(), nullable=True))


def downgrade() -> None:
    """Revert."""
    with op.batch_alter_table("registrationapplication", schema=None) as batch_op:
        batch_op.drop_column("signer_status")
