"""Retention of buyers' contacts, per-day statistics, and contact hashing."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from fleet.core.clock import SettableClock
from fleet.delivery.exceptions import BadContactError
from fleet.delivery.models import Delivery, DeliveryPrefs
from fleet.delivery.privacy import DAY, purge_expired
from fleet.delivery.service import channel_rows, day_chart
from fleet.delivery.worker import contact_hash
from simulator.channels import Outcome
from tests.delivery.world import SECRET, make_world


def test_retention_blanks_old_finished_contacts_only(engine: Engine, clock: SettableClock) -> None:
    world = make_world(engine, clock)
    old = world.receipt("+79161234567")
    worker = world.worker()
    worker.run_once()
    clock.advance(60)
    worker.run_once()  # delivered
    world.fake.plan("sms", Outcome.SILENT)
    stuck = world.receipt("+79160000000")  # its cascade will wait for a report
    worker.run_once()
    with Session(engine) as s:
        s.add(DeliveryPrefs(company_id=world.company_id, retention_days=3, updated_at=0))
        s.commit()
    clock.advance(2 * DAY)
    with Session(engine) as s:
        assert purge_expired(s, clock) == 0
    clock.advance(2 * DAY)
    worker.run_once()  # the stuck one times out and moves to vk: still active, so kept
    with Session(engine) as s:
        n = purge_expired(s, clock)
        s.commit()
        rows = {d.receipt_id: d for d in s.exec(select(Delivery))}
    assert n == 1
    assert rows[old].contact is None and rows[old].masked == "+7********67"
    assert rows[stuck].contact == "+79160000000"


def test_day_chart_and_channel_rows_count_by_day(engine: Engine, clock: SettableClock) -> None:
    world = make_world(engine, clock)
    start = clock.wall()
    world.receipt("+79161234567")
    world.fake.plan("sms", Outcome.FAIL)
    world.receipt("+79167654321")
    worker = world.worker()
    worker.run_once()
    clock.advance(DAY)
    world.receipt("+79161111111")
    for _ in range(3):
        worker.run_once()
        clock.advance(60)
    with Session(engine) as s:
        rows = {
            r.channel: r for r in channel_rows(s, world.company_id, start - DAY, start + 3 * DAY)
        }
        chart = day_chart(s, world.company_id, start - DAY, start + 3 * DAY)
    assert rows["sms"].failed == 1 and rows["sms"].sent == 3 and rows["vk"].delivered == 1
    assert sum(d for _, d, _ in chart.days) == 3 and sum(f for _, _, f in chart.days) == 1
    assert chart.peak >= 1 and len(chart.bars) == 2 * len(chart.days)
    assert all(b.height >= 0 and b.y + b.height <= chart.height for b in chart.bars)


def test_contact_hash_normalises_and_refuses_garbage() -> None:
    assert contact_hash(SECRET, "8 (916) 123-45-67") == contact_hash(SECRET, "+79161234567")
    assert contact_hash(SECRET, " Ivan@Mail.RU") == contact_hash(SECRET, "ivan@mail.ru")
    assert contact_hash(SECRET, "ivan@mail.ru") != contact_hash("other", "ivan@mail.ru")
    with pytest.raises(BadContactError):
        contact_hash(SECRET, "позвоните мне")
