"""The reports' tables: the sales rollup and the items rollup (pre-aggregates of documents),
their watermark, saved custom templates, auto-report schedules and finished reports.

`ReportRollup` sums settlement documents per register × UTC hour × (type, operation, tax
system, shift): a Moscow day is 24 whole UTC hours, so any period of days is a range of hours
and a month reads ~720 rows per register instead of every receipt. `ReportItem` sums item
lines (1059) per register × Moscow day × item name for the ABC report.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, LargeBinary, Table, Text, text
from sqlmodel import Field, SQLModel

from fleet.documents.models import FiscalDocument

__all__ = [
    "ReportDaily",
    "ReportItem",
    "ReportMark",
    "ReportRollup",
    "ReportRun",
    "ReportSchedule",
    "ReportShift",
    "ReportTemplate",
]


_DOCS: Table = FiscalDocument.__table__  # type: ignore[attr-defined]
# the lists of documents a few reports read, small partial indexes (declared here, next to
# their readers, as fleet/receipts_cabinet/models.py does): documents the OFD has not
# confirmed, and correction receipts
Index(
    "ix_fiscaldocument_pending",
    _DOCS.c.company_id,
    _DOCS.c.issued_at,
    postgresql_where=text("ofd_status = 'pending'"),
    sqlite_where=text("ofd_status = 'pending'"),
)
Index(
    "ix_fiscaldocument_corrections",
    _DOCS.c.company_id,
    _DOCS.c.issued_at,
    postgresql_where=text("doc_type IN (31, 41)"),
    sqlite_where=text("doc_type IN (31, 41)"),
)


def _big(default: int = 0) -> Column[int]:
    return Column(BigInteger, nullable=False, default=default)


class ReportRollup(SQLModel, table=True):
    """Counts and sums of one register's settlement documents of one kind in one UTC hour."""

    __table_args__ = (Index("ix_reportrollup_company_hour", "company_id", "hour"),)

    register_id: int = Field(primary_key=True)
    hour: int = Field(primary_key=True)  # issued_at // 3600
    doc_type: int = Field(primary_key=True)
    operation: int = Field(primary_key=True)  # 0: none
    tax_system: int = Field(primary_key=True)  # 0: none
    shift_number: int = Field(sa_column=Column(BigInteger, primary_key=True))  # 0: none
    company_id: int | None = Field(default=None)
    documents: int = 0
    total: int = Field(default=0, sa_column=_big())  # kopecks
    max_total: int = Field(default=0, sa_column=_big())
    first_at: float
    last_at: float
    # from the TLV (fleet/documents/content.py `extract`): payment forms and VAT sums
    cash: int = Field(default=0, sa_column=_big())  # 1031
    electronic: int = Field(default=0, sa_column=_big())  # 1081
    prepaid: int = Field(default=0, sa_column=_big())  # 1215
    credit: int = Field(default=0, sa_column=_big())  # 1216
    consideration: int = Field(default=0, sa_column=_big())  # 1217
    vat1102: int = Field(default=0, sa_column=_big())
    vat1103: int = Field(default=0, sa_column=_big())
    vat1104: int = Field(default=0, sa_column=_big())
    vat1105: int = Field(default=0, sa_column=_big())
    vat1106: int = Field(default=0, sa_column=_big())
    vat1107: int = Field(default=0, sa_column=_big())


class ReportDaily(SQLModel, table=True):
    """The rollup summed by Moscow day (no shift): a year reads ~365 rows per register and key.

    ``hour`` is the day's first UTC hour (day × 24 − 3), so readers of `ReportRollup` rows
    read these the same way."""

    __table_args__ = (Index("ix_reportdaily_company_hour", "company_id", "hour"),)

    register_id: int = Field(primary_key=True)
    hour: int = Field(primary_key=True)
    doc_type: int = Field(primary_key=True)
    operation: int = Field(primary_key=True)
    tax_system: int = Field(primary_key=True)
    company_id: int | None = Field(default=None)
    documents: int = 0
    total: int = Field(default=0, sa_column=_big())
    max_total: int = Field(default=0, sa_column=_big())
    first_at: float
    last_at: float
    cash: int = Field(default=0, sa_column=_big())
    electronic: int = Field(default=0, sa_column=_big())
    prepaid: int = Field(default=0, sa_column=_big())
    credit: int = Field(default=0, sa_column=_big())
    consideration: int = Field(default=0, sa_column=_big())
    vat1102: int = Field(default=0, sa_column=_big())
    vat1103: int = Field(default=0, sa_column=_big())
    vat1104: int = Field(default=0, sa_column=_big())
    vat1105: int = Field(default=0, sa_column=_big())
    vat1106: int = Field(default=0, sa_column=_big())
    vat1107: int = Field(default=0, sa_column=_big())


