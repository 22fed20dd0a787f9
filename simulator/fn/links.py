"""Serving a simulated drive three ways: in-process, on a pty, on TCP (`socket://`).

All three share a `DriveEndpoint`: the drive's end of the serial line. It feeds received
bytes to the model, applies the `FaultPlan`, and schedules answer bytes on the drive's
clock with the optional `LinkTiming` (wire time, processing time).

- In-process: `inproc_pair(drive)` -> (`DrivePort`, `DriveEndpoint`). The port is the
  register's end with the firmware's transport contract, which `machine.UART` and
  `serial.Serial` both satisfy: ``write(buf)`` and ``readinto(buf)`` returning the
  number of bytes read, 0 when nothing is available (after ``timeout`` seconds of the
  clock; with a SimClock the wait costs no real time). No threads: deterministic.
- pty: `serve_pty(drive)` -> `PtyServer`; open ``server.path`` with pyserial.
- TCP: `serve_tcp(drive)` -> `TcpServer`; open ``server.url`` (``socket://host:port``).

The servers run one daemon thread each. They wait for scheduled answers with
``clock.sleep``: with a SimClock that advances simulated time (scale it with
``SimClock(real_sleep_scale=1)`` to see real wire time on the other side).
"""

from __future__ import annotations

import contextlib
import os
import select
import socket
import threading
import tty
from abc import ABC, abstractmethod
from collections import deque
from dataclasses import dataclass
from typing import Final, Self

from simulator.fn.errors import LinkError
from simulator.fn.faults import FaultKind, FaultPlan
from simulator.fn.model import DriveModel
from simulator.fn.stream import BadFrame, Event, Request
from simulator.fn.timing import LinkTiming

__all__ = [
    "DriveEndpoint",
    "DrivePort",
    "PtyServer",
    "TcpServer",
    "inproc_pair",
    "serve_pty",
    "serve_tcp",
]

_POLL: Final = 0.02  # real seconds a server thread waits for input at a time
# with nothing scheduled, the thread sleeps in select() until the register sends (or close()
# wakes it through a pipe): an idle drive costs no wake-ups, not 50 a second (the fleet bench
# runs 50 drives)
_IDLE: Final = 1.0
_MAX_WAIT_STEP: Final = 0.05  # clock seconds a server waits for an answer at a time
_EPS: Final = 1e-7  # seconds: far below a byte time (87 µs), above float noise on the clock


@dataclass
class _Outgoing:
    data: bytes
    start: float  # clock time the first byte starts on the wire
    byte_time: float
    chunk: int | None = None  # split: at most this many bytes per read
    cut_after: int | None = None  # power fails after this many bytes went out
    sent: int = 0

    def due(self, now: float) -> int:
        """Bytes of ``data`` on the wire by ``now``."""
        if now + _EPS < self.start:
            return 0
        if not self.byte_time:
            return len(self.data)
        return min(len(self.data), int((now - self.start + _EPS) / self.byte_time))

    def next_at(self) -> float:
        return self.start + (self.sent + 1) * self.byte_time if self.byte_time else self.start


def _flip(raw: bytes, index: int) -> bytes:
    out = bytearray(raw)
    out[index] ^= 0x01
    return bytes(out)


