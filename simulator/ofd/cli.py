"""The command-line face of the OFD simulator: ``oblako sim ofd --port N`` calls
`run_ofd_server`, which blocks until interrupted (Ctrl-C)."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable

from protocol.fiscalsign import Algorithm
from simulator.clock import SystemClock
from simulator.ofd.merchant import StationaryRegister
from simulator.ofd.server import OfdServer
from simulator.ofd.service import OfdConfig

__all__ = ["run_ofd_server"]


def run_ofd_server(
    port: int = 7777,
    host: str = "127.0.0.1",
    *,
    sign_algorithm: Algorithm = "streebog256",
    delay_s: float = 0.0,
    drop_rate: float = 0.0,
    silent_rate: float = 0.0,
    seed: int = 0,
    strict: bool = False,
    stationary: int = 0,
    echo: Callable[[str], object] = print,
) -> None:
    """Serve the simulated OFD on ``host``:``port`` (7777, the most common OFD port, §4.6;
    0 = a free one) with the real clock until Ctrl-C.

    ``sign_algorithm`` must match the drives' (DriveConfig.sign_algorithm); ``delay_s``,
    ``drop_rate``, ``silent_rate`` and ``seed`` set the slow and flaky modes; ``strict``
    makes ФЛК warnings reject; ``stationary`` preloads that many merchant stationary
    registers with one working day each (the gateway shows them).
    """
    server = OfdServer(
        OfdConfig(sign_algorithm=sign_algorithm, strict=strict),
        clock=SystemClock(),
        host=host,
        port=port,
    )
    server.set_slow(delay_s)
    server.set_flaky(drop_rate=drop_rate, silent_rate=silent_rate, seed=seed)
    today = dt.datetime.now(dt.UTC).replace(tzinfo=None) + dt.timedelta(hours=3)
    for i in range(stationary):
        shop = StationaryRegister(f"99990789000770{i + 1:02d}", algorithm=sign_algorithm)
        for container in shop.day(today.replace(hour=9, minute=0) - dt.timedelta(days=1)):
            server.service.inject(container)

    def ready(bound: int) -> None:
        echo(f"OFD simulator listening on {host}:{bound} (Ctrl-C stops)")

    try:
        asyncio.run(server.serve_forever(ready))
    except KeyboardInterrupt:
        echo("OFD simulator stopped")
