"""The durable cascade against the channel simulator: fiscalised → sent, fall-through, money,
routes, resend, bounce, and crashes at every point of a pass (nothing twice on one channel)."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from fleet.core.clock import SettableClock
from fleet.delivery.cascade import AttemptStatus, ProviderRefusedError
from fleet.delivery.channels import CHANNELS, Channel
from fleet.delivery.models import Delivery, DeliveryAttempt
from fleet.delivery.routes import set_route
from fleet.delivery.service import progress, resend
from fleet.delivery.worker import (
    INTERRUPTED,
    DeliveryState,
    DeliveryWorker,
    _insert_deliveries_sqlite,
    record_bounce,
)
from fleet.receipts.models import Receipt, ReceiptStatus
from simulator.channels import Outcome
from tests.delivery.world import World, make_world


@pytest.fixture(name="world")
def fixture_world(engine: Engine, clock: SettableClock) -> World:
    return make_world(engine, clock)


def _delivery(world: World, receipt_id: int) -> Delivery:
    with Session(world.engine) as s:
        d = s.exec(select(Delivery).where(Delivery.receipt_id == receipt_id)).one()
        return d


def _attempts(world: World, receipt_id: int) -> list[DeliveryAttempt]:
    with Session(world.engine) as s:
        return list(
            s.exec(
                select(DeliveryAttempt)
                .where(DeliveryAttempt.receipt_id == receipt_id)
                .order_by(col(DeliveryAttempt.id))
            )
        )


def _drive(world: World, worker: DeliveryWorker, minutes: int = 60) -> None:
    for _ in range(minutes):
        worker.run_once()
        world.clock.advance(60)


def test_fiscalised_receipt_with_email_is_sent_once_and_delivered_after_window(
    world: World,
) -> None:
    rid = world.receipt("Ivan@Mail.ru")
    world.receipt(None)  # no contact: nothing to send
    world.receipt("buyer@mail.ru", status=ReceiptStatus.ACCEPTED)  # not fiscalised yet
    world.fake.plan("email", Outcome.SILENT)  # SMTP: no news is good news
    worker = world.worker()
    worker.run_once()
    d = _delivery(world, rid)
    assert d.order == ["email"] and d.masked == "i***@m***.ru" and d.contact == "ivan@mail.ru"
    assert d.first_attempt_at is not None and d.state == DeliveryState.ACTIVE
    [msg] = world.fake.sent.values()
    assert msg.address == "ivan@mail.ru" and "Хлеб" in msg.body and "ФП 1234567890" in msg.body
    world.clock.advance(CHANNELS[Channel.EMAIL].wait_s)
    worker.run_once()
    assert _delivery(world, rid).state == DeliveryState.DELIVERED
    [a] = _attempts(world, rid)
    assert a.status == AttemptStatus.DELIVERED and a.price_kop == 0
    with Session(world.engine) as s:
        assert len(s.exec(select(Delivery)).all()) == 1
    assert world.fake.counts() == {("email", "ivan@mail.ru"): 1}


def test_sms_refused_falls_through_to_vk_refunded_and_charged(world: World) -> None:
    rid = world.receipt("8 (916) 123-45-67")
    world.fake.plan("sms", Outcome.FAIL)
    before = world.balance()
    _drive(world, world.worker(), 3)
    statuses = [(a.channel, a.status) for a in _attempts(world, rid)]
    assert statuses == [("sms", "failed"), ("vk", "delivered")]
    assert _delivery(world, rid).state == DeliveryState.DELIVERED
    # sms debited then refunded, vk debited at its default price
    assert world.balance() == before - 100
    sms_link = next(m for m in world.fake.sent.values() if m.channel == "vk").body
    assert f"/r/{_delivery(world, rid).token}" in sms_link


def test_sms_without_report_waits_then_moves_on(world: World) -> None:
    rid = world.receipt("+79161234567")
    world.fake.plan("sms", Outcome.SILENT)
    worker = world.worker()
    worker.run_once()
    world.clock.advance(CHANNELS[Channel.SMS].wait_s - 30)
    worker.run_once()
    assert [a.status for a in _attempts(world, rid)] == ["sent"]
    world.clock.advance(60)
    worker.run_once()
    worker.run_once()
    got = [(a.channel, a.status) for a in _attempts(world, rid)]
    assert got == [("sms", "failed"), ("vk", "delivered")]


def test_no_balance_skips_paid_channels_and_says_why(engine: Engine, clock: SettableClock) -> None:
    world = make_world(engine, clock, money=0)
    rid = world.receipt("+79161234567")
    _drive(world, world.worker(), 1)
    attempts = _attempts(world, rid)
    assert [a.status for a in attempts] == ["skipped"] * 3
    assert all(a.error == "недостаточно средств на балансе" for a in attempts)
    assert _delivery(world, rid).state == DeliveryState.FAILED
    assert world.fake.sent == {}


def test_register_route_beats_company_route(world: World) -> None:
    with Session(world.engine) as s:
        set_route(s, world.clock, world.company_id, ["ok", "sms"])
        set_route(s, world.clock, world.company_id, ["vk", "sms"], register_id=world.register_id)
        s.commit()
    rid = world.receipt("+79161234567")
    world.worker().run_once()
    assert _delivery(world, rid).order == ["vk", "sms"]


def test_viber_only_when_configured(world: World) -> None:
    rid = world.receipt("+79161234567")
    world.worker().run_once()
    assert "viber" not in _delivery(world, rid).order


def test_bounce_moves_the_cascade_on(world: World) -> None:
    with Session(world.engine) as s:
        set_route(s, world.clock, world.company_id, ["email"])
        s.commit()
    rid = world.receipt("ivan@mail.ru")
    world.fake.plan("email", Outcome.SILENT)
    worker = world.worker()
    worker.run_once()
    [a] = _attempts(world, rid)
    with Session(world.engine) as s:
        assert a.provider_id is not None
        assert record_bounce(s, world.clock, a.provider_id)
        s.commit()
    worker.run_once()
    assert _delivery(world, rid).state == DeliveryState.FAILED
    assert (_attempts(world, rid)[0].error or "").startswith("bounced")


def test_resend_starts_a_new_round_and_reports_progress(world: World) -> None:
    rid = world.receipt("+79161234567")
    for ch in ("sms", "vk", "ok"):
        world.fake.plan(ch, Outcome.FAIL)
    worker = world.worker()
    _drive(world, worker, 5)
    d = _delivery(world, rid)
    assert d.state == DeliveryState.FAILED
    with Session(world.engine) as s:
        n, mark = resend(s, world.clock, world.company_id, [d.id or 0])
        s.commit()
        assert n == 1 and progress(s, world.company_id, mark).active == 1
    _drive(world, worker, 2)
    with Session(world.engine) as s:
        p = progress(s, world.company_id, mark)
    assert p.done and p.delivered == 1 and p.percent == 100
    assert [a.key for a in _attempts(world, rid)][-1] == f"{d.id}:2:sms"


def test_two_workers_never_send_twice(world: World) -> None:
    ids = [world.receipt(f"+7916123456{i}") for i in range(5)]
    a, b = world.worker(batch=2), world.worker(batch=3)
    for _ in range(4):
        a.run_once()
        b.run_once()
    assert all(n == 1 for n in world.fake.counts().values())
    assert len(world.fake.counts()) == len(ids)


_contacts = itertools.count(1)


class _CrashError(Exception):
    pass


class _CrashingProvider:
    """Wraps the simulator provider; dies (as the process would) before or after sending."""

    def __init__(self, inner: object, when: str, idempotent: bool = True) -> None:
        self.inner = inner
        self.when = when
        self.idempotent = idempotent
        self.armed = True

    def send(self, channel: str, address: str, message: object, key: str) -> str:
        if self.armed and self.when == "before":
            self.armed = False
            raise _CrashError
        pid: str = self.inner.send(channel, address, message, key)  # type: ignore[attr-defined]
        if self.armed and self.when == "after":
            self.armed = False
            raise _CrashError
        return pid

    def report(self, provider_id: str) -> str:
        out: str = self.inner.report(provider_id)  # type: ignore[attr-defined]
        return out


def _crash_pass(worker: DeliveryWorker) -> None:
    """A pass killed between the claim's commit and the record (the providers raise
    BaseException-like _CrashError which the worker does not swallow past the send)."""
    _, work = worker.claim()
    try:
        for w in work:
            provider = worker.providers[w.channel]
            message = w.outgoing()
            if message is not None and w.contact is not None:
                provider.send(w.channel.value, w.contact, message, w.key)
    except (_CrashError, ProviderRefusedError):
        return  # the process dies here: nothing recorded


@pytest.mark.parametrize("when", ["before", "after"])
def test_restart_mid_send_resumes_with_the_same_key(world: World, when: str) -> None:
    rid = world.receipt("+79161234567")
    crashing = _CrashingProvider(world.providers[Channel.SMS], when)
    dead = world.worker()
    dead.providers = {**world.providers, Channel.SMS: crashing}
    _crash_pass(dead)
    [a] = _attempts(world, rid)
    assert a.status == "queued" and a.price_kop > 0
    world.clock.advance(dead.lease_s)  # the dead worker's lease runs out
    _drive(world, world.worker(), 2)
    assert world.fake.counts() == {("sms", "+79161234567"): 1}
    assert [(x.channel, x.status) for x in _attempts(world, rid)] == [("sms", "delivered")]


def test_restart_with_a_non_idempotent_channel_never_repeats_it(world: World) -> None:
    rid = world.receipt("+79161234567")
    crashing = _CrashingProvider(world.providers[Channel.SMS], "after", idempotent=False)
    providers = {**world.providers, Channel.SMS: crashing}
    dead = world.worker()
    dead.providers = providers
    _crash_pass(dead)
    world.clock.advance(dead.lease_s)
    alive = world.worker()
    alive.providers = providers
    before = world.balance()
    _drive(world, alive, 2)
    got = [(x.channel, x.status, x.error) for x in _attempts(world, rid)]
    assert got[0] == ("sms", "failed", INTERRUPTED)
    assert got[1][:2] == ("vk", "delivered")
    assert world.fake.counts()[("sms", "+79161234567")] == 1
    assert world.balance() == before + 250 - 100  # the unknown sms refunded, vk charged


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    plan=st.lists(
        st.sampled_from([Outcome.DELIVER, Outcome.FAIL, Outcome.SILENT]), min_size=3, max_size=3
    ),
    crashes=st.lists(st.sampled_from(["none", "before", "after"]), min_size=1, max_size=6),
)
def test_any_crash_schedule_sends_each_channel_at_most_once(
    world: World, plan: list[Outcome], crashes: list[str]
) -> None:
    contact = f"+7916{next(_contacts):07d}"
    rid = world.receipt(contact)
    for ch, outcome in zip(("sms", "vk", "ok"), plan, strict=True):
        world.fake.script[ch] = [outcome]
    for when in crashes:
        w = world.worker()
        if when == "none":
            w.run_once()
        else:
            w.providers = {c: _CrashingProvider(p, when) for c, p in world.providers.items()}
            _crash_pass(w)
            world.clock.advance(w.lease_s)
        world.clock.advance(CHANNELS[Channel.SMS].wait_s)
    _drive(world, world.worker(), 25)
    mine = {k: n for k, n in world.fake.counts().items() if k[1] == contact}
    assert all(n == 1 for n in mine.values())
    attempts = _attempts(world, rid)
    assert len({a.channel for a in attempts}) == len(attempts)
    d = _delivery(world, rid)
    assert d.state in (DeliveryState.DELIVERED, DeliveryState.FAILED)
    statuses = [a.status for a in attempts]
    assert statuses.count("delivered") <= 1
    if d.state == DeliveryState.DELIVERED:
        assert statuses[-1] == "delivered"


def test_a_receipt_committed_late_is_found_by_the_rescan(world: World) -> None:
    """A pass reads the receipts fiscalised in the last ``lag_s`` only; one that became
    visible later than that (a slow commit, another host's clock) waits for the full look over
    the catch-up window every ``rescan_s``, and is sent then, once."""
    worker = world.worker()
    worker.run_once()  # the first pass looks over the whole window
    rid = world.receipt("+79161234567")
    with Session(world.engine) as s:  # fiscalised before the last lag_s, committed only now
        r = s.get(Receipt, rid)
        assert r is not None
        r.fiscalised_at = world.clock.wall() - worker.lag_s - 5
        s.add(r)
        s.commit()
    world.clock.advance(1)
    worker.run_once()
    assert world.fake.sent == {}
    world.clock.advance(worker.rescan_s)
    worker.run_once()
    assert world.fake.counts() == {("sms", "+79161234567"): 1}
    assert _delivery(world, rid).first_attempt_at is not None


def test_set_wise_writes_keep_every_column_and_type(world: World) -> None:
    """The claim's and the record's rows go as one JSON parameter (SQLite: ``json_each``) or
    a prepared executemany: the delivery's JSON order comes back a list, floats stay exact,
    the attempt is found by its key and recorded, and only a row this pass made is claimed
    (RETURNING of ``ON CONFLICT DO NOTHING``)."""
    world.clock.advance(0.123456789)
    rid = world.receipt("+79161234567")
    worker = world.worker()
    made, work = worker.claim()
    assert made == 1 and [w.receipt_id for w in work] == [rid]
    d = _delivery(world, rid)
    assert d.order == ["sms", "vk", "ok"] and isinstance(d.order, list)
    assert d.next_at == world.clock.wall() + worker.lease_s
    assert d.contact == "+79161234567" and d.round == 1 and d.position == 1
    [a] = _attempts(world, rid)
    assert (a.key, a.status, a.at, a.price_kop) == (f"{d.id}:1:sms", "queued", d.created_at, 250)
    assert world.worker().claim() == (0, [])  # made and leased: nothing for another claim
    worker._send(work)
    worker._record(work)
    [a] = _attempts(world, rid)
    assert a.status == "sent" and a.provider_id is not None and a.error is None
    assert a.sent_at == world.clock.wall() and a.settled_at is None and a.retries == 0
    d = _delivery(world, rid)
    assert d.state == DeliveryState.ACTIVE and d.first_attempt_at == a.sent_at
    assert d.next_at == world.clock.wall() + worker.poll_s  # asked again for its report


def test_a_delivery_another_worker_made_meanwhile_is_not_claimed(world: World) -> None:
    """SQLite's claim inserts its deliveries by the driver's executemany (``ON CONFLICT DO
    NOTHING``) and reads back which are its own by their tokens: a row another worker made
    for the same receipt between this claim's read and its insert is not taken as ours."""
    if world.engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL's claim takes RETURNING of its own insert")
    theirs, ours = world.receipt("+79161234567"), world.receipt("+79161234568")
    now = world.clock.wall()
    row = {
        "company_id": world.company_id,
        "store_id": None,
        "register_id": world.register_id,
        "round": 1,
        "position": 0,
        "version": 1,
        "next_at": now,
        "fiscalised_at": now,
        "created_at": now,
        "updated_at": now,
        "reason": None,
        "contact": "+79161234567",
        "contact_kind": "phone",
        "contact_hash": "h",
        "masked": "+7*********67",
        "order": ["sms"],
        "state": DeliveryState.ACTIVE,
    }
    with Session(world.engine) as s:
        conn = s.connection()
        made = _insert_deliveries_sqlite(conn, [row | {"receipt_id": theirs, "token": "t1"}])
        s.commit()
    with Session(world.engine) as s:
        conn = s.connection()
        made = _insert_deliveries_sqlite(
            conn,
            [row | {"receipt_id": r, "token": f"t2-{r}"} for r in (theirs, ours)],
        )
        s.commit()
    assert list(made) == [ours]
    assert _delivery(world, theirs).token == "t1"
    assert _delivery(world, ours).token == f"t2-{ours}" and _delivery(world, ours).order == ["sms"]
