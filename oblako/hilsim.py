"""`oblako hil run --port sim`: the bench suite against the simulator on a real pty.

The simulated drive and the driver share one simulated clock, so the suite's sim-only
tests (24 h shifts, 30-day blocks, clock jumps) run too; the trace records the pty.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from firmware.drive import FiscalDrive
from hil.bench import SIMULATOR, Bench
from hil.plugin import apply_markers, register_markers
from hil.transport import SerialTransport, TraceWriter, TracingTransport, Transport
from simulator.clock import SimClock
from simulator.fn import DriveConfig, DriveEndpoint, DriveModel, serve_pty


@dataclass
class SimControl:
    """Power and clock of the simulated bench."""

    endpoint: DriveEndpoint
    clock: SimClock

    def power_cycle(self) -> None:
        self.endpoint.power_off()
        self.endpoint.power_on()

    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)

    def step_wall(self, seconds: float) -> None:
        self.clock.set_wall(self.clock.wall() + seconds)


class SimBenchPlugin:
    """Provides `bench` from a simulator served on a pty, one fresh drive per test."""

    def __init__(self, state_dir: Path, trace: Path | None) -> None:
        self.state_dir = state_dir
        self.trace = TraceWriter(trace.open("w", encoding="utf-8")) if trace else None

    def pytest_configure(self, config: pytest.Config) -> None:
        register_markers(config)

    @pytest.fixture(name="bench")
    def fixture_bench(self, request: pytest.FixtureRequest) -> Iterator[Bench]:
        clock = SimClock()
        state = self.state_dir / f"fn-{abs(hash(request.node.nodeid))}.json"
        state.unlink(missing_ok=True)
        config = DriveConfig(debug_build=True, sign_algorithm="sha256")
        endpoint = DriveEndpoint(DriveModel(config, clock=clock, state_file=state))
        with serve_pty(endpoint) as server:
            port = SerialTransport(server.path, read_timeout_s=0.002)
            link: Transport = TracingTransport(port, self.trace) if self.trace else port
            bench = Bench(
                drive=FiscalDrive(link, clock),
                transport=link,
                kind=SIMULATOR,
                control=SimControl(endpoint, clock),
                allow_fiscal=True,
                can_power_cycle=True,
                trace=self.trace,
            )
            bench.note(request.node.nodeid)
            apply_markers(request.node, bench)
            yield bench
            port.close()
