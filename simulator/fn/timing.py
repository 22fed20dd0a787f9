"""Optional time a real line and a real drive would take: wire time and processing time.

Off by default (answers are ready the moment the request is complete). `LinkTiming.real()`
turns on both with the defaults below. All times are read from and waited on the
drive's clock, so with a SimClock they cost no real time.

Wire time (reference §1.1 [V]): 115200 bit/s, 8N1 = 10 bits per byte, ~87 µs a byte.

Processing time per command: the protocol gives none (§1.10 "nothing normative found").
What is known [V §1.10]: S6 reads 30h, 3Ah, 33h, 32h, 3Dh, 3Bh from real drives with a
300 ms time-out and allows 30 s for 60h. Everything else below is an assumption [rec],
chosen so a register with the reference's recommended time-outs (1 s status, 5–10 s for
«Сформировать …», 30 s for 60h) never times out against the simulator:

    status and information (10h, 20h, 30h–3Dh, 42h)     0.010 s  [rec, < S6's 300 ms]
    begin, data, cancel, transport, OFD reading          0.020 s  [rec]
    archive reads (40h–47h)                              0.030 s  [rec]
    «Сформировать …» (03h 05h 12h 14h 16h 19h A3h)       0.250 s  [rec: signing in the КС]
    26h OFD receipt (checks the ФПО)                     0.150 s  [rec]
    marking checks and requests (B1h, B5h, B6h)          0.100 s  [rec]
    60h reset (debug drives)                             1.000 s  [rec, < S6's 30 s]
    anything else                                        0.010 s  [rec]
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from simulator.fn.errors import ConfigError

__all__ = ["DEFAULT_LATENCIES", "DEFAULT_LATENCY", "UART_BAUD", "LinkTiming"]

UART_BAUD: Final = 115_200  # §1.1 [V]
BITS_PER_BYTE: Final = 10  # 8N1: start + 8 data + stop
DEFAULT_LATENCY: Final = 0.010


def _table() -> dict[int, float]:
    table: dict[int, float] = {}
    for code in (0x10, 0x20, 0x30, 0x31, 0x32, 0x33, 0x35, 0x3A, 0x3B, 0x3D, 0x42):
        table[code] = 0.010
    begin_and_data = (0x02, 0x04, 0x06, 0x07, 0x11, 0x13, 0x15, 0x17, 0x18, 0xA2)
    for code in (*begin_and_data, 0x21, 0x22, 0x23, 0x24, 0x25, 0xB7):
        table[code] = 0.020
    for code in (0x40, 0x41, 0x43, 0x44, 0x45, 0x46, 0x47):
        table[code] = 0.030
    for code in (0x03, 0x05, 0x12, 0x14, 0x16, 0x19, 0xA3):
        table[code] = 0.250
    table[0x26] = 0.150
    for code in (0xB1, 0xB5, 0xB6):
        table[code] = 0.100
    table[0x60] = 1.0
    return table


#: Assumed processing time of each command, seconds (see the module docstring).
DEFAULT_LATENCIES: Final[Mapping[int, float]] = MappingProxyType(_table())


@dataclass(frozen=True)
class LinkTiming:
    """Wire and processing time of one link.

    ``baud``: None = instantaneous wire; otherwise each byte takes 10 bits / baud.
    ``latencies``: processing seconds per command code (None = instantaneous);
    ``default_latency`` applies to codes not in the table (and to ENQ and bad frames).
    """

    baud: int | None = None
    latencies: Mapping[int, float] | None = None
    default_latency: float = DEFAULT_LATENCY
    scale: float = 1.0  # multiply every processing time (0.1 = a ten times faster drive)

    def __post_init__(self) -> None:
        """Reject negative or zero rates."""
        if self.baud is not None and self.baud <= 0:
            raise ConfigError(f"baud must be positive, got {self.baud}")
        if self.scale < 0 or self.default_latency < 0:
            raise ConfigError("latencies must not be negative")
        if self.latencies and any(v < 0 for v in self.latencies.values()):
            raise ConfigError("latencies must not be negative")

    @classmethod
    def real(cls, *, scale: float = 1.0) -> LinkTiming:
        """115200-baud wire time and the default processing times."""
        return cls(baud=UART_BAUD, latencies=DEFAULT_LATENCIES, scale=scale)

    @property
    def byte_time(self) -> float:
        """Seconds one byte takes on the wire (0 without wire emulation)."""
        return BITS_PER_BYTE / self.baud if self.baud else 0.0

    def latency(self, code: int | None) -> float:
        """Processing seconds of command ``code`` (None: ENQ or a bad frame)."""
        if self.latencies is None:
            return 0.0
        if code is None:
            return self.default_latency * self.scale
        return self.latencies.get(code, self.default_latency) * self.scale