class ReportShift(SQLModel, table=True):
    """One register's shift: its first and last settlement document, sales and returns."""

    __table_args__ = (Index("ix_reportshift_company_first", "company_id", "first_at"),)

    register_id: int = Field(primary_key=True)
    shift_number: int = Field(sa_column=Column(BigInteger, primary_key=True))
    company_id: int | None = Field(default=None)
    first_at: float
    last_at: float
    receipts: int = 0  # sale receipts
    sales: int = Field(default=0, sa_column=_big())
    returns: int = Field(default=0, sa_column=_big())


class ReportItem(SQLModel, table=True):
    """Item lines of one register on one Moscow day under one name (sales minus returns)."""

    __table_args__ = (Index("ix_reportitem_company_day", "company_id", "day"),)

    register_id: int = Field(primary_key=True)
    day: int = Field(primary_key=True)  # (issued_at + 3 h) // 86400
    name: str = Field(primary_key=True, max_length=128)
    company_id: int | None = Field(default=None)
    quantity_milli: int = Field(default=0, sa_column=_big())  # 1023 × 1000
    revenue: int = Field(default=0, sa_column=_big())  # 1043, kopecks
    lines: int = 0


class ReportMark(SQLModel, table=True):
    """How far the rollup job has read: documents with id ≤ ``through_id`` are in the rollups."""

    name: str = Field(primary_key=True, max_length=32)
    through_id: int = Field(default=0, sa_column=_big())
    updated_at: float = 0.0


class ReportTemplate(SQLModel, table=True):
    """A saved custom report: a ready report with chosen columns, grouping, filters, sort."""

    id: int | None = Field(default=None, primary_key=True)
    company_id: int = Field(foreign_key="company.id", index=True)
    user_id: int | None = Field(default=None, foreign_key="user.id")
    name: str = Field(max_length=120)
    base: str = Field(max_length=40)  # a ready report's code
    columns: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    group_by: str = Field(default="", max_length=40)
    sort: str = Field(default="", max_length=41)  # a column key, "-" first for descending
    filters: str = Field(default="{}", sa_column=Column(Text, nullable=False, default="{}"))
    created_at: float
    updated_at: float


class ReportSchedule(SQLModel, table=True):
    """An auto-report: which report, how often, over which period, to whom, in which format."""

    id: int | None = Field(default=None, primary_key=True)
    company_id: int = Field(foreign_key="company.id", index=True)
    user_id: int | None = Field(default=None, foreign_key="user.id")
    report: str = Field(max_length=40)  # a ready report's code, or "" with template_id
    template_id: int | None = Field(default=None, foreign_key="reporttemplate.id")
    frequency: str = Field(max_length=16)  # daily | weekly | monthly
    period: str = Field(max_length=16)  # day | week | month: the last whole one
    fmt: str = Field(max_length=8)  # xlsx | csv | pdf
    email: str = Field(max_length=254)
    next_run_at: float = Field(index=True)
    last_run_at: float | None = None
    active: bool = True
    created_at: float


class ReportRun(SQLModel, table=True):
    """A finished report kept in the section (from a schedule or made by hand)."""

    __table_args__ = (Index("ix_reportrun_company_created", "company_id", "created_at"),)

    id: int | None = Field(default=None, primary_key=True)
    company_id: int = Field(foreign_key="company.id")
    schedule_id: int | None = Field(default=None, foreign_key="reportschedule.id")
    title: str = Field(max_length=200)
    fmt: str = Field(max_length=8)
    filename: str = Field(max_length=200)
    content: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    rows: int = 0
    emailed_to: str | None = Field(default=None, max_length=254)
    created_at: float
