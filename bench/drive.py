"""`oblako bench drive`: receipts per second through the driver and the simulated drive.

The driver (firmware/drive.py, on CPython) talks to the simulator over a real pty, as it
would to a drive on a UART. Four setups, for a 1-item and a 20-item receipt:

  none        no emulation: how fast the software pair is by itself;
  wire        115200-baud wire time (10 bits a byte) on both directions;
  processing  the drive's per-command processing time (simulator/fn/timing.py);
  both        wire and processing time.

Each rate is reported against limits computed from the bytes and commands of the same run:
the wire limit = 1 / (bytes per receipt × 10 / 115200), and the model's prediction =
1 / (wire time + Σ processing time of the receipt's commands). Targets (issue 3): with wire
time on and processing off, at least 90% of the wire limit; with both, within 10% of the
prediction.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from firmware.clock import SystemClock as FirmwareClock
from firmware.drive import FiscalDrive
from firmware.framing import Framer
from hil import scenarios
from hil.transport import SerialTransport
from simulator.clock import SystemClock
from simulator.fn import (
    DEFAULT_LATENCIES,
    DriveConfig,
    DriveEndpoint,
    DriveModel,
    LinkTiming,
    serve_pty,
)

UART_BAUD = 115_200
BYTE_TIME = 10 / UART_BAUD  # 8N1, reference §1.1
SETUPS = ("none", "wire", "processing", "both")
WIRE_TARGET = 0.90
MODEL_TOLERANCE = 0.10


@dataclass
class DriveFigures:
    """One setup and receipt size, measured."""

    setup: str
    items: int
    receipts: int
    seconds: float
    bytes_per_receipt: float
    processing_per_receipt: float  # seconds the latency model adds per receipt

    @property
    def rate(self) -> float:
        """Receipts per second."""
        return self.receipts / self.seconds

    @property
    def wire_limit(self) -> float:
        """Receipts per second the wire alone allows."""
        return 1 / (self.bytes_per_receipt * BYTE_TIME)

    @property
    def predicted(self) -> float:
        """Receipts per second the wire plus processing model predicts."""
        return 1 / (self.bytes_per_receipt * BYTE_TIME + self.processing_per_receipt)

    def verdict(self) -> str:
        """The target that applies to this setup, met or missed."""
        if self.setup == "wire":
            ratio = self.rate / self.wire_limit
            ok = ratio >= WIRE_TARGET
            return f"{ratio:.2f} of wire limit (target ≥ {WIRE_TARGET:.2f}: {_met(ok)})"
        if self.setup == "both":
            ratio = self.rate / self.predicted
            ok = abs(1 - ratio) <= MODEL_TOLERANCE
            return f"{ratio:.2f} of the model (target 1 ± {MODEL_TOLERANCE:.2f}: {_met(ok)})"
        if self.setup == "processing":
            return f"{self.rate * self.processing_per_receipt:.2f} of the model (no wire)"
        return f"{self.rate / self.wire_limit:.1f}× the wire limit"


def _met(ok: bool) -> str:
    return "met" if ok else "MISSED"


def _timing(setup: str) -> LinkTiming:
    wire = setup in ("wire", "both")
    processing = setup in ("processing", "both")
    return LinkTiming(
        baud=UART_BAUD if wire else None,
        latencies=DEFAULT_LATENCIES if processing else None,
    )


def measure_one(setup: str, items: int, seconds: float) -> DriveFigures:
    """Sell receipts for about `seconds` (at least 3) and measure what went over the line."""
    timing = _timing(setup)
    # SHA-256 signs: the simulator's own CPU time stays small against the modelled drive.
    # No OFD in this bench: room for every unsent document of a long run.
    config = DriveConfig(
        debug_build=True,
        sign_algorithm="sha256",
        ofd_storage_bytes=1 << 30,
        archive_capacity=10_000_000,
    )
    model = DriveModel(config, clock=SystemClock())
    endpoint = DriveEndpoint(model, timing=timing, trace=True)
    with serve_pty(endpoint) as server:
        port = SerialTransport(server.path)  # non-blocking, as a UART driver
        driver = FiscalDrive(port, FirmwareClock(), poll_s=0.0001)
        scenarios.register(driver)
        scenarios.open_shift(driver)
        request = scenarios.sale_request(items=items, price=4990)
        assert endpoint.trace is not None
        endpoint.trace.clear()
        n = 0
        t0 = time.perf_counter()
        while n < 3 or time.perf_counter() - t0 < seconds:
            scenarios.sell(driver, request)
            n += 1
        elapsed = time.perf_counter() - t0
        port.close()
    total = sum(len(chunk) for _t, _way, chunk in endpoint.trace)
    framer = Framer()
    latency = 0.0
    for _t, way, chunk in endpoint.trace:
        if way == "rx":
            for code, _data in framer.feed(chunk):
                latency += DEFAULT_LATENCIES.get(code, 0.010)
    return DriveFigures(setup, items, n, elapsed, total / n, latency / n)


def measure(seconds: float = 3.0) -> list[DriveFigures]:
    """Every setup for a 1-item and a 20-item receipt."""
    return [measure_one(s, items, seconds) for items in (1, 20) for s in SETUPS]


def report(figures: list[DriveFigures]) -> list[tuple[str, str, str, str]]:
    """Rows (setup, receipt, rate, verdict) for printing."""
    return [
        (
            f.setup,
            f"{f.items} items, {f.bytes_per_receipt:,.0f} B",
            f"{f.rate:,.1f} receipts/s",
            f.verdict(),
        )
        for f in figures
    ]
