"""Remote commands: queued → delivered → acknowledged → done/failed/expired, read from the
sender's and the ingest's rows; a retry keeps the request id; bad input writes nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from fleet.audit import AuditLog
from fleet.console import commands
from fleet.console.commands import Stage
from fleet.console.exceptions import CommandStateError, InvalidCommandError
from fleet.console.models import ConsoleCommand
from fleet.core.clock import SettableClock
from fleet.link.command_models import SentCommand
from fleet.link.commands import CommandSender
from fleet.link.ingest import Incoming, Store
from protocol.mqtt import codec
from protocol.portable import link
from tests.console.world import company, operator, register

ROOT = "test/console"


class Wire:
    """What the sender published, decoded."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, topic: str, payload: bytes) -> None:
        self.sent.append((topic, json.loads(payload)))


def answer(
    engine: Engine, clock: SettableClock, serial: str, kind: str, body: dict[str, Any]
) -> None:
    """The register's answer through the fleet's real ingest (codec checks and all)."""
    data = codec.encode(kind, {"v": 1, "at": int(clock.wall()), **body})
    Store(engine, ROOT, clock).apply([Incoming(link.topic(ROOT, serial, kind), data, clock.wall())])


def stage(engine: Engine, command_id: int) -> Stage:
    with Session(engine) as s:
        return commands.get_command(s, command_id).stage


def test_a_command_is_followed_to_done_and_audited(engine: Engine, clock: SettableClock) -> None:
    with Session(engine, expire_on_commit=False) as s:
        c = company(s, clock, 1)
        _u, p = operator(s, clock, c.id or 0)
        reg = register(s, clock, c, "SER0000001")
        cmd = commands.send(s, clock, p, reg.id or 0, "x_report")
        s.commit()
    cid = cmd.id or 0
    assert stage(engine, cid) is Stage.QUEUED
    wire = Wire()
    sender = CommandSender(engine, wire, clock, root=ROOT)
    sender.step()
    [(topic, msg)] = wire.sent
    assert topic == link.topic(ROOT, "SER0000001", link.CMD)
    assert (msg["id"], msg["action"], msg["ttl"]) == (cmd.request_id, "x_report", 3600)
    assert stage(engine, cid) is Stage.DELIVERED
    answer(engine, clock, "SER0000001", link.ACK, {"id": cmd.request_id, "status": "accepted"})
    assert stage(engine, cid) is Stage.ACKNOWLEDGED
    answer(
        engine,
        clock,
        "SER0000001",
        link.RESULT,
        {"id": cmd.request_id, "action": "x_report", "status": "done", "data": {"receipts": 3}},
    )
    with Session(engine) as s:
        view = commands.get_command(s, cid)
        assert view.stage is Stage.DONE and view.final and not view.retryable
        assert view.result is not None and view.result["data"] == {"receipts": 3}
        [row] = s.exec(select(AuditLog).where(AuditLog.action == "console.command.send")).all()
        detail = json.loads(row.detail)
        assert (row.user_id, detail["request_id"], detail["command"]) == (
            p.user_id,
            cmd.request_id,
            "x_report",
        )


