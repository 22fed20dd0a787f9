"""Reports (issue 12): report templates, schedules, finished reports, pre-aggregates."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_S = sqlmodel.sql.sqltypes.AutoString


def upgrade() -> None:
    """Apply."""
    op.create_table(
        "reportrollup",
        sa.Column("register_id", sa.Integer(), nullable=False),
        sa.Column("hour", sa.Integer(), nullable=False),
        sa.Column("doc_type", sa.Integer(), nullable=False),
        sa.Column("operation", sa.Integer(), nullable=False),
        sa.Column("tax_system", sa.Integer(), nullable=False),
        sa.Column("shift_number", sa.BigInteger(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=True),
        sa.Column("documents", sa.Integer(), nullable=False),
        sa.Column("total", sa.BigInteger(), nullable=False),
        sa.Column("max_total", sa.BigInteger(), nullable=False),
        sa.Column("first_at", sa.Float(), nullable=False),
        sa.Column("last_at", sa.Float(), nullable=False),
        sa.Column("cash", sa.BigInteger(), nullable=False),
        sa.Column("electronic", sa.BigInteger(), nullable=False),
        sa.Column("prepaid", sa.BigInteger(), nullable=False),
        sa.Column("credit", sa.BigInteger(), nullable=False),
        sa.Column("consideration", sa.BigInteger(), nullable=False),
        sa.Column("vat1102", sa.BigInteger(), nullable=False),
        sa.Column("vat1103", sa.BigInteger(), nullable=False),
        sa.Column("vat1104", sa.BigInteger(), nullable=False),
        sa.Column("vat1105", sa.BigInteger(), nullable=False),
        sa.Column("vat1106", sa.BigInteger(), nullable=False),
        sa.Column("vat1107", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "register_id", "hour", "doc_type", "operation", "tax_system", "shift_number"
        ),
    )
    op.create_index("ix_reportrollup_company_hour", "reportrollup", ["company_id", "hour"])
    op.create_table(
        "reportdaily",
        sa.Column("register_id", sa.Integer(), nullable=False),
        sa.Column("hour", sa.Integer(), nullable=False),
        sa.Column("doc_type", sa.Integer(), nullable=False),
        sa.Column("operation", sa.Integer(), nullable=False),
        sa.Column("tax_system", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=True),
        sa.Column("documents", sa.Integer(), nullable=False),
        sa.Column("total", sa.BigInteger(), nullable=False),
        sa.Column("max_total", sa.BigInteger(), nullable=False),
        sa.Column("first_at", sa.Float(), nullable=False),
        sa.Column("last_at", sa.Float(), nullable=False),
        sa.Column("cash", sa.BigInteger(), nullable=False),
        sa.Column("electronic", sa.BigInteger(), nullable=False),
        sa.Column("prepaid", sa.BigInteger(), nullable=False),
        sa.Column("credit", sa.BigInteger(), nullable=False),
        sa.Column("consideration", sa.BigInteger(), nullable=False),
        sa.Column("vat1102", sa.BigInteger(), nullable=False),
        sa.Column("vat1103", sa.BigInteger(), nullable=False),
        sa.Column("vat1104", sa.BigInteger(), nullable=False),
        sa.Column("vat1105", sa.BigInteger(), nullable=False),
        sa.Column("vat1106", sa.BigInteger(), nullable=False),
        sa.Column("vat1107", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("register_id", "hour", "doc_type", "operation", "tax_system"),
    )
    op.create_index("ix_reportdaily_company_hour", "reportdaily", ["company_id", "hour"])
    op.create_table(
        "reportshift",
        sa.Column("register_id", sa.Integer(), nullable=False),
        sa.Column("shift_number", sa.BigInteger(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=True),
        sa.Column("first_at", sa.Float(), nullable=False),
        sa.Column("last_at", sa.Float(), nullable=False),
        sa.Column("receipts", sa.Integer(), nullable=False),
        sa.Column("sales", sa.BigInteger(), nullable=False),
        sa.Column("returns", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("register_id", "shift_number"),
    )
    op.create_index("ix_reportshift_company_first", "reportshift", ["company_id", "first_at"])
    for name, where in (
        ("ix_fiscaldocument_pending", "ofd_status = 'pending'"),
        ("ix_fiscaldocument_corrections", "doc_type IN (31, 41)"),
    ):
        op.create_index(
            name,
            "fiscaldocument",
            ["company_id", "issued_at"],
            postgresql_where=sa.text(where),
            sqlite_where=sa.text(where),
        )
    op.create_table(
        "reportitem",
        sa.Column("register_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Integer(), nullable=False),
        sa.Column("name", _S(length=128), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=True),
        sa.Column("quantity_milli", sa.BigInteger(), nullable=False),
        sa.Column("revenue", sa.BigInteger(), nullable=False),
        sa.Column("lines", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("register_id", "day", "name"),
    )
    op.create_index("ix_reportitem_company_day", "reportitem", ["company_id", "day"])
    op.create_table(
        "reportmark",
        sa.Column("name", _S(length=32), nullable=False),
        sa.Column("through_id", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "reporttemplate",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("name", _S(length=120), nullable=False),
        sa.Column("base", _S(length=40), nullable=False),
        sa.Column("columns", sa.Text(), nullable=False),
        sa.Column("group_by", _S(length=40), nullable=False),
        sa.Column("sort", _S(length=41), nullable=False),
        sa.Column("filters", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["company_id"], ["company.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_reporttemplate_company_id", "reporttemplate", ["company_id"])
    op.create_table(
        "reportschedule",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("report", _S(length=40), nullable=False),
        sa.Column("template_id", sa.Integer(), nullable=True),
        sa.Column("frequency", _S(length=16), nullable=False),
        sa.Column("period", _S(length=16), nullable=False),
        sa.Column("fmt", _S(length=8), nullable=False),
        sa.Column("email", _S(length=254), nullable=False),
        sa.Column("next_run_at", sa.Float(), nullable=False),
        sa.Column("last_run_at", sa.Float(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["company_id"], ["company.id"]),
        sa.ForeignKeyConstraint(["template_id"], ["reporttemplate.id"]),
        sa.ForeignKeyConstraint(["user_id"], ["user.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_reportschedule_company_id", "reportschedule", ["company_id"])
    op.create_index("ix_reportschedule_next_run_at", "reportschedule", ["next_run_at"])
    op.create_table(
        "reportrun",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("company_id", sa.Integer(), nullable=False),
        sa.Column("schedule_id", sa.Integer(), nullable=True),
        sa.Column("title", _S(length=200), nullable=False),
        sa.Column("fmt", _S(length=8), nullable=False),
        sa.Column("filename", _S(length=200), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("emailed_to", _S(length=254), nullable=True),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(["company_id"], ["company.id"]),
        sa.ForeignKeyConstraint(["schedule_id"], ["reportschedule.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_reportrun_company_created", "reportrun", ["company_id", "created_at"])


def downgrade() -> None:
    """Revert."""
    op.drop_index("ix_reportrun_company_created", table_name="reportrun")
    op.drop_table("reportrun")
    op.drop_index("ix_reportschedule_next_run_at", table_name="reportschedule")
    op.drop_index("ix_reportschedule_company_id", table_name="reportschedule")
    op.drop_table("reportschedule")
    op.drop_index("ix_reporttemplate_company_id", table_name="reporttemplate")
    op.drop_table("reporttemplate")
    op.drop_table("reportmark")
    op.drop_index("ix_fiscaldocument_corrections", table_name="fiscaldocument")
    op.drop_index("ix_fiscaldocument_pending", table_name="fiscaldocument")
    op.drop_index("ix_reportshift_company_first", table_name="reportshift")
    op.drop_table("reportshift")
    op.drop_index("ix_reportdaily_company_hour", table_name="reportdaily")
    op.drop_table("reportdaily")
    op.drop_index("ix_reportitem_company_day", table_name="reportitem")
    op.drop_table("reportitem")
    op.drop_index("ix_reportrollup_company_hour", table_name="reportrollup")
    op.drop_table("reportrollup")
