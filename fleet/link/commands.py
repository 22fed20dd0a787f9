"""The fleet's command sender: `cmd` messages to registers, re-sent until their ack comes.

A command is queued in `sentcommand` (`enqueue`, inside the caller's transaction) and sent by
`CommandSender.step()`: QoS 1, encoded and checked by protocol/mqtt's codec, with its request
id, TTL and issue time. The register acks every command it gets (accepted, duplicate, expired,
rejected; docs/mqtt.md) and the ingest stores the ack in `linkcommand` by (register, request
id). A command whose ack has not come `timeout_s` after a send is sent again — the same request
id and issue time, after a doubling wait up to `max_backoff_s` — because a broker (amqtt) may
drop a QoS 1 message to an offline session; the register's journal answers a repeat with the
first result, so a repeat is harmless (DESIGN decision 4). A command with no ack when its TTL
ends is marked expired: the register would refuse it by then too.

A caller that queues commands and can publish them (routing, fleet/receipts/routing.py) sends
them in its own pass: `CommandSender.first_sends` marks the rows as sent once before they are
inserted, and `publish` sends them after the commit (never before: a command must not leave for
a row that was rolled back). A crash between the two leaves rows the re-send timer sends.

The sender never decides what a command did: that is the result's (fleet/receipts/tracker.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol

from sqlalchemy import Table, and_, select
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

from fleet.core.clock import Clock
from fleet.link.command_models import CommandStatus, SentCommand
from fleet.link.ingest_models import LinkCommand
from protocol.errors import LinkError
from protocol.mqtt import codec
from protocol.portable import link

__all__ = [
    "DEFAULT_TTL_S",
    "CommandSender",
    "Publisher",
    "SendStats",
    "backoff_s",
    "cmd_payload",
    "command_row",
    "enqueue",
    "enqueue_core",
    "enqueue_rows",
]

DEFAULT_TTL_S: Final = 24 * 3600  # a receipt that waits a day is not what the merchant wanted
_SENT: Table = SentCommand.__table__  # type: ignore[attr-defined]
_LINK: Table = LinkCommand.__table__  # type: ignore[attr-defined]


class Publisher(Protocol):
    """Publishes one message at QoS 1 (paho in production, anything in tests)."""

    def __call__(self, topic: str, payload: bytes) -> None: ...


def backoff_s(attempts: int, timeout_s: float, max_backoff_s: float) -> float:
    """The wait after the `attempts`-th send: timeout, then doubling, capped."""
    return float(min(timeout_s * (2 ** max(attempts - 1, 0)), max_backoff_s))


def command_row(
    now: float,
    *,
    register_id: int,
    serial: str,
    request_id: str,
    action: str,
    body: dict[str, Any],
    ttl_s: int = DEFAULT_TTL_S,
) -> dict[str, Any]:
    """The `sentcommand` row of a command due at once (ValueError for a bad action or TTL)."""
    if action not in link.ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    if not 0 < ttl_s <= link.MAX_TTL:
        raise ValueError(f"the TTL must be 1..{link.MAX_TTL} s, not {ttl_s}")
    return {
        "register_id": register_id,
        "serial": serial,
        "request_id": request_id,
        "action": action,
        "body": body,
        "ttl_s": ttl_s,
        "issued_at": int(now),
        "expires_at": now + ttl_s,
        "status": CommandStatus.PENDING.value,
        "attempts": 0,
        "sent_at": None,
        "next_at": now,
        "created_at": now,
    }


_COLUMNS: Final = (
    "register_id", "serial", "request_id", "action", "body", "ttl_s", "issued_at", "expires_at",
    "status", "attempts", "sent_at", "next_at", "created_at",
)  # fmt: skip
_INSERT_PG: Final = (
    f"INSERT INTO sentcommand ({', '.join(_COLUMNS)}) SELECT {', '.join(_COLUMNS)}"
    " FROM json_to_recordset(%s::json) AS r(register_id int, serial text, request_id text,"
    " action text, body json, ttl_s int, issued_at int, expires_at float8, status text,"
    " attempts int, sent_at float8, next_at float8, created_at float8)"
    " ON CONFLICT (register_id, request_id) DO NOTHING"
)
_INSERT_SQLITE: Final = (
    f"INSERT INTO sentcommand ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})"
    " ON CONFLICT (register_id, request_id) DO NOTHING"
)


def enqueue_rows(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Queue commands (`command_row`s) in the caller's transaction, in one statement; a
    command already queued under the same (register, request id) stays as it is."""
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        # one JSON parameter: no per-row, per-column parameter processing (the routing pass
        # inserts hundreds of rows a pass under load)
        conn.exec_driver_sql(_INSERT_PG, (json.dumps(rows, ensure_ascii=False),))
        return
    conn.exec_driver_sql(
        _INSERT_SQLITE,
        [
            tuple(json.dumps(r[c], ensure_ascii=False) if c == "body" else r[c] for c in _COLUMNS)
            for r in rows
        ],
    )


