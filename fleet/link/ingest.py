"""The fleet's MQTT ingest: what registers send, stored durably before the broker forgets it.

`Ingest` subscribes to every register's up-kinds (presence, state, doc, ofd, ack, result)
under a root: on Mosquitto through the shared subscription `$share/<group>/<root>/v1/reg/+/<kind>`
so several workers split the load, on the embedded amqtt broker (no shared subscriptions) with
a plain one and a single worker. Acknowledgements are manual: a message is PUBACKed only after
the database transaction that stored it committed, so a worker killed mid-batch loses nothing
(the broker re-sends to the session's next connection; storing is idempotent).

A batch (up to `batch_size` messages, `batch_ms` after its first, or as soon as the stream
pauses — on MQTT 5 once it is half that old, and never while a decoded batch still waits for
the committer) is decoded by the batching thread (`Store.prepare`) and committed as one transaction
(`Store.store`). On PostgreSQL a committer thread commits the batches in order while the
batching thread gathers and decodes the next one (the transaction's wait on the server overlaps
the worker's CPU; at most one prepared batch waits); on SQLite the batching thread commits.
  - a bad message (topic, size, JSON, version, schema, unknown serial) becomes a dead letter
    with the codec's precise reason and is acknowledged like any other: the stream never stops;
    a message the database refuses (a constraint, a value out of range) is isolated by halving
    the batch and dead-lettered, the rest stored;
  - documents: on PostgreSQL a binary COPY (straight into the table; if one is stored already,
    into a temporary table and one INSERT ... ON CONFLICT (fn_number, fd_number) DO NOTHING),
    on SQLite that INSERT by the driver's executemany — with the TLV, the request id, and tax
    system and marking read from the TLV (fleet/link/doctlv.py); a `doc` whose TLV is broken
    is a dead letter naming the offset;
  - per drive the storage watermark moves (only documents above it are read: O(new documents);
    none when the batch continues it and nothing is stored above it) and the gaps below the
    highest stored FD are listed (at most 32);
  - OFD answers update `fiscaldocument.ofd_status` (an answer before its document waits in
    `pendingofdanswer`); acks and results upsert `linkcommand` in one statement that also
    marks their `sentcommand` rows acked (no re-send); shadows take presence and
    only a newer reported state (fleet/link/shadow.py).
After its commit every message of the batch is acknowledged and each drive touched gets `stored`
{"v":1,"fn","through","missing"} at QoS 1 — also for a document it already had, so a register
whose `stored` was lost is released by its re-send; a drive's `stored` goes at most every
STORED_EVERY_S, the newest watermark replacing one that waits.

Mosquitto sends a 3.1.1 client at most `max_inflight_messages` (20 in deploy/mosquitto)
unacknowledged QoS 1 messages; the shared-subscription worker speaks MQTT 5 and sets its Receive
Maximum to 4 batches, so the broker keeps sending while a batch commits. A batch ends when the
stream pauses (`idle_ms`), so a window smaller than a batch never stalls it.
"""

from __future__ import annotations

import argparse
import binascii
import json
import logging
import queue
import signal
import struct
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Final, NamedTuple, cast
from urllib.parse import unquote, urlparse

import paho.mqtt.client as paho
import psycopg
from msgspec import UNSET
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from sqlalchemy import Table, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError

from fleet.core.clock import Clock, SystemClock
from fleet.core.db import make_engine
from fleet.core.wakeup import RECEIPTS, notify
from fleet.documents.models import DocType, FiscalDocument
from fleet.link import doctlv, shadow
from fleet.link.bulkread import BulkReadClient
from fleet.link.deadletter import Doc, DocEvent, Rejected, decode, doc_event, unknown_serial_reason
from fleet.link.doctlv import TlvScanError
from fleet.link.ingest_models import (
    DeadLetter,
    DeviceShadow,
    LinkCommand,
    PendingOfdAnswer,
    StoredWatermark,
)
from fleet.registers.models import Register
from protocol.mqtt import codec
from protocol.portable import link

__all__ = [
    "BrokerUrl",
    "Incoming",
    "Ingest",
    "Stats",
    "Store",
    "broker_url",
    "gaps",
    "main",
    "parse",
    "run_ingest",
]

log = logging.getLogger(__name__)

_DOCS: Table = FiscalDocument.__table__  # type: ignore[attr-defined]
_DEAD: Table = DeadLetter.__table__  # type: ignore[attr-defined]
_MARK: Table = StoredWatermark.__table__  # type: ignore[attr-defined]
_PENDING: Table = PendingOfdAnswer.__table__  # type: ignore[attr-defined]
_CMD: Table = LinkCommand.__table__  # type: ignore[attr-defined]
_REG: Table = Register.__table__  # type: ignore[attr-defined]

_SHIFT_TYPES: Final = (
    int(DocType.SHIFT_OPEN),
    int(DocType.SHIFT_CLOSE),
    int(DocType.ARCHIVE_CLOSE),
)
_SERIAL_TTL_S: Final = 60.0  # a register's company may change (booking): re-read now and then
_RETRIES: Final = 8
_PUBACK_PACKET: Final = struct.Struct("!BBH")  # type, remaining length 2, packet id
SESSION_EXPIRY_S: Final = 30 * 24 * 3600  # as the shipped persistent_client_expiration
SEEN_RESOLUTION_S: Final = 10.0
NUDGE_AFTER_S: Final = (0.0, 3.0, 8.0)  # after each subscription (Ingest.pending_drives)
# A drive's `stored` goes at most this often (its newest watermark; after the commit, never
# before): each is a QoS 1 PUBLISH and a PUBACK for the worker and the broker (~40-60 µs of
# CPU), and a busy drive's batches would send one every few tens of milliseconds. A register
# holds its outbox that much longer, against a re-send timer of 30 s.
STORED_EVERY_S: Final = 0.25


class Incoming(NamedTuple):
    """A message as the broker delivered it (mid and generation for the acknowledgement)."""

    topic: str
    payload: bytes
    received_at: float
    mid: int = 0
    qos: int = 1
    generation: int = 0


_Scan = tuple[int | None, bool] | TlvScanError  # the TLV's tax system and marking; or why not
Parsed = tuple[Doc, _Scan] | codec.Message | Rejected | None  # None: nothing to store


def parse(root: str, topic: str, payload: bytes) -> Parsed:
    """What needs no database: the codec's verdict and, for a `doc`, its TLV scanned.

    Run by the batching thread, not on arrival in paho's: sqlite3 gives the GIL up at every
    row it steps, and a network thread busy parsing then holds each row up for the switch
    interval (measured: 85-90 % of the raw rate fell to 71 %, PostgreSQL 62 % to 48 %)."""
    if not payload and topic.endswith("/" + link.PRESENCE):
        return None  # a retained presence being cleared: nothing to store
    try:
        msg = decode(root, topic, payload)
    except Rejected as e:
        return e
    if isinstance(msg, Doc):  # the fast path decoded the TLV's base64 already
        return msg, _scan(msg.event.tlv)
    if msg.kind != link.DOC:
        return msg
    # a `doc` only the codec accepted: the schema's base64 pattern admits what no decoder takes
    try:
        tlv = binascii.a2b_base64(msg.payload["tlv"], strict_mode=True)
    except binascii.Error as e:
        return Doc(msg.serial, doc_event(msg.payload, b"")), TlvScanError(0, f"не base64: {e}")
    return Doc(msg.serial, doc_event(msg.payload, tlv)), _scan(tlv)


