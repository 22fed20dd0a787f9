"""The desired state end to end: the fleet's document reaches the register runtime over a real
broker (embedded amqtt, a private Mosquitto with the shipped ACLs, the Mosquitto at MQTT_URL),
the register applies it and the shadow shows it applied; a register offline when it changes
gets it from the broker's retained copy when it comes back.

The proof of "applied" is the register's own behaviour, not only its `desired_seq`: it starts
with an OFD address where nothing listens, so its documents stay unsent; the desired document
names the simulated OFD, and the drive's unsent count (reported in the state) drops to 0.
The offline half runs on Mosquitto only: the embedded amqtt broker delivers nothing, not even
commands, to a register resuming its persistent session (as tests/link/test_durability.py, whose
restarts are Mosquitto's too); the sender's repeats are proved in tests/console/test_desired.py.
"""

from __future__ import annotations

import socket
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from fleet.console import desired as console_desired
from fleet.core.clock import SystemClock
from fleet.link import desired
from fleet.link.desired import DesiredSender
from fleet.link.ingest_models import DeviceShadow
from fleet.receipts.runner import PahoPublisher
from fleet.registers.models import Register
from simulator.ofd import OfdConfig, OfdServer
from tests.firmware.test_register import sale
from tests.link.test_ingest import (
    Broker,
    IngestThread,
    _setup,
    broker,
    drive_sales,
    fixture_engine,
    fixture_pg_server,
    wait_for,
)
from tests.receipts.test_end_to_end import OfdRegister

__all__ = ["broker", "fixture_engine", "fixture_pg_server"]


def _free_port() -> int:
    with socket.socket() as s:  # bound, never listening, closed: connections are refused
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _reported(engine: Engine, serial: str) -> dict[str, Any]:
    with Session(engine) as s:
        row = s.execute(
            select(DeviceShadow.reported)  # type: ignore[call-overload]
            .join(Register, Register.id == DeviceShadow.register_id)
            .where(Register.serial == serial)
        ).first()
    return dict(row[0]) if row is not None and row[0] is not None else {}


def _unsent(engine: Engine, serial: str) -> int | None:
    value = _reported(engine, serial).get("drive", {}).get("unsent")
    return value if isinstance(value, int) else None


def _set(engine: Engine, serial: str, changes: dict[str, Any]) -> int:
    with Session(engine) as s:
        rid = s.execute(select(Register.id).where(Register.serial == serial)).scalar_one()  # type: ignore[call-overload]
        seq = desired.change(s, rid, changes, SystemClock().wall()).seq
        s.commit()
    return int(seq)


def test_the_register_applies_the_desired_state_and_gets_it_after_being_offline(
    engine: Engine, broker: Broker, tmp_path: Path
) -> None:
    root = f"desired/{uuid.uuid4().hex[:10]}"
    names, cmd = _setup(engine, broker, 1, root, tmp_path)
    serial = names[0]
    ofd = OfdServer(OfdConfig(sign_algorithm="sha256"))
    ofd.start()
    reg = OfdRegister(tmp_path, serial, broker, root)
    reg.ofd = f"127.0.0.1:{_free_port()}"  # nothing there: documents stay unsent
    ingest = IngestThread(engine, broker, root, f"fleet-ingest-{uuid.uuid4().hex[:6]}")
    publisher = PahoPublisher(broker.account_url("fleet-ingest"))
    sender = DesiredSender(engine, publisher, SystemClock(), root, resend_s=600)
    try:
        reg.start()
        drive_sales(cmd, [reg], 2, engine)  # registration, shift, two receipts
        assert wait_for(lambda: (_unsent(engine, serial) or 0) >= 1, 20), repr(
            _reported(engine, serial)
        )
        assert "desired_seq" not in _reported(engine, serial)

        seq = _set(engine, serial, {"ofd_host": "127.0.0.1", "ofd_port": ofd.port})
        assert sender.step().published == 1
        assert wait_for(lambda: _reported(engine, serial).get("desired_seq") == seq, 20)
        assert wait_for(lambda: _unsent(engine, serial) == 0, 30), _reported(engine, serial)
        assert sender.step().applied == 0  # nothing due: the row waits for its verification
        with Session(engine) as s:  # the console's register page reads the same documents
            rid = s.execute(select(Register.id).where(Register.serial == serial)).scalar_one()  # type: ignore[call-overload]
            view = console_desired.view(s, rid, s.get(DeviceShadow, rid))
        assert (view.seq, view.reported_seq, view.pending) == (seq, seq, False)

        if not broker.shared:
            assert reg.errors == []
            return  # amqtt gives a client resuming its session nothing (not even commands)
        reg.halt()  # offline; the fleet changes its mind meanwhile
        seq2 = _set(engine, serial, {"max_clock_drift_s": 60})
        assert seq2 == seq + 1 and sender.step().published == 1
        reg.ofd = f"127.0.0.1:{_free_port()}"  # it boots with the old, dead address again
        reg.start()  # no publish from now on: the broker's retained copy must bring it
        caught_up = lambda: _reported(engine, serial).get("desired_seq") == seq2  # noqa: E731
        assert wait_for(caught_up, 20), repr(_reported(engine, serial))
        cmd.command(serial, "s-after", "receipt", sale("s-after", 4321, vat="vat22"))
        assert wait_for(lambda: (_reported(engine, serial)["drive"]["last_fd"]) >= 5, 20)
        assert wait_for(lambda: _unsent(engine, serial) == 0, 30), _reported(engine, serial)
        assert reg.errors == []
    finally:
        reg.close()
        publisher.close()
        ingest.close()
        cmd.close()
        ofd.stop()
