"""`oblako register run --mqtt`: a register on a simulated drive (pty) takes the fleet's commands.

A paho client plays the fleet on Mosquitto (MQTT_URL) and on the embedded amqtt broker, with
both MQTT clients of the register (paho, and the board's own firmware/mqtt.py).
"""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from oblako.register_mqtt import make_client, run_mqtt
from protocol.mqtt import codec
from simulator.broker import EmbeddedBroker
from simulator.clock import SystemClock
from simulator.fn import DriveModel, serve_pty
from tests.firmware.test_register import drive_config, registration_request, sale


@pytest.fixture(scope="module")
def amqtt_url() -> Iterator[str]:
    with EmbeddedBroker() as b:
        yield b.url


@pytest.fixture(params=["mosquitto", "amqtt"])
def broker_url(request: pytest.FixtureRequest) -> str:
    if request.param == "mosquitto":
        url = os.environ.get("MQTT_URL")
        if not url:
            pytest.skip("MQTT_URL is not set: no Mosquitto to test against")
        return url
    url: str = request.getfixturevalue("amqtt_url")
    return url


class Fleet:
    """A paho client that records what registers send under a root."""

    def __init__(self, url: str, root: str) -> None:
        from oblako.mqtt_paho import parse_broker_url

        b = parse_broker_url(url)
        self.root = root
        self.msgs: list[codec.Message] = []
        self.cond = threading.Condition()
        self.c = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"fleet-{uuid.uuid4().hex[:8]}")
        self.c.on_message = self._on
        self.c.connect(b.host, b.port)
        self.c.subscribe(f"{root}/#", qos=1)
        self.c.loop_start()
        time.sleep(0.3)

    def _on(self, _c: object, _u: object, m: paho.MQTTMessage) -> None:
        if not m.payload:
            return
        msg = codec.decode(self.root, m.topic, bytes(m.payload))  # every message is valid
        with self.cond:
            self.msgs.append(msg)
            self.cond.notify_all()

    def of(self, kind: str) -> list[dict[str, Any]]:
        with self.cond:
            return [m.payload for m in self.msgs if m.kind == kind]

    def wait(self, pred: Callable[[], bool], timeout: float = 20) -> bool:
        with self.cond:
            return self.cond.wait_for(pred, timeout)

    def command(self, serial: str, rid: str, action: str, request: dict[str, Any]) -> None:
        body = {
            "v": 1,
            "id": rid,
            "ttl": 600,
            "issued_at": int(time.time()),
            "action": action,
            "request": request,
        }
        topic = f"{self.root}/v1/reg/{serial}/cmd"
        self.c.publish(topic, codec.encode("cmd", body), qos=1).wait_for_publish(5)

    def close(self) -> None:
        self.c.loop_stop()
        self.c.disconnect()