def _scan(tlv: bytes) -> _Scan:
    try:
        return doctlv.scan(tlv)
    except TlvScanError as e:
        return e


@dataclass
class Stats:
    """Counters of one worker."""

    messages: int = 0
    documents: int = 0  # new rows in fiscaldocument
    dead: int = 0
    batches: int = 0
    stored_sent: int = 0
    retries: int = 0
    last_commit_at: float = 0.0  # wall clock (the bench's end of a stream)


@dataclass
class _Batch:
    dead: list[dict[str, Any]] = field(default_factory=list)
    docs: dict[tuple[str, int], tuple[Any, ...]] = field(default_factory=dict)
    doc_serial: dict[str, tuple[str, int]] = field(default_factory=dict)  # fn -> serial, reg id
    ofd: list[dict[str, Any]] = field(default_factory=list)
    ofd_acks: dict[tuple[str, str], set[int]] = field(default_factory=dict)  # (serial, fn) -> fds
    acks: dict[tuple[int, str], dict[str, Any]] = field(default_factory=dict)
    results: dict[tuple[int, str], dict[str, Any]] = field(default_factory=dict)
    seen: dict[int, float] = field(default_factory=dict)
    presence: dict[int, tuple[dict[str, Any], float]] = field(default_factory=dict)
    states: dict[int, tuple[dict[str, Any], float]] = field(default_factory=dict)


class _Work(NamedTuple):
    """A batch prepared by the batching thread, for the committer."""

    generation: int
    messages: list[Incoming]
    batch: _Batch


_NUDGE: Final = "nudge"  # the committer sends the `stored` nudges (Store.pending_drives)
_Job = _Work | str | None  # None: stop


def gaps(
    through: int, above: Iterable[int], limit: int = link.MAX_GAPS
) -> tuple[int, list[list[int]]]:
    """The new watermark and the missing ranges from the old watermark and the stored FDs
    above it (ascending): every FD up to the result is stored; each range lies between two
    stored FDs; at most `limit` ranges (the lowest)."""
    missing: list[list[int]] = []
    last = through
    for fd in above:
        if fd <= last:
            continue
        if fd == last + 1:
            if not missing:
                through = fd
        elif len(missing) < limit:
            missing.append([last + 1, fd - 1])
        last = fd
    return through, missing


