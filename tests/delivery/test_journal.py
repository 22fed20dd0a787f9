"""The attempts journal on SQLite and PostgreSQL: only masked addresses, counts per tenant."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bench.delivery_sim import SimProvider as Wire
from fleet.accounts.models import Company
from fleet.core.clock import SettableClock
from fleet.delivery.cascade import Cascade
from fleet.delivery.channels import Channel
from fleet.delivery.journal import save_attempts, stats
from fleet.delivery.message import Outgoing
from fleet.delivery.models import DeliveryAttempt
from simulator.channels import FakeChannels, Outcome
from tests.fleet import objects


def test_journal_keeps_masked_attempts_and_counts_by_channel(
    engine: Engine, clock: SettableClock
) -> None:
    with Session(engine) as session:
        ids = []
        for inn in ("7701000001", "7701000002"):
            co = Company(name="ООО", inn=inn, ogrn="1027700000001", created_at=clock.wall())
            session.add(co)
            session.flush()
            assert co.id is not None
            ids.append(co.id)
        mine, other = ids
        receipt_id = objects.receipt(session, clock, mine)
        other_receipt = objects.receipt(session, clock, other)
        fake = FakeChannels(now=clock.wall)
        fake.plan("sms", Outcome.FAIL)
        c = Cascade(
            "+79161234567", [Channel.SMS, Channel.VK], Outgoing("чек"), Wire(fake), lambda _: True
        )
        c.step(clock.wall())
        save_attempts(session, mine, receipt_id, c.attempts)
        save_attempts(session, mine, receipt_id, c.attempts)  # idempotent: replaces
        save_attempts(session, other, other_receipt, c.attempts[:1])
        session.commit()

        rows = session.exec(select(DeliveryAttempt)).all()
        assert all("9161234567" not in r.masked_address for r in rows)
        t = clock.wall()
        assert stats(session, mine, t - 1, t + 1) == {("sms", "failed"): 1, ("vk", "delivered"): 1}
        assert stats(session, other, t - 1, t + 1) == {("sms", "failed"): 1}
        assert stats(session, mine, t + 1, t + 2) == {}
