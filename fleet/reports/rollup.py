"""The `reports-rollup` job and the sales source every sales report reads.

The job reads documents past its watermark in id order (at most `BATCH` a run), sums the
settlement ones into `ReportRollup` (register × UTC hour × type, operation, tax system, shift)
and their item lines into `ReportItem` (register × Moscow day × name), upserting so a run adds
to the rows earlier runs made, and moves the watermark — all in the job's one transaction.
As the facts job (fleet/receipts_cabinet/facts.py) it stops before any document received in the
last `LAG_S` seconds: ids are taken at insert, not commit, so a younger id may become visible
before an older one.

`sales_source` is the rollup's rows in a period plus the same sums computed from the raw
documents past the watermark, so a report sees a receipt the moment it is stored.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import Integer, Table, case, cast, false, func, literal, select, union_all
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.sql import Subquery
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session

from fleet.core.clock import Clock
from fleet.documents.content import extract
from fleet.documents.models import RECEIPT_TYPES, FiscalDocument, Operation
from fleet.reports import items
from fleet.reports.models import (
    ReportDaily,
    ReportItem,
    ReportMark,
    ReportRollup,
    ReportShift,
)

__all__ = [
    "BATCH",
    "HOUR",
    "LAG_S",
    "MONEY",
    "MSK_OFFSET",
    "Scope",
    "item_source",
    "money_tail",
    "refresh",
    "sales_source",
    "shift_source",
    "watermark",
]

HOUR: Final = 3600
DAY: Final = 86400
MSK_OFFSET: Final = 3 * HOUR  # Moscow has no DST: a Moscow day is 24 whole UTC hours
LAG_S: Final = 60.0
BATCH: Final = 200_000
MARK_NAME: Final = "reports-rollup"
_DOCS: Table = FiscalDocument.__table__  # type: ignore[attr-defined]
_ROLL: Table = ReportRollup.__table__  # type: ignore[attr-defined]
_DAILY: Table = ReportDaily.__table__  # type: ignore[attr-defined]
_SHIFT: Table = ReportShift.__table__  # type: ignore[attr-defined]
_SALE_TYPES: Final = (3, 4)  # receipts and БСО: corrections are not sales
_DAY_KEY: Final = ("register_id", "hour", "doc_type", "operation", "tax_system")
_ITEM: Table = ReportItem.__table__  # type: ignore[attr-defined]
_RECEIPT_TYPES: Final = tuple(int(t) for t in RECEIPT_TYPES)
_SIGN: Final = {int(Operation.INCOME): 1, int(Operation.INCOME_RETURN): -1}
#: the rollup's sums read from the TLV (payment forms, VAT), named as `Content`'s fields
MONEY: Final = (
    "cash", "electronic", "prepaid", "credit", "consideration",
    "vat1102", "vat1103", "vat1104", "vat1105", "vat1106", "vat1107",
)  # fmt: skip
_KEY: Final = ("register_id", "hour", "doc_type", "operation", "tax_system", "shift_number")


@dataclass(frozen=True)
class Scope:
    """Which documents a report reads: one company, UTC seconds [start, end), and the
    registers (None: every register of the company)."""

    company_id: int
    start: float
    end: float
    registers: tuple[int, ...] | None = None

    @property
    def hours(self) -> tuple[int, int]:
        """The period as UTC hour numbers [from, to) (periods are whole Moscow days)."""
        return int(self.start // HOUR), int(-(-self.end // HOUR))

    @property
    def days(self) -> tuple[int, int]:
        """The period as Moscow day numbers [from, to)."""
        return int((self.start + MSK_OFFSET) // DAY), int(-(-(self.end + MSK_OFFSET) // DAY))


def watermark(session: Session) -> int:
    """Every document with id ≤ this is in the rollups."""
    row = session.get(ReportMark, MARK_NAME)
    return row.through_id if row is not None else 0


def _hour_of(session: Session, issued: Any) -> ColumnElement[int]:
    if session.get_bind().dialect.name == "sqlite":
        return cast(issued / HOUR, Integer)  # issued_at > 0: truncation is floor
    return cast(func.floor(issued / HOUR), Integer)


def _insert(session: Session, table: Table) -> Any:
    return (sqlite_insert if session.get_bind().dialect.name == "sqlite" else pg_insert)(table)


def _greatest(session: Session, a: Any, b: Any) -> Any:
    return (func.max if session.get_bind().dialect.name == "sqlite" else func.greatest)(a, b)


def _least(session: Session, a: Any, b: Any) -> Any:
    return (func.min if session.get_bind().dialect.name == "sqlite" else func.least)(a, b)


def _sums(session: Session, where: list[ColumnElement[bool]], *, daily: bool = False) -> Any:
    """The rollup's sums over documents matching ``where`` (grouped as the hourly rollup's
    key, or as the daily one's: the Moscow day's first UTC hour and shift 0)."""
    c = _DOCS.c
    utc_hour = _hour_of(session, c.issued_at)
    msk = MSK_OFFSET // HOUR
    hour = (((utc_hour + msk) // 24) * 24 - msk if daily else utc_hour).label("hour")
    op = func.coalesce(c.operation, 0).label("operation")
    tax = func.coalesce(c.tax_system, 0).label("tax_system")
    shift = (literal(0) if daily else func.coalesce(c.shift_number, 0)).label("shift_number")
    return (
        select(
            c.register_id,
            hour,
            c.doc_type,
            op,
            tax,
            shift,
            c.company_id,
            func.count().label("documents"),
            func.coalesce(func.sum(c.total), 0).label("total"),
            func.coalesce(func.max(c.total), 0).label("max_total"),
            func.min(c.issued_at).label("first_at"),
            func.max(c.issued_at).label("last_at"),
            # the TLV's sums of documents past the watermark: `money_tail` reads them
            *(literal(0).label(m) for m in MONEY),
        )
        .where(c.doc_type.in_(_RECEIPT_TYPES), *where)
        .group_by(
            c.register_id, hour, c.doc_type, op, tax, c.company_id, *(() if daily else (shift,))
        )
    )


def refresh(session: Session, clock: Clock) -> int:
    """The job: fold documents past the watermark into the rollups; returns documents read."""
    mark = session.get(ReportMark, MARK_NAME)
    if mark is None:
        mark = ReportMark(name=MARK_NAME, through_id=0, updated_at=clock.wall())
        session.add(mark)
        session.flush()
    c = _DOCS.c
    conn = session.connection()
    batch = conn.execute(
        select(c.id, c.received_at).where(c.id > mark.through_id).order_by(c.id).limit(BATCH)
    ).all()
    horizon = clock.wall() - LAG_S
    upto = mark.through_id
    for doc_id, received_at in batch:
        if received_at > horizon:
            break
        upto = doc_id
    if upto == mark.through_id:
        return 0
    span = [c.id > mark.through_id, c.id <= upto]
    groups = conn.execute(_sums(session, span)).mappings().all()
    if groups:
        _upsert_rollup(session, [dict(g) for g in groups])
    _fold_tlv(session, span)
    read = sum(1 for doc_id, _ in batch if doc_id <= upto)
    mark.through_id = upto
    mark.updated_at = clock.wall()
    session.add(mark)
    session.flush()
    return read


def _upsert_rollup(session: Session, rows: list[dict[str, Any]]) -> None:
    """Add the rows' counts and sums to the hourly rollup rows of the same key, and their
    sums by Moscow day to the daily ones."""
    _upsert(session, _ROLL, _KEY, rows)
    days: dict[tuple[int, ...], dict[str, Any]] = {}
    for r in rows:
        # the Moscow day's first UTC hour: (hour + 3) // 24 * 24 − 3
        hour = (r["hour"] + MSK_OFFSET // HOUR) // 24 * 24 - MSK_OFFSET // HOUR
        key = (r["register_id"], hour, r["doc_type"], r["operation"], r["tax_system"])
        d = days.get(key)
        if d is None:
            days[key] = {k: v for k, v in r.items() if k != "shift_number"} | {"hour": hour}
            continue
        d["documents"] += r["documents"]
        d["total"] += r["total"]
        d["max_total"] = max(d["max_total"], r["max_total"])
        d["first_at"] = min(d["first_at"], r["first_at"])
        d["last_at"] = max(d["last_at"], r["last_at"])
        for m in MONEY:
            d[m] += r[m]
    _upsert(session, _DAILY, _DAY_KEY, list(days.values()))
    shifts: dict[tuple[int, int], dict[str, Any]] = {}
    for r in rows:
        key2 = (r["register_id"], r["shift_number"])
        sh = shifts.setdefault(key2, {
            "register_id": key2[0], "shift_number": key2[1], "company_id": r["company_id"],
            "first_at": r["first_at"], "last_at": r["last_at"],
            "receipts": 0, "sales": 0, "returns": 0,
        })  # fmt: skip
        sh["first_at"] = min(sh["first_at"], r["first_at"])
        sh["last_at"] = max(sh["last_at"], r["last_at"])
        if r["doc_type"] in _SALE_TYPES and r["operation"] == int(Operation.INCOME):
            sh["receipts"] += r["documents"]
            sh["sales"] += r["total"]
        elif r["doc_type"] in _SALE_TYPES and r["operation"] == int(Operation.INCOME_RETURN):
            sh["returns"] += r["total"]
    ins = _insert(session, _SHIFT)
    x = ins.excluded
    session.connection().execute(
        ins.on_conflict_do_update(
            index_elements=["register_id", "shift_number"],
            set_={
                "first_at": _least(session, _SHIFT.c.first_at, x.first_at),
                "last_at": _greatest(session, _SHIFT.c.last_at, x.last_at),
                "receipts": _SHIFT.c.receipts + x.receipts,
                "sales": _SHIFT.c.sales + x.sales,
                "returns": _SHIFT.c.returns + x.returns,
            },
        ),
        list(shifts.values()),
    )


def _upsert(session: Session, table: Table, key: tuple[str, ...], rows: list[Any]) -> None:
    ins = _insert(session, table)
    x = ins.excluded
    session.connection().execute(
        ins.on_conflict_do_update(
            index_elements=list(key),
            set_={
                "documents": table.c.documents + x.documents,
                "total": table.c.total + x.total,
                "max_total": _greatest(session, table.c.max_total, x.max_total),
                "first_at": _least(session, table.c.first_at, x.first_at),
                "last_at": _greatest(session, table.c.last_at, x.last_at),
                **{m: table.c[m] + x[m] for m in MONEY},
            },
        ),
        rows,
    )


def _money(tlv: bytes) -> list[int]:
    content = extract(tlv)
    return [int(getattr(content, m) or 0) for m in MONEY]


def _fold_tlv(session: Session, span: list[ColumnElement[bool]]) -> None:
    """What only the TLV says: payment and VAT sums into the rollup, item lines into items."""
    c = _DOCS.c
    acc: dict[tuple[int, int, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    money: dict[tuple[int, ...], list[Any]] = {}
    rows = session.connection().execute(
        select(
            c.register_id,
            c.company_id,
            c.issued_at,
            c.doc_type,
            c.operation,
            c.tax_system,
            c.shift_number,
            c.tlv,
        ).where(*span, c.doc_type.in_(_RECEIPT_TYPES), c.tlv.is_not(None))
    )
    for register_id, company_id, issued_at, doc_type, operation, tax, shift, tlv in rows:
        data = bytes(tlv)
        key = (register_id, int(issued_at // HOUR), doc_type, operation or 0, tax or 0, shift or 0)
        m = money.setdefault(key, [company_id, issued_at, issued_at, [0] * len(MONEY)])
        m[1], m[2] = min(m[1], issued_at), max(m[2], issued_at)
        m[3] = [a + b for a, b in zip(m[3], _money(data), strict=True)]
        if operation not in _SIGN:
            continue
        sign = _SIGN[operation]
        day = int((issued_at + MSK_OFFSET) // DAY)
        for line in items.lines(data):
            a = acc[(register_id, day, line.name)]
            a[0] += sign * line.quantity_milli
            a[1] += sign * line.total
            a[2] += 1
            a[3] = company_id or 0
    if money:
        _upsert_rollup(
            session,
            [
                {
                    **dict(zip(_KEY, key, strict=True)),
                    "company_id": m[0],
                    "documents": 0,
                    "total": 0,
                    "max_total": 0,
                    "first_at": m[1],
                    "last_at": m[2],
                    **dict(zip(MONEY, m[3], strict=True)),
                }
                for key, m in money.items()
            ],
        )
    if not acc:
        return
    ins = _insert(session, _ITEM)
    x = ins.excluded
    session.connection().execute(
        ins.on_conflict_do_update(
            index_elements=["register_id", "day", "name"],
            set_={
                "quantity_milli": _ITEM.c.quantity_milli + x.quantity_milli,
                "revenue": _ITEM.c.revenue + x.revenue,
                "lines": _ITEM.c.lines + x.lines,
            },
        ),
        [
            {
                "register_id": reg,
                "day": day,
                "name": name,
                "company_id": a[3] or None,
                "quantity_milli": a[0],
                "revenue": a[1],
                "lines": a[2],
            }
            for (reg, day, name), a in acc.items()
        ],
    )


def _register_filter(col_: Any, scope: Scope) -> list[ColumnElement[bool]]:
    if scope.registers is None:
        return []
    return [col_.in_(scope.registers) if scope.registers else false()]


def sales_source(session: Session, scope: Scope, *, daily: bool = True) -> Subquery:
    """Rollup-shaped rows (register_id, hour, doc_type, operation, tax_system, shift_number,
    company_id, documents, total, max_total, first_at, last_at, the `MONEY` sums) for the
    scope: the daily (or, for hours and shifts, the hourly) rollup in the period plus the raw
    documents past the watermark. Daily rows have shift 0 and the day's first hour."""
    r = _DAILY.c if daily else _ROLL.c
    h0, h1 = scope.hours
    rolled = select(
        r.register_id,
        r.hour,
        r.doc_type,
        r.operation,
        r.tax_system,
        (literal(0).label("shift_number") if daily else r.shift_number),
        r.company_id,
        r.documents,
        r.total,
        r.max_total,
        r.first_at,
        r.last_at,
        *(r[m] for m in MONEY),
    ).where(
        r.company_id == scope.company_id,
        r.hour >= h0,
        r.hour < h1,
        *_register_filter(r.register_id, scope),
    )
    c = _DOCS.c
    tail = _sums(
        session,
        daily=daily,
        where=[
            c.id > watermark(session),
            c.company_id == scope.company_id,
            c.issued_at >= scope.start,
            c.issued_at < scope.end,
            *_register_filter(c.register_id, scope),
        ],
    )
    return union_all(rolled, tail).subquery("sales")