class Store:
    """The database half of the ingest: one batch of raw messages, one transaction."""

    def __init__(self, engine: Engine, root: str, clock: Clock | None = None) -> None:
        self.engine = engine
        self.root = root
        self.clock = clock or SystemClock()
        self.stats = Stats()
        self._serials: dict[str, tuple[int, int | None, float]] = {}
        self._marked: set[str] = set()  # drives whose watermark row exists (committed)
        self._pending_marks: list[str] = []
        self._seen_written: dict[int, float] = {}  # register -> last_seen_at we wrote

    # ---- registers by serial -------------------------------------------------------------

    def _lookup(self, serials: set[str]) -> dict[str, tuple[int, int | None]]:
        now = time.monotonic()
        out: dict[str, tuple[int, int | None]] = {}
        ask: list[str] = []
        for s in serials:
            hit = self._serials.get(s)
            if hit is not None and now - hit[2] < _SERIAL_TTL_S:
                out[s] = (hit[0], hit[1])
            else:
                ask.append(s)
        if ask:
            with self.engine.connect() as conn:
                rows = conn.execute(
                    select(_REG.c.serial, _REG.c.id, _REG.c.company_id).where(
                        _REG.c.serial.in_(ask)
                    )
                ).all()
            for serial, rid, company in rows:
                self._serials[serial] = (rid, company, now)
                out[serial] = (rid, company)
        return out

    # ---- sorting a batch -------------------------------------------------------------------

    def prepare(self, messages: list[Incoming]) -> _Batch:
        """What needs no transaction: the messages decoded and sorted into a batch (run by the
        batching thread while the previous batch commits)."""
        b = _Batch()
        decoded: list[tuple[Incoming, tuple[Doc, _Scan] | codec.Message]] = []
        serials: set[str] = set()
        for m in messages:
            got = parse(self.root, m.topic, m.payload)
            if got is None:
                continue
            if isinstance(got, Rejected):
                b.dead.append(self._dead(m, got.reason, got.serial, got.kind))
                continue
            decoded.append((m, got))
            serials.add(got.serial if isinstance(got, codec.Message) else got[0].serial)
        known = self._lookup(serials)
        docs = b.docs
        seen = b.seen
        for m, got in decoded:
            if isinstance(got, codec.Message):
                serial, kind = got.serial, got.kind
            else:
                serial, kind = got[0].serial, link.DOC
            reg = known.get(serial)
            if reg is None:
                b.dead.append(self._dead(m, unknown_serial_reason(serial), serial, kind))
                continue
            rid, company = reg
            at = m.received_at
            if seen.get(rid, 0.0) < at:
                seen[rid] = at
            if not isinstance(got, codec.Message):
                (_serial, e), scanned = got
                key = (e.fn, e.fd)
                if key not in docs:
                    if isinstance(scanned, TlvScanError):
                        b.dead.append(self._dead(m, str(scanned), serial, kind))
                        continue
                    docs[key] = _doc_row(e, rid, company, at, scanned)
                if e.fn not in b.doc_serial:
                    b.doc_serial[e.fn] = (serial, rid)
                continue
            p = got.payload
            if kind == link.OFD:
                b.ofd.append(p)
                b.ofd_acks.setdefault((serial, p["fn"]), set()).add(p["fd"])
            elif kind == link.ACK:
                b.acks[(rid, p["id"])] = p
            elif kind == link.RESULT:
                b.results[(rid, p["id"])] = p
            elif kind == link.PRESENCE:
                b.presence[rid] = (p, at)
            elif kind == link.STATE:
                b.states[rid] = shadow.newer_state(b.states.get(rid), p, at)
        return b

    def _dead(
        self, m: Incoming, reason: str, serial: str | None, kind: str | None
    ) -> dict[str, Any]:
        return {
            "topic": _text(m.topic[:512]),
            "payload": m.payload,
            "reason": _text(reason[:500]),
            "serial": _text(serial[:32]) if serial else None,
            "kind": _text(kind[:16]) if kind else None,
            "received_at": m.received_at,
        }

    # ---- one transaction -------------------------------------------------------------------

    def apply(self, messages: list[Incoming]) -> list[tuple[str, dict[str, Any]]]:
        """Store a batch in one transaction; the `stored` messages to send (serial, payload)."""
        return self.store(messages, self.prepare(messages))

    def store(self, messages: list[Incoming], b: _Batch) -> list[tuple[str, dict[str, Any]]]:
        """Commit `b` (`prepare(messages)`); the `stored` messages to send (serial, payload).

        Retries a transaction the database refused for contention (locked, deadlock). A batch
        the database refuses for its data (a constraint, a value out of range) is halved until
        the message to blame is alone: it becomes a dead letter, the rest is stored, and the
        stream goes on (a poison message costs ~2·log2(batch) transactions, not one a message).
        """
        try:
            out = self._commit(b)
        except (IntegrityError, DataError) as e:
            if len(messages) > 1:
                half = len(messages) // 2
                return self.apply(messages[:half]) + self.apply(messages[half:])
            m = messages[0]
            serial, kind, _why = link.parse_topic(self.root, m.topic)
            self._serials.pop(serial, None)  # e.g. a register deleted: ask the database again
            b = _Batch(dead=[self._dead(m, _db_reason(e), serial or None, kind or None)])
            out = self._commit(b)
            log.warning("a message the database refused is a dead letter: %s", e.orig)
        self.stats.messages += len(messages)
        self.stats.dead += len(b.dead)
        self.stats.batches += 1
        self.stats.last_commit_at = self.clock.wall()
        return out

    def _commit(self, b: _Batch) -> list[tuple[str, dict[str, Any]]]:
        for attempt in range(_RETRIES):
            try:
                with self.engine.begin() as conn:
                    out = self._write(conn, b)
                    if b.results or b.acks or b.ofd or b.docs:
                        # the receipts worker tracks these at once (fleet/core/wakeup.py)
                        notify(conn, RECEIPTS)
                self._marked.update(self._pending_marks)
                self._pending_marks = []
                for rid, at in b.seen.items():
                    self._seen_written[rid] = max(at, self._seen_written.get(rid, 0.0))
                return out
            except DBAPIError as e:  # OperationalError: locked, deadlock, connection lost
                if attempt == _RETRIES - 1 or not _contention(e):
                    raise
                self.stats.retries += 1
                time.sleep(0.01 * (attempt + 1))
        raise AssertionError("unreachable")  # pragma: no cover

    def _write(self, conn: Connection, b: _Batch) -> list[tuple[str, dict[str, Any]]]:
        stored: list[tuple[str, dict[str, Any]]] = []
        self._pending_marks = []
        if b.docs:
            rows = [b.docs[k] for k in sorted(b.docs)]  # one lock order for every worker
            # the driver's executemany straight away: SQLAlchemy's per-row parameter
            # handling would cost more than the insert itself (measured-anchors.md)
            if conn.dialect.name == "postgresql":
                self.stats.documents += _copy_documents(conn, rows)
            else:
                res = conn.exec_driver_sql(*_insert_documents(conn, rows))
                if res.rowcount is not None and res.rowcount >= 0:
                    self.stats.documents += res.rowcount
            self._pending_ofd(conn, set(b.doc_serial))
            self._shift_flags(conn, rows)
            stored = self._watermarks(conn, b)
        if b.dead:
            conn.execute(_DEAD.insert(), b.dead)
        if conn.dialect.name == "postgresql" and b.ofd:
            self._ofd_batch(conn, b.ofd)
        else:
            for p in b.ofd:
                self._ofd(conn, p)
        stored += self._ofd_acks(conn, b)
        self._commands(conn, b)
        # "last seen" to SEEN_RESOLUTION_S: not a row update per register per batch
        seen = {
            rid: at
            for rid, at in b.seen.items()
            if at - self._seen_written.get(rid, 0.0) >= SEEN_RESOLUTION_S
        }
        b.seen = seen
        shadow.apply_seen(conn, seen)
        shadow.apply_presence(conn, b.presence)
        shadow.apply_states(conn, b.states)
        return stored

    def _watermarks(self, conn: Connection, b: _Batch) -> list[tuple[str, dict[str, Any]]]:
        fns = sorted(b.doc_serial)
        now = self.clock.wall()
        new = [fn for fn in fns if fn not in self._marked]
        if new:
            stmt = shadow.upsert(conn, _MARK).on_conflict_do_nothing(index_elements=["fn_number"])
            conn.execute(
                stmt,
                [
                    {"fn_number": fn, "register_id": b.doc_serial[fn][1], "updated_at": now}
                    for fn in new
                ],
            )
        # the lock (PostgreSQL) orders workers: the documents read next include every
        # commit before it, so two workers never both miss each other's rows
        pg = conn.dialect.name == "postgresql"
        if pg:  # one array parameter: no statement of 100 placeholders rendered a batch
            locked = conn.exec_driver_sql(
                "SELECT fn_number, through, highest FROM storedwatermark"
                " WHERE fn_number = ANY(%s::text[]) ORDER BY fn_number FOR UPDATE",
                (_pg_array(fns),),
            ).all()
        else:
            locked = conn.execute(
                select(_MARK.c.fn_number, _MARK.c.through, _MARK.c.highest)
                .where(_MARK.c.fn_number.in_(fns))
                .order_by(_MARK.c.fn_number)
                .with_for_update()
            ).all()
        marks = {fn: (through, highest) for fn, through, highest in locked}
        # Every FD of the batch is stored now (ours, or a conflict with a committed row). A
        # drive whose stored FDs end at its watermark (highest <= through: every worker moves
        # `highest` under the lock in the transaction that stores) and whose batch continues it
        # without a gap needs no read: its documents above the watermark are the batch's. Any
        # other drive (and every drive the first time this worker marks it) reads them.
        batch_fds: dict[str, list[int]] = {fn: [] for fn in fns}
        for fn, fd in sorted(b.docs):
            batch_fds[fn].append(fd)
        above: dict[str, list[int]] = {}
        read: list[str] = []
        for fn in fns:
            through, highest = marks[fn]
            fds = [fd for fd in batch_fds[fn] if fd > through]
            if (
                fn in self._marked
                and highest <= through
                and fds == list(range(through + 1, through + 1 + len(fds)))
            ):
                above[fn] = fds
            else:
                above[fn] = []
                read.append(fn)
        if read:
            d = _DOCS.c
            m = _MARK.c
            for fn, fd in conn.execute(
                select(d.fn_number, d.fd_number)
                .join(_MARK, m.fn_number == d.fn_number)
                .where(d.fn_number.in_(read), d.fd_number > m.through)
                .order_by(d.fn_number, d.fd_number)
            ).all():
                above[fn].append(fd)
        updates = []
        out = []
        for fn in fns:
            old, highest = marks[fn]
            through, missing = gaps(old, above[fn])
            highest = max([highest, through, *above[fn][-1:]])
            updates.append((fn, through, highest))
            payload: dict[str, Any] = {"v": link.VERSION, "fn": fn, "through": through}
            if missing:
                payload["missing"] = missing
            out.append((b.doc_serial[fn][0], payload))
        if pg:  # one statement over arrays instead of a Bind/Execute per drive
            conn.exec_driver_sql(
                "UPDATE storedwatermark AS m SET through = u.through, highest = u.highest,"
                " updated_at = %s FROM unnest(%s::text[], %s::int8[], %s::int8[])"
                " AS u(fn, through, highest) WHERE m.fn_number = u.fn",
                (
                    now,
                    _pg_array([u[0] for u in updates]),
                    _pg_array([u[1] for u in updates]),
                    _pg_array([u[2] for u in updates]),
                ),
            )
        else:
            conn.exec_driver_sql(
                "UPDATE storedwatermark SET through = ?, highest = ?, updated_at = ?"
                " WHERE fn_number = ?",
                [(through, highest, now, fn) for fn, through, highest in updates],
            )
        self._pending_marks = fns
        return out

    def _shift_flags(self, conn: Connection, rows: list[tuple[Any, ...]]) -> None:
        # the newest shift document of a drive says whether the register's shift is open;
        # documents may come out of order, so a later one already stored wins
        newest: dict[tuple[int, str], tuple[Any, ...]] = {}
        for r in rows:
            if r[_TYPE] in _SHIFT_TYPES:
                key = (r[_RID], r[_FN])
                if key not in newest or newest[key][_FD] < r[_FD]:
                    newest[key] = r
        d = _DOCS.c
        for (rid, fn), r in sorted(newest.items()):
            later = conn.execute(
                select(d.fd_number)
                .where(
                    d.fn_number == fn,
                    d.fd_number > r[_FD],
                    d.doc_type.in_(_SHIFT_TYPES),
                )
                .limit(1)
            ).first()
            if later is None:
                conn.execute(
                    update(_REG)
                    .where(_REG.c.id == rid)
                    .values(shift_open=r[_TYPE] == int(DocType.SHIFT_OPEN))
                )

    def _ofd(self, conn: Connection, p: dict[str, Any]) -> None:
        d = _DOCS.c
        status = p["status"]
        code = p.get("code")
        stmt = update(_DOCS).where(d.fn_number == p["fn"], d.fd_number == p["fd"])
        if status != "accepted":
            # accepted stays accepted: a late refusal of an accepted document changes nothing
            stmt = stmt.where(d.ofd_status != "accepted")
        res = conn.execute(
            stmt.values(ofd_status=status, ofd_code=code, ofd_answered_at=float(p["at"]))
        )
        if res.rowcount:
            return
        exists = conn.execute(
            select(d.id).where(d.fn_number == p["fn"], d.fd_number == p["fd"])
        ).first()
        if exists is None:  # the answer came first: it waits for its document
            stmt = shadow.upsert(conn, _PENDING)
            stmt = stmt.on_conflict_do_update(
                index_elements=["fn_number", "fd_number"],
                set_={"status": stmt.excluded.status, "code": stmt.excluded.code},
                where=_PENDING.c.status != "accepted",
            )
            conn.execute(
                stmt,
                {
                    "fn_number": p["fn"],
                    "fd_number": p["fd"],
                    "status": status,
                    "code": code,
                    "answered_at": float(p["at"]),
                },
            )

    def _ofd_batch(self, conn: Connection, answers: list[dict[str, Any]]) -> None:
        """`_ofd` for a batch's answers on PostgreSQL: one UPDATE over arrays for the documents
        it finds (a statement an answer was ~1 ms of the committer's CPU a receipt under load),
        then `_ofd` for the rest only (an answer before its document, a late refusal of an
        accepted one). Repeats of one FD fold to what applying them in order leaves: the last
        acceptance if there is one (accepted stays accepted), else the last answer."""
        final: dict[tuple[str, int], dict[str, Any]] = {}
        for p in answers:
            key = (p["fn"], p["fd"])
            old = final.get(key)
            if old is None or p["status"] == "accepted" or old["status"] != "accepted":
                final[key] = p
        keys = sorted(final)  # one row order for every worker
        rows = [final[k] for k in keys]
        codes = ["NULL" if p.get("code") is None else str(p["code"]) for p in rows]
        done = set(
            conn.exec_driver_sql(
                "UPDATE fiscaldocument AS d SET ofd_status = u.status, ofd_code = u.code,"
                " ofd_answered_at = u.at FROM unnest(%s::text[], %s::int8[], %s::text[],"
                " %s::int4[], %s::float8[]) AS u(fn, fd, status, code, at)"
                " WHERE d.fn_number = u.fn AND d.fd_number = u.fd"
                " AND (u.status = 'accepted' OR d.ofd_status <> 'accepted')"
                " RETURNING d.fn_number, d.fd_number",
                (
                    _pg_array([k[0] for k in keys]),
                    _pg_array([k[1] for k in keys]),
                    _pg_array([str(p["status"]) for p in rows]),
                    "{" + ",".join(codes) + "}",
                    "{" + ",".join(repr(float(p["at"])) for p in rows) + "}",
                ),
            ).all()
        )
        for key, p in zip(keys, rows, strict=True):
            if (key[0], key[1]) not in done:
                self._ofd(conn, p)

    def _ofd_acks(self, conn: Connection, b: _Batch) -> list[tuple[str, dict[str, Any]]]:
        # The register keeps each OFD answer on flash until a `stored` message names its FD
        # (firmware/ofdanswers.py). `through` is required there and never moves the outbox
        # back, so the stored watermark as read now (or 0) is always a safe value.
        if not b.ofd_acks:
            return []
        fns = sorted({fn for _serial, fn in b.ofd_acks})
        marks = dict(
            conn.execute(
                select(_MARK.c.fn_number, _MARK.c.through).where(_MARK.c.fn_number.in_(fns))
            ).all()
        )
        out: list[tuple[str, dict[str, Any]]] = []
        for (serial, fn), fds in sorted(b.ofd_acks.items()):
            ordered = sorted(fds)
            for i in range(0, len(ordered), link.MAX_OFD_ACKS):
                payload = {
                    "v": link.VERSION,
                    "fn": fn,
                    "through": int(marks.get(fn) or 0),
                    "ofd": ordered[i : i + link.MAX_OFD_ACKS],
                }
                out.append((serial, payload))
        return out

    def _pending_ofd(self, conn: Connection, fns: set[str]) -> None:
        pc = _PENDING.c
        columns = (pc.fn_number, pc.fd_number, pc.status, pc.code, pc.answered_at)
        if conn.dialect.name == "postgresql":  # one array parameter, as in _watermarks
            waiting = conn.exec_driver_sql(
                "SELECT fn_number, fd_number, status, code, answered_at FROM pendingofdanswer"
                " WHERE fn_number = ANY(%s::text[])",
                (_pg_array(sorted(fns)),),
            ).all()
        else:
            waiting = conn.execute(select(*columns).where(pc.fn_number.in_(sorted(fns)))).all()
        for fn, fd, status, code, at in waiting:
            res = conn.execute(
                update(_DOCS)
                .where(_DOCS.c.fn_number == fn, _DOCS.c.fd_number == fd)
                .values(ofd_status=status, ofd_code=code, ofd_answered_at=at)
            )
            if res.rowcount:
                conn.execute(_PENDING.delete().where(pc.fn_number == fn, pc.fd_number == fd))

    def _commands(self, conn: Connection, b: _Batch) -> None:
        """The batch's acks and results in one upsert of `linkcommand` (a command's ack and
        result in one row when both came in the batch), their `sentcommand` rows marked
        acked: one statement over one JSON parameter on PostgreSQL, the driver's executemany
        on SQLite (two); no per-row SQLAlchemy processing."""
        if not (b.acks or b.results):
            return
        rows: list[dict[str, Any]] = []
        for key in sorted(b.acks.keys() | b.results.keys()):  # one lock order for every worker
            a = b.acks.get(key)
            r = b.results.get(key)
            rows.append(
                {
                    "register_id": key[0],
                    "request_id": key[1],
                    "ack_status": None if a is None else a["status"],
                    "ack_errors": None if a is None else a.get("errors"),
                    "acked_at": None if a is None else float(a["at"]),
                    "result_status": None if r is None else r["status"],
                    "result": r,
                    "result_at": None if r is None else float(r["at"]),
                }
            )
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql(_COMMANDS_PG, (json.dumps(rows, ensure_ascii=False),))
            return
        conn.exec_driver_sql(
            _COMMANDS_SQLITE,
            [
                tuple(
                    _json_or_null(row[c]) if c in ("ack_errors", "result") else row[c]
                    for c in _LINK_COLUMNS
                )
                for row in rows
            ],
        )
        conn.exec_driver_sql(
            _ACKED_SQLITE, [(row["register_id"], row["request_id"]) for row in rows]
        )

    def pending_drives(self) -> list[tuple[str, dict[str, Any]]]:
        """`stored` nudges for drives whose register last reported documents the fleet lacks.

        Sent after every (re)subscription: Mosquitto 2.0.11 does not restore a shared
        subscription after its own restart, so what registers publish before the ingest is
        back is dropped (and PUBACKed); the nudge's `missing` makes them send it again at
        once instead of after their 30 s re-send timer.
        """
        sh: Table = DeviceShadow.__table__  # type: ignore[attr-defined]
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(_REG.c.serial, _MARK.c.fn_number, _MARK.c.through, sh.c.drive_last_fd)
                .join(sh, sh.c.register_id == _REG.c.id)
                .join(_MARK, _MARK.c.fn_number == sh.c.drive_fn)
                .where((sh.c.drive_last_fd > _MARK.c.through) | (sh.c.outbox > 0))
            ).all()
        out = []
        for serial, fn, through, last in rows:
            missing = [[through + 1, max(last or 0, through + 1)]]
            out.append(
                (serial, {"v": link.VERSION, "fn": fn, "through": through, "missing": missing})
            )
        return out


