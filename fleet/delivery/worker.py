"""The durable cascade: from a fiscalised receipt with a buyer's contact to a delivered message.

Each pass (`DeliveryWorker.run_once`) is two short transactions and the sends between:

1. **claim** (one transaction) — *enqueue*: receipts fiscalised (or confirmed) lately (the last
   ``lag_s``, all of ``catchup_s`` every ``rescan_s``) that name a buyer's contact (tag 1008)
   and have no ``delivery`` row get one: the contact, its channel order (the client's route for
   the register, the store or the company, else the default), a public-page token. ``INSERT …
   ON CONFLICT DO NOTHING`` on the unique receipt id: two workers cannot make two, and the rows
   this pass made are claimed at once (a lease ahead). *Due deliveries* are taken by one
   compare-and-set on ``state``/``next_at`` and pushed a lease ahead. For each, the next
   channel's attempt is written QUEUED with the key ``<delivery>:<round>:<channel>`` (unique),
   a paid channel debited first (short of money: the attempt is SKIPPED with the reason and the
   next channel is taken). Committed *before* sending.
2. **send / ask** — outside any transaction: the providers get the messages (with the key) and
   are asked for reports on attempts already sent.
3. **record** — the outcomes are written: SENT with the provider's id, FAILED with the error (a
   refused paid message is refunded), DELIVERED by the channel's rule (cascade.settle), the
   gateways' kept reports read first (providers/reports.py: one that came after the provider
   was asked is applied now). A send refused for now (``retry_later``: an outage, a rate
   limit) keeps the attempt QUEUED and the delivery due again after a backoff, within the
   channel's wait; the next claim re-sends it with the same key (`_later`).

Rows are written set-wise (on PostgreSQL one JSON parameter read by ``json_to_recordset``; on
SQLite the driver's executemany of one prepared statement; id lists ``= ANY`` / ``json_each``):
a pass of 500 receipts is a dozen statements, not thousands.

A crash between 1 and 3 leaves a QUEUED attempt. The next claim re-sends it with the same key
when the provider deduplicates keys (SMS gateways and the simulator do), else (SMTP cannot) it
records the attempt FAILED as "interrupted" and goes on to the next channel: never twice on one
channel within a round. A resend by the client starts a new round.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import hmac
import json
import logging
import operator
import secrets
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Final, Protocol, runtime_checkable

from sqlalchemy import (
    ARRAY,
    JSON,
    Table,
    Text,
    any_,
    bindparam,
    cast,
    column,
    func,
    insert,
    update,
)
from sqlalchemy import select as sa_select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col, select

from fleet.accounts.models import Company
from fleet.adreceipts.models import AdAssignment
from fleet.adreceipts.render import frame
from fleet.core.clock import Clock
from fleet.delivery import pricing
from fleet.delivery.bounces import BounceOutcome, Dsn, record_dsn
from fleet.delivery.cascade import AttemptStatus, Provider, ProviderRefusedError, settle
from fleet.delivery.channels import CHANNELS, Channel, DeliveredOn
from fleet.delivery.compose import PartView, ReceiptView, compose
from fleet.delivery.exceptions import BadContactError
from fleet.delivery.masking import contact_kind, mask, normalise_phone
from fleet.delivery.message import DkimKey, Outgoing
from fleet.delivery.models import Delivery, DeliveryAttempt, DeliveryPrefs
from fleet.delivery.providers.reports import kept as reports_kept
from fleet.delivery.routes import load_routes
from fleet.receipts.models import Receipt, ReceiptPart, ReceiptStatus, RoutingProfile
from fleet.registers.models import Register

__all__ = ["DeliveryState", "DeliveryWorker", "contact_hash", "normalise_contact", "record_bounce"]

log = logging.getLogger(__name__)

_DELIVERY: Table = Delivery.__table__  # type: ignore[attr-defined]
_ATTEMPT: Table = DeliveryAttempt.__table__  # type: ignore[attr-defined]
_RECEIPT: Table = Receipt.__table__  # type: ignore[attr-defined]
_PART: Table = ReceiptPart.__table__  # type: ignore[attr-defined]

INTERRUPTED: Final = "отправка прервана перезапуском: повтор по этому каналу не делается"
NO_CHANNELS: Final = "нет включённых каналов для этого контакта"
ALL_FAILED: Final = "ни один канал не доставил чек"


@runtime_checkable
class _SendsMany(Provider, Protocol):
    """A provider that takes a batch in one call (SMTP: pipelined across letters)."""

    def send_many(
        self, items: Sequence[tuple[str, Outgoing, str]]
    ) -> list[str | ProviderRefusedError]: ...


def _run(task: Callable[[], None]) -> None:
    task()


class DeliveryState:
    """A delivery's life: active (``next_at``), delivered or failed."""

    ACTIVE: Final = "active"
    DELIVERED: Final = "delivered"
    FAILED: Final = "failed"


def normalise_contact(contact: str) -> str:
    """The canonical form: a lower-case e-mail or +7… phone (BadContactError otherwise)."""
    contact = contact.strip()
    if contact_kind(contact) == "email":
        return contact.lower()
    return normalise_phone(contact)


def contact_hash(secret: str, contact: str) -> str:
    """A keyed hash of the normalised contact: finds a buyer's rows after the contact is gone."""
    return _keyed(secret, normalise_contact(contact))


