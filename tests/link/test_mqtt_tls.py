"""TLS on the link: both register clients reach a Mosquitto TLS listener and verify it.

A throwaway CA and a server certificate for 127.0.0.1/localhost are made with the openssl
command; the private Mosquitto runs the shipped config plus its (commented there) TLS listener.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
import uuid
from pathlib import Path

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from sqlmodel import Session, SQLModel, create_engine

import fleet.models  # noqa: F401  (registers the tables)
from fleet.core.clock import SettableClock
from fleet.link import credentials
from oblako.register_mqtt import make_client
from tests.link.mosquitto import Mosquitto

pytestmark = pytest.mark.skipif(
    shutil.which("openssl") is None
    or (shutil.which("mosquitto") is None and not Path("/usr/sbin/mosquitto").exists()),
    reason="openssl and mosquitto are needed",
)


def _certificates(d: Path) -> tuple[Path, Path, Path]:
    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=d)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        "-subj", "/CN=Oblako test CA", "-keyout", "ca.key", "-out", "ca.crt")  # fmt: skip
    run("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
        "-keyout", "server.key", "-out", "server.csr")  # fmt: skip
    (d / "san.ext").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    run("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
        "-CAcreateserial", "-days", "2", "-extfile", "san.ext", "-out", "server.crt")  # fmt: skip
    return d / "ca.crt", d / "server.crt", d / "server.key"


@pytest.mark.parametrize("kind", ["firmware", "paho"])
def test_a_register_publishes_over_verified_tls(tmp_path: Path, kind: str) -> None:
    ca, cert, key = _certificates(tmp_path)
    engine = create_engine(f"sqlite:///{tmp_path / 'fleet.db'}")
    SQLModel.metadata.create_all(engine)
    root = f"tls-{uuid.uuid4().hex[:8]}"
    with Session(engine) as session:
        clock = SettableClock()
        reg = credentials.provision_register(session, clock, "0000000000000007", root)
        fleet_pw = credentials.ensure_fleet_account(session, clock, "ingest")
        credentials.write_auth_files(session, tmp_path / "passwd", tmp_path / "acl", root)
    broker = Mosquitto(tmp_path, tls=(cert, key)).start()
    got = threading.Event()
    fleet = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"fleet-{uuid.uuid4().hex[:6]}")
    fleet.username_pw_set("fleet-ingest", fleet_pw)
    fleet.on_message = lambda _c, _u, m: got.set()
    try:
        fleet.connect("127.0.0.1", broker.port)
        fleet.subscribe(f"{root}/v1/reg/#", qos=1)
        fleet.loop_start()
        time.sleep(0.3)
        url = f"mqtts://{reg.username}:{reg.password}@localhost:{broker.tls_port}"
        client = make_client(kind, url, root, reg.serial, ca_file=str(ca))
        assert client.service(), client.last_error
        client.publish(f"{root}/v1/reg/{reg.serial}/state", b"{}")
        end = time.monotonic() + 5
        while not got.is_set() and time.monotonic() < end:
            client.poll(0.1)
        assert got.is_set()
        client.close()

        # without the CA the server's certificate is refused
        stranger = make_client(kind, url, root, reg.serial, ca_file=None)
        assert not stranger.service()
        assert (
            "certificate" in stranger.last_error.lower() or "verify" in stranger.last_error.lower()
        )
    finally:
        fleet.loop_stop()
        fleet.disconnect()
        broker.stop()
        engine.dispose()
