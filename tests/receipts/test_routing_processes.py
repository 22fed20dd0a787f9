"""Routing from several processes (several `oblako fleet serve --workers N` processes, or
receipts workers, on one PostgreSQL database): each part is routed exactly once.

Two processes start together on 150 accepted parts and route them in passes of 5 (so they
interleave); the parts each process says it routed add up to 150, each part has one command,
and both processes took a share (the race really ran).
"""

from __future__ import annotations

import multiprocessing as mp
from multiprocessing.synchronize import Event

import pytest
from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from fleet.core.clock import SettableClock
from fleet.core.db import make_engine
from fleet.link.command_models import SentCommand
from fleet.receipts.models import ReceiptPart
from fleet.receipts.routing import route
from fleet.receipts.service import create_receipt
from tests.receipts.builders import add_register, sale
from tests.receipts.test_routing import company

PARTS = 150


def _router(url: str, wall: float, ready: Event, go: Event, out: mp.Queue[int | str]) -> None:
    """One process's router: passes of 5 parts until a pass finds nothing to route."""
    engine = make_engine(url)
    clock = SettableClock(wall)
    routed = 0
    try:
        ready.set()
        go.wait(30)
        while True:
            n = route(engine, clock, limit=5, max_inflight=64).routed
            if not n:
                break
            routed += n
        out.put(routed)
    except BaseException as e:  # reported by the test
        out.put(repr(e))
    finally:
        engine.dispose()


def test_two_processes_never_route_one_part_twice(engine: Engine, clock: SettableClock) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL only: processes share a server (SQLite is one process's)")
    with Session(engine, expire_on_commit=False) as s:
        a = company(s, clock, 1)
        for i in range(3):
            add_register(s, clock, a, f"PROC{i:04d}")
        for i in range(PARTS):
            create_receipt(s, a, sale(f"proc-{i}", 100 + i), clock=clock)
    url = engine.url.render_as_string(hide_password=False)
    ctx = mp.get_context("spawn")
    out: mp.Queue[int | str] = ctx.Queue()
    go = ctx.Event()
    readies = [ctx.Event() for _ in range(2)]
    procs = [ctx.Process(target=_router, args=(url, clock.wall(), r, go, out)) for r in readies]
    for p in procs:
        p.start()
    for r in readies:
        assert r.wait(60), "a router process did not start"
    go.set()
    results = [out.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(30)
    assert all(isinstance(r, int) for r in results), results
    counts = [int(r) for r in results]
    assert sum(counts) == PARTS, counts  # a part routed twice would count twice
    assert min(counts) > 0, counts  # both processes routed: they raced
    with engine.connect() as c:
        commands = c.execute(
            sa_select(SentCommand.request_id, func.count()).group_by(SentCommand.request_id)  # type: ignore[call-overload]
        ).all()
        queued = c.execute(
            sa_select(func.count()).where(ReceiptPart.status == "queued")  # type: ignore[arg-type]
        ).scalar_one()
    assert len(commands) == PARTS and all(n == 1 for _rid, n in commands)
    assert queued == PARTS
