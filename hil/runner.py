"""`oblako hil run`: the contract suite against a drive, with a JUnit report and a trace."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from hil.transport import SerialTransport

SUITE = Path(__file__).resolve().parent / "contract" / "suite.py"


@dataclass
class RunOptions:
    """What to run against and where to write the results."""

    port: str
    junit: Path | None = None
    trace: Path | None = None
    allow_fiscal: bool = False
    power_cycle: str | None = None
    select: str | None = None  # a pytest -k expression


def pytest_args(opts: RunOptions, *, real_port: bool = True) -> list[str]:
    """The pytest command line for one bench run (progress: one line per test, -v)."""
    args = [str(SUITE), "-v", "-rs", "-p", "no:cacheprovider", "-o", "addopts="]
    if real_port:
        args += ["-p", "hil.plugin", "--hil-port", opts.port]
        if opts.allow_fiscal:
            args.append("--hil-allow-fiscal")
        if opts.power_cycle:
            args += ["--hil-power-cycle", opts.power_cycle]
        if opts.trace:
            args += ["--hil-trace", str(opts.trace)]
    if opts.junit:
        args += ["--junitxml", str(opts.junit)]
    if opts.select:
        args += ["-k", opts.select]
    return args


def check_port(url: str) -> None:
    """Open and close the port once, so a wrong URL fails with one clear message.

    :raises HilLinkError: the port cannot be opened.
    """
    SerialTransport(url).close()


def run(opts: RunOptions, plugins: list[object] | None = None) -> int:
    """Run the suite; `plugins` replaces the real-port plugin (the in-process simulator).

    :raises HilLinkError: the real port cannot be opened.
    """
    if plugins is None:
        check_port(opts.port)
    code = pytest.main(pytest_args(opts, real_port=plugins is None), plugins=plugins or [])
    return int(code)
