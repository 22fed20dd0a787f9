"""Capacity per register group: load, queue and lag from the receipts queue, and the
suggestion to add registers."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlmodel import Session

from fleet.capacity.service import RECEIPTS_PER_S, TARGET_UTILISATION, groups, registers_needed
from fleet.core.clock import SettableClock
from fleet.receipts.models import Receipt, ReceiptPart
from tests.console.world import company, register, set_shadow

N = [0]


def part(s: Session, clock: SettableClock, company_id: int, status: str, age_s: float) -> None:
    N[0] += 1
    at = clock.wall() - age_s
    r = Receipt(company_id=company_id, external_id=f"e{N[0]}", body_hash="0" * 64, body={},
                kind="sale", total=100, status=status, created_at=at, updated_at=at)  # fmt: skip
    s.add(r)
    s.flush()
    s.add(ReceiptPart(receipt_id=r.id or 0, company_id=company_id, part_no=1,
                      request_id=f"rq{N[0]}", action="receipt", request={}, total=100,
                      status=status, created_at=at, updated_at=at))  # fmt: skip


def test_the_suggestion_follows_the_inflow_and_the_lag() -> None:
    per_register_hour = RECEIPTS_PER_S * TARGET_UTILISATION * 3600
    assert registers_needed(0, 0, 0.0) == 0
    assert registers_needed(int(per_register_hour), 1, 0.0) == 0
    assert registers_needed(int(per_register_hour) + 1, 1, 0.0) == 1
    assert registers_needed(int(3 * per_register_hour), 1, 0.0) == 2
    assert registers_needed(10, 2, 121.0) == 1  # enough by the rate, but the queue lags


def test_groups_show_load_queue_lag_and_what_to_add(engine: Engine, clock: SettableClock) -> None:
    with Session(engine, expire_on_commit=False) as s:
        busy, calm = company(s, clock, 1), company(s, clock, 2)
        a = register(s, clock, busy, "CAP0000001", slot="R1-S01")
        register(s, clock, busy, "CAP0000002", slot="R1-S02")
        register(s, clock, calm, "CAP0000003", slot="R1-S03")
        set_shadow(s, a.id or 0, online=False)
        for _ in range(30):
            part(s, clock, busy.id or 0, "fiscalised", 600)
        for age in (10, 200, 400):
            part(s, clock, busy.id or 0, "accepted", age)
        part(s, clock, busy.id or 0, "queued", 50)
        part(s, clock, calm.id or 0, "confirmed", 100)
        part(s, clock, calm.id or 0, "fiscalised", 4000)  # before the window
        s.commit()
        out = groups(s, clock)
    by = {g.company_id: g for g in out}
    b, c = by[busy.id or 0], by[calm.id or 0]
    assert (b.registers, b.online, b.made, b.arrived) == (2, 1, 30, 34)
    assert (b.waiting, b.queued, int(b.lag_s)) == (3, 1, 400)
    assert abs(b.utilisation - 30 / 3600 / RECEIPTS_PER_S) < 1e-9
    assert b.add == 1 and b.suggestion == "Добавьте касс: 1"  # the queue lags past 120 s
    assert (c.made, c.arrived, c.waiting, c.lag_s, c.add) == (1, 1, 0, 0.0, 0)
    assert out[0] is b  # the group that needs registers first
