"""The board's entry point (firmware/board.py) without the board: its identity checks, its
bundle fetch over real HTTP, and the same wiring main() does, over a simulated drive on a pty
and the embedded broker, taking a command and answering it."""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
import pytest
from hypothesis import given
from hypothesis import strategies as st
from paho.mqtt.enums import CallbackAPIVersion

from firmware.board import IDENTITY, build, http_fetch, load_identity, parse_url
from firmware.clock import SystemClock
from firmware.errors import UsageError
from firmware.storage import FileStorage
from firmware.update import DirSlots, sha256_hex
from hil.transport import SerialTransport
from simulator.broker import EmbeddedBroker
from simulator.clock import SystemClock as SimClock
from simulator.fn import DriveModel, serve_pty
from tests.firmware.test_register import drive_config

MQTT = (("mqtt", False, 1883), ("mqtts", True, 8883))
GOOD = {
    "serial": "0001234567",
    "mqtt_url": "mqtts://broker.oblako.example:8883",
    "username": "0001234567",
    "password": "s3cret-Token_x",
    "root": "oblako",
    "ca_file": "/store/ca.pem",
}


def _storage(tmp: Path, ident: Any) -> FileStorage:
    s = FileStorage(str(tmp / "store"))
    if ident is not None:
        s.write(IDENTITY, json.dumps(ident).encode() if not isinstance(ident, bytes) else ident)
    return s


def test_the_identity_is_read_and_checked(tmp_path: Path) -> None:
    ident = load_identity(_storage(tmp_path, GOOD))
    assert ident["serial"] == "0001234567"
    assert ident["uart"] == {"id": 1, "tx": 17, "rx": 18, "baud": 115200}  # the defaults


@pytest.mark.parametrize(
    ("ident", "says"),
    [
        (None, "oblako firmware provision"),
        (b"{", "не JSON"),
        ([1], "не объект"),
        ({**GOOD, "serial": "a/b"}, "serial"),
        ({**GOOD, "root": "$SYS"}, "root"),
        ({**GOOD, "mqtt_url": "http://x"}, "схема"),
        ({**GOOD, "ofd": "ofd.example"}, "HOST:PORT"),
        ({**GOOD, "uart": {"tx": -1}}, "uart.tx"),
        ({**GOOD, "shared_secret": "x"}, "неизвестное поле"),
    ],
)
def test_a_board_without_a_good_identity_does_not_start(
    tmp_path: Path, ident: Any, says: str
) -> None:
    with pytest.raises(UsageError, match=says):
        load_identity(_storage(tmp_path, ident))


def test_urls() -> None:
    assert parse_url("mqtts://u:p%40ss@host.example", MQTT) == (
        True, "host.example", 8883, "u", "p@ss", "/",
    )  # fmt: skip
    assert parse_url("mqtt://[::1]:1884", MQTT) == (False, "::1", 1884, None, None, "/")
    for bad in ("mqtt://", "mqtt://h:x", "mqtt://h:0", "ws://h", "h:1883"):
        with pytest.raises(UsageError):
            parse_url(bad, MQTT)


@given(
    host=st.from_regex(r"[a-z][a-z0-9.-]{0,30}", fullmatch=True),
    port=st.integers(1, 65535),
    user=st.from_regex(r"[A-Za-z0-9_-]{1,20}", fullmatch=True),
    password=st.from_regex(r"[A-Za-z0-9_-]{1,32}", fullmatch=True),
)
def test_a_provisioned_url_comes_back_as_it_was_written(
    host: str, port: int, user: str, password: str
) -> None:
    url = f"mqtt://{user}:{password}@{host}:{port}"
    assert parse_url(url, MQTT) == (False, host, port, user, password, "/")


class _Bundles(http.server.BaseHTTPRequestHandler):
    data = b"bundle-bytes" * 1000

    def do_GET(self) -> None:
        if self.path != "/firmware/bundles/x.bin":
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(self.data)))
        self.end_headers()
        self.wfile.write(self.data)

    def log_message(self, *_a: Any) -> None:
        pass


@pytest.fixture(name="bundles")
def fixture_bundles() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Bundles)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


def test_a_bundle_is_fetched_over_http_in_pieces(bundles: str) -> None:
    body: Any = http_fetch(SystemClock())(f"{bundles}/firmware/bundles/x.bin")
    got = b""
    while piece := body.read(1000):
        got += piece
    body.close()
    assert sha256_hex(got) == sha256_hex(_Bundles.data)
    with pytest.raises(OSError, match="404"):
        http_fetch(SystemClock())(f"{bundles}/firmware/bundles/missing.bin")
    with pytest.raises(OSError):
        http_fetch(SystemClock())("ftp://127.0.0.1/x")


def test_the_board_s_wiring_answers_a_command_from_the_fleet(tmp_path: Path) -> None:
    model = DriveModel(drive_config(), clock=SimClock(), state_file=str(tmp_path / "fn.json"))
    with EmbeddedBroker() as broker, serve_pty(model) as server:
        ident = {**GOOD, "mqtt_url": broker.url, "root": "board-test"}
        ident.pop("ca_file")
        storage = _storage(tmp_path, ident)
        port = SerialTransport(server.path)
        agent = build(load_identity(storage), port, storage, DirSlots(str(tmp_path / "fw")))
        got: list[tuple[str, dict[str, Any]]] = []
        fleet = paho.Client(CallbackAPIVersion.VERSION2, client_id="fleet-test")
        b = parse_url(broker.url, MQTT)
        fleet.on_message = lambda _c, _u, m: got.append((m.topic, json.loads(m.payload)))
        fleet.connect(b[1], b[2])
        fleet.subscribe("board-test/v1/reg/0001234567/+", 1)
        fleet.loop_start()
        try:
            time.sleep(0.3)
            command = {"v": 1, "id": "x-1", "ttl": 600, "issued_at": int(time.time()),
                       "action": "x_report"}  # fmt: skip
            deadline = time.monotonic() + 20
            sent = False
            while time.monotonic() < deadline:
                agent.step(0.05)
                if agent.client.connected and not sent:
                    fleet.publish("board-test/v1/reg/0001234567/cmd", json.dumps(command), 1)
                    sent = True
                if any(t.endswith("/result") for t, _ in got):
                    break
            kinds = {t.rsplit("/", 1)[1]: p for t, p in got}
            assert kinds["presence"]["status"] == "online"
            assert kinds["ack"]["id"] == "x-1" and kinds["result"]["id"] == "x-1"
        finally:
            fleet.loop_stop()
            fleet.disconnect()
            agent.client.close()
            port.close()
            storage.close()