def enqueue_core(
    conn: Connection,
    now: float,
    *,
    register_id: int,
    serial: str,
    request_id: str,
    action: str,
    body: dict[str, Any],
    ttl_s: int = DEFAULT_TTL_S,
) -> None:
    """Queue one command (due at once) in the caller's transaction; nothing when one is
    already queued under the same (register, request id). `body` is the document request or
    the service action's params."""
    row = command_row(
        now,
        register_id=register_id,
        serial=serial,
        request_id=request_id,
        action=action,
        body=body,
        ttl_s=ttl_s,
    )
    enqueue_rows(conn, [row])


def enqueue(
    session: Session,
    clock: Clock,
    *,
    register_id: int,
    serial: str,
    request_id: str,
    action: str,
    body: dict[str, Any],
    ttl_s: int = DEFAULT_TTL_S,
) -> None:
    """`enqueue_core` in a session's transaction (the caller commits)."""
    enqueue_core(
        session.connection(),
        clock.wall(),
        register_id=register_id,
        serial=serial,
        request_id=request_id,
        action=action,
        body=body,
        ttl_s=ttl_s,
    )


def cmd_payload(
    request_id: str, action: str, body: dict[str, Any], ttl_s: int, issued_at: int
) -> dict[str, Any]:
    """The `cmd` message (docs/mqtt/cmd.schema.json)."""
    out: dict[str, Any] = {
        "v": link.VERSION,
        "id": request_id,
        "ttl": ttl_s,
        "issued_at": issued_at,
        "action": action,
    }
    if action in link.DOCUMENT_ACTIONS:
        out["request"] = body
    elif body:
        out["params"] = body
    return out


@dataclass
class SendStats:
    """What one step did."""

    sent: int = 0
    resent: int = 0
    acked: int = 0
    expired: int = 0
    refused: int = 0  # the codec refused the message (a bug: logged in the row as expired)


