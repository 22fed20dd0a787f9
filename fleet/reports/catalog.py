"""The ready reports (peers-and-regulations §4): one function each, registered in `REPORTS`.

Sales figures come from the rollup (rollup.py `sales_source`): «продажи» are receipts and БСО
with operation «Приход», «возвраты» those with «Возврат прихода», net revenue is sales minus
returns; corrections are counted apart. Lists (returns, corrections, the journal, marked goods)
read documents directly by the (company, issued_at) index and stop at `LIST_MAX` rows.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import Table, and_, case, func, select
from sqlalchemy.sql import Subquery
from sqlmodel import Session, col
from sqlmodel import select as orm_select

from fleet.compliance.catalogue import SEVERITY_LABEL, Severity, by_code
from fleet.compliance.models import ComplianceFinding
from fleet.delivery.models import DeliveryAttempt
from fleet.documents.models import (
    CORRECTION_TYPES,
    DOC_TYPE_LABEL,
    OPERATION_LABEL,
    RECEIPT_TYPES,
    TAX_SYSTEM_LABEL,
    DocType,
    FiscalDocument,
    Operation,
)
from fleet.drives.models import Drive, DriveForecast
from fleet.receipts_cabinet.models import ReceiptFacts
from fleet.registers.models import Register
from fleet.reports.chart import MAX_BARS
from fleet.reports.exceptions import ReportNotFoundError
from fleet.reports.rollup import (
    DAY,
    HOUR,
    MONEY,
    MSK_OFFSET,
    Scope,
    item_source,
    money_tail,
    sales_source,
    shift_source,
)
from fleet.reports.table import Column, Kind, ReportTable, Series
from fleet.stores.models import Store

__all__ = ["LIST_MAX", "REPORTS", "ReadyReport", "build", "report"]

LIST_MAX: Final = 1000
_DOCS: Table = FiscalDocument.__table__  # type: ignore[attr-defined]
_SALE_TYPES: Final = tuple(int(t) for t in RECEIPT_TYPES - CORRECTION_TYPES)
_CORR_TYPES: Final = tuple(int(t) for t in CORRECTION_TYPES)
_RECEIPT_TYPES: Final = tuple(int(t) for t in RECEIPT_TYPES)
_WEEKDAYS: Final = ("Пн", "Вт", "Ср", "Чт", "Пт", "Сб", "Вс")
OFD_LABEL: Final = {"pending": "Ждёт ОФД", "accepted": "Принят ОФД", "rejected": "Отклонён ОФД"}

Builder = Callable[[Session, Scope, "Scope | None"], ReportTable]


@dataclass(frozen=True)
class ReadyReport:
    """A ready report: code, Russian title, what it shows, and its builder."""

    code: str
    title: str
    about: str
    build: Builder
    needs_previous: bool = False


# ---- shared pieces ---------------------------------------------------------------------------


def _sums(s: Subquery) -> list[Any]:
    """Sales, returns and corrections counts and sums over a rollup-shaped source."""
    sale = and_(s.c.doc_type.in_(_SALE_TYPES), s.c.operation == int(Operation.INCOME))
    ret = and_(s.c.doc_type.in_(_SALE_TYPES), s.c.operation == int(Operation.INCOME_RETURN))
    corr = s.c.doc_type.in_(_CORR_TYPES)
    return [
        func.sum(case((sale, s.c.documents), else_=0)).label("sales_n"),
        func.sum(case((sale, s.c.total), else_=0)).label("sales"),
        func.sum(case((ret, s.c.documents), else_=0)).label("returns_n"),
        func.sum(case((ret, s.c.total), else_=0)).label("returns"),
        func.sum(case((corr, s.c.documents), else_=0)).label("corrections_n"),
        func.max(case((sale, s.c.max_total), else_=0)).label("max_check"),
    ]


def _num(row: Any, key: str) -> int:
    return int(row[key] or 0)


def _net(row: Any) -> int:
    return _num(row, "sales") - _num(row, "returns")


def _avg(total: int, n: int) -> int:
    """Kopecks rounded half away from zero in integers, as the General's report rounds (no
    float, no banker's rounding: 62008,5 kopecks is 620,09 ₽ on both)."""
    if not n:
        return 0
    whole = (2 * abs(total) + n) // (2 * n)
    return whole if total >= 0 else -whole


def _pct(part: int, whole: int) -> int:
    """Hundredths of a percent."""
    return round(part * 10000 / whole) if whole else 0


@dataclass(frozen=True)
class _Names:
    registers: dict[int, Register]
    stores: dict[int, Store]

    def register(self, register_id: int) -> str:
        r = self.registers.get(register_id)
        if r is None:
            return f"№ {register_id}"
        return r.name or r.serial or f"№ {register_id}"

    def store_of(self, register_id: int) -> int | None:
        r = self.registers.get(register_id)
        return r.store_id if r is not None else None


