"""The receipt-delivery cascade over the channel simulator: every outcome, money, masking."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.delivery_sim import SimProvider as Wire
from fleet.delivery.cascade import AttemptStatus, Cascade
from fleet.delivery.channels import CHANNELS, Channel, default_order, enabled_channels
from fleet.delivery.exceptions import BadContactError, UnknownChannelError
from fleet.delivery.masking import mask
from fleet.delivery.message import Outgoing
from simulator.channels import FakeChannels, Outcome


class Clock:
    def __init__(self) -> None:
        self.t = 1_700_000_000.0

    def __call__(self) -> float:
        return self.t


PHONE_ORDER = [Channel.SMS, Channel.VK, Channel.OK]


def make(
    order: list[Channel], contact: str = "+79161234567", money: int = 100
) -> tuple[Cascade, FakeChannels, Clock, list[Channel]]:
    clock = Clock()
    fake = FakeChannels(now=clock)
    charged: list[Channel] = []
    wallet = [money]

    def charge(channel: Channel) -> bool:
        if wallet[0] <= 0:
            return False
        wallet[0] -= 1
        charged.append(channel)
        return True

    return Cascade(contact, order, Outgoing("чек"), Wire(fake), charge), fake, clock, charged


def run(c: Cascade, clock: Clock, limit: int = 100) -> None:
    for _ in range(limit):
        c.step(clock.t)
        if c.done:
            return
        clock.t += 60
    raise AssertionError("cascade did not finish")


def test_viber_off_by_default_and_unknown_channel_refused() -> None:
    assert Channel.VIBER not in enabled_channels()
    assert enabled_channels(["viber", "sms"]) == [Channel.VIBER, Channel.SMS]
    with pytest.raises(UnknownChannelError):
        enabled_channels(["telegram"])


def test_default_order_email_first_for_email_contact() -> None:
    assert default_order("email", enabled_channels()) == [Channel.EMAIL]
    assert default_order("phone", enabled_channels()) == PHONE_ORDER


def test_sms_delivered_by_report_and_charged_once() -> None:
    c, _, clock, charged = make(PHONE_ORDER)
    run(c, clock)
    assert [a.status for a in c.attempts] == [AttemptStatus.DELIVERED]
    assert charged == [Channel.SMS]
    assert c.attempts[0].masked_address == "+7********67"
    assert c.attempts[0].provider_id is not None


def test_sms_refused_then_vk_delivers() -> None:
    c, fake, clock, charged = make(PHONE_ORDER)
    fake.plan("sms", Outcome.FAIL)
    run(c, clock)
    assert [a.status for a in c.attempts] == [AttemptStatus.FAILED, AttemptStatus.DELIVERED]
    assert c.attempts[0].error is not None and "отказал" in c.attempts[0].error
    assert charged == [Channel.SMS, Channel.VK]


def test_sms_without_report_fails_after_wait_then_moves_on() -> None:
    c, fake, clock, _ = make(PHONE_ORDER)
    fake.plan("sms", Outcome.SILENT)
    start = clock.t
    run(c, clock)
    assert c.attempts[0].status is AttemptStatus.FAILED
    assert c.attempts[1].at - start >= CHANNELS[Channel.SMS].wait_s
    assert c.delivered


def test_email_bounce_within_window_fails_over_to_sms() -> None:
    c, fake, clock, charged = make([Channel.EMAIL, Channel.SMS], contact="ivan@mail.ru")
    fake.plan("email", Outcome.BOUNCE)
    run(c, clock)
    assert [a.channel for a in c.attempts] == [Channel.EMAIL, Channel.SMS]
    assert c.attempts[0].status is AttemptStatus.FAILED and c.attempts[0].error == "bounced"
    assert c.attempts[0].masked_address == "i***@m***.ru"
    assert charged == [Channel.SMS]


def test_email_silent_counts_delivered_after_bounce_window_and_is_free() -> None:
    c, fake, clock, charged = make([Channel.EMAIL], contact="ivan@mail.ru")
    fake.plan("email", Outcome.SILENT)
    start = clock.t
    c.step(clock.t)
    clock.t = start + CHANNELS[Channel.EMAIL].wait_s - 1
    c.step(clock.t)
    assert not c.done
    clock.t = start + CHANNELS[Channel.EMAIL].wait_s
    c.step(clock.t)
    assert c.delivered and charged == []


def test_no_money_skips_paid_channels_and_records_why() -> None:
    c, _, clock, charged = make(PHONE_ORDER, money=0)
    run(c, clock)
    assert [a.status for a in c.attempts] == [AttemptStatus.SKIPPED] * 3
    assert all(a.error == "недостаточно средств на балансе" for a in c.attempts)
    assert charged == [] and not c.delivered


def test_mask_refuses_garbage() -> None:
    with pytest.raises(BadContactError):
        mask("not a contact")
    assert mask("8 (916) 123-45-67") == "+7********67"


outcomes = st.sampled_from(list(Outcome))


@settings(max_examples=200, deadline=None)
@given(
    plan=st.lists(outcomes, min_size=3, max_size=3),
    money=st.integers(min_value=0, max_value=3),
    ticks=st.lists(st.integers(min_value=1, max_value=900), min_size=1, max_size=60),
)
def test_cascade_state_machine_invariants(
    plan: list[Outcome], money: int, ticks: list[int]
) -> None:
    c, fake, clock, charged = make(PHONE_ORDER, money=money)
    for channel, outcome in zip(["sms", "vk", "ok"], plan, strict=True):
        fake.plan(channel, outcome)
    for dt in ticks:
        c.step(clock.t)
        clock.t += dt
    run(c, clock, limit=1000)
    statuses = [a.status for a in c.attempts]
    # At most one delivery, and it is the last attempt: the cascade stops there.
    assert statuses.count(AttemptStatus.DELIVERED) <= 1
    if c.delivered:
        assert statuses[-1] is AttemptStatus.DELIVERED
    else:
        assert len(c.attempts) == len(PHONE_ORDER)
    # Channels are tried in order, each at most once; nothing is left pending.
    assert [a.channel for a in c.attempts] == PHONE_ORDER[: len(c.attempts)]
    assert AttemptStatus.SENT not in statuses and AttemptStatus.QUEUED not in statuses
    # Only what was charged was sent or refused; skipped ones were never charged.
    assert len(charged) == sum(s is not AttemptStatus.SKIPPED for s in statuses)
    assert len(charged) <= money
