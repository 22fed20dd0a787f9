"""The durable cascade: from a fiscalised receipt with a buyer's contact to a delivered message.

Each pass (`DeliveryWorker.run_once`) does, in short transactions of its own:

1. **enqueue** — receipts fiscalised (or confirmed) within ``catchup_s`` that name a buyer's
   contact (tag 1008) and have no ``delivery`` row get one: the contact, its channel order (the
   client's route for the register, the store or the company, else the default), a public-page
   token. ``INSERT … ON CONFLICT DO NOTHING`` on the unique receipt id: two workers cannot
   make two.
2. **claim** — due deliveries are taken one by one by compare-and-set on ``version`` and pushed a
   lease into the future; for each, the next channel's attempt is written QUEUED with the key
   ``<delivery>:<round>:<channel>`` (unique), a paid channel debited first (short of money: the
   attempt is SKIPPED with the reason and the next channel is taken). Committed *before* sending.
3. **send / ask** — outside any transaction: the providers get the messages (with the key) and
   are asked for reports on attempts already sent.
4. **record** — the outcomes are written: SENT with the provider's id, FAILED with the error (a
   refused paid message is refunded), DELIVERED by the channel's rule (cascade.settle).

A crash between 2 and 4 leaves a QUEUED attempt. The next claim re-sends it with the same key
when the provider deduplicates keys (SMS gateways and the simulator do), else (SMTP cannot) it
records the attempt FAILED as "interrupted" and goes on to the next channel: never twice on one
channel within a round. A resend by the client starts a new round.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import hmac
import logging
import secrets
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Final

from jinja2 import Environment
from sqlalchemy import Table, bindparam, insert, update
from sqlalchemy import select as sa_select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine
from sqlalchemy.sql.dml import Insert
from sqlmodel import Session, col, select

from fleet.accounts.models import Company
from fleet.adreceipts.models import AdAssignment
from fleet.adreceipts.render import frame
from fleet.core.clock import Clock
from fleet.delivery import pricing
from fleet.delivery.bounces import BounceOutcome, Dsn, record_dsn
from fleet.delivery.cascade import AttemptStatus, Provider, ProviderRefusedError, settle
from fleet.delivery.channels import CHANNELS, Channel, DeliveredOn
from fleet.delivery.compose import PartView, ReceiptView, compose, templates
from fleet.delivery.exceptions import BadContactError
from fleet.delivery.masking import contact_kind, mask, normalise_phone
from fleet.delivery.message import DkimKey, Outgoing
from fleet.delivery.models import Delivery, DeliveryAttempt, DeliveryPrefs
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
    return hmac.new(
        secret.encode(), normalise_contact(contact).encode(), hashlib.sha256
    ).hexdigest()


def _write_first(session: Session) -> None:
    """On SQLite, take the write lock before reading: a read transaction that later writes
    fails at once ("database is locked") when another writer committed meanwhile, while a
    transaction that starts with a write waits on the busy timeout (as the job runner does)."""
    if session.get_bind().dialect.name == "sqlite":
        session.connection().execute(
            update(_DELIVERY).where(_DELIVERY.c.id == -1).values(version=_DELIVERY.c.version)
        )


def _insert(engine_name: str) -> Any:
    return pg_insert if engine_name == "postgresql" else sqlite_insert


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
    outcome: str | None = None  # the report, or "refused:<error>"

    def outgoing(self) -> Outgoing | None:
        """The message to send, rendered now if it was left to the sending thread."""
        if self.message is None or isinstance(self.message, Outgoing):
            return self.message
        return self.message()


@dataclass
class _Plan:
    """The claim's writes, made in bulk at its end: new attempts, moved positions, ends."""

    attempts: list[dict[str, Any]] = field(default_factory=list)
    positions: list[dict[str, Any]] = field(default_factory=list)
    ends: list[dict[str, Any]] = field(default_factory=list)

    def moved(self, d: _Due) -> None:
        self.positions.append({"b_id": d.id, "b_position": d.position})

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
        if self.attempts:
            conn.execute(insert(_ATTEMPT), self.attempts)
        if self.positions:
            conn.execute(
                update(_DELIVERY)
                .where(_DELIVERY.c.id == bindparam("b_id"))
                .values(position=bindparam("b_position")),
                self.positions,
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
    lease_s: float = 60.0  # a claimed delivery is not due for others meanwhile
    catchup_s: float = 6 * 3600.0  # receipts fiscalised longer ago are not sent any more
    concurrency: int = 8  # sends in flight at once (the relay's round trips overlap)
    env: Environment = field(default_factory=templates)
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
        """One pass: enqueue, then step due deliveries; returns the rows changed."""
        changed = self.enqueue()
        changed += self.step()
        return changed

    def enqueue(self) -> int:
        """Make a delivery for each newly fiscalised receipt with a buyer's contact."""
        now = self.clock.wall()
        contact_col = col(Receipt.body)["buyer_contact"].as_string()
        with Session(self.engine) as session:
            _write_first(session)
            rows = session.exec(
                select(Receipt.id, Receipt.company_id, contact_col, Receipt.fiscalised_at)
                .outerjoin(Delivery, col(Delivery.receipt_id) == col(Receipt.id))
                .where(
                    col(Receipt.status).in_(
                        [ReceiptStatus.FISCALISED.value, ReceiptStatus.CONFIRMED.value]
                    ),
                    col(Receipt.fiscalised_at) >= now - self.catchup_s,
                    col(Delivery.id).is_(None),
                    contact_col.is_not(None),
                )
                .limit(self.batch)
            ).all()
            if not rows:
                return 0
            ids = [int(r[0]) for r in rows if r[0] is not None]
            first: dict[int, Any] = {
                p.receipt_id: p
                for p in session.connection().execute(
                    sa_select(_PART.c.receipt_id, _PART.c.store_id, _PART.c.register_id).where(
                        _PART.c.receipt_id.in_(ids), _PART.c.part_no == 1
                    )
                )
            }
            routes = load_routes(session, [int(r[1]) for r in rows])
            values: list[dict[str, Any]] = []
            for rid, cid, contact, fiscalised_at in rows:
                part = first.get(rid or 0)
                store_id = part.store_id if part else None
                register_id = part.register_id if part else None
                row: dict[str, Any] = {
                    "company_id": cid,
                    "receipt_id": rid,
                    "store_id": store_id,
                    "register_id": register_id,
                    "token": secrets.token_urlsafe(32),
                    "round": 1,
                    "position": 0,
                    "version": 0,
                    "next_at": now,
                    "fiscalised_at": fiscalised_at or now,
                    "created_at": now,
                    "updated_at": now,
                    "reason": None,
                }
                try:
                    kind = contact_kind(str(contact))
                    norm = normalise_contact(str(contact))
                    order = routes[int(cid)].order_for(kind, store_id, register_id, self.enabled)
                    row |= {
                        "contact": norm,
                        "contact_kind": kind,
                        "contact_hash": contact_hash(self.secret, norm),
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
            stmt: Insert = _insert(self.engine.dialect.name)(_DELIVERY)
            session.connection().execute(stmt.on_conflict_do_nothing(), values)  # type: ignore[attr-defined]
            session.commit()
            return len(values)

    def step(self) -> int:
        """Advance every due delivery by one move; returns how many moved."""
        work = self._claim()
        if not work:
            return 0
        if self.concurrency > 1 and len(work) > 1:
            if self._pool is None:  # kept: its threads keep their relay connections open
                self._pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="delivery")
            list(self._pool.map(self._call, work))
        else:
            for w in work:
                self._call(w)
        self._record(work)
        return len(work)

    # --- 2. claim ---------------------------------------------------------------------------

    def _claim(self) -> list[_Work]:
        now = self.clock.wall()
        with Session(self.engine, expire_on_commit=False) as session:
            _write_first(session)
            # PostgreSQL: rows another worker is claiming are skipped, not waited for and then
            # lost by the compare-and-set (SQLite has one writer and renders no FOR UPDATE)
            due_ids = session.exec(
                select(Delivery.id)
                .where(Delivery.state == DeliveryState.ACTIVE, col(Delivery.next_at) <= now)
                .order_by(col(Delivery.next_at))
                .limit(self.batch)
                .with_for_update(skip_locked=True)
            ).all()
            if not due_ids:
                return []
            # One compare-and-set for the batch: a row another worker took meanwhile no longer
            # matches (PostgreSQL re-checks the WHERE after the other's commit; SQLite has one
            # writer), and RETURNING says which rows are ours.
            won = {
                int(i)
                for (i,) in session.connection().execute(
                    update(_DELIVERY)
                    .where(
                        _DELIVERY.c.id.in_(list(due_ids)),
                        _DELIVERY.c.state == DeliveryState.ACTIVE,
                        _DELIVERY.c.next_at <= now,
                    )
                    .values(
                        version=_DELIVERY.c.version + 1,
                        next_at=now + self.lease_s,
                        updated_at=now,
                    )
                    .returning(_DELIVERY.c.id)
                )
            }
            if not won:
                session.commit()
                return []
            c = _DELIVERY.c
            due = [
                _Due(**r._mapping)
                for r in session.connection().execute(
                    sa_select(
                        c.id,
                        c.company_id,
                        c.receipt_id,
                        c.register_id,
                        c.contact,
                        c.masked,
                        c["order"],
                        c.token,
                        c.round,
                        c.position,
                    ).where(c.id.in_(won))
                )
            ]
            attempts: dict[int, list[DeliveryAttempt]] = {i: [] for i in won}
            for a in session.exec(
                select(DeliveryAttempt)
                .where(col(DeliveryAttempt.delivery_id).in_(won))
                .order_by(col(DeliveryAttempt.id))
            ):
                if a.delivery_id is not None:
                    attempts[a.delivery_id].append(a)
            ctx = _Context(session, self, due)
            plan = _Plan()
            out: list[_Work] = []
            for d in due:
                current = [
                    a for a in attempts[d.id] if (a.key or "").startswith(f"{d.id}:{d.round}:")
                ]
                w = self._plan(session, ctx, plan, d, current, now)
                if w is not None:
                    out.append(w)
            plan.write(session)
            session.commit()
        return out

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
                w.outcome = f"refused:{exc}"
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
                    select(
                        _ATTEMPT.c.key, _ATTEMPT.c.status, _ATTEMPT.c.error, _ATTEMPT.c.sent_at
                    ).where(_ATTEMPT.c.key.in_([w.key for w in work]))
                )
            }
            first = {
                r.id: r.first_attempt_at
                for r in conn.execute(
                    select(_DELIVERY.c.id, _DELIVERY.c.first_attempt_at).where(
                        _DELIVERY.c.id.in_([w.delivery_id for w in work])
                    )
                )
            }
            attempts: list[dict[str, Any]] = []
            deliveries: list[dict[str, Any]] = []
            for w in work:
                a = current.get(w.key)
                if a is None or w.delivery_id not in first:
                    continue
                row = {
                    "b_key": w.key,
                    "b_status": a.status,
                    "b_error": a.error,
                    "b_provider_id": w.provider_id,
                    "b_sent_at": a.sent_at,
                    "b_settled_at": None,
                }
                drow = {
                    "b_id": w.delivery_id,
                    "b_state": DeliveryState.ACTIVE,
                    "b_next_at": now,
                    "b_first": first[w.delivery_id],
                    "b_updated_at": now,
                }
                outcome = w.outcome or "accepted"
                if outcome.startswith("refused:"):
                    row |= {
                        "b_status": AttemptStatus.FAILED.value,
                        "b_error": outcome.removeprefix("refused:")[:300],
                        "b_settled_at": now,
                    }
                    pricing.refund(session, self.clock, w.company_id, w.price, w.key)
                else:
                    if a.status == AttemptStatus.QUEUED:
                        row["b_status"] = AttemptStatus.SENT.value
                        row["b_sent_at"] = w.sent_at or now
                        if drow["b_first"] is None:
                            drow["b_first"] = row["b_sent_at"]
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
            if attempts:
                conn.execute(
                    update(_ATTEMPT)
                    .where(_ATTEMPT.c.key == bindparam("b_key"))
                    .values(
                        status=bindparam("b_status"),
                        error=bindparam("b_error"),
                        provider_id=bindparam("b_provider_id"),
                        sent_at=bindparam("b_sent_at"),
                        settled_at=bindparam("b_settled_at"),
                    ),
                    attempts,
                )
                conn.execute(
                    update(_DELIVERY)
                    .where(_DELIVERY.c.id == bindparam("b_id"))
                    .values(
                        state=bindparam("b_state"),
                        next_at=bindparam("b_next_at"),
                        first_attempt_at=bindparam("b_first"),
                        updated_at=bindparam("b_updated_at"),
                    ),
                    deliveries,
                )
            session.commit()


