"""Searching a company's settlement documents, and the marked-goods list.

One filter (`ReceiptFilter`) builds one statement (`page_statement`), which the pages, the API
and the bench run alike. Every query is scoped to the company (and to the principal's folders)
and served by an index (models.py): FD number → (company_id, fd_number), fiscal sign →
(company_id, fiscal_sign), sum → (company_id, total), period alone → (company_id, issued_at),
register or store → (register_id, issued_at), buyer contact → receiptfacts (company_id,
buyer_contact) plus the documents past the facts job's watermark read directly.

Pages are keyed by offset and fetch one row more than shown, so "next page" needs no count:
counting a client's millions of documents would cost more than the page itself.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import (
    Boolean,
    Integer,
    Select,
    String,
    Table,
    cast,
    false,
    null,
    or_,
    select,
    union_all,
)
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session

from fleet.access.principal import Principal
from fleet.documents.models import RECEIPT_TYPES, FiscalDocument
from fleet.receipts_cabinet import facts
from fleet.receipts_cabinet.exceptions import InvalidSearchError
from fleet.receipts_cabinet.models import ReceiptFacts
from fleet.registers.models import Register
from fleet.stores.models import Store

__all__ = [
    "MARKED_SORTS",
    "MAX_LIMIT",
    "Found",
    "ReceiptFilter",
    "page_statement",
    "search",
]

MAX_LIMIT: Final = 200
_DOCS: Table = FiscalDocument.__table__  # type: ignore[attr-defined]
_FACTS: Table = ReceiptFacts.__table__  # type: ignore[attr-defined]
_REG: Table = Register.__table__  # type: ignore[attr-defined]
_STORE: Table = Store.__table__  # type: ignore[attr-defined]
_RECEIPT_TYPES: Final = tuple(int(t) for t in RECEIPT_TYPES)

#: the marked-goods list's sort keys and what they order by
MARKED_SORTS: Final = {
    "date": "по дате",
    "register": "по кассе",
    "store": "по магазину",
    "item": "по товару",
    "status": "по статусу ОФД",
    "sum": "по сумме",
}


@dataclass(frozen=True)
class ReceiptFilter:
    """What to look for; every given field narrows (AND). Times are UTC seconds [from, to)."""

    fd_number: int | None = None
    fiscal_sign: str | None = None
    issued_from: float | None = None
    issued_to: float | None = None
    total: int | None = None  # kopecks, exact
    register_id: int | None = None
    store_id: int | None = None
    contact: str | None = None
    operation: int | None = None
    marked: bool = False  # only documents with marked goods (the marked-goods list)
    errors_only: bool = False  # with marked: OFD rejected or a negative mark check
    sort: str = "-date"
    limit: int = 50
    offset: int = 0

    def check(self) -> None:
        """`InvalidSearchError` naming the field, before any query."""
        fields: dict[str, str] = {}
        if not 1 <= self.limit <= MAX_LIMIT:
            fields["limit"] = f"От 1 до {MAX_LIMIT}"
        if self.offset < 0:
            fields["offset"] = "Не меньше нуля"
        if self.fd_number is not None and not 1 <= self.fd_number < 2**32:
            fields["fd_number"] = "Номер ФД — целое число от 1"
        if self.fiscal_sign is not None and not (
            self.fiscal_sign.isdigit() and len(self.fiscal_sign) <= 20
        ):
            fields["fiscal_sign"] = "Фискальный признак — до 20 цифр"
        if self.total is not None and self.total < 0:
            fields["total"] = "Сумма не может быть отрицательной"
        if (
            self.issued_from is not None
            and self.issued_to is not None
            and self.issued_from >= self.issued_to
        ):
            fields["issued_to"] = "Конец периода раньше начала"
        if self.sort.lstrip("-") not in MARKED_SORTS:
            fields["sort"] = "Неизвестный порядок"
        if self.contact is not None and not 3 <= len(self.contact) <= 64:
            fields["contact"] = "Контакт — e-mail или телефон, от 3 до 64 символов"
        if fields:
            raise InvalidSearchError("Поиск не выполнен: проверьте поля", fields=fields)


@dataclass(frozen=True)
class Found:
    """One page: rows (dicts of the document's columns, store and register names, facts)."""

    rows: list[dict[str, Any]]
    has_next: bool
    offset: int
    limit: int


def contact_key(text: str) -> str:
    """A contact as the facts keep it: an e-mail lower-cased, a phone as +7 and ten digits."""
    value = text.strip().lower()
    digits = "".join(ch for ch in value if ch.isdigit())
    if "@" not in value and len(digits) == 11 and digits[0] in "78":
        return "+7" + digits[1:]
    if "@" not in value and len(digits) == 10:
        return "+7" + digits
    return value


def _contact_ids(session: Session, company_id: int, contact: str) -> list[int]:
    key = contact_key(contact)
    ids = list(
        session.connection()
        .execute(
            select(_FACTS.c.document_id).where(
                _FACTS.c.company_id == company_id, _FACTS.c.buyer_contact == key
            )
        )
        .scalars()
    )
    ids += [i for i, f in facts.unindexed(session, company_id) if f.buyer_contact == key]
    return ids


def _registers(session: Session, principal: Principal, store_id: int | None) -> list[int] | None:
    """Register ids the filter is limited to (None: no limit): folders and store."""
    folders = principal.visible_folders()
    if folders is None and store_id is None:
        return None
    where: list[ColumnElement[bool]] = [_REG.c.company_id == principal.company_id]
    if folders is not None:
        where.append(_REG.c.folder_id.in_(sorted(folders)))
    if store_id is not None:
        where.append(_REG.c.store_id == store_id)
    return list(session.connection().execute(select(_REG.c.id).where(*where)).scalars())


def _doc_filters(
    session: Session, principal: Principal, flt: ReceiptFilter, issued: Any, register: Any
) -> list[ColumnElement[bool]]:
    """The filter's conditions on the document (``issued`` and ``register``: the columns of
    time and register to use, the document's or the facts' copy)."""
    c = _DOCS.c
    where: list[ColumnElement[bool]] = [c.doc_type.in_(_RECEIPT_TYPES)]
    if flt.fd_number is not None:
        where.append(c.fd_number == flt.fd_number)
    if flt.fiscal_sign is not None:
        where.append(c.fiscal_sign == flt.fiscal_sign)
    if flt.issued_from is not None:
        where.append(issued >= flt.issued_from)
    if flt.issued_to is not None:
        where.append(issued < flt.issued_to)
    if flt.total is not None:
        where.append(c.total == flt.total)
    if flt.operation is not None:
        where.append(c.operation == flt.operation)
    registers = _registers(session, principal, flt.store_id)
    if flt.register_id is not None:
        where.append(register == flt.register_id)
    if registers is not None:
        where.append(register.in_(registers) if registers else false())
    if flt.contact is not None:
        ids = _contact_ids(session, principal.company_id, flt.contact)
        where.append(c.id.in_(ids) if ids else false())
    if flt.errors_only:
        where.append(or_(c.ofd_status == "rejected", _FACTS.c.mark_error.is_(True)))
    return where


def _columns(issued: Any, register: Any, total: Any, facts_row: bool) -> list[Any]:
    c = _DOCS.c
    f = _FACTS.c
    # typed NULLs: PostgreSQL types an untyped NULL in a subquery as text
    nothing = [
        cast(null(), String).label("buyer_contact"),
        cast(null(), String).label("marked_item"),
        cast(null(), Integer).label("marked_items"),
        cast(null(), Boolean).label("mark_error"),
    ]
    return [
        c.id.label("id"),
        register.label("register_id"),
        c.fn_number,
        c.fd_number,
        c.doc_type,
        c.operation,
        total.label("total"),
        c.fiscal_sign,
        issued.label("issued_at"),
        c.ofd_status,
        c.has_marking,
        _REG.c.name.label("register_name"),
        _REG.c.serial.label("register_serial"),
        _STORE.c.name.label("store_name"),
        *([f.buyer_contact, f.marked_item, f.marked_items, f.mark_error] if facts_row else nothing),
    ]


def page_statement(session: Session, principal: Principal, flt: ReceiptFilter) -> Select[Any]:
    """The page query (limit + 1 rows): documents, their register and store, their facts.

    A search walks the documents (joined to their facts). The marked-goods list walks the
    facts (its partial indexes give the order by date, sum, item or register without a sort)
    and adds, by UNION ALL, the company's marked documents past the facts job's watermark.
    """
    flt.check()
    c = _DOCS.c
    f = _FACTS.c
    key = flt.sort.lstrip("-")
    desc = flt.sort.startswith("-")
    if not flt.marked:
        stmt: Any = (
            select(*_columns(c.issued_at, c.register_id, c.total, True))
            .select_from(
                _DOCS.join(_REG, _REG.c.id == c.register_id)
                .outerjoin(_STORE, _STORE.c.id == _REG.c.store_id)
                .outerjoin(_FACTS, f.document_id == c.id)
            )
            .where(
                c.company_id == principal.company_id,
                *_doc_filters(session, principal, flt, c.issued_at, c.register_id),
            )
        )
        sort_cols: dict[str, Any] = {
            "date": c.issued_at,
            "register": c.register_id,
            "store": _STORE.c.name,
            "item": f.marked_item,
            "status": c.ofd_status,
            "sum": c.total,
        }
        ids: Any = c.id
    else:
        indexed = (
            select(*_columns(f.issued_at, f.register_id, f.total, True))
            .select_from(
                _FACTS.join(_DOCS, c.id == f.document_id)
                .join(_REG, _REG.c.id == f.register_id)
                .outerjoin(_STORE, _STORE.c.id == _REG.c.store_id)
            )
            .where(
                f.company_id == principal.company_id,
                f.marked_items > 0,
                *_doc_filters(session, principal, flt, f.issued_at, f.register_id),
            )
        )
        tail = (
            select(*_columns(c.issued_at, c.register_id, c.total, False))
            .select_from(
                _DOCS.join(_REG, _REG.c.id == c.register_id).outerjoin(
                    _STORE, _STORE.c.id == _REG.c.store_id
                )
            )
            .where(
                c.company_id == principal.company_id,
                c.id > facts.watermark(session),
                c.has_marking.is_(True),
                *_doc_filters(
                    session,
                    principal,
                    dataclasses.replace(flt, errors_only=False),
                    c.issued_at,
                    c.register_id,
                ),
                *([c.ofd_status == "rejected"] if flt.errors_only else []),
            )
        )
        # each branch ordered and cut first (PostgreSQL does not push ORDER BY … LIMIT into
        # a UNION's branches): the facts branch then walks a partial index, not every row
        cut = flt.offset + flt.limit + 1
        f_cols = {"date": f.issued_at, "register": f.register_id, "store": _STORE.c.name,
                  "item": f.marked_item, "status": c.ofd_status, "sum": f.total}  # fmt: skip
        # (the tail has no item names yet: it keeps its newest rows for that key)
        t_cols = {"date": c.issued_at, "register": c.register_id, "store": _STORE.c.name,
                  "item": c.issued_at, "status": c.ofd_status, "sum": c.total}  # fmt: skip
        u = union_all(*(select(sq) for sq in (
            q.order_by(*_order(cols, key, desc, c.id)).limit(cut).subquery()
            for q, cols in ((indexed, f_cols), (tail, t_cols))
        ))).subquery("marked")  # fmt: skip
        sort_cols = {
            "date": u.c.issued_at,
            "register": u.c.register_id,
            "store": u.c.store_name,
            "item": u.c.marked_item,
            "status": u.c.ofd_status,
            "sum": u.c.total,
        }
        ids = u.c.id
        stmt = select(u)
    result: Select[Any] = (
        stmt.order_by(*_order(sort_cols, key, desc, ids)).limit(flt.limit + 1).offset(flt.offset)
    )
    return result


def _order(cols: dict[str, Any], key: str, desc: bool, ids: Any) -> list[Any]:
    """ORDER BY the key, then newest first, then id.

    NULLs (an item the facts job has not read yet) last going up and first going down, on
    both databases: the order a B-tree index gives forwards and backwards on PostgreSQL, so
    the index serves ORDER BY … LIMIT (DESC NULLS LAST would need a sort of every row)."""
    col_ = cols[key]
    order = [col_.desc().nulls_first() if desc else col_.asc().nulls_last()]
    if key != "date":
        order.append(cols["date"].desc())
    order.append(ids.desc())
    return order


def search(session: Session, principal: Principal, flt: ReceiptFilter) -> Found:
    """One page of the company's settlement documents matching the filter."""
    rows = [
        dict(r._mapping)
        for r in session.connection().execute(page_statement(session, principal, flt))
    ]
    return Found(
        rows=rows[: flt.limit],
        has_next=len(rows) > flt.limit,
        offset=flt.offset,
        limit=flt.limit,
    )


def day_bounds(day: dt.date, tz: dt.tzinfo) -> tuple[float, float]:
    """A calendar day in ``tz`` as UTC seconds [start, next start)."""
    start = dt.datetime.combine(day, dt.time.min, tzinfo=tz)
    return start.timestamp(), (start + dt.timedelta(days=1)).timestamp()
