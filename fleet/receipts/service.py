"""Receipt creation, lookup and listing; callback settings.

`create_receipt` is the one entry point for every way a receipt is made (the integrator API,
the cabinet's manual form, a bank registry): it validates the request with the shared schema's
`check()` (protocol/portable/receipt.py, the rules the register applies, DESIGN decision 2),
splits a receipt too large for one fiscal document (fleet/receipts/split.py), and stores the
receipt and its parts in status "accepted" for the router (fleet/receipts/routing.py).
Idempotency (per company): the request's `id` (the external id) and the optional
Idempotency-Key each name at most one receipt; the same body again returns that receipt, another
body is refused with the existing receipt's id.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import Table, bindparam, insert, union_all
from sqlalchemy import select as core_select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Dialect, Engine
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlmodel import Session, col, func, select

from fleet.access.principal import Principal
from fleet.accounts.models import Company
from fleet.core.clock import Clock
from fleet.core.wakeup import RECEIPTS, notify, wake
from fleet.receipts.exceptions import (
    IdempotencyConflictError,
    InvalidCallbackError,
    InvalidReceiptError,
    ReceiptNotFoundError,
)
from fleet.receipts.models import CallbackSettings, Receipt, ReceiptPart, ReceiptStatus
from fleet.receipts.schemas import receipt_view
from fleet.receipts.split import needs_split, split
from fleet.registers.models import Register
from fleet.stores.models import Store
from protocol.portable import receipt as schema

__all__ = [
    "MSK",
    "Accepted",
    "accept",
    "body_hash",
    "callback_settings",
    "create_receipt",
    "find_by_external_id",
    "get_receipt",
    "list_receipts",
    "parts_of",
    "set_callback_settings",
]

MSK: Final = dt.timezone(dt.timedelta(hours=3))  # the default settlement day is Moscow's
MAX_KEY: Final = 128
MAX_LIST: Final = 500

_RECEIPT: Table = Receipt.__table__  # type: ignore[attr-defined]
_PART: Table = ReceiptPart.__table__  # type: ignore[attr-defined]
_RECEIPT_COLUMNS: Final = (
    "company_id",
    "external_id",
    "idempotency_key",
    "body_hash",
    "body",
    "kind",
    "total",
    "parts",
    "status",
    "created_at",
    "updated_at",
)
_PART_COLUMNS: Final = (
    "company_id",
    "part_no",
    "request_id",
    "action",
    "request",
    "pinned_register_id",
    "store_id",
    "total",
    "status",
    "tried",
    "created_at",
    "updated_at",
)


def body_hash(body: Any) -> str:
    """SHA-256 of the body's canonical JSON (keys sorted): the same request, the same hash."""
    data = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(data.encode()).hexdigest()


def _company(principal_or_company: Principal | Company | int) -> int:
    if isinstance(principal_or_company, Principal):
        return principal_or_company.company_id
    if isinstance(principal_or_company, Company):
        assert principal_or_company.id is not None
        return principal_or_company.id
    return principal_or_company


_OPERATIONS: Final = {1: "sale", 2: "sale_return", 3: "expense", 4: "expense_return"}


def _kind(body: dict[str, Any]) -> str:
    op = body.get("operation")
    name = op if isinstance(op, str) else _OPERATIONS.get(op if isinstance(op, int) else 0, "")
    return f"{name}_correction" if body.get("correction") is not None else name


def _existing(
    session: Session, company_id: int, external_id: Any, key: str | None, digest: str
) -> Receipt | None:
    """The receipt this request repeats (same body), None when new; 409 for another body."""
    found: Receipt | None = None
    if key is not None:
        found = session.exec(
            select(Receipt).where(Receipt.company_id == company_id, Receipt.idempotency_key == key)
        ).first()
    if found is None and isinstance(external_id, str):
        found = session.exec(
            select(Receipt).where(
                Receipt.company_id == company_id, Receipt.external_id == external_id
            )
        ).first()
    if found is None:
        return None
    assert found.id is not None
    if found.body_hash != digest:
        what = (
            f"Ключ Idempotency-Key «{key}»"
            if key is not None and found.idempotency_key == key
            else f"Внешний идентификатор «{found.external_id}»"
        )
        raise IdempotencyConflictError(
            f"{what} уже использован для чека {found.id} с другим содержимым", found.id
        )
    return found