_LINK_COLUMNS: Final = (
    "register_id", "request_id", "ack_status", "ack_errors", "acked_at", "result_status",
    "result", "result_at",
)  # fmt: skip
# an ack is taken unless it is a repeat's "duplicate" over a first verdict; a result always
_TAKE_ACK: Final = (
    "excluded.ack_status IS NOT NULL"
    " AND (linkcommand.ack_status IS NULL OR excluded.ack_status <> 'duplicate')"
)
_TAKE_RESULT: Final = "excluded.result_status IS NOT NULL"
_COMMANDS_SET: Final = ", ".join(
    f"{c} = CASE WHEN {take} THEN excluded.{c} ELSE linkcommand.{c} END"
    for c, take in (
        ("ack_status", _TAKE_ACK),
        ("ack_errors", _TAKE_ACK),
        ("acked_at", _TAKE_ACK),
        ("result_status", _TAKE_RESULT),
        ("result", _TAKE_RESULT),
        ("result_at", _TAKE_RESULT),
    )
)
# The same statement marks the fleet's command acked (fleet/link/commands.py): any ack or
# result means the register has it, which is what the sender would conclude at its next due
# time, one read and one write later. (The sender never waits for the ingest: it skips
# locked rows.)
_COMMANDS_PG: Final = (
    f"WITH x AS (INSERT INTO linkcommand ({', '.join(_LINK_COLUMNS)})"
    f" SELECT {', '.join(_LINK_COLUMNS)}"
    " FROM json_to_recordset(%s::json) AS x(register_id int, request_id text, ack_status text,"
    " ack_errors json, acked_at float8, result_status text, result json, result_at float8)"
    f" ON CONFLICT (register_id, request_id) DO UPDATE SET {_COMMANDS_SET}"
    " RETURNING register_id, request_id)"
    " UPDATE sentcommand AS s SET status = 'acked' FROM x"
    " WHERE s.register_id = x.register_id AND s.request_id = x.request_id"
    " AND s.status = 'pending'"
)
_COMMANDS_SQLITE: Final = (
    f"INSERT INTO linkcommand ({', '.join(_LINK_COLUMNS)})"
    f" VALUES ({', '.join('?' * len(_LINK_COLUMNS))})"
    f" ON CONFLICT (register_id, request_id) DO UPDATE SET {_COMMANDS_SET}"
)
_ACKED_SQLITE: Final = (
    "UPDATE sentcommand SET status = 'acked'"
    " WHERE register_id = ? AND request_id = ? AND status = 'pending'"
)


