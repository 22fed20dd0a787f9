"""The register card's counters, counted from the documents in one aggregate query.

Days are calendar days in the store's time zone at its current UTC offset (Russian zones have
kept a fixed offset since 2014, so this is exact for them); a register without a store counts in
UTC. The query reads only columns of the covering index ``ix_fiscaldocument_register_issued``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Final
from zoneinfo import ZoneInfo

from sqlalchemy import Integer, and_, case, cast, func, literal, select
from sqlalchemy.sql import ColumnElement, Select

from fleet.documents.models import (
    CORRECTION_TYPES,
    RECEIPT_TYPES,
    TAX_SYSTEM_LABEL,
    DocType,
    FiscalDocument,
    OfdStatus,
    Operation,
)

__all__ = ["DAY_S", "Counters", "counters_from_row", "counters_statement", "utc_offset_s"]

DAY_S: Final = 86400
_T = FiscalDocument.__table__.c  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Counters:
    """What the card shows about a register's documents."""

    receipts: dict[str, int]  # by operation: income, income_return, expense, expense_return
    bso: int
    correction_receipts: int
    documents_total: int
    ofd_accepted: int
    ofd_rejected: int
    ofd_pending: int
    marked_receipts: int
    shifts: int
    shift_open: bool
    working_days: int
    idle_days: int
    days_timezone: str
    tax_systems: list[str] = field(default_factory=list)
    first_document_at: float | None = None
    last_document_at: float | None = None


def utc_offset_s(timezone: str | None, at: float) -> int:
    """The zone's UTC offset in seconds at ``at`` (0 for no zone: UTC)."""
    if timezone is None:
        return 0
    offset = dt.datetime.fromtimestamp(at, ZoneInfo(timezone)).utcoffset()
    return 0 if offset is None else int(offset.total_seconds())


def _day(dialect: str, offset_s: int) -> ColumnElement[Any]:
    shifted = (_T.issued_at + literal(offset_s)) / literal(DAY_S)
    if dialect == "postgresql":
        return func.floor(shifted)
    return cast(shifted, Integer)  # SQLite truncates; times after 1970 are positive


def _count(condition: ColumnElement[bool]) -> ColumnElement[Any]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def counters_statement(register_id: int, *, dialect: str, offset_s: int) -> Select[Any]:
    """The one aggregate query behind the card (the bench runs it bare as the baseline)."""
    receipt = _T.doc_type == int(DocType.RECEIPT)
    columns: list[ColumnElement[Any]] = [func.count().label("total")]
    columns += [
        _count(and_(receipt, _T.operation == int(op))).label(f"op{int(op)}") for op in Operation
    ]
    columns += [
        _count(_T.doc_type == int(DocType.BSO)).label("bso"),
        _count(_T.doc_type.in_([int(t) for t in CORRECTION_TYPES])).label("corrections"),
        _count(_T.ofd_status == OfdStatus.ACCEPTED.value).label("accepted"),
        _count(_T.ofd_status == OfdStatus.REJECTED.value).label("rejected"),
        _count(_T.ofd_status == OfdStatus.PENDING.value).label("pending"),
        _count(and_(_T.has_marking, _T.doc_type.in_([int(t) for t in RECEIPT_TYPES]))).label(
            "marked"
        ),
        _count(_T.doc_type == int(DocType.SHIFT_OPEN)).label("shifts"),
        func.count(func.distinct(_day(dialect, offset_s))).label("days"),
        func.min(_T.issued_at).label("first_at"),
        func.max(_T.issued_at).label("last_at"),
    ]
    columns += [
        _count(_T.tax_system.op("&")(bit) != 0).label(f"tax{bit}") for bit in TAX_SYSTEM_LABEL
    ]
    return select(*columns).where(_T.register_id == register_id)


def counters_from_row(
    row: Any,
    *,
    shift_open: bool,
    offset_s: int,
    timezone: str | None,
    paid_at: float | None,
    now: float,
) -> Counters:
    """Turn the aggregate row into counters; idle days run from payment or the first document."""
    working = int(row.days)
    starts = [t for t in (paid_at, row.first_at) if t is not None]
    idle = 0
    if starts:
        first_day = (int(min(starts)) + offset_s) // DAY_S
        today = (int(now) + offset_s) // DAY_S
        idle = max(0, today - first_day + 1 - working)
    return Counters(
        receipts={
            "income": int(row.op1),
            "income_return": int(row.op2),
            "expense": int(row.op3),
            "expense_return": int(row.op4),
        },
        bso=int(row.bso),
        correction_receipts=int(row.corrections),
        documents_total=int(row.total),
        ofd_accepted=int(row.accepted),
        ofd_rejected=int(row.rejected),
        ofd_pending=int(row.pending),
        marked_receipts=int(row.marked),
        shifts=int(row.shifts),
        shift_open=shift_open,
        working_days=working,
        idle_days=idle,
        days_timezone=timezone or "UTC",
        tax_systems=[name for bit, name in TAX_SYSTEM_LABEL.items() if getattr(row, f"tax{bit}")],
        first_document_at=None if row.first_at is None else float(row.first_at),
        last_document_at=None if row.last_at is None else float(row.last_at),
    )