def shift_source(session: Session, scope: Scope) -> Subquery:
    """(register_id, shift_number, first_at, last_at, receipts, sales, returns) of the shifts
    whose first document is in the period, plus the period's documents past the watermark."""
    sh = _SHIFT.c
    rolled = select(
        sh.register_id, sh.shift_number, sh.first_at, sh.last_at, sh.receipts, sh.sales,
        sh.returns,
    ).where(
        sh.company_id == scope.company_id,
        sh.first_at >= scope.start,
        sh.first_at < scope.end,
        *_register_filter(sh.register_id, scope),
    )  # fmt: skip
    c = _DOCS.c
    sale = (c.doc_type.in_(_SALE_TYPES)) & (c.operation == int(Operation.INCOME))
    ret = (c.doc_type.in_(_SALE_TYPES)) & (c.operation == int(Operation.INCOME_RETURN))
    shift = func.coalesce(c.shift_number, 0)
    tail = (
        select(
            c.register_id,
            shift.label("shift_number"),
            func.min(c.issued_at).label("first_at"),
            func.max(c.issued_at).label("last_at"),
            func.sum(case((sale, 1), else_=0)).label("receipts"),
            func.sum(case((sale, func.coalesce(c.total, 0)), else_=0)).label("sales"),
            func.sum(case((ret, func.coalesce(c.total, 0)), else_=0)).label("returns"),
        )
        .where(
            c.id > watermark(session),
            c.company_id == scope.company_id,
            c.issued_at >= scope.start,
            c.issued_at < scope.end,
            c.doc_type.in_(_RECEIPT_TYPES),
            *_register_filter(c.register_id, scope),
        )
        .group_by(c.register_id, shift)
    )
    return union_all(rolled, tail).subquery("shifts")