def _json_or_null(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False)


_DOC_COLUMNS: Final = (
    "register_id", "company_id", "fn_number", "fd_number", "doc_type", "operation", "total",
    "tax_system", "shift_number", "fiscal_sign", "has_marking", "issued_at", "received_at",
    "ofd_status", "tlv", "request_id",
)  # fmt: skip


_RID, _FN, _FD, _TYPE = 0, 2, 3, 4  # where _doc_row puts them


def _doc_row(
    e: DocEvent, rid: int, company: int | None, at: float, scanned: tuple[int | None, bool]
) -> tuple[Any, ...]:
    """The row (`_DOC_COLUMNS`) of a valid `doc` whose TLV `parse` scanned."""
    tax, marked = scanned
    operation, total, shift, request_id = e.operation, e.total, e.shift, e.request_id
    return (
        rid, company, e.fn, e.fd, e.type, None if operation is UNSET else operation,
        None if total is UNSET else total, tax, None if shift is UNSET else shift, e.fs, marked,
        float(e.at), at, "pending", e.tlv, None if request_id is UNSET else request_id,
    )  # fmt: skip


def _insert_documents(conn: Connection, rows: list[tuple[Any, ...]]) -> tuple[str, Any]:
    """The statement and rows for the driver's executemany, skipping an (FN, FD) stored."""
    # one statement over column arrays (PostgreSQL's unnest) was measured too: the server's
    # cost is per row (the unique index, six more indexes, two foreign keys), not per
    # statement, and adapting the arrays cost the worker more CPU than executemany
    ph = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    return (
        f"INSERT INTO fiscaldocument ({', '.join(_DOC_COLUMNS)})"
        f" VALUES ({', '.join([ph] * len(_DOC_COLUMNS))})"
        " ON CONFLICT (fn_number, fd_number) DO NOTHING",
        rows,
    )


