"""`oblako bench register`: receipts/s through the register runtime and the simulated drive,
and the runtime's own CPU time per receipt against the wire time of the same receipt.

Two runs per receipt size (1 item and 20 items, the shared schema's requests):

  pty   the whole runtime (firmware/register.py: validation, journal on a FileStorage in a
        temporary directory with its fsyncs, counters, the driver) sells receipts to the
        simulator served on a real pty with 115200-baud wire emulation, for `seconds`:
        receipts/s and the bytes each receipt puts on the wire (both ways, the endpoint's
        trace), against the wire limit 1 / (bytes × 10 / 115200).
  cpu   the same runtime on an in-process link with no latency (a SimClock: nothing waits),
        the journal on the in-memory flash model: the register thread's CPU time
        (time.thread_time) per receipt, minus the CPU spent inside the link's calls, where
        the simulated drive does its own work. That is the runtime's cost: schema check,
        request digest, journal records, counters, TLV encoding, framing and CRC.

  mp    the same runtime under MicroPython 1.27 (WebAssembly on Node: bench/mp_register.py)
        with the real driver and files for the journal, selling to an instant drive on the
        transport contract: time per receipt (the drive's own time subtracted) and the heap
        one receipt allocates. The WebAssembly port on this machine is not a register board:
        read the figure as a ratio to CPython on the same machine.

Target (issue 4): the runtime's CPU per receipt under 10% of the wire time of that receipt.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass
from typing import Any

from bench.micropython import run_script
from firmware.clock import SystemClock as FirmwareClock
from firmware.drive import FiscalDrive
from firmware.flashmodel import FlashModel
from firmware.journal import Journal
from firmware.register import Register
from firmware.storage import FileStorage
from hil import scenarios
from hil.transport import SerialTransport
from simulator.clock import SimClock, SystemClock
from simulator.fn import DriveConfig, DriveEndpoint, DriveModel, LinkTiming, inproc_pair, serve_pty

UART_BAUD = 115_200
BYTE_TIME = 10 / UART_BAUD  # 8N1, reference §1.1
CPU_TARGET = 0.10
PROFILE = {"tax_systems": ["osn"], "user_name": "ООО Облако-тест"}
SETTINGS = {"cashier": {"name": "Кассир Иванова"}}


@dataclass
class RegisterFigures:
    """One receipt size, measured."""

    items: int
    receipts: int  # sold over the pty
    seconds: float  # the pty run's duration
    bytes_per_receipt: float  # on the wire, both ways
    cpu_receipts: int  # sold in the CPU run
    cpu_per_receipt: float  # the runtime's own CPU seconds per receipt
    drive_cpu_per_receipt: float  # the simulator's CPU inside the link (subtracted)
    mp: dict[str, Any] | None = None  # the MicroPython half for this size (None: no Node)

    @property
    def rate(self) -> float:
        """Receipts per second over the pty."""
        return self.receipts / self.seconds

    @property
    def wire_time(self) -> float:
        """Seconds one receipt takes on the wire at 115200 baud."""
        return self.bytes_per_receipt * BYTE_TIME

    @property
    def wire_limit(self) -> float:
        """Receipts per second the wire alone allows."""
        return 1 / self.wire_time

    @property
    def cpu_share(self) -> float:
        """The runtime's CPU per receipt as a share of the receipt's wire time."""
        return self.cpu_per_receipt / self.wire_time

    def verdict(self) -> str:
        """The CPU target, met or missed."""
        ok = self.cpu_share < CPU_TARGET
        return f"{self.cpu_share:.1%} of wire time (target < {CPU_TARGET:.0%}: {_met(ok)})"

    @property
    def mp_share(self) -> float | None:
        """MicroPython's time per receipt as a share of the receipt's wire time."""
        if self.mp is None:
            return None
        wire = self.mp["wire_bytes_per_receipt"] * BYTE_TIME
        share: float = self.mp["us_per_receipt"] / 1e6 / wire
        return share


def _met(ok: bool) -> str:
    return "met" if ok else "MISSED"


def request(rid: str, items: int) -> dict[str, Any]:
    """A cash sale of `items` items at 49.90, VAT 10 % (valid on any date)."""
    req = scenarios.sale_request(items=items, price=4990)
    req["id"] = rid
    del req["date"]  # the register's clock dates it
    for it in req["items"]:
        it["vat"] = "vat10"
    return req


def _config() -> DriveConfig:
    # SHA-256 signs keep the simulator's CPU small; room for every unsent document.
    return DriveConfig(
        debug_build=True,
        sign_algorithm="sha256",
        ofd_storage_bytes=1 << 30,
        archive_capacity=10_000_000,
    )


def _register(reg: Register) -> None:
    reg.recover()
    reg.trust_time("bench")
    r = reg.handle(
        {
            "id": "bench-registration",
            "kind": "registration",
            "inn": scenarios.INN,
            "rnm": scenarios.RNM,
            "kkt_serial": scenarios.KKT_SERIAL,
            "tax_systems": ["osn"],
            "ofd_inn": scenarios.OFD_INN,
            "user_name": PROFILE["user_name"],
            "address": "г. Москва, ул. Тестовая, д. 1",
            "place": "Облачная касса",
        }
    )
    if r["status"] != "made":
        raise RuntimeError(f"the bench cannot register the simulated drive: {r}")
    reg.ack("bench-registration")
    first = reg.handle(request("bench-warm-up", 1))  # opens the shift
    if first["status"] != "made":
        raise RuntimeError(f"the bench cannot sell: {first}")
    reg.ack("bench-warm-up")


def _sell(reg: Register, rid: str, items: int) -> None:
    r = reg.handle(request(rid, items))
    if r["status"] != "made":
        raise RuntimeError(f"receipt {rid} not made: {r}")
    reg.ack(rid)


def measure_pty(items: int, seconds: float) -> tuple[int, float, float]:
    """(receipts, seconds, bytes per receipt) over a pty with 115200-baud wire time."""
    model = DriveModel(_config(), clock=SystemClock())
    endpoint = DriveEndpoint(model, timing=LinkTiming(baud=UART_BAUD), trace=True)
    with tempfile.TemporaryDirectory() as tmp, serve_pty(endpoint) as server:
        port = SerialTransport(server.path)
        try:
            clock = FirmwareClock()
            driver = FiscalDrive(port, clock, poll_s=0.0001)
            storage = FileStorage(tmp)
            reg = Register(driver, Journal(storage), clock, dict(PROFILE), storage, None, SETTINGS)
            _register(reg)
            assert endpoint.trace is not None
            endpoint.trace.clear()
            n = 0
            t0 = time.perf_counter()
            while n < 3 or time.perf_counter() - t0 < seconds:
                _sell(reg, f"pty-{items}-{n}", items)
                n += 1
            elapsed = time.perf_counter() - t0
            storage.close()
        finally:
            port.close()
    total = sum(len(chunk) for _t, _way, chunk in endpoint.trace)
    return n, elapsed, total / n


class _TimedLink:
    """The in-process port, with the CPU time spent inside it (the simulator's) measured."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.inside = 0.0

    def write(self, buf: bytes | memoryview) -> int:
        t0 = time.thread_time()
        n: int = self.inner.write(buf)
        self.inside += time.thread_time() - t0
        return n

    def readinto(self, buf: bytearray) -> int:
        t0 = time.thread_time()
        n: int = self.inner.readinto(buf)
        self.inside += time.thread_time() - t0
        return n


def measure_cpu(items: int, seconds: float) -> tuple[int, float, float]:
    """(receipts, runtime CPU per receipt, simulator CPU per receipt) on a zero-latency link."""
    clock = SimClock()
    model = DriveModel(_config(), clock=clock)
    port, _endpoint = inproc_pair(model, timeout=0.0)
    link = _TimedLink(port)
    driver = FiscalDrive(link, clock)
    flash = FlashModel()
    reg = Register(driver, Journal(flash), clock, dict(PROFILE), flash, None, SETTINGS)
    _register(reg)
    n = 0
    link.inside = 0.0
    c0 = time.thread_time()
    t0 = time.perf_counter()
    while n < 20 or time.perf_counter() - t0 < seconds:
        _sell(reg, f"cpu-{items}-{n}", items)
        n += 1
        if n % 200 == 0:
            clock.advance(60)  # a minute passes now and then, as on a register
    cpu = time.thread_time() - c0
    return n, (cpu - link.inside) / n, link.inside / n


def measure_one(items: int, seconds: float) -> RegisterFigures:
    """Both runs for one receipt size."""
    receipts, elapsed, size = measure_pty(items, seconds)
    cpu_n, cpu, drive_cpu = measure_cpu(items, seconds)
    return RegisterFigures(items, receipts, elapsed, size, cpu_n, cpu, drive_cpu)


def run_micropython() -> list[dict[str, Any]] | None:
    """The MicroPython half (bench/mp_register.py) under Node; None if Node is missing."""
    result: list[dict[str, Any]] | None = run_script("mp_register.py")
    return result


def measure(seconds: float = 3.0, micropython: bool = True) -> list[RegisterFigures]:
    """A 1-item and a 20-item receipt (and the MicroPython half when Node is there)."""
    figures = [measure_one(items, seconds) for items in (1, 20)]
    mp = run_micropython() if micropython else None
    for f in figures:
        for row in mp or []:
            if row["items"] == f.items:
                f.mp = row
    return figures


def report(figures: list[RegisterFigures]) -> list[tuple[str, str, str, str, str]]:
    """Rows (receipt, rate over the pty, wire time, runtime CPU, verdict) for printing:
    one per receipt size on CPython, one more per size under MicroPython."""
    rows = [
        (
            f"CPython: {f.items} items, {f.bytes_per_receipt:,.0f} B",
            f"{f.rate:,.1f} receipts/s ({f.rate / f.wire_limit:.2f} of the wire limit)",
            f"{f.wire_time * 1000:,.1f} ms",
            f"{f.cpu_per_receipt * 1000:,.2f} ms (drive sim {f.drive_cpu_per_receipt * 1000:,.2f})",
            f.verdict(),
        )
        for f in figures
    ]
    for f in figures:
        mp = f.mp
        share = f.mp_share
        if mp is None or share is None:
            rows.append((f"MicroPython: {f.items} items", "skipped: node not found", "", "", ""))
            continue
        wire = mp["wire_bytes_per_receipt"] * BYTE_TIME
        rows.append(
            (
                f"MicroPython 1.27 (wasm): {f.items} items, {mp['wire_bytes_per_receipt']:,.0f} B",
                f"heap {mp['heap_bytes_per_receipt']:,} B allocated per receipt",
                f"{wire * 1000:,.1f} ms",
                f"{mp['us_per_receipt'] / 1000:,.2f} ms",
                f"{share:.1%} of wire time (target < {CPU_TARGET:.0%}: {_met(share < CPU_TARGET)})",
            )
        )
    return rows