def _keyed(secret: str, norm: str) -> str:
    # hmac.digest: OpenSSL's one-shot HMAC in C (hmac.new is a Python object a call)
    return hmac.digest(secret.encode(), norm.encode(), "sha256").hex()


def _write_first(session: Session) -> None:
    """On SQLite, take the write lock before reading: a read transaction that later writes
    fails at once ("database is locked") when another writer committed meanwhile, while a
    transaction that starts with a write waits on the busy timeout (as the job runner does)."""
    if session.get_bind().dialect.name == "sqlite":
        session.connection().execute(
            update(_DELIVERY).where(_DELIVERY.c.id == -1).values(version=_DELIVERY.c.version)
        )


def _among(dialect: str, column: ColumnElement[Any], values: Sequence[Any]) -> ColumnElement[bool]:
    """``column IN values`` as one bound parameter: ``= ANY(array)`` on PostgreSQL, ``IN
    (SELECT value FROM json_each(?))`` on SQLite. A 500-value ``IN`` list is 500 parameters for
    SQLAlchemy to build and the server to parse, in every statement of every pass."""
    if dialect == "postgresql":
        return column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))
    each = func.json_each(bindparam(None, json.dumps(list(values)))).table_valued("value")
    return column.in_(sa_select(each.c.value))


def _rowset(table: Table, rows: Sequence[Mapping[str, Any]], names: Sequence[str]) -> Any:
    """PostgreSQL: ``rows`` as a derived table of ``names`` (typed as ``table``'s columns) for
    one set-based statement, one JSON parameter read by ``json_to_recordset``. An executemany
    costs tens of µs of Python a row there (SQLAlchemy's per-row parameters, psycopg's dump of a
    list parameter: ~60 µs a receipt in a profile); ``json.dumps`` is C. (SQLite takes the
    driver's executemany of a prepared statement: see `_insert_deliveries_sqlite`.)"""
    payload = json.dumps([{n: r[n] for n in names} for r in rows], ensure_ascii=False)
    recordset = func.json_to_recordset(cast(bindparam(None, payload, type_=Text), JSON))
    columns = [column(n, table.c[n].type) for n in names]
    return recordset.table_valued(*columns).render_derived(with_types=True)


def _quoted(names: Sequence[str]) -> str:
    """Column names for a hand-written statement ("order" is a keyword)."""
    return ", ".join(f'"{n}"' for n in names)


def _insert_deliveries_sqlite(conn: Connection, values: Sequence[dict[str, Any]]) -> dict[int, int]:
    """``values`` inserted (``ON CONFLICT DO NOTHING``), then which rows are ours: receipt id ->
    delivery id. The DBAPI's executemany of one prepared statement and a read back by the
    unique receipt id (its token tells a row another worker made): an ``INSERT … SELECT`` from
    one JSON parameter cost SQLite a ``json_extract`` a column a row (~20 µs a receipt)."""
    names = [n for n in values[0] if n != "order"]  # "order": the JSON column, written last
    get = operator.itemgetter(*names)
    conn.exec_driver_sql(
        f'INSERT INTO delivery ({_quoted(names)}, "order")'
        f" VALUES ({', '.join('?' * (len(names) + 1))}) ON CONFLICT DO NOTHING",
        [(*get(v), json.dumps(v["order"])) for v in values],
    )
    tokens = {v["receipt_id"]: v["token"] for v in values}
    return {
        int(rid): int(did)
        for did, rid, token in conn.exec_driver_sql(
            "SELECT id, receipt_id, token FROM delivery"
            " WHERE receipt_id IN (SELECT value FROM json_each(?))",
            (json.dumps(list(tokens)),),
        )
        if tokens.get(rid) == token
    }


_DUE_COLUMNS: Final = (
    _DELIVERY.c.id,
    _DELIVERY.c.company_id,
    _DELIVERY.c.receipt_id,
    _DELIVERY.c.register_id,
    _DELIVERY.c.contact,
    _DELIVERY.c.masked,
    _DELIVERY.c["order"],
    _DELIVERY.c.token,
    _DELIVERY.c.round,
    _DELIVERY.c.position,
)
_PART_COLUMNS: Final = (
    _PART.c.receipt_id,
    _PART.c.part_no,
    _PART.c.store_id,
    _PART.c.register_id,
    _PART.c.fn_number,
    _PART.c.fd_number,
    _PART.c.fiscal_sign,
    _PART.c.shift_number,
    _PART.c.receipt_number,
    _PART.c.document_time,
    _PART.c.qr,
)


@dataclass(slots=True)
class _Due:
    """The columns of a claimed delivery the pass needs (plain rows: ORM objects cost more
    than the rest of the claim)."""

    id: int
    company_id: int
    receipt_id: int
    register_id: int | None
    contact: str | None
    masked: str
    order: list[str]
    token: str
    round: int
    position: int


@dataclass
class _Work:
    """One delivery's step in this pass (between the claim and the record)."""

    delivery_id: int
    company_id: int
    receipt_id: int
    channel: Channel
    key: str
    price: int
    contact: str | None
    # None: ask for a report on an attempt already sent; a callable renders the message in the
    # sending thread (the claim's transaction stays short, and the rendering overlaps the wire)
    message: Outgoing | Callable[[], Outgoing] | None
    provider_id: str | None = None
    sent_at: float | None = None
    outcome: str | None = None  # the report, "refused:<error>", or "retry:<error>" (for now)
    retry_after_s: float | None = None  # how long a rate-limiting provider asked to wait

    def outgoing(self) -> Outgoing | None:
        """The message to send, rendered now if it was left to the sending thread."""
        if self.message is None or isinstance(self.message, Outgoing):
            return self.message
        return self.message()


