"""The receipts worker inside the fleet app (`oblako fleet serve` with FLEET_MQTT_URL): an
accepted receipt is routed and its command reaches the register's topic on a real broker
(the embedded amqtt one, or Mosquitto at MQTT_URL under a unique root); without a broker the
app runs no worker.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator

import paho.mqtt.client as paho
import pytest
from fastapi.testclient import TestClient
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy.engine import Engine
from sqlmodel import Session

from fleet.core.clock import SystemClock
from fleet.core.config import Settings
from fleet.link.ingest import broker_url
from fleet.main import create_app
from fleet.receipts.models import Receipt
from fleet.receipts.runner import supervise
from fleet.receipts.service import create_receipt
from protocol.portable import link
from simulator.broker import EmbeddedBroker
from tests.receipts.builders import add_register, sale
from tests.receipts.test_routing import company


@pytest.fixture(name="mqtt_url")
def fixture_mqtt_url() -> Iterator[str]:
    if os.environ.get("MQTT_URL"):
        yield os.environ["MQTT_URL"]
        return
    with EmbeddedBroker() as broker:
        yield broker.url


def _listen(url: str, topic: str) -> tuple[paho.Client, list[bytes], threading.Event]:
    got: list[bytes] = []
    subscribed = threading.Event()
    b = broker_url(url)
    c = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"t-{uuid.uuid4().hex[:8]}")
    if b.username is not None:
        c.username_pw_set(b.username, b.password)
    c.on_connect = lambda cl, *_a: cl.subscribe(topic, 1)
    c.on_subscribe = lambda *_a: subscribed.set()
    c.on_message = lambda _c, _u, m: got.append(bytes(m.payload))
    c.connect(b.host, b.port)
    c.loop_start()
    assert subscribed.wait(10), "no SUBACK"
    return c, got, subscribed


def test_the_app_routes_and_sends_a_receipt_when_a_broker_is_configured(
    engine: Engine, settings: Settings, mqtt_url: str
) -> None:
    clock = SystemClock()
    root = f"t-serve-{uuid.uuid4().hex[:8]}"
    with Session(engine, expire_on_commit=False) as s:
        a = company(s, clock, 1)  # type: ignore[arg-type]
        add_register(s, clock, a, "SERVE001")
    listener, got, _ = _listen(mqtt_url, link.topic(root, "SERVE001", link.CMD))
    app_settings = settings.model_copy(
        update={"mqtt_url": mqtt_url, "mqtt_root": root, "receipts_poll_s": 0.02}
    )
    try:
        with TestClient(create_app(app_settings, clock=clock, engine=engine)):
            assert any(t.name == "receipts" and t.is_alive() for t in threading.enumerate())
            with Session(engine, expire_on_commit=False) as s:
                receipt, _ = create_receipt(s, a, sale("serve-1", 4200, vat="vat22"), clock=clock)
            end = time.monotonic() + 15
            while not got and time.monotonic() < end:
                time.sleep(0.05)
            assert got, "the app's worker sent no command"
            cmd = json.loads(got[0])
            assert cmd["action"] == "receipt" and cmd["request"]["total"] == 4200
            with Session(engine) as s:
                assert s.get(Receipt, receipt.id).status == "queued"  # type: ignore[union-attr]
        # the lifespan's end stops the worker
        end = time.monotonic() + 10
        while any(t.name == "receipts" for t in threading.enumerate()):
            assert time.monotonic() < end, "the worker outlived the app"
            time.sleep(0.05)
    finally:
        listener.loop_stop()
        listener.disconnect()


def test_without_a_broker_the_app_runs_no_worker(engine: Engine, settings: Settings) -> None:
    assert settings.mqtt_url is None
    with TestClient(create_app(settings, engine=engine)):
        assert not any(t.name == "receipts" for t in threading.enumerate())


def test_a_bad_broker_url_stops_the_app_at_start(engine: Engine, settings: Settings) -> None:
    bad = settings.model_copy(update={"mqtt_url": "http://nowhere"})
    with pytest.raises(ValueError), TestClient(create_app(bad, engine=engine)):
        pass


def test_a_worker_that_crashes_is_started_again_until_the_app_stops() -> None:
    # the in-app worker must not die for good on one failure (the database restarting, say)
    stop = threading.Event()
    runs: list[float] = []

    def run() -> None:
        runs.append(time.monotonic())
        if len(runs) < 3:
            raise RuntimeError("the database went away")
        stop.set()  # the third run serves until the app stops

    restarts = supervise(run, stop, first_s=0.01, most_s=0.04)
    assert len(runs) == 3 and restarts == 2
    # a pause before each start, doubling: 0.01 s, then 0.02 s
    assert runs[1] - runs[0] >= 0.01 and runs[2] - runs[1] >= 0.02


def test_a_stopped_app_starts_no_worker_again() -> None:
    stop = threading.Event()
    stop.set()
    calls: list[int] = []
    assert supervise(lambda: calls.append(1), stop) == 0 and calls == []


def _worker(engine: Engine, mqtt_url: str, root: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "fleet.receipts.runner",
            "--database-url",
            engine.url.render_as_string(hide_password=False),
            "--mqtt-url",
            mqtt_url,
            "--root",
            root,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_the_worker_in_a_process_of_its_own_routes_sends_and_stops_on_sigterm(
    engine: Engine, mqtt_url: str
) -> None:
    """`python -m fleet.receipts.runner` (what `oblako bench receipts` runs beside the app):
    ready once started, the command on the register's topic, its totals on SIGTERM."""
    clock = SystemClock()
    root = f"t-proc-{uuid.uuid4().hex[:8]}"
    with Session(engine, expire_on_commit=False) as s:
        a = company(s, clock, 1)  # type: ignore[arg-type]
        add_register(s, clock, a, "PROC0001")
    listener, got, _ = _listen(mqtt_url, link.topic(root, "PROC0001", link.CMD))
    proc = _worker(engine, mqtt_url, root)
    try:
        assert proc.stdout is not None
        assert json.loads(proc.stdout.readline()) == {"ready": True}
        with Session(engine, expire_on_commit=False) as s:
            receipt, _ = create_receipt(s, a, sale("proc-1", 4200, vat="vat22"), clock=clock)
        end = time.monotonic() + 20
        while not got and time.monotonic() < end:
            time.sleep(0.05)
        assert got, "the worker's process sent no command"
        cmd = json.loads(got[0])
        assert cmd["action"] == "receipt" and cmd["request"]["total"] == 4200
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
        assert proc.returncode == 0, err
        totals = json.loads(out.strip().splitlines()[-1])
        assert totals["routed"] == 1 and totals["sent"] == 1
        with Session(engine) as s:
            assert s.get(Receipt, receipt.id).status == "queued"  # type: ignore[union-attr]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
        listener.loop_stop()
        listener.disconnect()


def test_the_worker_process_refuses_a_bad_broker_url(engine: Engine) -> None:
    proc = _worker(engine, "http://nowhere", "oblako")
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 2
    assert out == "" and "receipts worker:" in err