_STAGE: Final = "ingest_stage"  # a temporary table of a PostgreSQL connection (on a conflict)
_STAGE_TYPES: Final = (
    "int4",
    "int4",
    "text",
    "int8",
    "int4",
    "int4",
    "int8",
    "int4",
    "int8",
    "text",
    "bool",
    "float8",
    "float8",
    "text",
    "bytea",
    "text",
)  # fmt: skip  (the binary COPY's types of _DOC_COLUMNS: fiscaldocument's, migration 0013)


def _copy_documents(conn: Connection, rows: list[tuple[Any, ...]]) -> int:
    """PostgreSQL: the rows by a binary COPY; the number of new rows.

    Straight into fiscaldocument inside a savepoint: the common case, where no document of the
    batch is stored yet. If one is (a re-send, or another worker's copy), back to the
    savepoint and the slower way: COPY into a temporary table and one INSERT … ON CONFLICT
    (fn_number, fd_number) DO NOTHING from it. Either is one stream instead of a Bind/Execute
    a row: against the driver's executemany the worker's CPU a document fell from ~21 to
    ~9 µs and the server's from ~37 to ~24 µs (~29 staged; docs/benchmarks.md "MQTT ingest").
    """
    cols = ", ".join(_DOC_COLUMNS)
    raw = cast("psycopg.Connection[Any]", conn.connection.driver_connection)
    # sorted: one lock order for every worker
    insert = (
        f"INSERT INTO fiscaldocument ({cols}) SELECT {cols} FROM {_STAGE}"
        " ORDER BY fn_number, fd_number ON CONFLICT (fn_number, fd_number) DO NOTHING"
    )
    try:
        with raw.cursor() as cur:
            cur.execute("SAVEPOINT ingest_copy")
            try:
                _copy(cur, f"COPY fiscaldocument ({cols}) FROM STDIN (FORMAT BINARY)", rows)
                cur.execute("RELEASE SAVEPOINT ingest_copy")
                return len(rows)
            except psycopg.errors.UniqueViolation:
                cur.execute("ROLLBACK TO SAVEPOINT ingest_copy")
            # per connection, emptied by every commit (and gone if its transaction rolls back)
            cur.execute(
                f"CREATE TEMP TABLE IF NOT EXISTS {_STAGE} ON COMMIT DELETE ROWS AS"
                f" SELECT {cols} FROM fiscaldocument WITH NO DATA"
            )
            _copy(cur, f"COPY {_STAGE} ({cols}) FROM STDIN (FORMAT BINARY)", rows)
            cur.execute(insert)
            return max(cur.rowcount, 0)
    except psycopg.Error as e:  # as SQLAlchemy's own: IntegrityError, DataError, ...
        raise DBAPIError.instance(insert, None, e, psycopg.Error) from e


def _copy(cur: psycopg.Cursor[Any], statement: str, rows: list[tuple[Any, ...]]) -> None:
    with cur.copy(statement) as copy:
        copy.set_types(_STAGE_TYPES)
        write = copy.write_row
        for r in rows:
            write(r)


@dataclass(frozen=True)
class BrokerUrl:
    """mqtt[s]://[user[:password]@]host[:port] (the fleet may not import oblako's parser)."""

    host: str
    port: int
    tls: bool
    username: str | None
    password: str | None


def broker_url(url: str) -> BrokerUrl:
    """The parts of a broker URL; ValueError names what is wrong."""
    u = urlparse(url)
    if u.scheme not in ("mqtt", "mqtts"):
        raise ValueError(f"a broker URL starts with mqtt:// or mqtts://, got {url!r}")
    if not u.hostname:
        raise ValueError(f"no host in the broker URL {url!r}")
    tls = u.scheme == "mqtts"
    return BrokerUrl(
        host=u.hostname,
        port=u.port or (8883 if tls else 1883),
        tls=tls,
        username=unquote(u.username) if u.username else None,
        password=unquote(u.password) if u.password else None,
    )


def _stored_json(payload: dict[str, Any]) -> bytes:
    """A `stored` payload as JSON; the common one (a watermark, nothing missing) without the
    json module (~5x cheaper; the FN number is 16 digits, checked on the way in)."""
    fn = payload["fn"]
    if len(payload) == 3 and "through" in payload and fn.isascii() and fn.isdigit():
        return b'{"v":%d,"fn":"%s","through":%d}' % (payload["v"], fn.encode(), payload["through"])
    return json.dumps(payload, separators=(",", ":")).encode()


def _pg_array(values: list[str] | list[int]) -> str:
    """A PostgreSQL array literal (for `%s::text[]`, `%s::int8[]`): one text parameter. psycopg
    adapts a list element by element in Python (~65 µs for 100 FN numbers, ~7x this)."""
    if values and isinstance(values[0], int):
        return "{" + ",".join(map(str, values)) + "}"
    texts = cast("list[str]", values)
    digits = "".join(texts)
    if digits.isdigit() and digits.isascii() and all(texts):  # FN numbers: nothing to quote
        return "{" + ",".join(texts) + "}"
    return "{" + ",".join([_pg_quoted(str(v)) for v in values]) + "}"


def _pg_quoted(v: str) -> str:
    return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _contention(e: DBAPIError) -> bool:
    text = str(e.orig).lower()
    return any(
        w in text for w in ("locked", "deadlock", "could not serialize", "busy", "connection")
    )


def _text(value: str) -> str:
    # PostgreSQL's text refuses NUL, which an MQTT topic may not hold but a broken client
    # may send: the dead letter keeps the rest (the payload is stored as bytes anyway)
    return value.replace("\x00", "\ufffd")


def _db_reason(e: DBAPIError) -> str:
    return f"База данных отказала в записи: {str(e.orig).splitlines()[0][:400]}"


