"""What a contract test gets: the drive's driver, the raw link, and the bench's controls.

A bench is either the simulator (behind any link) or a real drive on a serial port. The
controls a test may need (move the clock, cut the power) exist only where the bench can
provide them; tests declare what they need with markers and are skipped otherwise:

- ``safe``: read-only or refused commands, fine on any drive, including a production one.
- ``debug_drive``: fiscalises, resets with 60h between tests; needs a debug-build drive
  and ``--allow-fiscal`` on real hardware (the simulator is a debug build).
- ``sim_only``: needs a movable clock (24-hour shifts, 30-day blocks, drift).
- ``power``: needs a power-cycle hook (a command the bench configures per slot).
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from typing import Protocol

from firmware.drive import FiscalDrive
from firmware.framing import Framer, encode
from hil.transport import TraceWriter, Transport

SIMULATOR = "simulator"
REAL = "real"


class BenchError(Exception):
    """The bench cannot do what a test asked (no such control, link silent)."""


class BenchControl(Protocol):
    """Controls of the bench around the drive."""

    def power_cycle(self) -> None:
        """Cut the drive's power and restore it (a document being formed is lost)."""

    def advance(self, seconds: float) -> None:
        """Move the wall clock and the drive's timer forward (simulator only)."""

    def step_wall(self, seconds: float) -> None:
        """Step only the register's wall clock by `seconds` (an NTP step; simulator only)."""


@dataclass
class PowerHook:
    """A real bench's power control: a shell command per slot (e.g. a relay board's CLI)."""

    command: str | None = None

    def power_cycle(self) -> None:
        if not self.command:
            raise BenchError("no power-cycle command configured for this slot")
        done = subprocess.run(self.command, shell=True, check=False, timeout=60)
        if done.returncode:
            raise BenchError(f"power-cycle command failed with code {done.returncode}")

    def advance(self, seconds: float) -> None:
        raise BenchError("a real drive's clock cannot be moved")

    def step_wall(self, seconds: float) -> None:
        raise BenchError("a real drive's clock cannot be moved")


@dataclass
class Bench:
    """One drive under test."""

    drive: FiscalDrive
    transport: Transport
    kind: str  # SIMULATOR or REAL
    control: BenchControl
    allow_fiscal: bool = False
    can_power_cycle: bool = False
    trace: TraceWriter | None = None
    _framer: Framer = field(default_factory=Framer)

    def raw(self, code: int, data: bytes = b"", *, polls: int = 2000) -> tuple[int, bytes]:
        """Send one frame as given (no driver logic) and return the answer (code, data)."""
        self.transport.write(encode(code, data))
        return self.read_answer(polls)

    def send_raw(self, raw: bytes) -> None:
        """Write bytes to the line as they are (ENQ, garbage, broken frames)."""
        self.transport.write(raw)

    def read_answer(self, polls: int = 2000) -> tuple[int, bytes]:
        """Wait for the next whole answer frame."""
        buf = bytearray(256)
        for _ in range(polls):
            n = self.transport.readinto(buf)
            if n:
                frames = self._framer.feed(bytes(buf[:n]))
                if frames:
                    code, data = frames[0]
                    return code, bytes(data)
            else:
                self.drive.clock.sleep(0.002)
        raise BenchError("no answer from the drive")

    def note(self, text: str) -> None:
        """Mark the trace (test boundaries, power cuts)."""
        if self.trace is not None:
            self.trace.note(text)
