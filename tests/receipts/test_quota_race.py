"""The tariff's monthly quota under concurrent routers: the count is claimed atomically
(fleet/receipts/quota.py claim_usage, claim_usages), so it never passes the quota."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session, select

from fleet.billing.models import Tariff
from fleet.core.clock import SettableClock
from fleet.core.db import make_engine
from fleet.receipts import routing
from fleet.receipts.models import ReceiptPart, ReceiptStatus, RoutingUsage
from fleet.receipts.quota import claim_usage, claim_usages
from fleet.receipts.service import create_receipt
from tests.receipts.builders import add_register, sale
from tests.receipts.test_routing import company
from tests.receipts.test_routing_rules import put_in


def _usage(engine: Engine) -> dict[tuple[int, str], int]:
    with Session(engine) as s:
        return {(u.register_id, u.period): u.routed for u in s.exec(select(RoutingUsage)).all()}


def test_a_claim_takes_all_what_is_left_or_nothing(engine: Engine, clock: SettableClock) -> None:
    with Session(engine, expire_on_commit=False) as s:
        reg = add_register(s, clock, company(s, clock, 1), "CLAIM001")
    rid = reg.id
    assert rid is not None
    with engine.begin() as conn:
        assert claim_usage(conn, rid, "2024-01", 3, 5) == 3  # a new row
        assert claim_usage(conn, rid, "2024-01", 0, 5) == 0
        assert claim_usage(conn, rid, "2024-01", 4, 5) == 2  # only what is left
        assert claim_usage(conn, rid, "2024-01", 1, 5) == 0
        assert claim_usage(conn, rid, "2024-02", 9, 5) == 5  # a new row never starts above
    assert _usage(engine) == {(rid, "2024-01"): 5, (rid, "2024-02"): 5}


def test_claims_of_several_registers_grant_what_one_claim_each_would(
    engine: Engine, clock: SettableClock
) -> None:
    with Session(engine, expire_on_commit=False) as s:
        a = company(s, clock, 1)
        ids = [add_register(s, clock, a, f"CLAIMS0{i}").id for i in range(3)]
    r1, r2, r3 = (int(i) for i in ids if i is not None)
    with engine.begin() as conn:
        assert claim_usages(conn, "2024-01", {r1: (3, 5), r2: (9, 5), r3: (0, 5)}) == {
            r1: 3,  # a new row
            r2: 5,  # a new row never starts above the quota
            r3: 0,  # nothing asked: no row
        }
        assert claim_usages(conn, "2024-01", {r1: (4, 5), r2: (1, 5)}) == {r1: 2, r2: 0}
        assert claim_usages(conn, "2024-01", {r1: (1, 5), r3: (2, 1)}) == {r1: 0, r3: 1}
        assert claim_usages(conn, "2024-01", {}) == {}
    assert _usage(engine) == {(r1, "2024-01"): 5, (r2, "2024-01"): 5, (r3, "2024-01"): 1}


@pytest.mark.parametrize("rounds", [1, 2])
def test_two_routers_that_read_the_same_count_never_overshoot_the_quota(
    engine: Engine, clock: SettableClock, monkeypatch: pytest.MonkeyPatch, rounds: int
) -> None:
    # The defect: each router read "used" before either wrote, so both filled the quota.
    # A barrier after the candidates' read makes that interleaving certain; only PostgreSQL
    # lets two routers run a pass at once (SQLite's writer lock serialises whole passes).
    if engine.dialect.name != "postgresql":
        pytest.skip("concurrent routers need PostgreSQL (DATABASE_URL)")
    with Session(engine, expire_on_commit=False) as s:
        s.add(
            Tariff(
                code="mini", name="Мини", price_kop=100, receipts_quota=5,
                created_at=clock.wall(), updated_at=clock.wall(),
            )
        )  # fmt: skip
        a = company(s, clock, 1)
        mini = add_register(s, clock, a, "MINI0001")
        put_in(s, mini, tariff_code="mini")
        if rounds == 2:  # the count's row exists already: the conflict path of the upsert
            create_receipt(s, a, sale("first", 99), clock=clock)
    if rounds == 2:
        assert routing.route(engine, clock).routed == 1
    with Session(engine, expire_on_commit=False) as s:
        for i in range(8):
            create_receipt(s, a, sale(f"race-{i}", 100 + i), clock=clock)
    left = 5 - (rounds - 1)
    barrier = threading.Barrier(2, timeout=30)
    read = routing.candidates

    def candidates_then_wait(conn: Connection, ids: set[int], now: float) -> Any:
        out = read(conn, ids, now)
        barrier.wait()  # both routers hold the same stale count now
        return out

    monkeypatch.setattr(routing, "candidates", candidates_then_wait)
    url = engine.url.render_as_string(hide_password=False)
    routed: list[int] = []
    errors: list[BaseException] = []

    def work() -> None:
        own = make_engine(url)
        try:  # four parts each: SKIP LOCKED gives each router its own
            routed.append(routing.route(own, clock, limit=4, max_inflight=64).routed)
        except BaseException as e:  # reported below
            errors.append(e)
        finally:
            own.dispose()

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert sorted(routed) == [left - 4, 4]  # the winner all four, the loser what was left
    assert list(_usage(engine).values()) == [5]
    with Session(engine) as s:
        ps = s.exec(select(ReceiptPart)).all()
    statuses = [p.status for p in ps if p.request["items"][0]["price"] != 99]
    assert statuses.count(ReceiptStatus.QUEUED) == left
    # the loser's other parts wait for the next pass, which refuses them with the reason
    assert statuses.count(ReceiptStatus.ACCEPTED) == 8 - left
    monkeypatch.setattr(routing, "candidates", read)
    stats = routing.route(engine, clock)
    assert (stats.routed, stats.unroutable) == (0, 8 - left)
    assert list(_usage(engine).values()) == [5]


def test_unlimited_registers_are_granted_all_beside_limited_ones(
    engine: Engine, clock: SettableClock
) -> None:
    # one claim for every register a routing pass picked: no quota (None) takes all
    with Session(engine, expire_on_commit=False) as s:
        a = company(s, clock, 1)
        ids = [add_register(s, clock, a, f"UNLIM0{i}").id for i in range(2)]
    free, mini = (int(i) for i in ids if i is not None)
    with engine.begin() as conn:
        assert claim_usages(conn, "2024-01", {free: (7, None), mini: (4, 3)}) == {
            free: 7,
            mini: 3,
        }
        assert claim_usages(conn, "2024-01", {free: (5, None), mini: (1, 3)}) == {
            free: 5,
            mini: 0,
        }
    assert _usage(engine) == {(free, "2024-01"): 12, (mini, "2024-01"): 3}