@dataclass(frozen=True)
class Accepted:
    """What `accept` did: the receipt's columns (with `id`), the new parts' columns (None
    for a repeat: read them with `parts_of`), whether it is new, and the stored receipt
    when it repeats one."""

    receipt: dict[str, Any]
    parts: list[dict[str, Any]] | None
    created: bool
    existing: Receipt | None = None

    def view(self, session: Session) -> dict[str, Any]:
        """The API's view of the receipt (fleet/receipts/schemas.py `receipt_view`); a new
        receipt's from what was inserted, a repeat's parts read from the database."""
        if self.parts is not None:
            return receipt_view(self.receipt, [_Row(p) for p in self.parts])
        rid = int(self.receipt["id"])
        return receipt_view(self.receipt, parts_of(session, [rid])[rid])


class _Row:
    """A part's columns read as attributes, as `receipt_view` reads a row (unset ones None)."""

    __slots__ = ("_values",)

    def __init__(self, values: dict[str, Any]) -> None:
        self._values = values

    def __getattr__(self, name: str) -> Any:
        return self._values.get(name)


def create_receipt(
    session: Session,
    principal_or_company: Principal | Company | int,
    body: Any,
    *,
    idempotency_key: str | None = None,
    clock: Clock,
    register_id: int | None = None,
    store_id: int | None = None,
) -> tuple[Receipt, bool]:
    """Validate, split and store a receipt request; (the receipt, created). `accept` as an
    ORM `Receipt` (not in the session: `session.get` reads it again), for the callers that
    want one; the API's create answers from `accept` directly.
    """
    done = accept(
        session,
        principal_or_company,
        body,
        idempotency_key=idempotency_key,
        clock=clock,
        register_id=register_id,
        store_id=store_id,
    )
    if done.existing is not None:
        return done.existing, False
    return Receipt(**done.receipt), done.created