def money_tail(session: Session, scope: Scope) -> dict[tuple[int, int], list[int]]:
    """(doc_type, operation) → the `MONEY` sums of the scope's documents past the watermark
    (read from their TLVs now: `sales_source` has zeros for them)."""
    c = _DOCS.c
    out: dict[tuple[int, int], list[int]] = {}
    for doc_type, operation, tlv in session.connection().execute(
        select(c.doc_type, c.operation, c.tlv).where(
            c.id > watermark(session),
            c.company_id == scope.company_id,
            c.issued_at >= scope.start,
            c.issued_at < scope.end,
            c.doc_type.in_(_RECEIPT_TYPES),
            c.tlv.is_not(None),
            *_register_filter(c.register_id, scope),
        )
    ):
        key = (doc_type, operation or 0)
        out[key] = [a + b for a, b in zip(out.get(key, [0] * len(MONEY)), _money(bytes(tlv)),
                                          strict=True)]  # fmt: skip
    return out


def item_source(session: Session, scope: Scope) -> Subquery:
    """Item rows (register_id, name, quantity_milli, revenue, lines) for the scope: the items
    rollup in the period plus the raw documents past the watermark (read in Python)."""
    t = _ITEM.c
    d0, d1 = scope.days
    rolled = select(t.register_id, t.name, t.quantity_milli, t.revenue, t.lines).where(
        t.company_id == scope.company_id,
        t.day >= d0,
        t.day < d1,
        *_register_filter(t.register_id, scope),
    )
    c = _DOCS.c
    acc: dict[tuple[int, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    for register_id, operation, tlv in session.connection().execute(
        select(c.register_id, c.operation, c.tlv).where(
            c.id > watermark(session),
            c.company_id == scope.company_id,
            c.issued_at >= scope.start,
            c.issued_at < scope.end,
            c.doc_type.in_(_RECEIPT_TYPES),
            c.operation.in_(tuple(_SIGN)),
            c.tlv.is_not(None),
            *_register_filter(c.register_id, scope),
        )
    ):
        sign = _SIGN[operation]
        for line in items.lines(bytes(tlv)):
            a = acc[(register_id, line.name)]
            a[0] += sign * line.quantity_milli
            a[1] += sign * line.total
            a[2] += 1
    tails = [
        select(
            literal(reg).label("register_id"),
            literal(name).label("name"),
            literal(a[0]).label("quantity_milli"),
            literal(a[1]).label("revenue"),
            literal(a[2]).label("lines"),
        )
        for (reg, name), a in acc.items()
    ]
    return union_all(rolled, *tails).subquery("items")
