"""The firmware's driver over `socket://` on the socket itself (hil.transport.SocketTransport,
what `run_mqtt` opens for the receipts bench's drives): the same answers as through pyserial,
reads that never block, a precise error for a URL it cannot open."""

from __future__ import annotations

import socket
import time

import pytest

from firmware.clock import SystemClock as FirmwareClock
from firmware.drive import FiscalDrive
from hil.transport import HilLinkError, SerialTransport, SocketTransport, open_transport
from simulator.clock import SystemClock
from simulator.fn import DriveModel, LinkTiming, serve_tcp
from tests.firmware.test_register import drive_config


def _status(port: SerialTransport | SocketTransport) -> dict[str, object]:
    drive = FiscalDrive(port, FirmwareClock())
    st = drive.status()
    assert drive.calls == 1
    return st


def test_the_driver_gets_the_same_answers_as_through_pyserial() -> None:
    model = DriveModel(drive_config(), clock=SystemClock())
    with serve_tcp(model, timing=LinkTiming(default_latency=0.0)) as server:
        ours = open_transport(server.url)
        assert isinstance(ours, SocketTransport)
        try:
            first = _status(ours)
            buf = bytearray(64)
            t0 = time.monotonic()
            assert ours.readinto(buf) == 0  # nothing waiting: at once, no blocking
            assert time.monotonic() - t0 < 0.05
            assert ours.wait(0.05) is False
        finally:
            ours.close()
        theirs = SerialTransport(server.url)
        try:
            assert _status(theirs) == first
        finally:
            theirs.close()


def test_a_closed_line_reads_as_silence() -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    t = open_transport(f"socket://127.0.0.1:{port}")
    conn, _ = listener.accept()
    conn.sendall(b"\x04\x01")
    conn.close()
    listener.close()
    buf = bytearray(8)
    assert t.wait(1.0) is True
    assert t.readinto(buf) == 2 and bytes(buf[:2]) == b"\x04\x01"
    assert t.readinto(buf) == 0  # closed: no bytes, no exception
    t.close()


@pytest.mark.parametrize("url", ["socket://", "socket://127.0.0.1", "socket://127.0.0.1:1"])
def test_a_url_it_cannot_open_is_a_hil_link_error(url: str) -> None:
    with pytest.raises(HilLinkError, match=r"socket://"):
        SocketTransport(url)
