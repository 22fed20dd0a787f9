"""The fleet's command sender: re-sends without an ack, stops on one, expires after the TTL."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from fleet.core.clock import SettableClock
from fleet.link.command_models import SentCommand
from fleet.link.commands import CommandSender, backoff_s, command_row, enqueue, enqueue_rows
from fleet.link.ingest import Incoming, Store
from fleet.link.ingest_models import LinkCommand
from fleet.receipts.models import Receipt
from fleet.receipts.routing import route
from fleet.receipts.service import create_receipt
from fleet.receipts.tracker import track
from protocol.mqtt import codec
from protocol.portable import link
from tests.receipts.builders import add_register, sale
from tests.receipts.test_routing import company

ROOT = "test/sender"


class Sink:
    """A publisher that keeps what it was given."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes]] = []

    def __call__(self, topic: str, payload: bytes) -> None:
        self.sent.append((topic, payload))


def test_backoff_doubles_up_to_the_cap() -> None:
    assert [backoff_s(n, 2, 30) for n in range(1, 7)] == [2, 4, 8, 16, 30, 30]


def test_resent_with_the_same_id_until_the_ack_then_never_again(
    engine: Engine, clock: SettableClock
) -> None:
    with Session(engine, expire_on_commit=False) as s:
        a = company(s, clock, 1)
        reg = add_register(s, clock, a, "SEND0001")
        assert reg.id is not None
        enqueue(
            s, clock, register_id=reg.id, serial="SEND0001", request_id="rq-1",
            action="receipt", body=sale("rq-1", 100), ttl_s=600,
        )  # fmt: skip
        s.commit()
    sink = Sink()
    sender = CommandSender(engine, sink, clock, ROOT, timeout_s=2, max_backoff_s=30)
    assert sender.step().sent == 1
    topic, data = sink.sent[0]
    msg = codec.decode(ROOT, topic, data)
    assert (msg.serial, msg.kind) == ("SEND0001", "cmd")
    assert msg.payload["id"] == "rq-1" and msg.payload["ttl"] == 600
    assert msg.payload["request"]["items"][0]["price"] == 100
    issued = msg.payload["issued_at"]
    times = [clock.wall()]
    for _ in range(40):  # 40 s without an ack: sends at 0, 2, 6, 14, 30 (waits 2, 4, 8, 16)
        clock.advance(1)
        if sender.step().resent:
            times.append(clock.wall())
    start = times[0]
    assert [t - start for t in times] == [0, 2, 6, 14, 30]
    assert len(sink.sent) == 5
    assert {json.loads(d)["id"] for _t, d in sink.sent} == {"rq-1"}
    assert {json.loads(d)["issued_at"] for _t, d in sink.sent} == {issued}
    with Session(engine) as s:
        s.add(
            LinkCommand(register_id=reg.id, request_id="rq-1", ack_status="duplicate", acked_at=0)
        )
        s.commit()
    clock.advance(100)
    stats = sender.step()
    assert stats.acked == 1 and stats.resent == 0
    clock.advance(1000)
    sender.step()
    assert len(sink.sent) == 5
    with Session(engine) as s:
        row = s.exec(select(SentCommand)).one()
    assert row.status == "acked" and row.attempts == 5


def test_no_ack_within_the_ttl_expires_the_command_and_fails_the_receipt(
    engine: Engine, clock: SettableClock
) -> None:
    with Session(engine, expire_on_commit=False) as s:
        a = company(s, clock, 1)
        add_register(s, clock, a, "SILENT01")
        rec, _ = create_receipt(s, a, sale("ttl-1", 100), clock=clock)
    route(engine, clock, ttl_s=20)
    sink = Sink()
    sender = CommandSender(engine, sink, clock, ROOT, timeout_s=2, max_backoff_s=8)
    for _ in range(30):
        sender.step()
        clock.advance(1)
    with Session(engine) as s:
        row = s.exec(select(SentCommand)).one()
    assert row.status == "expired"
    assert [json.loads(d)["ttl"] for _t, d in sink.sent] == [20] * len(sink.sent)
    assert 3 <= len(sink.sent) <= 5  # 0, 2, 6, 14 (then 22 > TTL)
    track(engine, clock)
    with Session(engine) as s:
        got = s.get(Receipt, rec.id)
    assert got is not None and got.status == "failed" and got.retryable is True
    assert "время жизни команды" in (got.failure or "")


def test_a_command_the_register_would_refuse_never_leaves(
    engine: Engine, clock: SettableClock
) -> None:
    # the codec's fast accept is the register's own check (link.check_cmd): an id with a
    # space, which the register refuses, is refused here and never published
    with Session(engine, expire_on_commit=False) as s:
        a = company(s, clock, 1)
        reg = add_register(s, clock, a, "BADCMD01")
        assert reg.id is not None
        enqueue(
            s, clock, register_id=reg.id, serial="BADCMD01", request_id="bad id",
            action="receipt", body=sale("bad id", 100), ttl_s=600,
        )  # fmt: skip
        s.commit()
    sink = Sink()
    stats = CommandSender(engine, sink, clock, ROOT).step()
    assert (stats.sent, stats.refused) == (0, 1) and sink.sent == []
    with Session(engine) as s:
        assert s.exec(select(SentCommand)).one().status == "expired"


