"""Durability of the link: faults mid-stream on a private Mosquitto with the shipped config.

Three registers on simulated drives take receipts from the fleet while the ingest runs as its
own process (`python -m fleet.link.ingest`); mid-stream the broker restarts, the ingest is
killed with SIGKILL (and a new worker takes over its session), or the registers restart.
Afterwards every document of every drive's archive is in the database exactly once (count and
content), every outbox is empty, and the dead-letter table is empty.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from fleet.documents.models import FiscalDocument
from simulator.ofd import OfdConfig, OfdServer
from tests.link.mosquitto import REPO, Mosquitto
from tests.link.test_ingest import (
    Broker,
    Commander,
    SimRegister,
    add_registers,
    assert_exactly_once,
    dead_letters,
    drive_sales,
    fixture_engine,
    fixture_pg_server,
    needs_mosquitto,
    outbox_of,
    provision,
    serials,
    settled,
    stored_docs,
    wait_for,
)
from tests.receipts.test_end_to_end import OfdRegister

__all__ = ["fixture_engine", "fixture_pg_server"]

pytestmark = needs_mosquitto

REGISTERS = 3
RECEIPTS = 5  # + registration and shift open: 7 documents per drive


class IngestProcess:
    """One ingest worker in its own process (SIGKILL-able)."""

    def __init__(self, engine: Engine, url: str, root: str, client_id: str) -> None:
        db = engine.url.render_as_string(hide_password=False)
        self.proc = subprocess.Popen(
            [
                sys.executable, "-m", "fleet.link.ingest", "--database-url", db,
                "--mqtt-url", url, "--root", root, "--client-id", client_id,
            ],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )  # fmt: skip
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        why = line if line else self.proc.stderr.read()
        assert json.loads(line or b"{}").get("ready"), why

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> dict[str, object]:
        self.proc.send_signal(signal.SIGTERM)
        out, err = self.proc.communicate(timeout=15)
        assert self.proc.returncode == 0, err.decode()
        return dict(json.loads(out.decode().strip().splitlines()[-1]))


@contextmanager
def _rig(
    engine: Engine, tmp_path: Path, ofd: OfdServer | None = None
) -> Iterator[tuple[Broker, list[SimRegister], Commander, str]]:
    root = f"durable/{uuid.uuid4().hex[:10]}"
    (tmp_path / "passwd").write_text("")
    (tmp_path / "acl").write_text("")
    mosquitto = Mosquitto(tmp_path)
    broker = Broker(mosquitto.url, shared=True, mosquitto=mosquitto)
    names = serials(REGISTERS)
    add_registers(engine, names)
    provision(engine, broker, names, root, tmp_path)
    mosquitto.start()
    cmd = Commander(broker, root)
    regs: list[SimRegister] = []
    for s in names:
        if ofd is None:
            regs.append(SimRegister(tmp_path, s, broker, root))
        else:
            reg = OfdRegister(tmp_path, s, broker, root)
            reg.ofd = f"{ofd.host}:{ofd.port}"
            reg.answers_resend_s = 5.0  # a lost answer comes again within the test's wait
            regs.append(reg)
    try:
        yield broker, regs, cmd, root
    finally:
        for r in regs:
            r.close()
        cmd.close()
        mosquitto.stop()


@pytest.fixture
def rig(
    engine: Engine, tmp_path: Path
) -> Iterator[tuple[Broker, list[SimRegister], Commander, str]]:
    with _rig(engine, tmp_path) as got:
        yield got


def _finish(engine: Engine, regs: list[SimRegister]) -> None:
    assert wait_for(settled(engine, regs, 2 + RECEIPTS), 25), (
        len(stored_docs(engine)),
        [outbox_of(engine, r.serial) for r in regs],
        dead_letters(engine),
        [len(r.model.state.archive) for r in regs],
        [r.errors for r in regs],
    )
    assert_exactly_once(engine, regs)
    assert dead_letters(engine) == []
    assert all(not r.errors for r in regs), [r.errors for r in regs]


def test_the_broker_restarts_mid_stream(
    engine: Engine,
    rig: tuple[Broker, list[SimRegister], Commander, str],
) -> None:
    broker, regs, cmd, root = rig
    assert broker.mosquitto is not None
    worker = IngestProcess(engine, broker.account_url("fleet-ingest"), root, "fleet-ingest-1")
    try:
        for r in regs:
            r.start()
        drive_sales(cmd, regs, RECEIPTS, engine)
        assert wait_for(lambda: len(stored_docs(engine)) >= 3, 15)
        broker.mosquitto.stop()  # a graceful restart: the broker saves its sessions
        time.sleep(0.5)
        broker.mosquitto.start()
        _finish(engine, regs)
    finally:
        worker.stop()


def test_the_ingest_is_killed_mid_batch_and_another_takes_over(
    engine: Engine, rig: tuple[Broker, list[SimRegister], Commander, str]
) -> None:
    broker, regs, cmd, root = rig
    url = broker.account_url("fleet-ingest")
    worker = IngestProcess(engine, url, root, "fleet-ingest-1")
    for r in regs:
        r.start()
    drive_sales(cmd, regs, RECEIPTS, engine)
    assert wait_for(lambda: len(stored_docs(engine)) >= 2, 15)
    worker.kill()
    killed_at = len(stored_docs(engine))
    # the replacement takes the dead worker's session: what it had not acknowledged comes again
    worker = IngestProcess(engine, url, root, "fleet-ingest-1")
    try:
        _finish(engine, regs)
        assert killed_at < REGISTERS * (2 + RECEIPTS)  # the kill really was mid-stream
    finally:
        worker.stop()


def test_registers_restart_mid_stream(
    engine: Engine, rig: tuple[Broker, list[SimRegister], Commander, str]
) -> None:
    broker, regs, cmd, root = rig
    worker = IngestProcess(engine, broker.account_url("fleet-ingest"), root, "fleet-ingest-1")
    try:
        for r in regs:
            r.start()
        drive_sales(cmd, regs, RECEIPTS, engine)
        assert wait_for(lambda: len(stored_docs(engine)) >= 3, 15)
        for r in regs:
            r.halt()
        for r in regs:
            r.start()
        _finish(engine, regs)
    finally:
        worker.stop()


def test_two_workers_share_the_stream(
    engine: Engine, rig: tuple[Broker, list[SimRegister], Commander, str]
) -> None:
    broker, regs, cmd, root = rig
    url = broker.account_url("fleet-ingest")
    workers = [IngestProcess(engine, url, root, f"fleet-ingest-{i}") for i in (1, 2)]
    stats = []
    try:
        for r in regs:
            r.start()
        drive_sales(cmd, regs, RECEIPTS, engine)
        _finish(engine, regs)
    finally:
        stats = [w.stop() for w in workers]
    assert all(int(str(s["messages"])) > 0 for s in stats), stats  # both took a share


def _ofd_statuses(engine: Engine) -> list[str]:
    with Session(engine) as s:
        return list(s.execute(select(FiscalDocument.ofd_status)).scalars())  # type: ignore[call-overload]


def test_every_ofd_answer_reaches_the_fleet_through_restarts(
    engine: Engine, tmp_path: Path
) -> None:
    # an OFD answer is an event the drive's archive does not keep: it must survive the
    # broker's restart and the registers' restart on the register's flash until stored
    ofd = OfdServer(OfdConfig(sign_algorithm="sha256"))
    ofd.start()
    try:
        with _rig(engine, tmp_path, ofd) as (broker, regs, cmd, root):
            assert broker.mosquitto is not None
            url = broker.account_url("fleet-ingest")
            worker = IngestProcess(engine, url, root, "fleet-ingest-1")
            try:
                for r in regs:
                    r.start()
                drive_sales(cmd, regs, RECEIPTS, engine)
                assert wait_for(lambda: "accepted" in _ofd_statuses(engine), 20)
                broker.mosquitto.stop()
                for r in regs:
                    r.halt()
                broker.mosquitto.start()
                for r in regs:
                    r.start()
                _finish(engine, regs)
                every = REGISTERS * (2 + RECEIPTS)
                assert wait_for(lambda: _ofd_statuses(engine) == ["accepted"] * every, 45), (
                    _ofd_statuses(engine),
                    [_answers_left(r) for r in regs],
                )
                for r in regs:  # and each register has forgotten them: the fleet named each
                    assert wait_for(lambda r=r: _answers_left(r) == 0, 10), _answers_left(r)
            finally:
                worker.stop()
    finally:
        ofd.stop()


def _answers_left(reg: SimRegister) -> int:
    path = reg.dir / "journal" / "ofdanswers"
    return len(json.loads(path.read_text())["a"]) if path.exists() else 0