@dataclass
class _Plan:
    """The claim's writes, made in bulk at its end: new attempts, moved positions, ends."""

    attempts: list[dict[str, Any]] = field(default_factory=list)
    positions: dict[int, list[int]] = field(default_factory=dict)  # position -> deliveries
    ends: list[dict[str, Any]] = field(default_factory=list)

    def moved(self, d: _Due) -> None:
        self.positions.setdefault(d.position, []).append(d.id)

    def finish(self, d: _Due, state: str, reason: str | None, now: float) -> None:
        self.ends.append(
            {
                "b_id": d.id,
                "b_state": state,
                "b_reason": reason,
                "b_position": d.position,
                "b_updated_at": now,
            }
        )

    def write(self, session: Session) -> None:
        conn = session.connection()
        dialect = conn.dialect.name
        if self.attempts and dialect == "sqlite":
            # the DBAPI's executemany of one prepared statement (see _insert_deliveries_sqlite)
            names = list(self.attempts[0])  # every row is made from the same literal (_plan)
            conn.exec_driver_sql(
                f"INSERT INTO delivery_attempt ({_quoted(names)})"
                f" VALUES ({', '.join('?' * len(names))})",
                [tuple(r.values()) for r in self.attempts],
            )
        elif self.attempts:
            names = list(self.attempts[0])
            rows = _rowset(_ATTEMPT, self.attempts, names)
            conn.execute(
                insert(_ATTEMPT).from_select(names, sa_select(*(rows.c[n] for n in names)))
            )
        # nearly every delivery moves to the same position (0 -> 1): one statement per value
        for position, ids in self.positions.items():
            conn.execute(
                update(_DELIVERY)
                .where(_among(dialect, _DELIVERY.c.id, ids))
                .values(position=position)
            )
        if self.ends:
            conn.execute(
                update(_DELIVERY)
                .where(_DELIVERY.c.id == bindparam("b_id"))
                .values(
                    state=bindparam("b_state"),
                    reason=bindparam("b_reason"),
                    position=bindparam("b_position"),
                    updated_at=bindparam("b_updated_at"),
                ),
                self.ends,
            )