def test_routing_with_the_sender_sends_after_its_commit_and_the_timer_resends(
    engine: Engine, clock: SettableClock
) -> None:
    # route(sender=…) marks the rows sent once and publishes after the commit: the sender's
    # own step has nothing to send until the re-send timer, then sends the same command
    with Session(engine, expire_on_commit=False) as s:
        a = company(s, clock, 1)
        reg = add_register(s, clock, a, "ROUTE001")
        for i in range(3):
            create_receipt(s, a, sale(f"rs-{i}", 100 + i), clock=clock)
    committed: list[int] = []

    def publish(topic: str, payload: bytes) -> None:
        # on another connection: the row this command belongs to is committed already
        with Session(engine) as s:
            row = s.exec(
                select(SentCommand).where(SentCommand.request_id == json.loads(payload)["id"])
            ).one()
        committed.append(row.attempts)
        sink(topic, payload)

    sink = Sink()
    sender = CommandSender(engine, publish, clock, ROOT, timeout_s=2, max_backoff_s=30)
    stats = route(engine, clock, sender=sender)
    assert (stats.routed, stats.sent) == (3, 3)
    assert committed == [1, 1, 1]
    with Session(engine) as s:
        rows = s.exec(select(SentCommand)).all()
    assert {(r.register_id, r.attempts, r.sent_at, r.next_at) for r in rows} == {
        (reg.id, 1, clock.wall(), clock.wall() + 2)
    }
    ids = {json.loads(d)["id"] for _t, d in sink.sent}
    assert ids == {r.request_id for r in rows}
    assert sender.step().sent == 0 and len(sink.sent) == 3
    clock.advance(2)
    assert sender.step().resent == 3
    assert {json.loads(d)["id"] for _t, d in sink.sent[3:]} == ids


def test_a_first_send_the_codec_refuses_is_left_for_the_sender_to_expire(
    engine: Engine, clock: SettableClock
) -> None:
    with Session(engine, expire_on_commit=False) as s:
        reg = add_register(s, clock, company(s, clock, 1), "FIRST001")
    assert reg.id is not None
    sink = Sink()
    sender = CommandSender(engine, sink, clock, ROOT)
    good, bad = (
        command_row(
            clock.wall(), register_id=reg.id, serial="FIRST001", request_id=rq,
            action="receipt", body=sale(rq, 100), ttl_s=600,
        )
        for rq in ("ok-1", "bad id")
    )  # fmt: skip
    messages = sender.first_sends([good, bad], clock.wall())
    assert [json.loads(d)["id"] for _t, d in messages] == ["ok-1"]
    assert (good["attempts"], bad["attempts"], bad["next_at"]) == (1, 0, clock.wall())
    with engine.begin() as conn:
        enqueue_rows(conn, [good, bad])
    stats = sender.step()
    assert (stats.sent, stats.refused) == (0, 1) and sink.sent == []
    with Session(engine) as s:
        got = {r.request_id: r.status for r in s.exec(select(SentCommand)).all()}
    assert got == {"ok-1": "pending", "bad id": "expired"}


def test_one_sender_pass_acks_expires_and_resends_in_one_write(
    engine: Engine, clock: SettableClock
) -> None:
    # acked, expired and re-sent rows of one pass are written by one statement
    with Session(engine, expire_on_commit=False) as s:
        reg = add_register(s, clock, company(s, clock, 1), "MIXED001")
        assert reg.id is not None
        for rq, ttl in (("acked-1", 600), ("short-1", 1), ("again-1", 600)):
            enqueue(
                s, clock, register_id=reg.id, serial="MIXED001", request_id=rq,
                action="receipt", body=sale(rq, 100), ttl_s=ttl,
            )  # fmt: skip
        s.commit()
    sink = Sink()
    sender = CommandSender(engine, sink, clock, ROOT, timeout_s=2, max_backoff_s=30)
    assert sender.step().sent == 3
    with Session(engine) as s:
        s.add(LinkCommand(register_id=reg.id, request_id="acked-1", ack_status="accepted"))
        s.commit()
    clock.advance(2)
    writes: list[str] = []

    def count(_c: Any, _cur: Any, statement: str, *_a: Any) -> None:
        if statement.lstrip().upper().startswith("UPDATE"):
            writes.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        stats = sender.step()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert (stats.acked, stats.expired, stats.resent) == (1, 1, 1)
    assert len(writes) == 1
    with Session(engine) as s:
        got = {r.request_id: (r.status, r.attempts) for r in s.exec(select(SentCommand)).all()}
    assert got == {
        "acked-1": ("acked", 1),
        "short-1": ("expired", 1),
        "again-1": ("pending", 2),
    }


def test_the_ingest_marks_a_command_acked_so_the_timer_resends_only_the_rest(
    engine: Engine, clock: SettableClock
) -> None:
    # the ack's upsert marks the sentcommand row acked in the same statement: the sender's
    # next due time finds only the commands still without an answer
    with Session(engine, expire_on_commit=False) as s:
        a = company(s, clock, 1)
        add_register(s, clock, a, "ACKED001")
        for i in range(2):
            create_receipt(s, a, sale(f"ak-{i}", 100 + i), clock=clock)
    sink = Sink()
    sender = CommandSender(engine, sink, clock, ROOT, timeout_s=2, max_backoff_s=30)
    assert route(engine, clock, sender=sender).sent == 2
    first, second = (json.loads(d)["id"] for _t, d in sink.sent)
    ack = {"v": 1, "id": first, "status": "accepted", "at": int(clock.wall())}
    topic = link.topic(ROOT, "ACKED001", link.ACK)
    Store(engine, ROOT, clock).apply([Incoming(topic, json.dumps(ack).encode(), clock.wall())])
    with Session(engine) as s:
        got = {r.request_id: r.status for r in s.exec(select(SentCommand)).all()}
    assert got == {first: "acked", second: "pending"}
    clock.advance(2)
    stats = sender.step()
    assert (stats.acked, stats.resent) == (0, 1)
    assert json.loads(sink.sent[-1][1])["id"] == second
