"""Per-register broker credentials and ACLs, proved on a real Mosquitto with the shipped config.

The fleet's database holds the accounts; `write_auth_files` writes Mosquitto's password and ACL
files from it; a private `mosquitto` runs deploy/mosquitto/mosquitto.conf on a free port.
"""

from __future__ import annotations

import shutil
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from sqlmodel import Session, SQLModel, create_engine

import fleet.models  # noqa: F401  (registers the tables)
from firmware.clock import SystemClock
from firmware.mqtt import MqttClient
from firmware.net import connector
from fleet.core.clock import SettableClock
from fleet.link import credentials
from fleet.link.exceptions import BadSerialError
from tests.link.mosquitto import Mosquitto

pytestmark = pytest.mark.skipif(
    shutil.which("mosquitto") is None and not Path("/usr/sbin/mosquitto").exists(),
    reason="mosquitto is not installed",
)


@pytest.fixture(name="session")
def fixture_session(tmp_path: Path) -> Iterator[Session]:
    engine = create_engine(f"sqlite:///{tmp_path / 'fleet.db'}")
    SQLModel.metadata.create_all(engine)
    with Session(engine) as s:
        yield s
    engine.dispose()


def test_hashes_are_mosquitto_s_own_format() -> None:
    h = credentials.mosquitto_hash("secret", iterations=101, salt=bytes(range(12)))
    assert h.startswith("$7$101$AAECAwQFBgcICQoL$")
    assert credentials.verify("secret", h) and not credentials.verify("Secret", h)
    assert not credentials.verify("secret", "plain")


def test_a_bad_serial_is_refused_and_nothing_is_written(session: Session) -> None:
    with pytest.raises(BadSerialError):
        credentials.provision_register(session, SettableClock(), "a/b")
    assert credentials.passwd_text(session) == ""


def _client(url_port: int, user: str, password: str, subs: list[str]) -> MqttClient:
    open_conn = connector(read_timeout_s=0.05)
    c = MqttClient(
        lambda: open_conn("127.0.0.1", url_port, 5.0),
        SystemClock(),
        f"reg-{user}-{uuid.uuid4().hex[:6]}",
        username=user,
        password=password,
    )
    for s in subs:
        c.subscribe(s)
    return c


def test_a_register_reaches_only_its_own_topics(session: Session, tmp_path: Path) -> None:
    clock = SettableClock()
    root = f"acl-{uuid.uuid4().hex[:8]}"
    a = credentials.provision_register(session, clock, "0000000000000001", root)
    b = credentials.provision_register(session, clock, "0000000000000002", root)
    fleet_pw = credentials.ensure_fleet_account(session, clock, "ingest")
    broker = Mosquitto(tmp_path)
    credentials.write_auth_files(session, tmp_path / "passwd", tmp_path / "acl", root)
    assert f"pattern write {root}/v1/reg/%u/doc" in (tmp_path / "acl").read_text()
    broker.start()
    got: list[tuple[str, bytes]] = []
    seen = threading.Event()
    fleet = paho.Client(CallbackAPIVersion.VERSION2, client_id="fleet-ingest-test")
    fleet.username_pw_set("fleet-ingest", fleet_pw)
    fleet.on_message = lambda _c, _u, m: (got.append((m.topic, bytes(m.payload))), seen.set())
    try:
        fleet.connect("127.0.0.1", broker.port)
        fleet.subscribe(f"{root}/v1/reg/#", qos=1)
        fleet.loop_start()
        time.sleep(0.3)

        reg_a = _client(broker.port, a.username, a.password, [f"{root}/v1/reg/{a.serial}/cmd"])
        assert reg_a.service(), reg_a.last_error
        # as register B: denied, and Mosquitto 2.0.11 then drops the connection
        reg_a.publish(f"{root}/v1/reg/{b.serial}/doc", b"forged")
        reg_a.poll(1.0)
        assert not seen.wait(1.0)
        reg_a = _client(broker.port, a.username, a.password, [f"{root}/v1/reg/{a.serial}/cmd"])
        assert reg_a.service(), reg_a.last_error
        reg_a.publish(f"{root}/v1/reg/{a.serial}/doc", b"own")
        reg_a.poll(0.5)
        assert seen.wait(5)
        time.sleep(0.3)
        assert got == [(f"{root}/v1/reg/{a.serial}/doc", b"own")]

        # register B's commands never reach register A, even subscribed to them
        spied: list[bytes] = []
        spy = _client(broker.port, a.username, a.password, [f"{root}/v1/reg/{b.serial}/cmd"])
        spy.on_message = lambda _t, p: spied.append(bytes(p))
        owner: list[bytes] = []
        reg_b = _client(broker.port, b.username, b.password, [f"{root}/v1/reg/{b.serial}/cmd"])
        reg_b.on_message = lambda _t, p: owner.append(bytes(p))
        assert spy.service() and reg_b.service()
        fleet.publish(f"{root}/v1/reg/{b.serial}/cmd", b"for B", qos=1).wait_for_publish(5)
        end = time.monotonic() + 3
        while time.monotonic() < end and not owner:
            reg_b.poll(0.1)
            spy.poll(0.1)
        spy.poll(0.5)
        assert owner == [b"for B"] and spied == []
        reg_b.close()
        spy.close()

        # a wrong or rotated password is refused at CONNACK
        wrong = _client(broker.port, b.username, "not-the-password", [])
        assert not wrong.service() and "not authorised" in wrong.last_error
        fresh = credentials.provision_register(session, clock, b.serial, root)
        credentials.write_auth_files(session, tmp_path / "passwd", tmp_path / "acl", root)
        broker.reload()
        old = _client(broker.port, b.username, b.password, [])
        assert not old.service()
        new = _client(broker.port, b.username, fresh.password, [])
        assert new.service(), new.last_error
        for c in (reg_a, new):
            c.close()
    finally:
        fleet.loop_stop()
        fleet.disconnect()
        broker.stop()