@dataclass
class DeliveryWorker:
    """Runs the cascades of every company; many workers may share the database."""

    engine: Engine
    clock: Clock
    providers: Mapping[Channel, Provider]
    base_url: str
    secret: str
    batch: int = 500
    poll_s: float = 5.0  # how soon an undecided attempt is asked again
    # a send refused for now (outage, rate limit) is tried again after retry_s, doubling up to
    # retry_max_s (or the provider's Retry-After), until its channel's wait is spent
    retry_s: float = 5.0
    retry_max_s: float = 60.0
    lease_s: float = 60.0  # a claimed delivery is not due for others meanwhile
    catchup_s: float = 6 * 3600.0  # receipts fiscalised longer ago are not sent any more
    # sends in flight at once (the relay's round trips overlap); a batching provider's
    # letters go in this many chunks, one per kept connection (1: in the pass's thread)
    concurrency: int = 8
    # a pass reads the receipts fiscalised in the last ``lag_s`` (ix_receipt_fiscalised_at; the
    # allowance for a slow commit or another host's clock), and all of ``catchup_s`` every
    # ``rescan_s``: reading the whole window each pass cost more than the letters
    lag_s: float = 10.0
    rescan_s: float = 60.0
    _rescanned_at: float = float("-inf")
    _pool: ThreadPoolExecutor | None = None

    def close(self) -> None:
        """Stop the sending threads."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    @property
    def enabled(self) -> list[Channel]:
        """The channels with a provider: the configured set."""
        return [c for c in Channel if c in self.providers]

    # --- the pass ---------------------------------------------------------------------------

    def run_once(self) -> int:
        """One pass: claim (new receipts and due deliveries, one transaction), send, record;
        returns the rows changed."""
        made, work = self.claim()
        if work:
            self._send(work)
            self._record(work)
        return made + len(work)

    def claim(self) -> tuple[int, list[_Work]]:
        """Steps 1 and 2 in one transaction: each newly fiscalised receipt with a buyer's
        contact gets its delivery and, claimed at once, its first attempt QUEUED; due
        deliveries are claimed and stepped. Returns the deliveries made and the work to send
        (committed, so every attempt is recorded before its send)."""
        now = self.clock.wall()
        with Session(self.engine, expire_on_commit=False) as session:
            _write_first(session)
            made, fresh, receipts, parts = self._enqueue(session, now)
            due, attempts = self._claim_due(session, now)
            ctx = _Context(session, self, [*fresh, *due], receipts, parts)
            plan = _Plan()
            out: list[_Work] = []
            for d in fresh:  # nothing tried yet
                w = self._plan(session, ctx, plan, d, [], now)
                if w is not None:
                    out.append(w)
            for d in due:
                current = [
                    a
                    for a in attempts.get(d.id, [])
                    if (a.key or "").startswith(f"{d.id}:{d.round}:")
                ]
                w = self._plan(session, ctx, plan, d, current, now)
                if w is not None:
                    out.append(w)
            plan.write(session)
            session.commit()
        return made, out

    def _enqueue(
        self, session: Session, now: float
    ) -> tuple[int, list[_Due], dict[int, Any], dict[int, list[Any]]]:
        """Make a delivery for each newly fiscalised receipt with a buyer's contact, claimed by
        this pass (``next_at`` a lease ahead). Returns how many were made, the active ones, and
        the receipts' and parts' rows read (the letters need them)."""
        conn = session.connection()
        dialect = conn.dialect.name
        contact_col = _RECEIPT.c.body["buyer_contact"].as_string()
        rescan = now - self._rescanned_at >= self.rescan_s
        since = now - (self.catchup_s if rescan else min(self.lag_s, self.catchup_s))
        rows = conn.execute(
            sa_select(
                _RECEIPT.c.id,
                _RECEIPT.c.company_id,
                contact_col,
                _RECEIPT.c.fiscalised_at,
                _RECEIPT.c.body,
                _RECEIPT.c.total,
            )
            .outerjoin(_DELIVERY, _DELIVERY.c.receipt_id == _RECEIPT.c.id)
            .where(
                _RECEIPT.c.status.in_(
                    [ReceiptStatus.FISCALISED.value, ReceiptStatus.CONFIRMED.value]
                ),
                _RECEIPT.c.fiscalised_at >= since,
                _DELIVERY.c.id.is_(None),
                contact_col.is_not(None),
            )
            .limit(self.batch)
        ).all()
        if rescan and len(rows) < self.batch:  # the whole window read: none left behind
            self._rescanned_at = now
        if not rows:
            return 0, [], {}, {}
        receipts: dict[int, Any] = {int(r[0]): r for r in rows}
        parts: dict[int, list[Any]] = {}
        for p in conn.execute(
            sa_select(*_PART_COLUMNS)
            .where(_among(dialect, _PART.c.receipt_id, list(receipts)))
            .order_by(_PART.c.receipt_id, _PART.c.part_no)
        ):
            parts.setdefault(p.receipt_id, []).append(p)
        routes = load_routes(session, list({int(r[1]) for r in rows}))
        enabled = self.enabled
        values: list[dict[str, Any]] = []
        for rid, cid, contact, fiscalised_at, _body, _total in rows:
            first = next((p for p in parts.get(rid, []) if p.part_no == 1), None)
            store_id = first.store_id if first else None
            register_id = first.register_id if first else None
            row: dict[str, Any] = {
                "company_id": cid,
                "receipt_id": rid,
                "store_id": store_id,
                "register_id": register_id,
                "token": secrets.token_urlsafe(32),
                "round": 1,
                "position": 0,
                "version": 1,  # claimed by this pass: the lease below
                "next_at": now + self.lease_s,
                "fiscalised_at": fiscalised_at or now,
                "created_at": now,
                "updated_at": now,
                "reason": None,
            }
            try:
                given = str(contact).strip()
                kind = contact_kind(given)
                # normalise_contact without classifying the contact again
                norm = given.lower() if kind == "email" else normalise_phone(given)
                order = routes[int(cid)].order_for(kind, store_id, register_id, enabled)
                row |= {
                    "contact": norm,
                    "contact_kind": kind,
                    "contact_hash": _keyed(self.secret, norm),
                    "masked": mask(norm),
                    "order": [c.value for c in order],
                    "state": DeliveryState.ACTIVE if order else DeliveryState.FAILED,
                    "reason": None if order else NO_CHANNELS,
                }
            except BadContactError as exc:
                row |= {
                    "contact": None,
                    "contact_kind": "unknown",
                    "contact_hash": hashlib.sha256(str(contact).encode()).hexdigest(),
                    "masked": "—",
                    "order": [],
                    "state": DeliveryState.FAILED,
                    "reason": exc.message if hasattr(exc, "message") else str(exc),
                }
            values.append(row)
        # ON CONFLICT DO NOTHING on the unique receipt: a row another worker made meanwhile is
        # not ours, so it is not claimed here. PostgreSQL: RETURNING names the rows this
        # statement made, one statement reading one JSON parameter (an executemany with
        # RETURNING became one 7000-parameter statement that psycopg parsed every time).
        if dialect == "sqlite":
            made = _insert_deliveries_sqlite(conn, values)
        else:
            names = list(values[0])
            src = _rowset(_DELIVERY, values, names)
            made = {
                int(r.receipt_id): int(r.id)
                for r in conn.execute(
                    pg_insert(_DELIVERY)
                    .from_select(names, sa_select(*(src.c[n] for n in names)))
                    .on_conflict_do_nothing()
                    .returning(_DELIVERY.c.id, _DELIVERY.c.receipt_id)
                )
            }
        fresh = [
            _Due(
                id=made[v["receipt_id"]],
                company_id=v["company_id"],
                receipt_id=v["receipt_id"],
                register_id=v["register_id"],
                contact=v["contact"],
                masked=v["masked"],
                order=v["order"],
                token=v["token"],
                round=1,
                position=0,
            )
            for v in values
            if v["receipt_id"] in made and v["state"] == DeliveryState.ACTIVE
        ]
        return len(made), fresh, receipts, parts

    def _claim_due(
        self, session: Session, now: float
    ) -> tuple[list[_Due], dict[int, list[DeliveryAttempt]]]:
        """Take the deliveries due now (a lease ahead) and read their attempts."""
        conn = session.connection()
        dialect = conn.dialect.name
        # PostgreSQL: rows another worker is claiming are skipped, not waited for and then
        # lost by the compare-and-set (SQLite has one writer and renders no FOR UPDATE)
        due_ids = [
            int(i)
            for (i,) in conn.execute(
                sa_select(_DELIVERY.c.id)
                .where(_DELIVERY.c.state == DeliveryState.ACTIVE, _DELIVERY.c.next_at <= now)
                .order_by(_DELIVERY.c.next_at)
                .limit(self.batch)
                .with_for_update(skip_locked=True)
            )
        ]
        if not due_ids:
            return [], {}
        # One compare-and-set for the batch: a row another worker took meanwhile no longer
        # matches (PostgreSQL re-checks the WHERE after the other's commit; SQLite has one
        # writer), and RETURNING gives the rows that are ours.
        due = [
            _Due(**r._mapping)
            for r in conn.execute(
                update(_DELIVERY)
                .where(
                    _among(dialect, _DELIVERY.c.id, due_ids),
                    _DELIVERY.c.state == DeliveryState.ACTIVE,
                    _DELIVERY.c.next_at <= now,
                )
                .values(
                    version=_DELIVERY.c.version + 1,
                    next_at=now + self.lease_s,
                    updated_at=now,
                )
                .returning(*_DUE_COLUMNS)
            )
        ]
        attempts: dict[int, list[DeliveryAttempt]] = {}
        if due:
            for a in session.exec(
                select(DeliveryAttempt)
                .where(_among(dialect, _ATTEMPT.c.delivery_id, [d.id for d in due]))
                .order_by(col(DeliveryAttempt.id))
            ):
                if a.delivery_id is not None:
                    attempts.setdefault(a.delivery_id, []).append(a)
        return due, attempts

    def _send(self, work: Sequence[_Work]) -> None:
        """Step 3, outside any transaction. Messages for a provider that takes several at
        once (`send_many`: SMTP pipelined across letters) go in at most ``concurrency``
        chunks, one per kept connection; the rest one call each. With one task it runs in
        this thread: handing letters to a pool cost more CPU (GIL hand-offs) than it saved."""
        batching = {c: p for c, p in self.providers.items() if isinstance(p, _SendsMany)}
        many: dict[Channel, list[_Work]] = {}
        tasks: list[Callable[[], None]] = []
        for w in work:
            if w.message is not None and w.contact is not None and w.channel in batching:
                many.setdefault(w.channel, []).append(w)
            else:
                tasks.append(functools.partial(self._call, w))
        for channel, ws in many.items():
            n = max(1, min(self.concurrency, len(ws)))
            tasks += [
                functools.partial(self._call_many, batching[channel], channel, ws[i::n])
                for i in range(n)
            ]
        if self.concurrency > 1 and len(tasks) > 1:
            if self._pool is None:  # kept: its threads keep their relay connections open
                self._pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="delivery")
            list(self._pool.map(_run, tasks))
        else:
            for task in tasks:
                task()

    def _call_many(self, provider: _SendsMany, channel: Channel, work: Sequence[_Work]) -> None:
        """``work``'s messages in one `send_many` call, then each asked for its report."""
        items: list[tuple[str, Outgoing, str]] = []
        ready: list[_Work] = []
        for w in work:
            try:
                items.append((w.contact or "", w.outgoing() or Outgoing(""), w.key))
                ready.append(w)
            except Exception as exc:  # one letter's bug must not stop the others
                log.exception("delivery message for %s failed", w.key)
                w.outcome = f"refused:{type(exc).__name__}"
        try:
            results = provider.send_many(items)
        except Exception as exc:  # a provider's bug must not stop the other receipts
            log.exception("delivery provider %s failed", channel.value)
            results = [ProviderRefusedError(type(exc).__name__)] * len(ready)
        sent_at = self.clock.wall()
        for w, result in zip(ready, results, strict=True):
            if isinstance(result, ProviderRefusedError):
                w.outcome = f"refused:{result}"
                continue
            w.provider_id, w.sent_at = result, sent_at
            try:
                w.outcome = provider.report(result)
            except Exception:  # no news from the provider: the wait decides
                log.warning("no report from %s for %s", channel.value, result)
                w.outcome = "accepted"

    def _plan(
        self,
        session: Session,
        ctx: _Context,
        plan: _Plan,
        d: _Due,
        current: list[DeliveryAttempt],
        now: float,
    ) -> _Work | None:
        last = current[-1] if current else None
        if last is not None and last.status == AttemptStatus.SENT:
            return self._work(d, last.key or "", Channel(last.channel), None, last)
        if last is not None and last.status == AttemptStatus.QUEUED:
            channel = Channel(last.channel)
            if getattr(self.providers.get(channel), "idempotent", False):
                return self._work(d, last.key or "", channel, ctx.message(d, channel), last)
            last.status = AttemptStatus.FAILED
            last.error = INTERRUPTED
            last.settled_at = now
            session.add(last)
            pricing.refund(session, self.clock, d.company_id, last.price_kop, last.key or "")
        if last is not None and last.status == AttemptStatus.DELIVERED:
            plan.finish(d, DeliveryState.DELIVERED, None, now)
            return None
        while d.position < len(d.order):
            channel = Channel(d.order[d.position])
            d.position += 1
            key = f"{d.id}:{d.round}:{channel.value}"
            row: dict[str, Any] = {
                "company_id": d.company_id,
                "receipt_id": d.receipt_id,
                "delivery_id": d.id,
                "channel": channel.value,
                "masked_address": d.masked,
                "provider_id": None,
                "status": AttemptStatus.QUEUED.value,
                "error": None,
                "at": now,
                "key": key,
                "price_kop": 0,
                "sent_at": None,
                "settled_at": None,
            }
            plan.attempts.append(row)
            if d.contact is None or channel not in self.providers:
                row["status"] = AttemptStatus.SKIPPED.value
                row["error"] = (
                    "контакт покупателя удалён" if d.contact is None else "канал выключен"
                )
                continue
            price = ctx.price(d, channel)
            if not pricing.charge(session, self.clock, d.company_id, channel, price, key):
                row["status"] = AttemptStatus.SKIPPED.value
                row["error"] = "недостаточно средств на балансе"
                continue
            row["price_kop"] = price
            plan.moved(d)
            return self._work(d, key, channel, ctx.message(d, channel), None, price)
        plan.finish(d, DeliveryState.FAILED, ALL_FAILED, now)
        return None

    def _work(
        self,
        d: _Due,
        key: str,
        channel: Channel,
        message: Outgoing | Callable[[], Outgoing] | None,
        a: DeliveryAttempt | None,
        price: int = 0,
    ) -> _Work:
        return _Work(
            delivery_id=d.id,
            company_id=d.company_id,
            receipt_id=d.receipt_id,
            key=key,
            channel=channel,
            price=a.price_kop if a is not None else price,
            contact=d.contact,
            message=message,
            provider_id=a.provider_id if a is not None else None,
            sent_at=a.sent_at if a is not None else None,
        )

    # --- 3. send / ask ----------------------------------------------------------------------

    def _call(self, w: _Work) -> None:
        provider = self.providers.get(w.channel)
        if provider is None:
            w.outcome = "refused:канал выключен"
            return
        if w.message is not None and w.contact is not None:
            try:
                w.provider_id = provider.send(
                    w.channel.value, w.contact, w.outgoing() or Outgoing(""), w.key
                )
                w.sent_at = self.clock.wall()
                w.outcome = "accepted"
            except ProviderRefusedError as exc:
                w.outcome = f"{'retry' if exc.retry_later else 'refused'}:{exc}"
                w.retry_after_s = exc.retry_after_s
            except Exception as exc:  # a provider's bug must not stop the other receipts
                log.exception("delivery provider %s failed", w.channel.value)
                w.outcome = f"refused:{type(exc).__name__}"
            if w.provider_id is None or w.outcome != "accepted":
                return
        if w.provider_id is None:
            w.outcome = "refused:нет идентификатора провайдера"
            return
        try:
            w.outcome = provider.report(w.provider_id)
        except Exception:  # no news from the provider: the wait decides
            log.warning("no report from %s for %s", w.channel.value, w.provider_id)
            w.outcome = "accepted"

    # --- 4. record --------------------------------------------------------------------------

    def _record(self, work: Sequence[_Work]) -> None:
        """Write the outcomes in bulk (Core statements: this runs for every message)."""
        now = self.clock.wall()
        with Session(self.engine) as session:
            _write_first(session)
            conn = session.connection()
            current = {
                r.key: r
                for r in conn.execute(
                    sa_select(
                        _ATTEMPT.c.key,
                        _ATTEMPT.c.status,
                        _ATTEMPT.c.error,
                        _ATTEMPT.c.sent_at,
                        _ATTEMPT.c.at,
                        _ATTEMPT.c.retries,
                    ).where(_among(conn.dialect.name, _ATTEMPT.c.key, [w.key for w in work]))
                )
            }
            # the gateways' kept reports are the source (a report that came after the provider
            # was asked, before this commit, is applied now: reports.py locks against it);
            # e-mail has none
            reports = reports_kept(
                conn,
                [
                    w.provider_id
                    for w in work
                    if w.provider_id is not None
                    and CHANNELS[w.channel].delivered_on is not DeliveredOn.BOUNCE_WINDOW
                    and not (w.outcome or "").startswith(("refused:", "retry:"))
                ],
            )
            attempts: list[dict[str, Any]] = []
            deliveries: list[dict[str, Any]] = []
            for w in work:
                a = current.get(w.key)
                if a is None:
                    continue
                row = {
                    "b_key": w.key,
                    "b_status": a.status,
                    "b_error": a.error,
                    "b_provider_id": w.provider_id,
                    "b_sent_at": a.sent_at,
                    "b_settled_at": None,
                    "b_retries": a.retries,
                }
                drow = {
                    "b_id": w.delivery_id,
                    "b_state": DeliveryState.ACTIVE,
                    "b_next_at": now,
                    "b_first": None,  # kept unless this is the first send (coalesce)
                    "b_updated_at": now,
                }
                outcome = reports.get(w.provider_id or "") or w.outcome or "accepted"
                if outcome.startswith("retry:") and self._later(w, a, row, drow, outcome, now):
                    pass  # still queued: the same key is sent again later
                elif outcome.startswith(("refused:", "retry:")):
                    row |= {
                        "b_status": AttemptStatus.FAILED.value,
                        "b_error": _refusal(outcome, a.retries)[:300],
                        "b_settled_at": now,
                    }
                    pricing.refund(session, self.clock, w.company_id, w.price, w.key)
                else:
                    if a.status == AttemptStatus.QUEUED:
                        row["b_status"] = AttemptStatus.SENT.value
                        row["b_sent_at"] = drow["b_first"] = w.sent_at or now
                    sent_at = row["b_sent_at"] or now
                    if a.status == AttemptStatus.FAILED:  # a bounce recorded meanwhile
                        status, error = AttemptStatus.FAILED, a.error
                    else:
                        status, error = settle(w.channel, outcome, now - sent_at)
                    row["b_status"], row["b_error"] = status.value, error
                    if status is AttemptStatus.SENT:
                        policy = CHANNELS[w.channel]
                        end = sent_at + policy.wait_s
                        # e-mail has no report to ask for: a DSN (bounces.py) makes the
                        # delivery due at once, else it is looked at when its window ends
                        drow["b_next_at"] = (
                            end
                            if policy.delivered_on is DeliveredOn.BOUNCE_WINDOW
                            else min(end, now + self.poll_s)
                        )
                    else:
                        row["b_settled_at"] = now
                        if status is AttemptStatus.DELIVERED:
                            drow["b_state"] = DeliveryState.DELIVERED
                attempts.append(row)
                deliveries.append(drow)
            if attempts and conn.dialect.name == "sqlite":
                # SQLite: an UPDATE … FROM json_each may be planned the wrong way round (a scan
                # of the table, the JSON read again for each of its rows: seconds a pass once
                # the statistics call the table small); the DBAPI's executemany of a prepared
                # statement is a key lookup a row, without SQLAlchemy's per-row parameters
                conn.exec_driver_sql(
                    "UPDATE delivery_attempt SET status = ?, error = ?, provider_id = ?,"
                    " sent_at = ?, settled_at = ?, retries = ? WHERE key = ?",
                    [
                        (
                            r["b_status"],
                            r["b_error"],
                            r["b_provider_id"],
                            r["b_sent_at"],
                            r["b_settled_at"],
                            r["b_retries"],
                            r["b_key"],
                        )
                        for r in attempts
                    ],
                )
                conn.exec_driver_sql(
                    "UPDATE delivery SET state = ?, next_at = ?,"
                    " first_attempt_at = coalesce(first_attempt_at, ?), updated_at = ?"
                    " WHERE id = ?",
                    [
                        (r["b_state"], r["b_next_at"], r["b_first"], r["b_updated_at"], r["b_id"])
                        for r in deliveries
                    ],
                )
            elif attempts:
                a_rows = _rowset(
                    _ATTEMPT,
                    [{k.removeprefix("b_"): v for k, v in r.items()} for r in attempts],
                    ["key", "status", "error", "provider_id", "sent_at", "settled_at", "retries"],
                )
                conn.execute(
                    update(_ATTEMPT)
                    .where(_ATTEMPT.c.key == a_rows.c.key)
                    .values(
                        status=a_rows.c.status,
                        error=a_rows.c.error,
                        provider_id=a_rows.c.provider_id,
                        sent_at=a_rows.c.sent_at,
                        settled_at=a_rows.c.settled_at,
                        retries=a_rows.c.retries,
                    )
                )
                d_rows = _rowset(
                    _DELIVERY,
                    [
                        {
                            "id": r["b_id"],
                            "state": r["b_state"],
                            "next_at": r["b_next_at"],
                            "first_attempt_at": r["b_first"],
                            "updated_at": r["b_updated_at"],
                        }
                        for r in deliveries
                    ],
                    ["id", "state", "next_at", "first_attempt_at", "updated_at"],
                )
                conn.execute(
                    update(_DELIVERY)
                    .where(_DELIVERY.c.id == d_rows.c.id)
                    .values(
                        state=d_rows.c.state,
                        next_at=d_rows.c.next_at,
                        first_attempt_at=func.coalesce(
                            _DELIVERY.c.first_attempt_at, d_rows.c.first_attempt_at
                        ),
                        updated_at=d_rows.c.updated_at,
                    )
                )
            session.commit()

    def _later(
        self,
        w: _Work,
        a: Any,
        row: dict[str, Any],
        drow: dict[str, Any],
        outcome: str,
        now: float,
    ) -> bool:
        """A send refused for now (an outage, a rate limit) after the provider's own retries:
        keep the attempt queued, its retries and last error on the row, and make the delivery
        due again after a backoff, at the latest when its channel's wait (from the attempt's
        ``at``) ends. The same key goes again: an idempotent provider sends nothing twice. False
        (the attempt fails, the cascade moves on) when the wait is spent or the provider cannot
        be asked twice."""
        provider = self.providers.get(w.channel)
        if a.status != AttemptStatus.QUEUED or not getattr(provider, "idempotent", False):
            return False
        end = a.at + CHANNELS[w.channel].wait_s
        if now >= end:
            return False
        pause = min(self.retry_s * 2 ** min(a.retries, 20), self.retry_max_s)
        pause = max(pause, w.retry_after_s or 0.0)
        row["b_error"] = outcome.removeprefix("retry:")[:300]
        row["b_retries"] = a.retries + 1
        drow["b_next_at"] = min(end, now + pause)
        return True