class Ingest:
    """One worker: a paho client (network in its own thread) and the batching loop."""

    def __init__(
        self,
        engine: Engine,
        mqtt_url: str,
        root: str = link.ROOT,
        *,
        shared: bool = True,
        group: str = "fleet",
        client_id: str = "fleet-ingest-1",
        batch_size: int = 1000,
        batch_ms: float = 50.0,
        idle_ms: float = 3.0,
        clock: Clock | None = None,
    ) -> None:
        if not link.root_ok(root):
            raise ValueError(f"the topic root {root!r} is not usable (levels, no + # $)")
        self.url = broker_url(mqtt_url)
        self.root = root
        self.shared = shared
        self.group = group
        self.batch_size = batch_size
        self.batch_s = batch_ms / 1000
        self.idle_s = idle_ms / 1000
        self.store = Store(engine, root, clock)
        self.connected = threading.Event()
        self._inbox: deque[Incoming] = deque()
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._generation = 0
        self._nudges: list[float] = []
        self._failure: BaseException | None = None  # what stopped the committer
        # (serial, fn) -> the newest watermark `stored` not sent yet (STORED_EVERY_S); touched
        # only by the thread that commits
        self._stored: dict[tuple[str, str], dict[str, Any]] = {}
        self._stored_next = 0.0  # monotonic time the next `stored` may go
        self.pipelined = engine.dialect.name != "sqlite"  # a committer thread (run)
        # MQTT 5 where the broker has shared subscriptions (Mosquitto): its Receive Maximum
        # lets the broker send more than max_inflight_messages (20) unacknowledged messages,
        # so the next batch arrives while this one commits. amqtt speaks 3.1.1 only.
        self.v5 = shared
        # paho's reader costs as much as the whole raw subscriber: read in bulk where it fits
        cls = BulkReadClient if BulkReadClient.fits() else paho.Client
        if self.v5:
            c = cls(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=paho.MQTTv5)
        else:
            c = cls(CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False)
        if isinstance(c, BulkReadClient):
            c.on_publish_bytes = self._on_publish_bytes
        c.manual_ack_set(True)
        if self.url.username is not None:
            c.username_pw_set(self.url.username, self.url.password)
        if self.url.tls:
            c.tls_set()
        c.reconnect_delay_set(1, 5)
        c.on_connect = self._on_connect
        c.on_disconnect = self._on_disconnect
        c.on_message = self._on_message
        c.on_subscribe = self._on_subscribe
        self.client = c

    @property
    def stats(self) -> Stats:
        """The worker's counters."""
        return self.store.stats

    def filters(self) -> list[str]:
        """The subscriptions: shared on Mosquitto, plain on the embedded broker."""
        plain = [link.subscription(self.root, kind) for kind in link.UP]
        return [f"$share/{self.group}/{f}" for f in plain] if self.shared else plain

    def _on_connect(self, c: paho.Client, _u: object, _f: object, rc: Any, _p: object) -> None:
        if getattr(rc, "is_failure", False):
            log.warning("the broker refused the ingest: %s", rc)
            return
        c.subscribe([(f, 1) for f in self.filters()])

    def _on_subscribe(self, _c: paho.Client, _u: object, _m: int, _rc: Any, _p: object) -> None:
        # the batching loop asks registers for what may have been dropped, now and again once
        # their reconnect states (fresher last FD numbers) are in
        now = time.monotonic()
        self._nudges = [now + d for d in NUDGE_AFTER_S]
        self.connected.set()  # the (shared) subscription is in place: nothing is missed now

    def _on_disconnect(self, _c: paho.Client, _u: object, _f: object, rc: Any, _p: object) -> None:
        with self._lock:
            self._generation += 1  # messages of the old connection are never acknowledged
        self.connected.clear()

    def _on_message(self, _c: paho.Client, _u: object, m: paho.MQTTMessage) -> None:
        self._on_publish_bytes(m.topic, bytes(m.payload), m.mid, m.qos)

    def _on_publish_bytes(self, topic: str, payload: bytes, mid: int, qos: int) -> None:
        at = self.store.clock.wall()
        self._inbox.append(Incoming(topic, payload, at, mid, qos, self._generation))
        if not self._wake.is_set():
            self._wake.set()

    def _collect(self, stop: threading.Event, queued: Callable[[], bool]) -> list[Incoming]:
        # messages are handed over in bulk (a deque and one wake-up per batch): a queue's
        # per-message lock and notify cost the network thread as much as parsing the packet
        if not self._wake.wait(0.1):
            return []
        now = time.monotonic()
        deadline = now + self.batch_s
        # A batch costs ~3 ms of the worker's CPU and ~3 ms of the server's whatever its size
        # (docs/benchmarks.md, issue 6, third pass). A pause ends a batch only once it is half
        # the batch time old: a publisher sending in bursts pauses every few ms, and where the
        # worker keeps up (a quiet machine) batches of a few dozen documents cost more than
        # their documents. Not where the broker's window is smaller than a batch (MQTT 3.1.1,
        # the embedded broker): there a pause means the window is full, and waiting stalls it.
        settled = now + self.batch_s / 2 if self.v5 else now
        while not stop.is_set():
            n = len(self._inbox)
            if n >= self.batch_size:
                break
            if queued():
                # the committer has a batch waiting already, so this one could not start
                # sooner: it grows instead (fewer batches under load)
                time.sleep(self.idle_s)
                continue
            if time.monotonic() >= deadline:
                break
            time.sleep(self.idle_s)
            if len(self._inbox) == n and time.monotonic() >= settled:
                break  # the stream paused (or the broker's in-flight window is full)
        self._wake.clear()
        inbox = self._inbox
        batch = [inbox.popleft() for _ in range(min(len(inbox), self.batch_size))]
        if inbox:
            self._wake.set()
        return batch

    def flush(self, batch: list[Incoming]) -> None:
        """Store, commit, then acknowledge and send the storage acknowledgements."""
        work = self._prepare(batch)
        if work is not None:
            self._finish(work)

    def _prepare(self, batch: list[Incoming]) -> _Work | None:
        with self._lock:
            current = self._generation
        live = [m for m in batch if m.generation == current]
        if not live:
            return None  # the broker re-sends these to the new connection
        return _Work(current, live, self.store.prepare(live))

    def _finish(self, work: _Work) -> None:
        with self._lock:
            if self._generation != work.generation:
                return  # reconnected: these can no longer be acknowledged, the broker re-sends
        stored = self.store.store(work.messages, work.batch)
        with self._lock:
            if self._generation == work.generation:
                self._ack([m.mid for m in work.messages if m.qos == 1])
        self._queue_stored(stored)

    def _queue_stored(self, stored: list[tuple[str, dict[str, Any]]]) -> None:
        # a drive's newer watermark replaces the one waiting: `through` only grows and the
        # `missing` read under the lock by the later commit is the current list; the OFD
        # answers' acknowledgements (`ofd`) go at once, each names its own FDs
        now: list[tuple[str, dict[str, Any]]] = []
        waiting = self._stored
        for serial, payload in stored:
            if "ofd" in payload:
                now.append((serial, payload))
            else:
                waiting[(serial, payload["fn"])] = payload
        if now:
            self._publish_stored(now)
        self._flush_stored()

    def _flush_stored(self, force: bool = False) -> None:
        """Send the waiting `stored` if it is time (or `force`)."""
        if not self._stored:
            return
        now = time.monotonic()
        if not force and now < self._stored_next:
            return
        waiting = [(serial, payload) for (serial, _fn), payload in self._stored.items()]
        self._stored.clear()
        self._stored_next = now + STORED_EVERY_S
        self._publish_stored(waiting)

    def _stored_wait(self) -> float | None:
        """Seconds until the waiting `stored` are due; None if none waits."""
        if not self._stored:
            return None
        return max(0.0, self._stored_next - time.monotonic())

    def _do(self, job: _Job) -> None:
        if job == _NUDGE:
            self._publish_stored(self.store.pending_drives())
        elif isinstance(job, _Work):
            self._finish(job)

    def _commit_loop(self, jobs: queue.Queue[_Job]) -> None:
        # the committer: batches in the order they were gathered, each acknowledged only
        # after its own commit; the nudges go the same way so one thread writes and publishes
        try:
            while True:
                try:
                    job = jobs.get(timeout=self._stored_wait())
                except queue.Empty:
                    self._flush_stored()
                    continue
                if job is None:
                    break
                self._do(job)
            self._flush_stored(force=True)  # stopping: every commit gets its `stored`
        except BaseException as e:  # the worker stops; unacknowledged messages are re-sent
            self._failure = e
            self._wake.set()

    def _ack(self, mids: list[int]) -> None:
        # One write for the whole batch: paho's ack() queues each PUBACK on its own, with a
        # wake-up byte through its socket pair and a send() per packet (~6 µs a message).
        # The PUBACKs concatenated are the same bytes on the wire, queued as one packet.
        queue = getattr(self.client, "_packet_queue", None)
        if queue is None or not mids:  # pragma: no cover  (another paho)
            for mid in mids:
                self.client.ack(mid, 1)
            return
        pack = _PUBACK_PACKET.pack
        data = b"".join([pack(paho.PUBACK, 2, mid) for mid in mids])
        queue(paho.PUBACK, data, 0, 0)

    def _publish_stored(self, stored: list[tuple[str, dict[str, Any]]]) -> None:
        for serial, payload in stored:
            # built by the ingest itself, so not run through the schema validator (~50 µs);
            # the tests decode every one with the codec
            self.client.publish(
                link.topic(self.root, serial, link.STORED), _stored_json(payload), 1
            )
        self.stats.stored_sent += len(stored)

    def run(self, stop: threading.Event) -> None:
        """Serve until `stop` is set."""
        if self.v5:
            props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            props.ReceiveMaximum = self.batch_size * 4
            props.SessionExpiryInterval = SESSION_EXPIRY_S
            self.client.connect_async(
                self.url.host, self.url.port, keepalive=30, clean_start=False, properties=props
            )
        else:
            self.client.connect_async(self.url.host, self.url.port, keepalive=30)
        self.client.loop_start()
        # pipelined where the database is a server: while the committer's transaction runs
        # (the server's time, the GIL free) this thread gathers and decodes the next batch; at
        # most one waits (bounded memory, within the Receive Maximum of four batches). Not on
        # SQLite: its work is this process's CPU, and sqlite3 gives the GIL up at every row,
        # which a decoding thread then holds for the switch interval (docs/benchmarks.md).
        jobs: queue.Queue[_Job] = queue.Queue(maxsize=1)
        committer: threading.Thread | None = None
        if self.pipelined:
            committer = threading.Thread(
                target=self._commit_loop, args=(jobs,), name="ingest-commit", daemon=True
            )
            committer.start()

        def queued() -> bool:
            return committer is not None and jobs.full() and self._failure is None

        try:
            while not stop.is_set() and self._failure is None:
                nudges = self._nudges
                if nudges and nudges[0] <= time.monotonic():
                    self._nudges = nudges[1:]
                    self._submit(jobs, _NUDGE, committer)
                batch = self._collect(stop, queued)
                if batch:
                    work = self._prepare(batch)
                    if work is not None:
                        self._submit(jobs, work, committer)
                if committer is None:
                    self._flush_stored()
        finally:
            if committer is not None:
                self._submit(jobs, None, committer)
                committer.join()
            elif self._failure is None:
                self._flush_stored(force=True)
            self.client.disconnect()
            self.client.loop_stop()
        if self._failure is not None:
            raise self._failure

    def _submit(
        self, jobs: queue.Queue[_Job], job: _Job, committer: threading.Thread | None
    ) -> None:
        if committer is None:
            self._do(job)
            return
        while committer.is_alive():
            try:
                jobs.put(job, timeout=0.1)
                return
            except queue.Full:
                continue