def accept(
    session: Session,
    principal_or_company: Principal | Company | int,
    body: Any,
    *,
    idempotency_key: str | None = None,
    clock: Clock,
    register_id: int | None = None,
    store_id: int | None = None,
) -> Accepted:
    """Validate, split and store a receipt request (the receipt and its parts: one statement
    on PostgreSQL, with the worker's wake-up, in autocommit when the session has no
    transaction in progress — else in the session's, committed with it; no ORM objects).

    `body` is one request of the shared schema (docs/receipt-schema.md; its `id` is the
    integrator's external id). Commits. Returns the existing receipt with ``created=False``
    when the same body was already sent under the same external id or Idempotency-Key.

    :raises InvalidReceiptError: the request breaks the schema's rules (422; every problem by
        field, Russian messages; ``errors`` holds (path, code, message) tuples).
    :raises IdempotencyConflictError: the external id or the key names a receipt with another
        body (409; ``receipt_id`` is the existing receipt's id).

    `register_id` (the cabinet's "choose a register") pins every part to that register of the
    company: the router sends it nowhere else (InvalidReceiptError for another company's or an
    unknown register). `store_id` names the company's store (point of sale): only registers
    of that store (registered at its address, in its time zone) make the receipt.
    """
    company_id = _company(principal_or_company)
    if idempotency_key is not None and (
        not 0 < len(idempotency_key) <= MAX_KEY
        or not all(0x21 <= ord(ch) <= 0x7E for ch in idempotency_key)
    ):
        raise InvalidReceiptError(
            "Заголовок Idempotency-Key неверен",
            [("Idempotency-Key", "format", "От 1 до 128 печатных символов ASCII")],
        )
    if register_id is not None:
        reg = session.get(Register, register_id)
        if reg is None or reg.company_id != company_id:
            raise InvalidReceiptError(
                "Касса не найдена",
                [("register_id", "not_found", f"Касса {register_id} не найдена в компании")],
            )
    if store_id is not None:
        store = session.get(Store, store_id)
        if store is None or store.company_id != company_id:
            raise InvalidReceiptError(
                "Торговая точка не найдена",
                [("store_id", "not_found", f"Торговая точка {store_id} не найдена в компании")],
            )
    now = dt.datetime.fromtimestamp(clock.wall(), MSK).isoformat(timespec="seconds")
    if not isinstance(body, dict):  # not a request at all: the schema says how, nothing kept
        _norm, errors = schema.check(body, None, now)
        raise InvalidReceiptError(
            f"Чек не прошёл проверку ({_problems(len(errors))}): исправьте поля и отправьте снова",
            [(p, c, m) for p, c, m in errors],
        )
    digest = body_hash(body)
    # A repeat is found by the unique constraints at insert (below), not by a look-up first:
    # one round trip less for every new receipt. An invalid body is looked up before the 422,
    # so a repeat answers as before even if a dated rule has changed since the first.
    norm, errors = schema.check(body, None, now)
    if needs_split(body, norm, errors):
        requests, errors = split(body, now)
    elif errors or norm is None:
        requests = []
    else:
        requests = [body]
    if errors or not requests:
        found = _existing(session, company_id, body.get("id"), idempotency_key, digest)
        if found is not None:
            return Accepted(found.model_dump(), None, False, found)
        raise InvalidReceiptError(
            f"Чек не прошёл проверку ({_problems(len(errors))}): исправьте поля и отправьте снова",
            [(p, c, m) for p, c, m in errors],
        )
    external_id: str = body["id"]  # the schema checked it: 1–128 printable ASCII
    at = clock.wall()
    action = "correction" if body.get("correction") is not None else "receipt"
    receipt = {
        "company_id": company_id,
        "external_id": external_id,
        "idempotency_key": idempotency_key,
        "body_hash": digest,
        "body": body,
        "kind": _kind(body),
        "total": sum(_total(r) for r in requests),
        "parts": len(requests),
        "status": ReceiptStatus.ACCEPTED.value,
        "failure": None,
        "retryable": None,
        "created_at": at,
        "updated_at": at,
        "fiscalised_at": None,
        "confirmed_at": None,
    }
    parts = []
    for no, request in enumerate(requests, 1):
        rid = f"{uuid.uuid4().hex[:24]}-{no}"
        part_request = dict(request)
        part_request["id"] = rid  # the register's journal key (the agent sets it too)
        parts.append(
            {
                "company_id": company_id,
                "part_no": no,
                "request_id": rid,
                "action": action,
                "request": part_request,
                "pinned_register_id": register_id,
                "store_id": store_id,
                "total": _total(request),
                "status": ReceiptStatus.ACCEPTED.value,
                "tried": [],
                "created_at": at,
                "updated_at": at,
            }
        )
    bind = session.get_bind()
    if (
        isinstance(bind, Engine)
        and bind.dialect.name == "postgresql"
        and not session.in_transaction()
    ):
        # nothing of the caller's to commit with it: the one statement alone, in autocommit
        new_id = _insert_alone(bind, receipt, parts)
    else:
        try:
            new_id = _insert(session.connection(), receipt, parts)
            session.commit()
        except IntegrityError:
            # not a repeat (those insert nothing): a foreign key, say; nothing was kept
            session.rollback()
            raise
    if new_id is None:
        # the unique constraints found a receipt with this external id or key (a repeat, or a
        # concurrent request that won): answer as if it came first
        session.rollback()
        found = _existing(session, company_id, external_id, idempotency_key, digest)
        if found is None:  # pragma: no cover - the conflicting row exists by definition
            raise ReceiptNotFoundError(f"Чек с внешним идентификатором «{external_id}» не найден")
        return Accepted(found.model_dump(), None, False, found)
    receipt["id"] = new_id
    for p in parts:
        p["receipt_id"] = new_id
    return Accepted(receipt, parts, True)


def _pg_statement(n: int) -> Any:
    """One PostgreSQL statement that inserts a receipt and its `n` parts and wakes the
    receipts worker: INSERT … ON CONFLICT DO NOTHING RETURNING id as a CTE, the parts
    inserted from it (none when it inserted nothing: a repeat), pg_notify per new row.
    Built once per part count (bind parameters `r_<column>`, `p<i>_<column>`)."""
    stmt = _PG_STATEMENTS.get(n)
    if stmt is None:
        new = (
            postgresql.insert(_RECEIPT)
            .values({c: bindparam(f"r_{c}", type_=_RECEIPT.c[c].type) for c in _RECEIPT_COLUMNS})
            .on_conflict_do_nothing()
            .returning(_RECEIPT.c.id)
            .cte("new_receipt")
        )
        rows = [
            core_select(
                new.c.id,
                *(bindparam(f"p{i}_{c}", type_=_PART.c[c].type) for c in _PART_COLUMNS),
            )
            for i in range(n)
        ]
        made = (
            insert(_PART)
            .from_select(["receipt_id", *_PART_COLUMNS], rows[0] if n == 1 else union_all(*rows))
            .returning(_PART.c.id)
            .cte("new_parts")
        )
        stmt = core_select(new.c.id, wake(RECEIPTS)).add_cte(made)
        _PG_STATEMENTS[n] = stmt
    return stmt


