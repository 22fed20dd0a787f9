"""Errors of the drive simulator itself (not drive answers: those are answer codes).

One root, `SimulatorError`; a caller catching it catches every failure the simulator
raises on purpose. A refused command is never an exception: it is an answer frame with
a non-zero code, as on a real drive.
"""

from __future__ import annotations


class SimulatorError(Exception):
    """Root of the drive simulator's own errors."""


class ConfigError(SimulatorError, ValueError):
    """A drive, link or fault setting is invalid (bad FN number, negative capacity...)."""


class StateFileError(SimulatorError):
    """The state file cannot be read, is corrupt, or belongs to another drive."""


class PoweredOffError(SimulatorError):
    """The drive was asked to work while its power is off (call `power_on` first)."""


class LinkError(SimulatorError):
    """A link (pty, TCP, in-process port) failed or was used after it was closed."""


class CommandRefusedError(SimulatorError):
    """Internal signal: the drive refuses the command with answer ``code``.

    Raised by command handlers and turned into an answer frame by the model; it never
    escapes `DriveModel`. ``reason`` is the extra byte of answer 20h (OFD receipt
    rejected, §1.4).
    """

    def __init__(self, code: int, reason: int | None = None, detail: str = "") -> None:
        """Refuse with answer ``code`` (and the 20h ``reason`` byte)."""
        self.code = code
        self.reason = reason
        self.detail = detail
        super().__init__(f"answer {code:02X}h" + (f": {detail}" if detail else ""))