def _refusal(outcome: str, retries: int) -> str:
    """The error of a failed send; a transient one that outlived the channel's wait says so."""
    text = outcome.partition(":")[2]
    if outcome.startswith("retry:") and retries:
        return f"{text} (попыток: {retries + 1}; время ожидания канала вышло)"
    return text


class _Context:
    """What composing and pricing need for a claimed batch, read once."""

    def __init__(
        self,
        session: Session,
        worker: DeliveryWorker,
        due: Sequence[_Due],
        receipts: dict[int, Any],
        parts: dict[int, list[Any]],
    ) -> None:
        """``receipts`` and ``parts``: rows already read (by the enqueue); the rest is read
        here, plain rows of the columns the letter shows (no ORM objects: this runs per
        message)."""
        self.session = session
        self.worker = worker
        self.receipts = receipts
        self.parts = parts
        conn = session.connection()
        dialect = conn.dialect.name
        rids = [d.receipt_id for d in due if d.receipt_id not in receipts]
        if rids:
            for r in conn.execute(
                sa_select(_RECEIPT.c.id, _RECEIPT.c.body, _RECEIPT.c.total).where(
                    _among(dialect, _RECEIPT.c.id, rids)
                )
            ):
                receipts[r.id] = r
            for p in conn.execute(
                sa_select(*_PART_COLUMNS)
                .where(_among(dialect, _PART.c.receipt_id, rids))
                .order_by(_PART.c.receipt_id, _PART.c.part_no)
            ):
                parts.setdefault(p.receipt_id, []).append(p)
        cids = {d.company_id for d in due}
        self.companies = {
            c.id: c for c in session.exec(select(Company).where(col(Company.id).in_(cids)))
        }
        self.prefs = {
            p.company_id: p
            for p in session.exec(
                select(DeliveryPrefs).where(col(DeliveryPrefs.company_id).in_(cids))
            )
        }
        regs = {d.register_id for d in due if d.register_id is not None}
        self.tariffs = {
            r.id: r.tariff_code
            for r in session.exec(select(Register).where(col(Register.id).in_(regs)))
        }
        self.profiles = {
            p.register_id: p.profile
            for p in session.exec(
                select(RoutingProfile).where(col(RoutingProfile.register_id).in_(regs))
            )
        }
        self.prices = pricing.Prices(session)
        # companies with an advertising template assigned: only their letters are framed
        self.advertisers = set(
            session.exec(
                select(AdAssignment.company_id)
                .where(col(AdAssignment.company_id).in_(cids))
                .distinct()
            ).all()
        )
        self._views: dict[int, ReceiptView] = {}

    def price(self, d: _Due, channel: Channel) -> int:
        tariff = self.tariffs.get(d.register_id) if d.register_id is not None else None
        return self.prices.price(channel, tariff)

    def view(self, d: _Due) -> ReceiptView:
        if d.receipt_id not in self._views:
            self._views[d.receipt_id] = receipt_view(
                self.receipts.get(d.receipt_id),
                self.parts.get(d.receipt_id, []),
                self.companies.get(d.company_id),
                self.profiles.get(d.register_id or -1, {}),
                f"{self.worker.base_url.rstrip('/')}/r/{d.token}",
            )
        return self._views[d.receipt_id]

    def message(self, d: _Due, channel: Channel) -> Outgoing | Callable[[], Outgoing]:
        """The message, or (no advertising frame, which reads the database) its rendering
        left to the sending thread."""
        dkim: DkimKey | None = None
        prefs = self.prefs.get(d.company_id)
        if prefs and prefs.dkim_domain and prefs.dkim_selector and prefs.dkim_key_pem:
            dkim = DkimKey(prefs.dkim_domain, prefs.dkim_selector, prefs.dkim_key_pem)
        if channel is not Channel.EMAIL or d.company_id not in self.advertisers:
            return functools.partial(self._compose, d, channel, dkim)
        view = self.view(d)
        out = compose(channel, view, dkim=dkim)
        if d.company_id in self.advertisers:
            # the advertising frame (fleet/adreceipts): only when the buyer agreed and a
            # template applies; the fiscal requisites inside stay as rendered here
            framed = frame(
                self.session, d.receipt_id, out.html or "", base_url=self.worker.base_url
            )
            if framed is not None:
                out = dataclasses.replace(out, html=framed)
        return out

    def _compose(self, d: _Due, channel: Channel, dkim: DkimKey | None) -> Outgoing:
        view = self.view(d)  # from rows read by the claim: no database here
        if channel is not Channel.EMAIL:
            return compose(channel, view)
        return compose(channel, view, dkim=dkim, prepared=True)