class _Context:
    """What composing and pricing need for a claimed batch, read once."""

    def __init__(self, session: Session, worker: DeliveryWorker, due: Sequence[_Due]) -> None:
        self.session = session
        self.worker = worker
        rids = [d.receipt_id for d in due]
        # plain rows of the columns the letter shows (no ORM objects: this runs per message)
        conn = session.connection()
        self.receipts: dict[int, Any] = {
            r.id: r
            for r in conn.execute(
                sa_select(_RECEIPT.c.id, _RECEIPT.c.body, _RECEIPT.c.total).where(
                    _RECEIPT.c.id.in_(rids)
                )
            )
        }
        self.parts: dict[int, list[Any]] = {}
        for p in conn.execute(
            sa_select(
                _PART.c.receipt_id,
                _PART.c.fn_number,
                _PART.c.fd_number,
                _PART.c.fiscal_sign,
                _PART.c.shift_number,
                _PART.c.receipt_number,
                _PART.c.document_time,
                _PART.c.qr,
            )
            .where(_PART.c.receipt_id.in_(rids))
            .order_by(_PART.c.part_no)
        ):
            self.parts.setdefault(p.receipt_id, []).append(p)
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
        out = compose(self.worker.env, channel, view, dkim=dkim)
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
            return compose(self.worker.env, channel, view)
        return compose(self.worker.env, channel, view, dkim=dkim)


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