_PG_STATEMENTS: dict[int, Any] = {}


@dataclass(frozen=True)
class _DriverStatement:
    """`_pg_statement(n)` compiled once for the engine's dialect, to run on the driver's
    connection: its SQL, the binds it fixes itself (the channel), and SQLAlchemy's own bind
    processors for the rest (the JSON columns' wrapper and serialiser)."""

    sql: str
    fixed: dict[str, Any]
    processors: dict[str, Callable[[Any], Any]]

    @classmethod
    def of(cls, dialect: Dialect, n: int) -> _DriverStatement:
        key = (type(dialect), n)
        made = _DRIVER_STATEMENTS.get(key)
        if made is None:
            compiled = _pg_statement(n).compile(dialect=dialect)
            processors: dict[str, Callable[[Any], Any]] = {}
            for name, bind in compiled.binds.items():
                process = bind.type.dialect_impl(dialect).bind_processor(dialect)
                if process is not None:
                    processors[name] = process
            ours = {f"r_{c}" for c in _RECEIPT_COLUMNS} | {
                f"p{i}_{c}" for i in range(n) for c in _PART_COLUMNS
            }
            fixed = {k: v for k, v in compiled.params.items() if k not in ours}
            for k, v in fixed.items():
                if k in processors:
                    fixed[k] = processors[k](v)
            made = cls(compiled.string, fixed, processors)
            _DRIVER_STATEMENTS[key] = made
        return made

    def params(self, receipt: dict[str, Any], parts: list[dict[str, Any]]) -> dict[str, Any]:
        """The statement's parameters as SQLAlchemy would bind them."""
        out = dict(self.fixed)
        for c in _RECEIPT_COLUMNS:
            out[f"r_{c}"] = receipt[c]
        for i, p in enumerate(parts):
            for c in _PART_COLUMNS:
                out[f"p{i}_{c}"] = p[c]
        for name, process in self.processors.items():
            if name not in self.fixed:
                out[name] = process(out[name])
        return out


_DRIVER_STATEMENTS: dict[tuple[type[Dialect], int], _DriverStatement] = {}


def _insert_alone(
    engine: Engine, receipt: dict[str, Any], parts: list[dict[str, Any]]
) -> int | None:
    """`_insert` on PostgreSQL when nothing else shares the transaction: the one statement
    (atomic by itself) in autocommit on a pooled connection's driver connection, prepared.
    The receipts hot path (issue 8): no BEGIN and COMMIT round trips, no ORM transaction or
    SQLAlchemy execution context around the one statement (~0.3 ms CPU a receipt).
    The driver's errors come out as SQLAlchemy's (IntegrityError for a foreign key)."""
    stmt = _DriverStatement.of(engine.dialect, len(parts))
    params = stmt.params(receipt, parts)
    raw = engine.raw_connection()  # the pool's checkout (and its ping, fleet/core/db.py)
    try:
        driver = raw.driver_connection
        if driver is None:  # pragma: no cover - a checked-out connection has one
            raise RuntimeError("no driver connection")
        try:
            driver.autocommit = True
            row = driver.execute(stmt.sql, params, prepare=True).fetchone()
            driver.autocommit = False
        except engine.dialect.loaded_dbapi.Error as e:
            gone = driver.broken or driver.closed or engine.dialect.is_disconnect(e, driver, None)
            if gone:  # as SQLAlchemy's execution does on a disconnect: this connection and
                # every one made before it are replaced at their next checkout
                engine.pool._invalidate(raw, e)
            else:  # a failed statement in autocommit leaves no transaction open
                driver.autocommit = False
            raise DBAPIError.instance(
                stmt.sql, params, e, engine.dialect.loaded_dbapi.Error, connection_invalidated=gone
            ) from e
    finally:
        raw.close()  # back to the pool
    return None if row is None else int(row[0])


def _insert(conn: Connection, receipt: dict[str, Any], parts: list[dict[str, Any]]) -> int | None:
    """Insert the receipt and its parts in the caller's transaction, without ORM objects;
    the new id, or None when a unique constraint (external id, key) names an existing one."""
    if conn.dialect.name == "postgresql":
        params = {f"r_{c}": receipt[c] for c in _RECEIPT_COLUMNS}
        for i, p in enumerate(parts):
            params.update({f"p{i}_{c}": p[c] for c in _PART_COLUMNS})
        row = conn.execute(_pg_statement(len(parts)), params).first()
        return None if row is None else int(row[0])
    new_id = conn.execute(
        sqlite.insert(_RECEIPT).values(receipt).on_conflict_do_nothing().returning(_RECEIPT.c.id)
    ).scalar()
    if new_id is None:
        return None
    conn.execute(insert(_PART), [{**p, "receipt_id": new_id} for p in parts])
    notify(conn, RECEIPTS)  # nothing on SQLite; kept for the one code path
    return int(new_id)