def _names(session: Session, company_id: int) -> _Names:
    regs = session.exec(orm_select(Register).where(Register.company_id == company_id)).all()
    stores = session.exec(orm_select(Store).where(Store.company_id == company_id)).all()
    return _Names(
        {r.id: r for r in regs if r.id is not None},
        {s.id: s for s in stores if s.id is not None},
    )


def _address(store: Store) -> str:
    if store.website:
        return store.website
    return ", ".join(p for p in (store.city, store.street, store.house) if p)


def _period(scope: Scope) -> str:
    start = dt.datetime.fromtimestamp(scope.start, dt.UTC) + dt.timedelta(seconds=MSK_OFFSET)
    end = dt.datetime.fromtimestamp(scope.end - 1, dt.UTC) + dt.timedelta(seconds=MSK_OFFSET)
    return f"{start:%d.%m.%Y} — {end:%d.%m.%Y}"


def _doc_where(scope: Scope) -> list[Any]:
    c = _DOCS.c
    where = [
        c.company_id == scope.company_id,
        c.issued_at >= scope.start,
        c.issued_at < scope.end,
    ]
    if scope.registers is not None:
        where.append(c.register_id.in_(scope.registers) if scope.registers else c.id < 0)
    return where


def _table(code: str, columns: list[Column], rows: list[dict[str, Any]], scope: Scope,
           chart: tuple[str, str] | None = None) -> ReportTable:  # fmt: skip
    return ReportTable(
        code=code,
        title=REPORTS[code].title,
        columns=columns,
        rows=rows,
        chart=chart,
        period=_period(scope),
    )


# ---- 1–5: revenue ----------------------------------------------------------------------------

_REVENUE_COLS: Final = [
    Column("receipts", "Чеков продажи", Kind.INT),
    Column("returns_n", "Чеков возврата", Kind.INT),
    Column("sales", "Продажи, ₽", Kind.MONEY),
    Column("returns", "Возвраты, ₽", Kind.MONEY),
    Column("net", "Выручка, ₽", Kind.MONEY),
    Column("average", "Средний чек, ₽", Kind.MONEY),
]


def _revenue_row(row: Any) -> dict[str, Any]:
    n = _num(row, "sales_n")
    return {
        "receipts": n,
        "returns_n": _num(row, "returns_n"),
        "sales": _num(row, "sales"),
        "returns": _num(row, "returns"),
        "net": _net(row),
        "average": _avg(_num(row, "sales"), n),
    }


def _by_register(session: Session, scope: Scope) -> dict[int, Any]:
    s = sales_source(session, scope)
    rows = session.connection().execute(
        select(s.c.register_id, *_sums(s)).group_by(s.c.register_id)
    )
    return {r.register_id: r._mapping for r in rows}


def revenue_register(session: Session, scope: Scope, _prev: Scope | None) -> ReportTable:
    names = _names(session, scope.company_id)
    rows = []
    for reg_id, row in sorted(_by_register(session, scope).items()):
        r = names.registers.get(reg_id)
        store = names.stores.get(names.store_of(reg_id) or 0)
        rows.append(
            {
                "register": names.register(reg_id),
                "rnm": (r.rnm if r else None) or "",
                "serial": (r.serial if r else None) or "",
                "store": store.name if store else "",
                **_revenue_row(row),
            }
        )
    cols = [
        Column("register", "Касса"),
        Column("rnm", "РНМ"),
        Column("serial", "Заводской номер"),
        Column("store", "Магазин"),
        *_REVENUE_COLS,
    ]
    return _table("revenue_register", cols, rows, scope, ("register", "net"))