@pytest.mark.parametrize("client_kind", ["paho", "firmware"])
def test_register_serves_the_fleet_over_mqtt(
    tmp_path: Path, broker_url: str, client_kind: str
) -> None:
    root = f"oblako-test/{uuid.uuid4().hex[:10]}"
    serial = "00000000" + uuid.uuid4().hex[:8]
    fleet = Fleet(broker_url, root)
    model = DriveModel(drive_config(), clock=SystemClock(), state_file=str(tmp_path / "fn.json"))
    stop = threading.Event()
    errors: list[BaseException] = []
    with serve_pty(model) as server:

        def serve() -> None:
            try:
                run_mqtt(
                    server.path, None, tmp_path / "journal", broker_url, serial,
                    root=root, client_kind=client_kind, stop=stop,
                )  # fmt: skip
            except BaseException as e:
                errors.append(e)

        worker = threading.Thread(target=serve, daemon=True)
        worker.start()
        try:
            assert fleet.wait(lambda: bool(fleet.of("presence"))), errors
            fleet.command(serial, "reg-1", "registration", registration_request())
            fleet.command(serial, "s-1", "receipt", sale("s-1", 4200, vat="vat22"))
            fleet.command(
                serial, "s-1", "receipt", sale("s-1", 4200, vat="vat22")
            )  # delivered twice
            assert fleet.wait(lambda: len(fleet.of("result")) >= 3), (errors, fleet.msgs)
            results = fleet.of("result")
            assert [r["status"] for r in results] == ["made", "made", "made"], [
                r.get("errors") for r in results
            ]
            assert results[1]["fd"] == results[2]["fd"]
            archive = len(model.state.archive)
            assert fleet.wait(
                lambda: {d["fd"] for d in fleet.of("doc")} >= set(range(1, archive + 1))
            )
            fn = fleet.of("doc")[0]["fn"]
            acks = [a["status"] for a in fleet.of("ack")]
            assert acks == ["accepted", "accepted", "duplicate"]
            stored = {"v": 1, "fn": fn, "through": archive}
            fleet.c.publish(f"{root}/v1/reg/{serial}/stored", json.dumps(stored), qos=1)
            assert fleet.wait(lambda: any(s["outbox"] == 0 for s in fleet.of("state")), 10), (
                fleet.of("state")
            )
        finally:
            stop.set()
            worker.join(15)
            fleet.c.publish(f"{root}/v1/reg/{serial}/presence", b"", qos=1, retain=True)
            fleet.close()
    assert not errors, errors
    assert archive == 3  # registration, shift open, one receipt


def test_bad_settings_are_refused_before_anything_starts() -> None:
    with pytest.raises(ValueError, match="mqtt:// or mqtts://"):
        make_client("paho", "http://x", "oblako", "1")
    with pytest.raises(ValueError, match="topic root"):
        make_client("paho", "mqtt://x", "a/+", "1")
    with pytest.raises(ValueError, match="serial"):
        make_client("firmware", "mqtt://x", "oblako", "a/b")
    with pytest.raises(ValueError, match="paho or firmware"):
        make_client("umqtt", "mqtt://x", "oblako", "1")


def test_paho_client_loops_without_a_wakeup_socket_pair(
    broker_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # oblako/mqtt_paho.py runs paho in its own select: every QoS 1 message is acknowledged
    # (on_published), a message to it is delivered and PUBACKed, and paho never made the
    # socket pair its loop() uses to wake itself (a send and a recv per packet); its PUBACKs
    # take the path without paho's decoder (the fleet's one PUBACK here takes paho's)
    from paho.mqtt import _packet

    from oblako.mqtt_paho import PahoClient

    decoded: list[int] = []
    real = _packet.decode_puback
    monkeypatch.setattr(_packet, "decode_puback", lambda *a: decoded.append(1) or real(*a))

    root = f"t{uuid.uuid4().hex[:8]}"
    client = PahoClient(broker_url, f"reg-{uuid.uuid4().hex[:8]}")
    acked: list[int] = []
    got: list[tuple[str, bytes]] = []
    client.on_published = acked.append
    client.on_message = lambda t, p: got.append((t, p))
    client.subscribe(f"{root}/in", 1)
    assert client.service()
    from oblako.mqtt_paho import parse_broker_url

    b = parse_broker_url(broker_url)
    fleet = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"fleet-{uuid.uuid4().hex[:8]}")
    fleet.connect(b.host, b.port)
    fleet.loop_start()
    try:
        mids = [client.publish(f"{root}/out/{i}", b"x%d" % i, 1) for i in range(30)]
        time.sleep(0.2)  # the fleet's subscription is in place
        fleet.publish(f"{root}/in", b"hello", qos=1)
        end = time.monotonic() + 10
        while (len(acked) < len(mids) or not got) and time.monotonic() < end:
            client.poll(0.05)
        assert sorted(acked) == sorted(mids)
        assert got == [(f"{root}/in", b"hello")]
        assert client._c._sockpairR is None and client._c._sockpairW is None
        assert len(decoded) <= 1
    finally:
        client.close()
        fleet.loop_stop()
        fleet.disconnect()