class DriveEndpoint:
    """The drive's end of a serial line (thread-safe).

    ``trace=True`` records every byte both ways as (clock time, "rx"|"tx", bytes).
    """

    def __init__(
        self,
        drive: DriveModel,
        *,
        timing: LinkTiming | None = None,
        faults: FaultPlan | None = None,
        trace: bool = False,
    ) -> None:
        """Attach to ``drive``."""
        self.drive = drive
        self.clock = drive.clock
        self.timing = timing or LinkTiming()
        self.faults = faults or FaultPlan()
        self.trace: list[tuple[float, str, bytes]] | None = [] if trace else None
        self._lock = threading.RLock()
        self._out: deque[_Outgoing] = deque()
        self._busy_until = self.clock.monotonic()
        self._rx_count = 0
        self._cut_at_rx: int | None = None

    # ---- power -------------------------------------------------------------------------------

    def power_off(self) -> None:
        """Cut the drive's power now; answers not yet sent are lost."""
        with self._lock:
            self.drive.power_off()
            self._out.clear()

    def power_on(self) -> None:
        """Restore power (the drive reloads its state file)."""
        with self._lock:
            self.drive.power_on()
            self._busy_until = self.clock.monotonic()

    # ---- receiving -----------------------------------------------------------------------------

    def receive(self, data: bytes) -> None:
        """Bytes from the register arrive (all at the current clock time)."""
        data = bytes(data)
        with self._lock:
            now = self.clock.monotonic()
            self._settle(now)
            if self.trace is not None and data:
                self.trace.append((now, "rx", data))
            if not self.drive.powered:
                return  # a dead drive hears nothing
            armed = self.faults.take(FaultKind.POWER_CUT, None)
            if armed is not None:
                self._cut_at_rx = self._rx_count + armed.after_bytes
            cut = False
            if self._cut_at_rx is not None and self._rx_count + len(data) >= self._cut_at_rx:
                data = data[: self._cut_at_rx - self._rx_count]
                cut = True
            self._rx_count += len(data)
            arrival = now + len(data) * self.timing.byte_time
            for event in self.drive.receive(data):
                self._serve(event, arrival)
            if cut:
                self._cut_at_rx = None
                self.power_off()

    def _serve(self, event: Event, arrival: float) -> None:
        faults = self.faults
        code = event.code if isinstance(event, Request) else None
        answer: bytes | None
        if isinstance(event, Request):
            if faults.take(FaultKind.DROP_REQUEST, code):
                return
            if faults.take(FaultKind.CORRUPT_REQUEST, code):
                event = BadFrame(_flip(event.raw, len(event.raw) - 3))
            forced = faults.take(FaultKind.FORCE_ANSWER, code)
            if forced is not None and isinstance(event, Request):
                answer = self.drive.force_answer(forced.code, forced.data)
            else:
                answer = self.drive.respond(event)
        else:
            answer = self.drive.respond(event)
        if answer is None or faults.take(FaultKind.DROP_ANSWER, code):
            return
        delay = self.timing.latency(code)
        late = faults.take(FaultKind.DELAY_ANSWER, code)
        if late is not None:
            delay += late.delay
        if faults.take(FaultKind.CORRUPT_ANSWER, code):
            answer = _flip(answer, len(answer) - 1)
        garbage = faults.take(FaultKind.GARBAGE_BEFORE, code)
        prefix = garbage.data if garbage is not None else b""
        split = faults.take(FaultKind.SPLIT_ANSWER, code)
        cut = faults.take(FaultKind.POWER_CUT, code) if code is not None else None
        start = max(arrival + delay, self._busy_until)
        out = _Outgoing(
            prefix + answer,
            start,
            self.timing.byte_time,
            chunk=split.chunk if split is not None else None,
            cut_after=len(prefix) + cut.after_bytes if cut is not None else None,
        )
        self._busy_until = start + len(out.data) * self.timing.byte_time
        self._out.append(out)
        self._settle(self.clock.monotonic())

    # ---- sending -------------------------------------------------------------------------------

    def _settle(self, now: float) -> None:
        """Apply a power cut whose moment has come."""
        if not self._out:
            return
        first = self._out[0]
        if first.cut_after is None:
            return
        cut_time = first.start + first.cut_after * first.byte_time
        if now + _EPS >= cut_time:
            first.data = first.data[: first.cut_after]
            first.cut_after = None
            self.drive.power_off()
            while len(self._out) > 1:
                self._out.pop()
            if first.sent >= len(first.data):
                self._out.clear()

    def take(self, limit: int) -> bytes:
        """Answer bytes due by now, at most ``limit`` (one piece of a split answer)."""
        out = bytearray()
        with self._lock:
            now = self.clock.monotonic()
            self._settle(now)
            while self._out and len(out) < limit:
                item = self._out[0]
                count = item.due(now) - item.sent
                if item.cut_after is not None:
                    count = min(count, item.cut_after - item.sent)
                if item.chunk is not None:
                    count = min(count, item.chunk)
                count = min(count, limit - len(out))
                if count <= 0:
                    break
                out += item.data[item.sent : item.sent + count]
                item.sent += count
                if item.sent >= len(item.data):
                    self._out.popleft()
                if item.chunk is not None:
                    break
            if self.trace is not None and out:
                self.trace.append((now, "tx", bytes(out)))
        return bytes(out)

    def available(self) -> int:
        """Answer bytes that could be read now."""
        with self._lock:
            now = self.clock.monotonic()
            self._settle(now)
            return sum(item.due(now) - item.sent for item in self._out if item.start <= now)

    def next_ready_at(self) -> float | None:
        """Clock time the next answer byte is due (None: nothing scheduled)."""
        with self._lock:
            if not self._out:
                return None
            first = self._out[0]
            if first.cut_after is not None and first.sent >= first.cut_after:
                return first.start + first.cut_after * first.byte_time
            return first.next_at()

    def discard_output(self) -> None:
        """Drop answers not yet read (pyserial ``reset_input_buffer`` on the register side)."""
        with self._lock:
            self._out.clear()


