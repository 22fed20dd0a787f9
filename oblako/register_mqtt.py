"""`oblako register run --mqtt URL`: one register that takes its commands from the fleet.

Wiring: the drive (any pyserial URL) -> FiscalDrive -> Register (journal and counters under
the journal directory) -> Agent (firmware/agent.py) with the outbox watermark on the same
storage, over an MQTT client: paho-mqtt (`--client paho`, the default on CPython) or the
board's own client (`--client firmware`, firmware/mqtt.py over firmware/net.py). The drive's
waits keep the MQTT keepalive (FiscalDrive.idle = client.tick).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from firmware.agent import Agent, will
from firmware.clock import SystemClock
from firmware.drive import FiscalDrive
from firmware.journal import Journal
from firmware.mqtt import MqttClient
from firmware.net import connector
from firmware.outbox import Outbox
from firmware.register import Register
from firmware.shared import link
from firmware.storage import FileStorage
from hil.transport import open_transport
from oblako.mqtt_paho import PahoClient, parse_broker_url
from oblako.register_run import _load_profile, _ofd_client

__all__ = ["make_client", "run_mqtt"]


def make_client(
    kind: str,
    url: str,
    root: str,
    serial: str,
    keepalive_s: int = 30,
    ca_file: str | None = None,
) -> Any:
    """The MQTT client of `kind` ("paho" or "firmware") with the register's last will; TLS
    for an mqtts:// URL, verified against ca_file (or the system's CA store)."""
    if not link.root_ok(root):
        raise ValueError(f"the topic root {root!r} is not usable (levels, no + # $)")
    if not link.serial_ok(serial):
        raise ValueError(f"the serial {serial!r} is not 1..32 of [0-9A-Za-z_-]")
    client_id = f"reg-{serial}"
    last_will = will(root, serial)
    if kind == "paho":
        return PahoClient(url, client_id, keepalive_s=keepalive_s, will=last_will, ca_file=ca_file)
    if kind == "firmware":
        b = parse_broker_url(url)
        open_conn = connector(read_timeout_s=0.05, tls=b.tls, ca_file=ca_file)
        return MqttClient(
            lambda: open_conn(b.host, b.port, 10.0),
            SystemClock(),
            client_id,
            keepalive_s=keepalive_s,
            will=last_will,
            username=b.username,
            password=b.password,
        )
    raise ValueError(f"--client is paho or firmware, not {kind!r}")


def run_mqtt(
    fn_url: str,
    ofd: str | None,
    journal_dir: str | Path,
    mqtt_url: str,
    serial: str,
    *,
    root: str = link.ROOT,
    client_kind: str = "paho",
    ca_file: str | None = None,
    stop: threading.Event | None = None,
    trust: str | None = "host",
    firmware_version: str = "cpython",
) -> Agent:
    """Serve the register until `stop` is set (or a reboot command); the agent at the end.

    Raises ValueError for a bad URL, root, serial or client kind, HilLinkError when the port
    cannot be opened.
    """
    client = make_client(client_kind, mqtt_url, root, serial, ca_file=ca_file)
    storage = FileStorage(str(journal_dir))
    clock = SystemClock()
    port = open_transport(fn_url)
    try:
        drive = FiscalDrive(port, clock)
        drive.idle = client.tick
        reg = Register(
            drive,
            Journal(storage),
            clock,
            _load_profile(storage),
            storage=storage,
            ofd=_ofd_client(drive, ofd, clock),
        )
        if trust:
            reg.trust_time(trust)
        agent = Agent(reg, client, Outbox(storage, clock), root, serial, firmware_version)
        agent.run(stop.is_set if stop is not None else None)
        return agent
    finally:
        port.close()
        storage.close()
