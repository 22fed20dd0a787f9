"""The injected clock (DESIGN.md decision 6) on the fleet side.

Same contract as the simulator's SimClock (the fleet must not import the simulator)::

    wall() -> float        UTC unix seconds
    monotonic() -> float   seconds, never goes back
    sleep(seconds) -> None

Every time rule in fleet/ (7-day booking lapse, sessions, throttling, job schedules) reads one.
"""

from __future__ import annotations

import threading
import time
from typing import Protocol

__all__ = ["Clock", "SettableClock", "SystemClock"]


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
        """Sleep for real."""
        time.sleep(seconds)


class SettableClock:
    """A test clock: time moves only when told; `sleep` advances it instantly. Thread-safe."""

    def __init__(self, start: float = 1_705_303_800.0) -> None:
        """Start at ``start`` UTC seconds (default 2024-01-15 07:30 UTC)."""
        self._lock = threading.Lock()
        self._wall = start
        self._mono = 0.0

    def wall(self) -> float:
        """Current simulated UTC seconds."""
        with self._lock:
            return self._wall

    def monotonic(self) -> float:
        """Simulated monotonic seconds."""
        with self._lock:
            return self._mono

    def sleep(self, seconds: float) -> None:
        """Advance instantly."""
        self.advance(seconds)

    def advance(self, seconds: float) -> None:
        """Move wall and monotonic time forward by ``seconds`` (never backwards)."""
        if seconds < 0:
            raise ValueError("time cannot go backwards")
        with self._lock:
            self._wall += seconds
            self._mono += seconds
