"""The project's injected clock (DESIGN.md decision 6): one object every time rule reads.

Contract (the firmware keeps its own SystemClock with the same three methods)::

    wall() -> float        UTC unix seconds
    monotonic() -> float   seconds, never goes back (timers, time-outs, the drive's timer)
    sleep(seconds) -> None

`SystemClock` reads the real time. `SimClock` is simulated time shared by the drive
simulator and the register runtime in one process: `sleep` advances it instantly (and,
with ``real_sleep_scale > 0``, also sleeps for real, scaled, so a peer on a pty or a
socket sees wire-like timing), `advance` jumps days in microseconds, `set_wall` moves only
the wall clock (an NTP step): monotonic time and the drive's timer do not follow it.
SimClock is thread-safe: the pty and TCP servers read it from their own threads.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from typing import Final, Protocol

__all__ = ["DEFAULT_START", "Clock", "ClockError", "SimClock", "SystemClock"]

#: A fixed, ordinary moment for simulations that do not set their own: 2024-01-15 07:30 UTC
#: (10:30 in Moscow), the date of the reference's example frames (§1.2).
DEFAULT_START: Final = dt.datetime(2024, 1, 15, 7, 30, tzinfo=dt.UTC).timestamp()


class ClockError(ValueError):
    """A clock was asked to do something time cannot do (go backwards, naive datetimes)."""


class Clock(Protocol):
    """The injected clock: UTC wall time, monotonic time, sleep."""

    def wall(self) -> float:
        """UTC unix seconds."""
        ...

    def monotonic(self) -> float:
        """Seconds from an arbitrary origin; never decreases."""
        ...

    def sleep(self, seconds: float) -> None:
        """Let ``seconds`` pass."""
        ...


class SystemClock:
    """The real clock: `time.time`, `time.monotonic`, `time.sleep`."""

    def wall(self) -> float:
        """UTC unix seconds from the system clock."""
        return time.time()

    def monotonic(self) -> float:
        """The system's monotonic clock."""
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        """Really sleep (non-positive durations return at once)."""
        if seconds > 0:
            time.sleep(seconds)


def _unix(value: float | dt.datetime) -> float:
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise ClockError("give the wall time as an aware datetime (UTC or with an offset)")
        return value.timestamp()
    return float(value)


class SimClock:
    """Simulated time: starts at ``start`` (unix seconds or an aware datetime).

    ``real_sleep_scale``: `sleep(s)` also really sleeps ``s * real_sleep_scale`` seconds
    (0 = never; 1 = real time), for wire-time emulation towards another process.
    """

    def __init__(
        self,
        start: float | dt.datetime = DEFAULT_START,
        *,
        monotonic_start: float = 0.0,
        real_sleep_scale: float = 0.0,
    ) -> None:
        """Create a clock at ``start``; monotonic time starts at ``monotonic_start``."""
        if real_sleep_scale < 0:
            raise ClockError("real_sleep_scale must not be negative")
        self._lock = threading.Lock()
        self._wall = _unix(start)
        self._mono = float(monotonic_start)
        self.real_sleep_scale = real_sleep_scale

    def wall(self) -> float:
        """Simulated UTC unix seconds."""
        with self._lock:
            return self._wall

    def monotonic(self) -> float:
        """Simulated monotonic seconds."""
        with self._lock:
            return self._mono

    def now(self) -> dt.datetime:
        """The wall time as an aware UTC datetime (a convenience for tests)."""
        return dt.datetime.fromtimestamp(self.wall(), dt.UTC)

    def advance(self, seconds: float) -> None:
        """Move wall and monotonic time forward by ``seconds`` at once.

        :raises ClockError: ``seconds`` is negative (monotonic time never goes back).
        """
        if seconds < 0:
            raise ClockError(f"cannot advance by a negative duration ({seconds} s)")
        with self._lock:
            self._wall += seconds
            self._mono += seconds

    def sleep(self, seconds: float) -> None:
        """Advance by ``seconds`` (non-positive: nothing), really sleeping when scaled."""
        if seconds <= 0:
            return
        self.advance(seconds)
        if self.real_sleep_scale:
            time.sleep(seconds * self.real_sleep_scale)

    def set_wall(self, value: float | dt.datetime) -> None:
        """Step the wall clock to ``value`` (either direction); monotonic time stays.

        :raises ClockError: ``value`` is a naive datetime.
        """
        unix = _unix(value)
        with self._lock:
            self._wall = unix