def _problems(n: int) -> str:
    if n % 10 == 1 and n % 100 != 11:
        return f"{n} ошибка"
    if 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        return f"{n} ошибки"
    return f"{n} ошибок"


def _total(request: dict[str, Any]) -> int:
    return sum(int(it["sum"]) for it in request["items"])


def get_receipt(
    session: Session, principal_or_company: Principal | Company | int, receipt_id: int
) -> Receipt:
    """The company's receipt by id; ReceiptNotFoundError otherwise."""
    rec = session.get(Receipt, receipt_id)
    if rec is None or rec.company_id != _company(principal_or_company):
        raise ReceiptNotFoundError(f"Чек {receipt_id} не найден")
    return rec


def find_by_external_id(
    session: Session, principal_or_company: Principal | Company | int, external_id: str
) -> Receipt:
    """The company's receipt by its external id; ReceiptNotFoundError otherwise."""
    rec = session.exec(
        select(Receipt).where(
            Receipt.company_id == _company(principal_or_company),
            Receipt.external_id == external_id,
        )
    ).first()
    if rec is None:
        raise ReceiptNotFoundError(f"Чек с внешним идентификатором «{external_id}» не найден")
    return rec


def parts_of(session: Session, receipt_ids: Sequence[int]) -> dict[int, list[ReceiptPart]]:
    """The parts of the receipts, by receipt id, in part order."""
    out: dict[int, list[ReceiptPart]] = {rid: [] for rid in receipt_ids}
    if not receipt_ids:
        return out
    rows = session.exec(
        select(ReceiptPart)
        .where(col(ReceiptPart.receipt_id).in_(list(receipt_ids)))
        .order_by(col(ReceiptPart.receipt_id), col(ReceiptPart.part_no))
    ).all()
    for p in rows:
        out[p.receipt_id].append(p)
    return out


def list_receipts(
    session: Session,
    principal_or_company: Principal | Company | int,
    *,
    since: float | None = None,
    until: float | None = None,
    status: ReceiptStatus | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Receipt], int]:
    """The company's receipts created in [since, until), newest first; (page, total)."""
    if not 1 <= limit <= MAX_LIST:
        raise InvalidReceiptError(
            "Неверный размер страницы", [("limit", "range", f"От 1 до {MAX_LIST}")]
        )
    where = [col(Receipt.company_id) == _company(principal_or_company)]
    if since is not None:
        where.append(col(Receipt.created_at) >= since)
    if until is not None:
        where.append(col(Receipt.created_at) < until)
    if status is not None:
        where.append(col(Receipt.status) == status.value)
    total = session.exec(select(func.count()).select_from(Receipt).where(*where)).one()
    rows = session.exec(
        select(Receipt)
        .where(*where)
        .order_by(col(Receipt.created_at).desc(), col(Receipt.id).desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return list(rows), int(total)


def callback_settings(
    session: Session, principal_or_company: Principal | Company | int
) -> CallbackSettings | None:
    """The company's callback settings, if any."""
    return session.get(CallbackSettings, _company(principal_or_company))


def set_callback_settings(
    session: Session,
    principal_or_company: Principal | Company | int,
    url: str,
    secret: str,
    clock: Clock,
) -> CallbackSettings:
    """Set (or replace) the company's callback URL and signing secret; commits."""
    fields: list[tuple[str, str, str]] = []
    if not url.startswith(("https://", "http://")) or len(url) > 500:
        fields.append(("url", "format", "Адрес — http:// или https://, до 500 символов"))
    if not 16 <= len(secret) <= 200:
        fields.append(("secret", "length", "Секрет — от 16 до 200 символов"))
    if fields:
        raise InvalidCallbackError(
            "Настройки уведомлений неверны", fields={p: m for p, _c, m in fields}
        )
    company_id = _company(principal_or_company)
    row = session.get(CallbackSettings, company_id)
    if row is None:
        row = CallbackSettings(
            company_id=company_id, url=url, secret=secret, updated_at=clock.wall()
        )
    else:
        row.url, row.secret, row.updated_at = url, secret, clock.wall()
    session.add(row)
    session.commit()
    return row