# ---- in-process --------------------------------------------------------------------------------


class DrivePort:
    """The register's end of an in-process line: ``write`` and ``readinto``.

    ``timeout``: how long (clock seconds) ``readinto`` waits for the first byte; 0
    returns at once. Waiting is ``clock.sleep``, free with a SimClock.
    """

    def __init__(self, endpoint: DriveEndpoint, *, timeout: float = 0.0) -> None:
        """Open the register's end of ``endpoint``'s line."""
        self.endpoint = endpoint
        self.timeout = timeout
        self.closed = False

    def _check(self) -> None:
        if self.closed:
            raise LinkError("the port is closed")

    def write(self, buf: bytes | bytearray | memoryview) -> int:
        """Send bytes to the drive; returns how many (all of them)."""
        self._check()
        data = bytes(buf)
        self.endpoint.receive(data)
        return len(data)

    def readinto(self, buf: bytearray | memoryview) -> int:
        """Read answer bytes into ``buf``; 0 when none arrived within ``timeout``."""
        self._check()
        view = memoryview(buf)
        clock = self.endpoint.clock
        deadline = clock.monotonic() + self.timeout
        while True:
            data = self.endpoint.take(len(view))
            if data:
                view[: len(data)] = data
                return len(data)
            now = clock.monotonic()
            if now + _EPS >= deadline:
                return 0
            due = self.endpoint.next_ready_at()
            if due is not None and due <= now + _EPS:
                return 0  # due yet nothing to take (the power failed mid-answer)
            wait = deadline - now if due is None else min(due - now, deadline - now)
            clock.sleep(wait)

    def read(self, size: int = 1) -> bytes:
        """Up to ``size`` bytes (pyserial style), waiting as ``readinto`` does."""
        buf = bytearray(size)
        n = self.readinto(buf)
        return bytes(buf[:n])

    @property
    def in_waiting(self) -> int:
        """Bytes readable now (pyserial's ``in_waiting``)."""
        return self.endpoint.available()

    def reset_input_buffer(self) -> None:
        """Drop unread answer bytes."""
        self.endpoint.discard_output()

    def close(self) -> None:
        """Close the port (further use raises LinkError)."""
        self.closed = True


def _endpoint(
    drive: DriveModel | DriveEndpoint, timing: LinkTiming | None, faults: FaultPlan | None
) -> DriveEndpoint:
    if isinstance(drive, DriveEndpoint):
        if timing is not None or faults is not None:
            raise LinkError("give timing and faults to the endpoint, not twice")
        return drive
    return DriveEndpoint(drive, timing=timing, faults=faults)


def inproc_pair(
    drive: DriveModel | DriveEndpoint,
    *,
    timing: LinkTiming | None = None,
    faults: FaultPlan | None = None,
    timeout: float = 0.0,
) -> tuple[DrivePort, DriveEndpoint]:
    """The register's port and the drive's endpoint of one in-process line."""
    endpoint = _endpoint(drive, timing, faults)
    return DrivePort(endpoint, timeout=timeout), endpoint


# ---- threaded servers ------------------------------------------------------------------------


