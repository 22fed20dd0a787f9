"""Links to a drive as the firmware sees them: `write(buf)` and `readinto(buf)`.

Anything pyserial opens (`/dev/ttyUSB0`, a pty path, `socket://host:port`, `loop://`) becomes
the firmware's transport contract, the one `machine.UART` satisfies on a board. Every link can
be wrapped in a `TracingTransport` that records each chunk with a timestamp. `open_transport`
takes a `socket://` URL (a simulated drive on TCP) straight to the socket: pyserial's socket
handler costs a select() and a Timeout object per read, most of the driver's CPU per command
in the receipts bench (docs/benchmarks.md, issue 8).
"""

from __future__ import annotations

import io
import json
import select
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Protocol
from urllib.parse import urlsplit

import serial

BAUD = 115200  # reference §1.1: 115200 8N1


class Transport(Protocol):
    """The firmware's transport contract (model-codebases §10)."""

    def write(self, buf: bytes | memoryview) -> int | None:
        """Send bytes."""

    def readinto(self, buf: bytearray) -> int | None:
        """Receive up to len(buf) bytes; 0 or None when nothing arrived in time."""


class HilLinkError(Exception):
    """The bench cannot open or use the link to the drive."""


class SerialTransport:
    """A pyserial port as a firmware transport.

    `readinto` returns what has arrived, like a UART driver: with `read_timeout_s` 0 (the
    default) it never blocks, and the driver's poll interval paces the waiting; a positive
    value waits that long for a first byte. pyserial's own read(n) would wait for all n
    bytes, adding its time-out to every answer.
    """

    def __init__(self, url: str, baud: int = BAUD, read_timeout_s: float = 0.0) -> None:
        try:
            self.port = serial.serial_for_url(url, baudrate=baud, timeout=read_timeout_s)
        except (serial.SerialException, ValueError, OSError) as e:
            raise HilLinkError(f"cannot open {url}: {e}") from e
        self.url = url
        self.blocking = read_timeout_s > 0

    def write(self, buf: bytes | memoryview) -> int | None:
        try:
            n: int | None = self.port.write(bytes(buf))
            return n
        except (serial.SerialException, OSError) as e:
            raise HilLinkError(f"write to {self.url} failed: {e}") from e

    def readinto(self, buf: bytearray) -> int | None:
        try:
            if not self.blocking:
                # with time-out 0, read(n) returns what is there, up to n, at once (a
                # socket:// port's in_waiting says only 0 or 1: asking for that read a
                # 500-byte answer a byte per call)
                data = self.port.read(len(buf))
                buf[: len(data)] = data
                return len(data)
            waiting = self.port.in_waiting
            if not waiting:
                first = self.port.read(1)
                if not first:
                    return 0
                buf[0] = first[0]
                got = 1
                waiting = self.port.in_waiting
            else:
                got = 0
            take = min(waiting, len(buf) - got)
            if take:
                data = self.port.read(take)
                buf[got : got + len(data)] = data
                got += len(data)
            return got
        except (serial.SerialException, OSError) as e:
            raise HilLinkError(f"read from {self.url} failed: {e}") from e

    def wait(self, timeout_s: float) -> bool:
        """Sleep until bytes arrive or `timeout_s` passes; True when bytes are waiting.
        (FiscalDrive waits for an answer here instead of polling; a port with no file
        descriptor, such as loop://, answers at once and the driver polls as before.)"""
        try:
            if self.port.in_waiting:
                return True
            fd = self.port.fileno()
        except (serial.SerialException, OSError, AttributeError, io.UnsupportedOperation):
            return False
        ready, _, _ = select.select([fd], [], [], timeout_s)
        return bool(ready)

    def close(self) -> None:
        """Close the port."""
        self.port.close()


class SocketTransport:
    """A `socket://host:port` link as a firmware transport, on the socket itself: a
    `recv_into(MSG_DONTWAIT)` per read (what has arrived, like a UART driver), `wait` a single
    select(), `write` a `sendall` (the driver writes one frame at a time)."""

    def __init__(self, url: str, connect_timeout_s: float = 5.0) -> None:
        parts = urlsplit(url)
        if parts.scheme != "socket" or not parts.hostname or parts.port is None:
            raise HilLinkError(f"not a socket://host:port URL: {url}")
        try:
            self.sock = socket.create_connection(
                (parts.hostname, parts.port), timeout=connect_timeout_s
            )
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.sock.settimeout(None)  # blocking writes; reads ask MSG_DONTWAIT
        except OSError as e:
            raise HilLinkError(f"cannot open {url}: {e}") from e
        self.url = url

    def write(self, buf: bytes | memoryview) -> int | None:
        try:
            self.sock.sendall(buf)
        except OSError as e:
            raise HilLinkError(f"write to {self.url} failed: {e}") from e
        return len(buf)

    def readinto(self, buf: bytearray) -> int | None:
        try:
            n = self.sock.recv_into(buf, 0, socket.MSG_DONTWAIT)
        except (BlockingIOError, InterruptedError):
            return 0
        except OSError as e:
            raise HilLinkError(f"read from {self.url} failed: {e}") from e
        if n == 0:  # the drive closed the line: reads as silence, as an unplugged UART
            return 0
        return n

    def wait(self, timeout_s: float) -> bool:
        """Sleep until bytes arrive or `timeout_s` passes; True when bytes are waiting (a
        closed line reads as ready: the driver then sleeps its poll interval)."""
        try:
            ready, _, _ = select.select([self.sock], [], [], max(0.0, timeout_s))
        except (OSError, ValueError):
            return False
        return bool(ready)

    def close(self) -> None:
        """Close the socket."""
        self.sock.close()


def open_transport(url: str) -> SerialTransport | SocketTransport:
    """The link a URL names: a `socket://` URL on the socket itself, anything else through
    pyserial (a device, a pty, `loop://`)."""
    if url.startswith("socket://"):
        return SocketTransport(url)
    return SerialTransport(url)


class TraceWriter:
    """Writes a raw byte trace as JSON lines: {"t": seconds, "dir": "tx"|"rx", "hex": ...}."""

    def __init__(self, out: IO[str], clock: Callable[[], float] = time.monotonic) -> None:
        self.out = out
        self.clock = clock
        self.t0 = clock()

    def record(self, direction: str, data: bytes) -> None:
        """Append one chunk as the link carried it."""
        line = {"t": round(self.clock() - self.t0, 6), "dir": direction, "hex": data.hex()}
        self.out.write(json.dumps(line) + "\n")
        self.out.flush()

    def note(self, text: str) -> None:
        """Append a marker (the test that starts, a power cut)."""
        self.out.write(json.dumps({"t": round(self.clock() - self.t0, 6), "note": text}) + "\n")
        self.out.flush()


class TracingTransport:
    """Wraps a transport and records every byte written and read."""

    def __init__(self, inner: Transport, trace: TraceWriter) -> None:
        self.inner = inner
        self.trace = trace

    def write(self, buf: bytes | memoryview) -> int | None:
        data = bytes(buf)
        self.trace.record("tx", data)
        return self.inner.write(data)

    def readinto(self, buf: bytearray) -> int | None:
        n = self.inner.readinto(buf)
        if n:
            self.trace.record("rx", bytes(buf[:n]))
        return n


def open_trace(path: Path | None) -> TraceWriter | None:
    """A trace writer on `path` (created or truncated), or None without a path."""
    if path is None:
        return None
    return TraceWriter(path.open("w", encoding="utf-8"))
