"""Retry later: a provider refusing for now (an outage of any length) against the worker's
schedule, by hypothesis — in process, a gateway that is down until a time on the test's clock
(the same over real HTTP: test_providers.py)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import ClassVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from fleet.core.clock import SettableClock
from fleet.delivery.cascade import ProviderRefusedError
from fleet.delivery.channels import CHANNELS, Channel
from fleet.delivery.message import Outgoing
from fleet.delivery.models import Delivery, DeliveryAttempt
from fleet.delivery.providers.errors import MessageRejectedError, ProviderUnavailableError
from fleet.delivery.worker import DeliveryState
from tests.delivery.world import World, make_world

PRICES = {Channel.SMS: 250, Channel.VK: 100, Channel.OK: 100}


@dataclass
class _Gateway:
    """Down until ``down_until``; then accepts each key once (a repeat returns the same id)."""

    clock: SettableClock
    down_until: float
    idempotent: ClassVar[bool] = True
    sent: Counter[str] = field(default_factory=Counter)
    refused: int = 0

    def send(self, channel: str, address: str, message: Outgoing, key: str) -> str:
        if self.clock.wall() < self.down_until:
            self.refused += 1
            raise ProviderUnavailableError("SMSC: сервер ответил HTTP 503")
        if key not in self.sent:
            self.sent[key] += 1
        return f"gw:{key}"

    def report(self, provider_id: str) -> str:
        return "delivered"


@dataclass
class _Smtp(_Gateway):
    """The same outage, but a provider that cannot be asked twice (SMTP)."""

    idempotent: ClassVar[bool] = False


@pytest.fixture(name="world")
def fixture_world(engine: Engine, clock: SettableClock) -> World:
    return make_world(engine, clock)


def _run(world: World, gateway: _Gateway) -> int:
    """Drive one receipt's cascade to its end, the clock moved to each next look."""
    engine, clock = world.engine, world.clock
    world.providers = {c: gateway for c in (Channel.SMS, Channel.VK, Channel.OK)}
    rid = world.receipt("+79161234567")
    worker = world.worker()
    for _ in range(200):
        worker.run_once()
        with Session(engine) as s:
            d = s.exec(select(Delivery).where(Delivery.receipt_id == rid)).one()
        if d.state != DeliveryState.ACTIVE:
            return rid
        clock.advance(max(0.0, d.next_at - clock.wall()))
    raise AssertionError("the cascade did not end")


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(outage=st.floats(min_value=0, max_value=25 * 60))
def test_any_outage_is_waited_out_within_each_channels_wait_and_sends_once(
    world: World, outage: float
) -> None:
    engine, clock = world.engine, world.clock
    start, money = clock.wall(), world.balance()
    gateway = _Gateway(clock, start + outage)
    rid = _run(world, gateway)
    with Session(engine) as s:
        attempts = list(
            s.exec(
                select(DeliveryAttempt)
                .where(DeliveryAttempt.receipt_id == rid)
                .order_by(col(DeliveryAttempt.id))
            )
        )
    # the channel that delivers: the first whose wait (each starting when the one before it
    # ran out) reaches past the outage; the gateway is tried at the end of each wait
    end, expected = start, None
    for c in (Channel.SMS, Channel.VK, Channel.OK):
        end += CHANNELS[c].wait_s
        if start + outage <= end:
            expected = c
            break
    statuses = [(a.channel, a.status) for a in attempts]
    if expected is None:
        assert statuses == [("sms", "failed"), ("vk", "failed"), ("ok", "failed")]
    else:
        order = [Channel.SMS, Channel.VK, Channel.OK]
        before = order[: order.index(expected)]
        assert statuses == [*((c.value, "failed") for c in before), (expected.value, "delivered")]
    for a in attempts:
        window_end = a.at + CHANNELS[Channel(a.channel)].wait_s
        if a.status == "failed":  # tried up to the end of its wait, never after
            assert a.settled_at == window_end and "время ожидания канала вышло" in (a.error or "")
            assert a.retries >= 1
        else:
            assert a.error is None and (a.sent_at or 0) >= start + outage
    # every refusal is on record: a retry of a queued attempt, or the failure at a wait's end
    failed = sum(a.status == "failed" for a in attempts)
    assert gateway.refused == sum(a.retries for a in attempts) + failed
    # one message at most, the delivered one's, and only it paid for (the others refunded)
    assert sum(gateway.sent.values()) == (0 if expected is None else 1)
    assert set(gateway.sent) == {a.key for a in attempts if a.status == "delivered"}
    assert world.balance() == money - (0 if expected is None else PRICES[expected])


def test_a_provider_that_cannot_be_asked_twice_is_not_retried(world: World) -> None:
    gateway = _Smtp(world.clock, world.clock.wall() + 30)
    rid = _run(world, gateway)
    with Session(world.engine) as s:
        got = [
            (a.channel, a.status, a.retries)
            for a in s.exec(
                select(DeliveryAttempt)
                .where(DeliveryAttempt.receipt_id == rid)
                .order_by(col(DeliveryAttempt.id))
            )
        ]
    # each channel failed at once: a second send of a non-idempotent provider may be a duplicate
    assert got == [("sms", "failed", 0), ("vk", "failed", 0), ("ok", "failed", 0)]
    assert gateway.refused == 3


def test_a_permanent_refusal_during_the_retries_ends_them(world: World) -> None:
    class _Then(_Gateway):
        def send(self, channel: str, address: str, message: Outgoing, key: str) -> str:
            if channel == "sms" and self.refused >= 2:
                raise MessageRejectedError("SMSC: сообщение запрещено (код 6)")
            return super().send(channel, address, message, key)

    gateway = _Then(world.clock, world.clock.wall() + 60)
    rid = _run(world, gateway)
    with Session(world.engine) as s:
        got = [
            (a.channel, a.status, a.retries, a.error)
            for a in s.exec(
                select(DeliveryAttempt)
                .where(DeliveryAttempt.receipt_id == rid)
                .order_by(col(DeliveryAttempt.id))
            )
        ]
    assert got[0] == ("sms", "failed", 2, "SMSC: сообщение запрещено (код 6)")
    assert got[1][:2] == ("vk", "delivered")


def test_the_errors_say_what_may_be_retried() -> None:
    assert ProviderUnavailableError("x").retry_later
    assert not MessageRejectedError("x").retry_later
    assert not ProviderRefusedError("x").retry_later  # SMTP and others: at once, as before