class _Server(ABC):
    """A daemon thread moving bytes between a file-like peer and the endpoint."""

    def __init__(self, endpoint: DriveEndpoint, name: str) -> None:
        self.endpoint = endpoint
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.error: BaseException | None = None
        self._wake_r, self._wake_w = os.pipe()  # close() ends the idle select() at once

    def _start(self) -> None:
        self._thread.start()

    @abstractmethod
    def _recv(self, timeout: float) -> bytes | None:
        """Bytes from the register, or None after `timeout` seconds of silence."""

    @abstractmethod
    def _send(self, data: bytes) -> None:
        """Bytes to the register."""

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                self._step()
        except BaseException as exc:  # keep the failure for close() to report
            self.error = exc

    def _step(self) -> None:
        endpoint = self.endpoint
        clock = endpoint.clock
        due = endpoint.next_ready_at()
        if due is not None:
            now = clock.monotonic()
            if due > now + _EPS:
                clock.sleep(min(due - now, _MAX_WAIT_STEP))
                return
            answer = endpoint.take(4096)
            if answer:
                self._send(answer)
                return
        incoming = self._recv(_IDLE if due is None else 0.001)
        if incoming:
            endpoint.receive(incoming)

    def close(self) -> None:
        """Stop the thread and release the device.

        :raises LinkError: the serving thread had failed.
        """
        self._stop.set()
        with contextlib.suppress(OSError):
            os.write(self._wake_w, b"x")
        self._thread.join(timeout=5)
        self._release()
        for fd in (self._wake_r, self._wake_w):
            with contextlib.suppress(OSError):
                os.close(fd)
        if self.error is not None:
            raise LinkError(f"the drive server failed: {self.error!r}") from self.error

    @abstractmethod
    def _release(self) -> None:
        """Free the device (pty fds, sockets)."""

    def __enter__(self) -> Self:
        """Use as a context manager: closed on exit."""
        return self

    def __exit__(self, *exc: object) -> None:
        """Close."""
        self.close()


class PtyServer(_Server):
    """The drive on a pseudo-terminal; the register opens ``path`` as a serial port."""

    def __init__(self, endpoint: DriveEndpoint) -> None:
        """Open a pty pair and start serving on its master side."""
        super().__init__(endpoint, "fn-sim-pty")
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)  # no echo, no line editing: a byte is a byte
        self.path = os.ttyname(self._slave)
        self._start()

    def _recv(self, timeout: float) -> bytes | None:
        ready, _, _ = select.select([self._master, self._wake_r], [], [], timeout)
        if self._master not in ready:
            return None
        try:
            return os.read(self._master, 4096)
        except OSError:  # EIO while no one has the slave open
            self._stop.wait(_POLL)
            return None

    def _send(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            written = os.write(self._master, view)
            view = view[written:]

    def _release(self) -> None:
        for fd in (self._master, self._slave):
            with contextlib.suppress(OSError):
                os.close(fd)


class TcpServer(_Server):
    """The drive on a TCP port; the register opens ``url`` (``socket://host:port``).

    One register at a time, as on a serial line; a new connection waits for the last.
    """

    def __init__(self, endpoint: DriveEndpoint, host: str = "127.0.0.1", port: int = 0) -> None:
        """Listen on ``host:port`` (port 0: any free port, see ``self.port``)."""
        super().__init__(endpoint, "fn-sim-tcp")
        self._listener = socket.create_server((host, port))
        self._listener.setblocking(False)
        self.host = host
        self.port: int = self._listener.getsockname()[1]
        self.url = f"socket://{host}:{self.port}"
        self._conn: socket.socket | None = None
        self._start()

    def _recv(self, timeout: float) -> bytes | None:
        if self._conn is None:
            ready, _, _ = select.select([self._listener.fileno(), self._wake_r], [], [], timeout)
            if self._listener.fileno() not in ready:
                return None
            try:
                conn, _ = self._listener.accept()
            except (BlockingIOError, InterruptedError):
                return None
            conn.setblocking(True)
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._conn = conn
        fd = self._conn.fileno()
        ready, _, _ = select.select([fd, self._wake_r], [], [], timeout)
        if fd not in ready:
            return None
        try:
            data = self._conn.recv(4096)
        except OSError:
            data = b""
        if not data:
            self._conn.close()
            self._conn = None
            return None
        return data

    def _send(self, data: bytes) -> None:
        if self._conn is None:
            return  # no one listening: the bytes are lost, as on an unplugged line
        try:
            self._conn.sendall(data)
        except OSError:
            self._conn.close()
            self._conn = None

    def _release(self) -> None:
        if self._conn is not None:
            self._conn.close()
        self._listener.close()


def serve_pty(
    drive: DriveModel | DriveEndpoint,
    *,
    timing: LinkTiming | None = None,
    faults: FaultPlan | None = None,
) -> PtyServer:
    """Serve ``drive`` on a new pty in a background thread; open ``.path`` with pyserial."""
    return PtyServer(_endpoint(drive, timing, faults))


def serve_tcp(
    drive: DriveModel | DriveEndpoint,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    timing: LinkTiming | None = None,
    faults: FaultPlan | None = None,
) -> TcpServer:
    """Serve ``drive`` on TCP (port 0 = a free port); open ``.url`` with pyserial."""
    return TcpServer(_endpoint(drive, timing, faults), host, port)
