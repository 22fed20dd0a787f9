"""pytest plugin of the bench: `bench` over a real port, and the markers' skip rules.

Loaded by `oblako hil run` (hil/runner.py). The simulator suites in `make test` provide
their own `bench` fixture (tests/contract/conftest.py) and share `apply_markers`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from firmware.clock import SystemClock
from firmware.drive import FiscalDrive
from hil.bench import REAL, SIMULATOR, Bench, PowerHook
from hil.transport import SerialTransport, TraceWriter, TracingTransport, Transport

MARKERS = {
    "safe": "read-only or refused commands: fine on any drive",
    "debug_drive": "fiscalises and resets (60h): a debug-build drive, --allow-fiscal when real",
    "sim_only": "needs a movable clock: the simulator only",
    "power": "needs a power-cycle hook",
}


@dataclass
class BenchOptions:
    """What the runner was told."""

    port: str | None = None
    allow_fiscal: bool = False
    power_cycle: str | None = None
    trace: Path | None = None


def register_markers(config: pytest.Config) -> None:
    """Declare the bench markers (strict markers stay happy)."""
    for name, text in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {text}")


def apply_markers(item: pytest.Item, bench: Bench) -> None:
    """Skip a test the bench cannot run safely, saying why."""
    if item.get_closest_marker("sim_only") and bench.kind != SIMULATOR:
        pytest.skip("needs a movable clock: simulator only")
    if item.get_closest_marker("power") and not bench.can_power_cycle:
        pytest.skip("no power-cycle hook configured for this slot (--power-cycle)")
    if item.get_closest_marker("debug_drive") and bench.kind == REAL:
        if not bench.allow_fiscal:
            pytest.skip("fiscalises the drive: refused on a real drive without --allow-fiscal")
        if bench.drive.version()["software_type"] != 0:
            pytest.skip("fiscalises and resets the drive: refused on a serial (non-debug) build")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("hil", "Oblako drive bench")
    group.addoption("--hil-port", help="pyserial URL of the drive (/dev/ttyUSB0, socket://…)")
    group.addoption("--hil-allow-fiscal", action="store_true", help="allow fiscalisation")
    group.addoption("--hil-power-cycle", help="shell command that power-cycles the drive")
    group.addoption("--hil-trace", help="write a raw byte trace (JSON lines) here")


def pytest_configure(config: pytest.Config) -> None:
    register_markers(config)


@pytest.fixture(scope="session", name="hil_link")
def fixture_hil_link(
    request: pytest.FixtureRequest,
) -> Iterator[tuple[Transport, TraceWriter | None]]:
    port = request.config.getoption("--hil-port")
    if not port:
        pytest.skip("no --hil-port given")
    serial_port = SerialTransport(port)
    trace_path = request.config.getoption("--hil-trace")
    if not trace_path:
        yield serial_port, None
        serial_port.close()
        return
    with Path(trace_path).open("w", encoding="utf-8") as out:
        trace = TraceWriter(out)
        yield TracingTransport(serial_port, trace), trace
    serial_port.close()


@pytest.fixture(name="bench")
def fixture_bench(
    request: pytest.FixtureRequest, hil_link: tuple[Transport, TraceWriter | None]
) -> Bench:
    link, trace = hil_link
    hook = request.config.getoption("--hil-power-cycle")
    bench = Bench(
        drive=FiscalDrive(link, SystemClock()),
        transport=link,
        kind=REAL,
        control=PowerHook(hook),
        allow_fiscal=bool(request.config.getoption("--hil-allow-fiscal")),
        can_power_cycle=bool(hook),
        trace=trace,
    )
    bench.note(request.node.nodeid)
    apply_markers(request.node, bench)
    return bench