def test_a_failed_command_is_retried_with_the_same_request_id(
    engine: Engine, clock: SettableClock
) -> None:
    with Session(engine, expire_on_commit=False) as s:
        c = company(s, clock, 1)
        _u, p = operator(s, clock, c.id or 0)
        reg = register(s, clock, c, "SER0000001")
        cmd = commands.send(s, clock, p, reg.id or 0, "open_shift")
        s.commit()
    cid = cmd.id or 0
    wire = Wire()
    sender = CommandSender(engine, wire, clock, root=ROOT)
    sender.step()
    assert wire.sent[0][1]["request"] == {}  # the runtime's own cashier
    answer(engine, clock, "SER0000001", link.ACK, {"id": cmd.request_id, "status": "accepted"})
    answer(
        engine,
        clock,
        "SER0000001",
        link.RESULT,
        {
            "id": cmd.request_id,
            "action": "open_shift",
            "status": "failed",
            "retryable": True,
            "errors": [{"path": "", "code": "drive_unreachable", "message": "ФН не отвечает"}],
        },
    )
    with Session(engine) as s:
        view = commands.get_command(s, cid)
    assert view.stage is Stage.FAILED and view.errors == ["ФН не отвечает"] and view.retryable
    clock.advance(30)
    with Session(engine) as s:
        commands.retry(s, clock, p, cid)
        s.commit()
    with Session(engine) as s:
        view = commands.get_command(s, cid)
        row = s.exec(select(ConsoleCommand).where(ConsoleCommand.id == cid)).one()
    assert view.stage is Stage.QUEUED and view.retries == 1
    assert row.history[0]["stage"] == "failed" and row.history[0]["errors"] == ["ФН не отвечает"]
    sender.step()
    _topic, msg = wire.sent[-1]
    assert msg["id"] == cmd.request_id and msg["issued_at"] == int(clock.wall())
    answer(engine, clock, "SER0000001", link.ACK, {"id": cmd.request_id, "status": "accepted"})
    answer(
        engine,
        clock,
        "SER0000001",
        link.RESULT,
        {
            "id": cmd.request_id,
            "action": "open_shift",
            "status": "made",
            "fn": "9999078900000001",
            "fd": 1,
            "fp": "123456",
            "shift": 1,
        },
    )
    assert stage(engine, cid) is Stage.DONE
    with Session(engine) as s, pytest.raises(CommandStateError):
        commands.retry(s, clock, p, cid)


def test_no_answer_within_the_ttl_is_expired(engine: Engine, clock: SettableClock) -> None:
    with Session(engine, expire_on_commit=False) as s:
        c = company(s, clock, 1)
        _u, p = operator(s, clock, c.id or 0)
        reg = register(s, clock, c, "SER0000001")
        cmd = commands.send(s, clock, p, reg.id or 0, "reboot", ttl_s=60)
        s.commit()
    wire = Wire()
    sender = CommandSender(engine, wire, clock, root=ROOT, timeout_s=10)
    sender.step()
    clock.advance(61)
    sender.step()
    assert stage(engine, cmd.id or 0) is Stage.EXPIRED
    with Session(engine) as s:
        commands.retry(s, clock, p, cmd.id or 0)
        s.commit()
    assert stage(engine, cmd.id or 0) is Stage.QUEUED


@pytest.mark.parametrize(
    ("action", "params", "confirm", "field"),
    [
        ("format_drive", {}, "", "action"),
        ("read_archive", {"from": 5, "to": 2}, "", "to"),
        ("read_archive", {"from": "a"}, "", "from"),
        ("x_report", {"from": 1}, "", "from"),
        ("close_fiscal_mode", {}, "WRONG", "confirm"),
    ],
)
def test_bad_input_gets_a_precise_error_and_writes_nothing(
    engine: Engine,
    clock: SettableClock,
    action: str,
    params: dict[str, Any],
    confirm: str,
    field: str,
) -> None:
    with Session(engine, expire_on_commit=False) as s:
        c = company(s, clock, 1)
        _u, p = operator(s, clock, c.id or 0)
        reg = register(s, clock, c, "SER0000001")
        with pytest.raises(InvalidCommandError) as err:
            commands.send(s, clock, p, reg.id or 0, action, params, confirm=confirm)
        assert field in err.value.fields
        s.rollback()
        assert s.exec(select(SentCommand)).all() == []
        assert s.exec(select(ConsoleCommand)).all() == []


def test_closing_the_fiscal_mode_needs_the_serial_and_reading_the_archive_a_range(
    engine: Engine, clock: SettableClock
) -> None:
    with Session(engine, expire_on_commit=False) as s:
        c = company(s, clock, 1)
        _u, p = operator(s, clock, c.id or 0)
        reg = register(s, clock, c, "SER0000001")
        commands.send(s, clock, p, reg.id or 0, "close_fiscal_mode", confirm="SER0000001")
        commands.send(s, clock, p, reg.id or 0, "read_archive", {"from": 3, "to": 7})
        s.commit()
    wire = Wire()
    CommandSender(engine, wire, clock, root=ROOT).step()
    got = sorted(
        (m["action"], json.dumps(m.get("params", m.get("request")))) for _t, m in wire.sent
    )
    assert got == [("close_fiscal_mode", "{}"), ("read_archive", '{"from": 3, "to": 7}')]