def run_ingest(
    database: str | Engine,
    mqtt_url: str,
    root: str = link.ROOT,
    *,
    shared: bool = True,
    stop: threading.Event | None = None,
    client_id: str = "fleet-ingest-1",
    batch_size: int = 1000,
    ready: threading.Event | None = None,
) -> Stats:
    """Run one ingest worker until `stop` is set; its counters at the end.

    `oblako fleet ingest`. Credentials come from the URL (mqtt://user:password@host:port);
    `shared=False` for the embedded broker (one worker only).
    """
    engine = make_engine(database) if isinstance(database, str) else database
    worker = Ingest(
        engine, mqtt_url, root, shared=shared, client_id=client_id, batch_size=batch_size
    )
    stop = stop or threading.Event()
    if ready is not None:

        def signal_ready() -> None:
            if worker.connected.wait(30):
                ready.set()

        threading.Thread(target=signal_ready, daemon=True).start()
    try:
        worker.run(stop)
    finally:
        if isinstance(database, str):
            engine.dispose()
    return worker.stats


def main(argv: list[str] | None = None) -> int:
    """`python -m fleet.link.ingest`: one worker; SIGTERM stops it; prints its counters as JSON."""
    ap = argparse.ArgumentParser(prog="python -m fleet.link.ingest")
    ap.add_argument("--database-url", required=True)
    ap.add_argument("--mqtt-url", required=True)
    ap.add_argument("--root", default=link.ROOT)
    ap.add_argument("--client-id", default="fleet-ingest-1")
    ap.add_argument("--no-shared", action="store_true")
    ap.add_argument("--batch-size", type=int, default=1000)
    args = ap.parse_args(argv)
    stop = threading.Event()
    ready = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())

    def announce() -> None:
        if ready.wait(30):
            print(json.dumps({"ready": True, "cpu_s": time.process_time()}), flush=True)

    threading.Thread(target=announce, daemon=True).start()
    stats = run_ingest(
        args.database_url,
        args.mqtt_url,
        args.root,
        shared=not args.no_shared,
        stop=stop,
        client_id=args.client_id,
        batch_size=args.batch_size,
        ready=ready,
    )
    out = {"cpu_s": time.process_time(), **stats.__dict__}
    print(json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