def revenue_store(session: Session, scope: Scope, prev: Scope | None) -> ReportTable:
    names = _names(session, scope.company_id)

    def per_store(sc: Scope) -> dict[int | None, dict[str, int]]:
        acc: dict[int | None, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for reg_id, row in _by_register(session, sc).items():
            a = acc[names.store_of(reg_id)]
            a["net"] += _net(row)
            a["receipts"] += _num(row, "sales_n")
            a["registers"] += 1
        return acc

    now = per_store(scope)
    before = per_store(prev) if prev is not None else {}
    whole = sum(a["net"] for a in now.values())
    rows = []
    for store_id, a in sorted(now.items(), key=lambda kv: -kv[1]["net"]):
        store = names.stores.get(store_id or 0)
        was = before.get(store_id, {}).get("net", 0)
        rows.append(
            {
                "store": store.name if store else "Без магазина",
                "address": _address(store) if store else "",
                "registers": a["registers"],
                "receipts": a["receipts"],
                "net": a["net"],
                "delta": _pct(a["net"] - was, was) if was else None,
                "share": _pct(a["net"], whole),
            }
        )
    cols = [
        Column("store", "Магазин"),
        Column("address", "Адрес"),
        Column("registers", "Касс", Kind.INT),
        Column("receipts", "Чеков продажи", Kind.INT),
        Column("net", "Выручка, ₽", Kind.MONEY),
        Column("delta", "Δ к прошлому периоду", Kind.PCT),
        Column("share", "Доля", Kind.PCT),
    ]
    return _table("revenue_store", cols, rows, scope, ("store", "net"))


def revenue_day(session: Session, scope: Scope, _prev: Scope | None) -> ReportTable:
    s = sales_source(session, scope)
    # floor division of integers on both databases
    day = ((s.c.hour + MSK_OFFSET // HOUR) // (DAY // HOUR)).label("day")
    rows = []
    for row in session.connection().execute(select(day, *_sums(s)).group_by(day).order_by(day)):
        m = row._mapping
        rows.append(
            {
                "date": dt.date(1970, 1, 1) + dt.timedelta(days=int(m["day"])),
                **_revenue_row(m),
                "corrections": _num(m, "corrections_n"),
            }
        )
    cols = [Column("date", "Дата", Kind.DATE), *_REVENUE_COLS,
            Column("corrections", "Чеков коррекции", Kind.INT)]  # fmt: skip
    return _table("revenue_day", cols, rows, scope, ("date", "net"))


def revenue_hour(session: Session, scope: Scope, _prev: Scope | None) -> ReportTable:
    s = sales_source(session, scope, daily=False)
    acc: dict[tuple[int, int], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in session.connection().execute(select(s.c.hour, *_sums(s)).group_by(s.c.hour)):
        m = row._mapping
        local = int(m["hour"]) + MSK_OFFSET // HOUR
        weekday = (local // 24 + 3) % 7  # 1970-01-01 was a Thursday
        a = acc[(weekday, local % 24)]
        a["receipts"] += _num(m, "sales_n")
        a["sales"] += _num(m, "sales")
        a["net"] += _net(m)
    rows = [
        {
            "weekday": _WEEKDAYS[wd],
            "hour": f"{h:02d}:00",
            "receipts": a["receipts"],
            "net": a["net"],
            "average": _avg(a["sales"], a["receipts"]),
        }
        for (wd, h), a in sorted(acc.items())
    ]
    cols = [
        Column("weekday", "День недели"),
        Column("hour", "Час"),
        Column("receipts", "Чеков продажи", Kind.INT),
        Column("net", "Выручка, ₽", Kind.MONEY),
        Column("average", "Средний чек, ₽", Kind.MONEY),
    ]
    return _table("revenue_hour", cols, rows, scope, ("hour", "net"))


def average_check(session: Session, scope: Scope, _prev: Scope | None) -> ReportTable:
    s = sales_source(session, scope)
    m = session.connection().execute(select(*_sums(s))).one()._mapping
    it = item_source(session, scope)
    lines = session.connection().execute(select(func.coalesce(func.sum(it.c.lines), 0))).scalar()
    n = _num(m, "sales_n")
    rows = [
        {
            "period": _period(scope),
            "receipts": n,
            "net": _net(m),
            "average": _avg(_num(m, "sales"), n),
            "items": round(int(lines or 0) * 1000 / n) if n else 0,
            "max": _num(m, "max_check"),
        }
    ]
    cols = [
        Column("period", "Период"),
        Column("receipts", "Чеков продажи", Kind.INT),
        Column("net", "Выручка, ₽", Kind.MONEY),
        Column("average", "Средний чек, ₽", Kind.MONEY),
        Column("items", "Позиций в чеке", Kind.QTY),
        Column("max", "Максимальный чек, ₽", Kind.MONEY),
    ]
    return _table("average_check", cols, rows, scope, ("period", "average"))


# ---- 6, 7: payment forms and VAT (sums the TLV carries) -------------------------------------


def _money_net(session: Session, scope: Scope) -> dict[str, int]:
    """Per `MONEY` column: sales minus returns."""
    s = sales_source(session, scope)
    sale = and_(s.c.doc_type.in_(_SALE_TYPES), s.c.operation == int(Operation.INCOME))
    ret = and_(s.c.doc_type.in_(_SALE_TYPES), s.c.operation == int(Operation.INCOME_RETURN))
    q = select(*(func.sum(case((sale, s.c[m]), (ret, -s.c[m]), else_=0)).label(m) for m in MONEY))
    row = session.connection().execute(q).one()._mapping
    net = {m: int(row[m] or 0) for m in MONEY}
    for (doc_type, op), sums in money_tail(session, scope).items():
        if doc_type in _SALE_TYPES and op in _SIGN:
            for m, v in zip(MONEY, sums, strict=True):
                net[m] += _SIGN[op] * v
    return net


_SIGN: Final = {int(Operation.INCOME): 1, int(Operation.INCOME_RETURN): -1}
_PAYMENT_LABEL: Final = {
    "cash": "Наличные",
    "electronic": "Безналичные",
    "prepaid": "Предоплата (зачёт аванса)",
    "credit": "Постоплата (кредит)",
    "consideration": "Встречное предоставление",
}
_VAT_LABEL: Final = {
    "vat1102": "НДС 20 % (22 % с 2026 г.)",
    "vat1103": "НДС 10 %",
    "vat1106": "НДС 20/120 (22/122)",
    "vat1107": "НДС 10/110",
    "vat1104": "НДС 0 %",
    "vat1105": "Без НДС",
}


def payments(session: Session, scope: Scope, _prev: Scope | None) -> ReportTable:
    net = _money_net(session, scope)
    whole = sum(net[k] for k in _PAYMENT_LABEL)
    rows = [
        {"type": label, "sum": net[k], "share": _pct(net[k], whole)}
        for k, label in _PAYMENT_LABEL.items()
    ]
    cols = [
        Column("type", "Форма оплаты"),
        Column("sum", "Сумма (продажи − возвраты), ₽", Kind.MONEY),
        Column("share", "Доля", Kind.PCT),
    ]
    table = _table("payments", cols, rows, scope, ("type", "sum"))
    table.notes.append("Суммы из реквизитов чека: 1031, 1081, 1215, 1216, 1217.")
    return table


def vat(session: Session, scope: Scope, _prev: Scope | None) -> ReportTable:
    net = _money_net(session, scope)
    rows = []
    for k, label in _VAT_LABEL.items():
        # 1104 and 1105 are the sums of the calculation at 0 % and without VAT (the base);
        # the others are the VAT itself
        base_only = k in ("vat1104", "vat1105")
        rows.append(
            {
                "rate": label,
                "base": net[k] if base_only else None,
                "vat": 0 if base_only else net[k],
            }
        )
    cols = [
        Column("rate", "Ставка"),
        Column("base", "Сумма расчёта без НДС, ₽", Kind.MONEY),
        Column("vat", "Сумма НДС, ₽", Kind.MONEY),
    ]
    table = _table("vat", cols, rows, scope, ("rate", "vat"))
    table.notes.append("Продажи минус возвраты; реквизиты 1102–1107 чека.")
    return table


# ---- 8: tax systems --------------------------------------------------------------------------


def tax_systems(session: Session, scope: Scope, _prev: Scope | None) -> ReportTable:
    s = sales_source(session, scope)
    rows = []
    for row in session.connection().execute(
        select(s.c.tax_system, *_sums(s)).group_by(s.c.tax_system).order_by(s.c.tax_system)
    ):
        m = row._mapping
        bits = int(m["tax_system"])
        rows.append(
            {
                "tax_system": TAX_SYSTEM_LABEL.get(bits, "не указана" if not bits else str(bits)),
                "receipts": _num(m, "sales_n"),
                "net": _net(m),
            }
        )
    cols = [
        Column("tax_system", "СНО"),
        Column("receipts", "Чеков продажи", Kind.INT),
        Column("net", "Выручка, ₽", Kind.MONEY),
    ]
    return _table("tax_systems", cols, rows, scope, ("tax_system", "net"))


# ---- 9, 10, 12: document lists ---------------------------------------------------------------


def _doc_rows(session: Session, scope: Scope, *where: Any) -> tuple[list[Any], bool]:
    c = _DOCS.c
    rows = list(
        session.connection().execute(
            select(
                c.id,
                c.register_id,
                c.fn_number,
                c.fd_number,
                c.fiscal_sign,
                c.doc_type,
                c.operation,
                c.total,
                c.issued_at,
                c.ofd_status,
            )
            .where(*_doc_where(scope), *where)
            .order_by(c.issued_at.desc(), c.id.desc())
            .limit(LIST_MAX + 1)
        )
    )
    return rows[:LIST_MAX], len(rows) > LIST_MAX


def _op(op: int | None) -> str:
    return OPERATION_LABEL[Operation(op)] if op in (1, 2, 3, 4) else ""


def returns(session: Session, scope: Scope, _prev: Scope | None) -> ReportTable:
    c = _DOCS.c
    names = _names(session, scope.company_id)
    docs, more = _doc_rows(
        session, scope, c.doc_type.in_(_SALE_TYPES), c.operation == int(Operation.INCOME_RETURN)
    )
    s = sales_source(session, scope)
    m = session.connection().execute(select(*_sums(s))).one()._mapping
    rows = [
        {
            "issued_at": d.issued_at,
            "register": names.register(d.register_id),
            "fd": d.fd_number,
            "fpd": d.fiscal_sign,
            "total": d.total or 0,
        }
        for d in docs
    ]
    table = _table(
        "returns",
        [
            Column("issued_at", "Дата и время", Kind.MOMENT),
            Column("register", "Касса"),
            Column("fd", "ФД №", Kind.INT),
            Column("fpd", "ФПД"),
            Column("total", "Сумма, ₽", Kind.MONEY),
        ],
        rows,
        scope,
        ("fd", "total"),
    )
    table.notes.append(
        f"Возвратов: {_num(m, 'returns_n')}, доля от продаж по сумме: "
        f"{_pct(_num(m, 'returns'), _num(m, 'sales')) / 100:.2f} %".replace(".", ",")
    )
    table.truncated = more
    return table


def corrections(session: Session, scope: Scope, _prev: Scope | None) -> ReportTable:
    c = _DOCS.c
    names = _names(session, scope.company_id)
    docs, more = _doc_rows(session, scope, c.doc_type.in_(_CORR_TYPES))
    s = sales_source(session, scope)  # every settlement document of the period
    total_docs = int(
        session.connection().execute(select(func.coalesce(func.sum(s.c.documents), 0))).scalar()
        or 0
    )
    rows = [
        {
            "issued_at": d.issued_at,
            "register": names.register(d.register_id),
            "type": DOC_TYPE_LABEL.get(DocType(d.doc_type), str(d.doc_type)),
            "operation": _op(d.operation),
            "fd": d.fd_number,
            "total": d.total or 0,
        }
        for d in docs
    ]
    table = _table(
        "corrections",
        [
            Column("issued_at", "Дата и время", Kind.MOMENT),
            Column("register", "Касса"),
            Column("type", "Документ"),
            Column("operation", "Признак расчёта"),
            Column("fd", "ФД №", Kind.INT),
            Column("total", "Сумма, ₽", Kind.MONEY),
        ],
        rows,
        scope,
        ("fd", "total"),
    )
    table.notes.append(
        f"Чеков коррекции: {len(docs)}{'+' if more else ''} из {total_docs} чеков и БСО, "
        f"доля {_pct(len(docs), total_docs) / 100:.2f} %".replace(".", ",")
    )
    table.truncated = more
    return table


def journal(session: Session, scope: Scope, _prev: Scope | None) -> ReportTable:
    c = _DOCS.c
    names = _names(session, scope.company_id)
    docs, more = _doc_rows(session, scope, c.doc_type.in_(_RECEIPT_TYPES))
    rows = [
        {
            "issued_at": d.issued_at,
            "register": names.register(d.register_id),
            "fn": d.fn_number,
            "fd": d.fd_number,
            "fpd": d.fiscal_sign,
            "type": DOC_TYPE_LABEL.get(DocType(d.doc_type), str(d.doc_type)),
            "operation": _op(d.operation),
            "total": d.total or 0,
            "ofd": OFD_LABEL.get(d.ofd_status, d.ofd_status),
        }
        for d in docs
    ]
    table = _table(
        "journal",
        [
            Column("issued_at", "Дата и время", Kind.MOMENT),
            Column("register", "Касса"),
            Column("fn", "ФН"),
            Column("fd", "ФД №", Kind.INT),
            Column("fpd", "ФПД"),
            Column("type", "Документ"),
            Column("operation", "Признак расчёта"),
            Column("total", "Сумма, ₽", Kind.MONEY),
            Column("ofd", "Статус ОФД"),
        ],
        rows,
        scope,
        None,
    )
    table.series = _receipts_per_day(session, scope)
    table.truncated = more
    return table


def _receipts_per_day(session: Session, scope: Scope) -> Series:
    """The journal's chart: receipts and БСО (corrections too) per Moscow day, or per month
    when the days would not fit the chart; from the rollup, so every receipt counts, not only
    the listed ones."""
    s = sales_source(session, scope)
    day = ((s.c.hour + MSK_OFFSET // HOUR) // (DAY // HOUR)).label("day")
    q = (
        select(day, func.sum(s.c.documents).label("n"))
        .where(s.c.doc_type.in_(_RECEIPT_TYPES))
        .group_by(day)
        .order_by(day)
    )
    days = [
        (dt.date(1970, 1, 1) + dt.timedelta(days=int(d)), int(n or 0))
        for d, n in session.connection().execute(q)
    ]
    if len(days) <= MAX_BARS:
        points = [(f"{d:%d.%m.%Y}", n) for d, n in days]
        return Series("Чеков и БСО за день", Kind.INT, points)
    months: dict[str, int] = defaultdict(int)
    for d, n in days:
        months[f"{d:%m.%Y}"] += n
    return Series("Чеков и БСО за месяц", Kind.INT, list(months.items()))


# ---- 11: shifts ------------------------------------------------------------------------------


def shifts(session: Session, scope: Scope, _prev: Scope | None) -> ReportTable:
    names = _names(session, scope.company_id)
    s = shift_source(session, scope)
    first = func.min(s.c.first_at)
    q = (
        select(
            s.c.register_id,
            s.c.shift_number,
            first.label("first_at"),
            func.max(s.c.last_at).label("last_at"),
            func.sum(s.c.receipts).label("receipts"),
            func.sum(s.c.sales).label("sales"),
            func.sum(s.c.returns).label("returns"),
        )
        .group_by(s.c.register_id, s.c.shift_number)
        .order_by(first.desc())
        .limit(LIST_MAX)
    )
    rows = []
    for row in session.connection().execute(q):
        m = row._mapping
        rows.append(
            {
                "register": names.register(m["register_id"]),
                "shift": int(m["shift_number"]) or None,
                "first_at": m["first_at"],
                "last_at": m["last_at"],
                "hours": round((m["last_at"] - m["first_at"]) / HOUR * 1000),
                "receipts": _num(m, "receipts"),
                "sales": _num(m, "sales"),
                "returns": _num(m, "returns"),
            }
        )
    cols = [
        Column("register", "Касса"),
        Column("shift", "Смена №", Kind.INT),
        Column("first_at", "Первый чек", Kind.MOMENT),
        Column("last_at", "Последний чек", Kind.MOMENT),
        Column("hours", "Часов между ними", Kind.QTY),
        Column("receipts", "Чеков продажи", Kind.INT),
        Column("sales", "Продажи, ₽", Kind.MONEY),
        Column("returns", "Возвраты, ₽", Kind.MONEY),
    ]
    table = _table("shifts", cols, rows, scope, ("shift", "sales"))
    table.notes.append("Смена относится к периоду по её первому чеку.")
    return table


# ---- 13, 14: goods ---------------------------------------------------------------------------


def marked_goods(session: Session, scope: Scope, _prev: Scope | None) -> ReportTable:
    names = _names(session, scope.company_id)
    f = ReceiptFacts.__table__.c  # type: ignore[attr-defined]
    c = _DOCS.c
    where = [
        f.company_id == scope.company_id,
        f.marked_items > 0,
        f.issued_at >= scope.start,
        f.issued_at < scope.end,
    ]
    if scope.registers is not None:
        where.append(f.register_id.in_(scope.registers) if scope.registers else f.total < 0)
    rows_ = list(
        session.connection().execute(
            select(
                f.issued_at,
                f.register_id,
                f.marked_item,
                f.marked_items,
                f.mark_error,
                f.total,
                c.fd_number,
                c.operation,
            )
            .join(_DOCS, c.id == f.document_id)
            .where(*where)
            .order_by(f.issued_at.desc())
            .limit(LIST_MAX + 1)
        )
    )
    rows = [
        {
            "issued_at": r.issued_at,
            "register": names.register(r.register_id),
            "fd": r.fd_number,
            "operation": _op(r.operation),
            "item": r.marked_item or "",
            "marked": r.marked_items,
            "check": "отрицательный" if r.mark_error else "положительный",
            "total": r.total or 0,
        }
        for r in rows_[:LIST_MAX]
    ]
    table = _table(
        "marked_goods",
        [
            Column("issued_at", "Дата и время", Kind.MOMENT),
            Column("register", "Касса"),
            Column("fd", "ФД №", Kind.INT),
            Column("operation", "Признак расчёта"),
            Column("item", "Товар"),
            Column("marked", "Маркированных позиций", Kind.INT),
            Column("check", "Результат проверки (2106)"),
            Column("total", "Сумма чека, ₽", Kind.MONEY),
        ],
        rows,
        scope,
        None,
    )
    table.notes.append("Документы, ещё не разобранные заданием «receipt-facts», не показаны.")
    table.truncated = len(rows_) > LIST_MAX
    table.series = _marked_per_item(session, where)
    return table


def _marked_per_item(session: Session, where: list[Any]) -> Series:
    """Marked goods' chart: marked positions per item (the receipt's first marked item names
    it) over every receipt of the period, the most sold first."""
    f = ReceiptFacts.__table__.c  # type: ignore[attr-defined]
    n = func.sum(f.marked_items)
    q = (
        select(f.marked_item, n.label("n"))
        .where(*where)
        .group_by(f.marked_item)
        .order_by(n.desc(), f.marked_item)
        .limit(MAX_BARS)
    )
    points = [(item or "без названия", int(k or 0)) for item, k in session.connection().execute(q)]
    return Series("Маркированных позиций по товарам", Kind.INT, points)


def _abc(before: int) -> str:
    """The class by the cumulative share before the item (so the top item is always A)."""
    return "A" if before < 8000 else "B" if before < 9500 else "C"


def items_abc(session: Session, scope: Scope, _prev: Scope | None) -> ReportTable:
    it = item_source(session, scope)
    q = (
        select(
            it.c.name,
            func.sum(it.c.quantity_milli).label("qty"),
            func.sum(it.c.revenue).label("revenue"),
        )
        .group_by(it.c.name)
        .order_by(func.sum(it.c.revenue).desc(), it.c.name)
    )
    found = list(session.connection().execute(q))
    whole = sum(max(0, int(r.revenue or 0)) for r in found)
    rows = []
    running = 0
    for r in found:
        revenue = int(r.revenue or 0)
        qty = int(r.qty or 0)
        running += max(0, revenue)
        cum = _pct(running, whole)
        rows.append(
            {
                "name": r.name,
                "qty": qty,
                "revenue": revenue,
                "share": _pct(revenue, whole),
                "cumulative": cum,
                "abc": _abc(cum - _pct(max(0, revenue), whole)),
                "price": round(revenue * 1000 / qty) if qty else 0,
            }
        )
    cols = [
        Column("name", "Товар"),
        Column("qty", "Количество", Kind.QTY),
        Column("revenue", "Выручка, ₽", Kind.MONEY),
        Column("share", "Доля", Kind.PCT),
        Column("cumulative", "Накопленная доля", Kind.PCT),
        Column("abc", "Класс ABC"),
        Column("price", "Средняя цена, ₽", Kind.MONEY),
    ]
    return _table("items_abc", cols, rows, scope, ("name", "revenue"))


# ---- 15, 16: drives and the OFD --------------------------------------------------------------


def _day_date(day: int | None) -> dt.date | None:
    return dt.date(1970, 1, 1) + dt.timedelta(days=day) if day is not None else None


def drive_status(session: Session, scope: Scope, _prev: Scope | None) -> ReportTable:
    names = _names(session, scope.company_id)
    today = int((scope.end + MSK_OFFSET) // DAY) - 1
    q = (
        orm_select(Drive, DriveForecast)
        .join(DriveForecast, col(DriveForecast.drive_id) == col(Drive.id), isouter=True)
        .where(Drive.company_id == scope.company_id)
        .order_by(col(Drive.fn_number))
    )
    rows = []
    for drive, fc in session.exec(q).all():
        if drive.register_id is None or (
            scope.registers is not None and drive.register_id not in scope.registers
        ):
            continue
        expires = fc.expires_day if fc else None
        rows.append(
            {
                "register": names.register(drive.register_id),
                "fn": drive.fn_number,
                "term": drive.term_months,
                "expires": _day_date(expires),
                "days_left": expires - today if expires is not None else None,
                "used": fc.last_pct * 100 if fc and fc.last_pct is not None else None,
                "full": _day_date(fc.full_day if fc else None),
                "replace_by": _day_date(fc.replace_by if fc else None),
            }
        )
    cols = [
        Column("register", "Касса"),
        Column("fn", "Номер ФН"),
        Column("term", "Срок, мес.", Kind.INT),
        Column("expires", "Действует до", Kind.DATE),
        Column("days_left", "Дней осталось", Kind.INT),
        Column("used", "Заполнен", Kind.PCT),
        Column("full", "Заполнится к", Kind.DATE),
        Column("replace_by", "Заменить до", Kind.DATE),
    ]
    return _table("drive_status", cols, rows, scope, ("fn", "days_left"))


def unsent(session: Session, scope: Scope, _prev: Scope | None) -> ReportTable:
    names = _names(session, scope.company_id)
    c = _DOCS.c
    where = [c.company_id == scope.company_id, c.ofd_status == "pending"]
    if scope.registers is not None:
        where.append(c.register_id.in_(scope.registers) if scope.registers else c.id < 0)
    q = (
        select(c.register_id, func.count().label("n"), func.min(c.issued_at).label("oldest"))
        .where(*where)
        .group_by(c.register_id)
    )
    now = scope.end
    rows = []
    for r in session.connection().execute(q):
        age = (now - r.oldest) / DAY
        rows.append(
            {
                "register": names.register(r.register_id),
                "n": r.n,
                "oldest": r.oldest,
                "days_to_block": max(0, 30 - int(age)),
            }
        )
    rows.sort(key=lambda x: x["days_to_block"])
    cols = [
        Column("register", "Касса"),
        Column("n", "Не передано ФД", Kind.INT),
        Column("oldest", "Старейший непереданный", Kind.MOMENT),
        Column("days_to_block", "Дней до блокировки (30 дней)", Kind.INT),
    ]
    table = _table("unsent", cols, rows, scope, ("register", "n"))
    table.notes.append("Непереданные документы на конец периода, за всё время.")
    return table


# ---- 17: e-receipt delivery ------------------------------------------------------------------


def delivery(session: Session, scope: Scope, _prev: Scope | None) -> ReportTable:
    a = DeliveryAttempt.__table__.c  # type: ignore[attr-defined]
    where = [a.company_id == scope.company_id, a.at >= scope.start, a.at < scope.end]
    stats = session.connection().execute(
        select(a.channel, a.status, a.error, func.count().label("n"))
        .where(*where)
        .group_by(a.channel, a.status, a.error)
    )
    acc: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"attempts": 0, "delivered": 0, "failed": 0, "errors": defaultdict(int)}
    )
    for r in stats:
        x = acc[r.channel]
        x["attempts"] += r.n
        if r.status in ("sent", "delivered"):
            x["delivered"] += r.n
        elif r.status in ("failed", "bounced"):
            x["failed"] += r.n
        if r.error:
            x["errors"][r.error] += r.n
    rows = [
        {
            "channel": ch,
            "attempts": x["attempts"],
            "delivered": x["delivered"],
            "failed": x["failed"],
            "rate": _pct(x["delivered"], x["attempts"]),
            "top_error": max(x["errors"].items(), key=lambda e: e[1])[0] if x["errors"] else "",
        }
        for ch, x in sorted(acc.items())
    ]
    cols = [
        Column("channel", "Канал"),
        Column("attempts", "Попыток", Kind.INT),
        Column("delivered", "Отправлено", Kind.INT),
        Column("failed", "Ошибок", Kind.INT),
        Column("rate", "Доля успешных", Kind.PCT),
        Column("top_error", "Частая ошибка"),
    ]
    table = _table("delivery", cols, rows, scope, ("channel", "attempts"))
    if scope.registers is not None:
        table.notes.append("Фильтр по кассе и магазину к рассылке не применяется.")
    return table


# ---- 18: compliance ---------------------------------------------------------------------------


def compliance(session: Session, scope: Scope, _prev: Scope | None) -> ReportTable:
    f = ComplianceFinding.__table__.c  # type: ignore[attr-defined]
    where = [f.company_id == scope.company_id, f.last_seen >= scope.start, f.first_seen < scope.end]
    if scope.registers is not None:
        where.append(f.register_id.in_(scope.registers) if scope.registers else f.id < 0)
    q = (
        select(
            f.check_code,
            f.severity,
            func.count().label("n"),
            func.count(func.distinct(f.register_id)).label("registers"),
            func.min(f.first_seen).label("first"),
            func.max(f.last_seen).label("last"),
            func.sum(case((f.status == "open", 1), else_=0)).label("open"),
        )
        .where(*where)
        .group_by(f.check_code, f.severity)
        .order_by(f.check_code)
    )
    rows = []
    for r in session.connection().execute(q):
        check = by_code(r.check_code)
        sev = Severity(r.severity) if r.severity in {x.value for x in Severity} else None
        rows.append(
            {
                "code": r.check_code,
                "title": check.title if check else "",
                "severity": SEVERITY_LABEL.get(sev, r.severity) if sev else r.severity,
                "n": r.n,
                "registers": r.registers,
                "first": r.first,
                "last": r.last,
                "basis": check.basis if check else "",
                "open": int(r.open or 0),
            }
        )
    cols = [
        Column("code", "Проверка"),
        Column("title", "Нарушение"),
        Column("severity", "Важность"),
        Column("n", "Случаев", Kind.INT),
        Column("registers", "Касс", Kind.INT),
        Column("first", "Впервые", Kind.MOMENT),
        Column("last", "В последний раз", Kind.MOMENT),
        Column("basis", "Основание (КоАП)"),
        Column("open", "Не исправлено", Kind.INT),
    ]
    return _table("compliance", cols, rows, scope, ("code", "n"))


# ---- the catalogue ---------------------------------------------------------------------------

REPORTS: dict[str, ReadyReport] = {
    r.code: r
    for r in (
        ReadyReport("revenue_register", "Выручка по кассам",
                    "Чеки, продажи, возвраты и выручка каждой кассы", revenue_register),
        ReadyReport("revenue_store", "Выручка по магазинам",
                    "Выручка магазинов, доля и изменение к прошлому периоду", revenue_store,
                    needs_previous=True),
        ReadyReport("revenue_day", "Выручка по дням",
                    "Чеки, выручка, средний чек, возвраты и коррекции по дням", revenue_day),
        ReadyReport("revenue_hour", "Выручка по часам",
                    "День недели × час: чеки, выручка, средний чек", revenue_hour),
        ReadyReport("average_check", "Средний чек",
                    "Чеки, выручка, средний и максимальный чек, позиций в чеке", average_check),
        ReadyReport("payments", "Формы оплаты",
                    "Наличные, безналичные, предоплата, кредит: сумма и доля", payments),
        ReadyReport("vat", "НДС", "Суммы НДС и расчётов по ставкам", vat),
        ReadyReport("tax_systems", "Системы налогообложения",
                    "Выручка и чеки по СНО", tax_systems),
        ReadyReport("returns", "Возвраты", "Чеки возврата прихода и их доля", returns),
        ReadyReport("corrections", "Коррекции", "Чеки коррекции и их доля", corrections),
        ReadyReport("shifts", "Смены", "Смены касс: первый и последний чек, суммы", shifts),
        ReadyReport("journal", "Журнал чеков", "Все чеки периода с реквизитами", journal),
        ReadyReport("marked_goods", "Маркированные товары",
                    "Чеки с маркированными товарами и результат проверки", marked_goods),
        ReadyReport("items_abc", "Товары (ABC-анализ)",
                    "Количество, выручка, доля и класс ABC товаров", items_abc),
        ReadyReport("drive_status", "Состояние ФН",
                    "Срок, заполнение и дата замены фискальных накопителей", drive_status),
        ReadyReport("unsent", "Непереданные документы",
                    "Документы без подтверждения ОФД и дни до блокировки", unsent),
        ReadyReport("delivery", "Доставка электронных чеков",
                    "Попытки, успешные, ошибки по каналам", delivery),
        ReadyReport("compliance", "Контроль нарушений",
                    "Нарушения по проверкам: случаи, кассы, основание, статус", compliance),
    )
}  # fmt: skip


def report(code: str) -> ReadyReport:
    """The ready report with this code; `ReportNotFoundError` if none."""
    found = REPORTS.get(code)
    if found is None:
        raise ReportNotFoundError(f"Нет такого отчёта: «{code}»")
    return found


def build(session: Session, code: str, scope: Scope, previous: Scope | None) -> ReportTable:
    """Run a ready report over a scope (``previous``: the period before, for Δ)."""
    return report(code).build(session, scope, previous)