def receipt_view(
    receipt: Any,
    parts: Sequence[Any],
    company: Company | None,
    profile: dict[str, Any],
    link: str,
) -> ReceiptView:
    """The letter's and the public page's view of a receipt (``receipt`` and ``parts``: rows
    or models with the receipt's ``body``, ``total`` and the parts' fiscal columns)."""
    return ReceiptView.build(
        company_name=company.name if company else "",
        company_inn=company.inn if company else "",
        body=receipt.body if receipt is not None and isinstance(receipt.body, dict) else {},
        total=receipt.total if receipt is not None else 0,
        profile=profile or {},
        parts=[
            PartView(
                p.fn_number,
                p.fd_number,
                p.fiscal_sign,
                p.shift_number,
                p.receipt_number,
                p.document_time,
                p.qr,
            )
            for p in parts
        ],
        link=link,
    )


def record_bounce(session: Session, clock: Clock, message_id: str) -> bool:
    """A bounce named this e-mail by its Message-ID: its attempt failed and the cascade moves
    on (True); see `fleet.delivery.bounces` for DSNs read off the wire. Does not commit."""
    dsn = Dsn("failed", "5.0.0", None, None, message_id)
    return record_dsn(session, clock, dsn, message_id=message_id) is BounceOutcome.FAILED
