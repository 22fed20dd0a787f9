"""The drive contract over the simulator: in-process and on a pty, as `make test` runs it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from firmware.drive import FiscalDrive
from hil.bench import SIMULATOR, Bench
from hil.plugin import apply_markers, register_markers
from hil.transport import SerialTransport, Transport
from oblako.hilsim import SimControl
from simulator.clock import SimClock
from simulator.fn import DriveConfig, DriveEndpoint, DriveModel, inproc_pair, serve_pty


def pytest_configure(config: pytest.Config) -> None:
    register_markers(config)


@pytest.fixture(params=["inproc", "pty"], name="bench")
def fixture_bench(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Bench]:
    clock = SimClock()
    config = DriveConfig(debug_build=True, sign_algorithm="sha256")
    drive = DriveModel(config, clock=clock, state_file=tmp_path / "fn.json")
    endpoint = DriveEndpoint(drive)
    close = None
    link: Transport
    if request.param == "inproc":
        link, _ = inproc_pair(endpoint, timeout=0.01)
    else:
        server = serve_pty(endpoint)
        port = SerialTransport(server.path, read_timeout_s=0.002)
        link = port

        def close() -> None:
            port.close()
            server.close()

    bench = Bench(
        drive=FiscalDrive(link, clock),
        transport=link,
        kind=SIMULATOR,
        control=SimControl(endpoint, clock),
        allow_fiscal=True,
        can_power_cycle=True,
    )
    apply_markers(request.node, bench)
    yield bench
    if close is not None:
        close()