@dataclass
class CommandSender:
    """Sends due commands; see the module docstring. `step()` is one pass (one transaction)."""

    engine: Engine
    publish: Publisher | Callable[[str, bytes], None]
    clock: Clock
    root: str = link.ROOT
    timeout_s: float = 2.0
    max_backoff_s: float = 60.0
    batch: int = 500

    def first_sends(self, rows: Sequence[dict[str, Any]], now: float) -> list[tuple[str, bytes]]:
        """Mark `command_row`s as sent once at `now` (before the caller inserts them) and
        return their messages, for `publish` after the caller's commit. A row whose command the
        codec refuses is left due: `step()` expires it as it does any such command."""
        out: list[tuple[str, bytes]] = []
        wait = backoff_s(1, self.timeout_s, self.max_backoff_s)
        for r in rows:
            payload = cmd_payload(
                r["request_id"], r["action"], r["body"], r["ttl_s"], r["issued_at"]
            )
            try:
                data = codec.encode(link.CMD, payload)
            except LinkError:
                continue
            r["attempts"] = 1
            r["sent_at"] = now
            r["next_at"] = now + wait
            out.append((link.topic(self.root, r["serial"], link.CMD), data))
        return out

    def publish_all(self, messages: Sequence[tuple[str, bytes]]) -> None:
        """Publish `first_sends`' messages (after the commit of their rows)."""
        for topic, data in messages:
            self.publish(topic, data)

    def step(self) -> SendStats:
        """Mark acked what has its ack, expire what outlived its TTL, send what is due."""
        stats = SendStats()
        now = self.clock.wall()
        with self.engine.connect() as probe:  # most passes find nothing due: no transaction
            due = probe.execute(
                select(_SENT.c.id)
                .where(_SENT.c.status == CommandStatus.PENDING.value, _SENT.c.next_at <= now)
                .limit(1)
            ).first()
        if due is None:
            return stats
        with self.engine.begin() as conn:
            changes: list[tuple[int, str, int, float | None, float]] = []
            for row in self._due(conn, now):
                self._one(row, now, stats, changes)
            _set(conn, changes)  # one statement for every kind of change
        return stats

    def _due(self, conn: Connection, now: float) -> list[Any]:
        stmt = (
            select(
                _SENT.c.id,
                _SENT.c.serial,
                _SENT.c.request_id,
                _SENT.c.action,
                _SENT.c.body,
                _SENT.c.ttl_s,
                _SENT.c.issued_at,
                _SENT.c.expires_at,
                _SENT.c.attempts,
                _SENT.c.sent_at,
                _SENT.c.next_at,
                _LINK.c.ack_status,
                _LINK.c.result_status,
            )
            .select_from(
                _SENT.outerjoin(
                    _LINK,
                    and_(
                        _LINK.c.register_id == _SENT.c.register_id,
                        _LINK.c.request_id == _SENT.c.request_id,
                    ),
                )
            )
            .where(_SENT.c.status == CommandStatus.PENDING.value, _SENT.c.next_at <= now)
            .order_by(_SENT.c.next_at)
            .limit(self.batch)
        )
        if conn.dialect.name == "postgresql":
            # two senders never take one command; the ingest's linkcommand rows stay unlocked
            stmt = stmt.with_for_update(of=_SENT, skip_locked=True)
        return list(conn.execute(stmt).all())

    def _one(
        self,
        r: Any,
        now: float,
        stats: SendStats,
        changes: list[tuple[int, str, int, float | None, float]],
    ) -> None:
        """Append the row's new (id, status, attempts, sent_at, next_at)."""
        if r.ack_status is not None or r.result_status is not None:
            changes.append((r.id, CommandStatus.ACKED.value, r.attempts, r.sent_at, r.next_at))
            stats.acked += 1
            return
        if now >= r.expires_at:
            changes.append((r.id, CommandStatus.EXPIRED.value, r.attempts, r.sent_at, r.next_at))
            stats.expired += 1
            return
        payload = cmd_payload(r.request_id, r.action, r.body, r.ttl_s, r.issued_at)
        try:
            data = codec.encode(link.CMD, payload)
        except LinkError:  # a malformed command never becomes valid: it is not re-sent
            changes.append((r.id, CommandStatus.EXPIRED.value, r.attempts, r.sent_at, r.next_at))
            stats.refused += 1
            return
        self.publish(link.topic(self.root, r.serial, link.CMD), data)
        attempts = r.attempts + 1
        wait = backoff_s(attempts, self.timeout_s, self.max_backoff_s)
        changes.append((r.id, CommandStatus.PENDING.value, attempts, now, now + wait))
        if attempts == 1:
            stats.sent += 1
        else:
            stats.resent += 1


def _set(conn: Connection, changes: list[tuple[int, str, int, float | None, float]]) -> None:
    """Each row's (id, status, attempts, sent_at, next_at): one UPDATE over arrays on
    PostgreSQL, one executemany on SQLite."""
    if not changes:
        return
    changes.sort()  # one lock order
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(
            "UPDATE sentcommand AS s SET status = u.status, attempts = u.attempts,"
            " sent_at = u.sent_at, next_at = u.next_at FROM json_to_recordset(%s::json)"
            " AS u(id int, status text, attempts int, sent_at float8, next_at float8)"
            " WHERE s.id = u.id",
            (
                json.dumps(
                    [
                        {"id": i, "status": st, "attempts": n, "sent_at": sa, "next_at": na}
                        for i, st, n, sa, na in changes
                    ]
                ),
            ),
        )
        return
    conn.exec_driver_sql(
        "UPDATE sentcommand SET status = ?, attempts = ?, sent_at = ?, next_at = ? WHERE id = ?",
        [(st, n, sa, na, i) for i, st, n, sa, na in changes],
    )
