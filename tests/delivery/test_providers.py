"""SMS and messengers through the SMSC adapter over real HTTP: the gateway simulator
(simulator/channels/smsc.py) under uvicorn, the fleet's delivery-report endpoint under uvicorn,
the durable worker in between."""

from __future__ import annotations

import logging
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import event, text
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from fleet.accounts.mail import MemoryMailSender
from fleet.core.clock import SettableClock
from fleet.core.config import Settings
from fleet.delivery.cascade import AttemptStatus
from fleet.delivery.channels import Channel
from fleet.delivery.message import Outgoing
from fleet.delivery.models import Delivery, DeliveryAttempt
from fleet.delivery.providers import email_provider, phone_providers, smsc_provider
from fleet.delivery.providers.errors import (
    InvalidNumberError,
    MessageRejectedError,
    ProviderAuthError,
    ProviderBalanceError,
    ProviderConfigError,
    ProviderError,
    ProviderRateLimitedError,
    ProviderUnavailableError,
)
from fleet.delivery.providers.reports import DeliveryReport, StoredReports, record_report
from fleet.delivery.providers.smsc import SmscProvider, client_id
from fleet.delivery.runner import LoopbackChannels, build_providers
from fleet.delivery.worker import DeliveryState
from fleet.main import create_app
from simulator.channels.smsc import Outcome, SmscState
from simulator.channels.smsc import create_app as create_gateway
from tests.delivery.world import World, make_world
from tests.fleet.test_billing_kit import company_id, signed_in, use_cookie

PASSWORD = "smsc-Pa55-never-logged"
TOKEN = "dlr-token-0123456789abcdef"
PHONE = "+79161234567"
NO_ONE = "абонент не существует"


class _Serve:
    """An ASGI app under uvicorn in a daemon thread on a free port."""

    def __init__(self, app: Any) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            assert time.monotonic() < deadline and self.thread.is_alive(), "server did not start"
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.sock.close()


def _until(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


@pytest.fixture(name="gateway")
def fixture_gateway() -> Iterator[tuple[SmscState, str]]:
    state = SmscState(password=PASSWORD, delay_s=0.1, slow_s=1.0)
    server = _Serve(create_gateway(state))
    try:
        yield state, server.url
    finally:
        server.stop()


@pytest.fixture(name="fleet_url")
def fixture_fleet_url(settings: Settings, clock: SettableClock, engine: Engine) -> Iterator[str]:
    """The fleet app (its DLR endpoint) over HTTP."""
    app = create_app(
        settings.model_copy(update={"delivery_smsc_dlr_token": SecretStr(TOKEN)}),
        clock=clock,
        engine=engine,
    )
    server = _Serve(app)
    try:
        yield server.url
    finally:
        server.stop()


def _settings(settings: Settings, url: str, **update: Any) -> Settings:
    return settings.model_copy(
        update={
            "delivery_smsc_url": url,
            "delivery_smsc_login": "oblako",
            "delivery_smsc_secret": SecretStr(PASSWORD),
            "delivery_smsc_sender": "Romashka",
            "delivery_sms_provider": "smsc",
            "delivery_vk_provider": "smsc",
            **update,
        }
    )


def _phones(settings: Settings, url: str, engine: Engine, **update: Any) -> dict[Channel, Any]:
    return dict(phone_providers(_settings(settings, url, **update), engine, LoopbackChannels()))


def _adapter(url: str, **kw: Any) -> SmscProvider:
    options: dict[str, Any] = {"timeout_s": 2.0, "backoff_s": 0.05} | kw
    return SmscProvider(url, "oblako", PASSWORD, **options)


def _attempts(world: World, receipt_id: int) -> list[DeliveryAttempt]:
    with Session(world.engine) as s:
        q = select(DeliveryAttempt).where(DeliveryAttempt.receipt_id == receipt_id)
        return list(s.exec(q.order_by(col(DeliveryAttempt.id))))


def _state(world: World, receipt_id: int) -> str:
    with Session(world.engine) as s:
        return s.exec(select(Delivery).where(Delivery.receipt_id == receipt_id)).one().state


# --- through the worker -----------------------------------------------------------------------


def test_sms_is_delivered_by_the_gateways_report(
    engine: Engine,
    clock: SettableClock,
    settings: Settings,
    gateway: tuple[SmscState, str],
    fleet_url: str,
) -> None:
    state, url = gateway
    state.callback_url = f"{fleet_url}/api/delivery/dlr/smsc/{TOKEN}"
    world = make_world(engine, clock)
    # no status polling: only the report posted back can make an SMS delivered
    world.providers = _phones(settings, url, engine, delivery_smsc_poll=False)
    before = world.balance()
    rid = world.receipt("8 (916) 123-45-67")
    worker = world.worker()
    worker.run_once()
    [message] = state.sent()
    assert (message.phone, message.channel, message.sender) == ("79161234567", "sms", "Romashka")
    assert "/r/" in message.text
    _until(lambda: len(state.reports_sent) == 1)
    worker.run_once()
    [a] = _attempts(world, rid)
    assert (a.channel, a.status, a.error) == ("sms", AttemptStatus.DELIVERED, None)
    assert a.provider_id == f"smsc:{message.id}" and message.id == client_id(a.key or "")
    assert _state(world, rid) == DeliveryState.DELIVERED
    with Session(engine) as s:
        report = s.get(DeliveryReport, a.provider_id)
        assert report is not None and report.status == "delivered"
    assert world.balance() == before - 250  # the SMS tariff, debited once
    assert len(state.sent()) == 1


def test_a_refused_number_falls_through_to_the_next_channel(
    engine: Engine, clock: SettableClock, settings: Settings, gateway: tuple[SmscState, str]
) -> None:
    state, url = gateway
    state.plan("sms", Outcome.UNREACHABLE)
    world = make_world(engine, clock)
    world.providers = _phones(settings, url, engine)
    before = world.balance()
    rid = world.receipt(PHONE)
    worker = world.worker()
    for _ in range(3):
        worker.run_once()
    got = [(a.channel, a.status, a.error) for a in _attempts(world, rid)]
    assert got == [
        ("sms", "failed", "SMSC: сообщение на этот номер не может быть доставлено (код 8)"),
        ("vk", "delivered", None),  # a messenger counts on acceptance
    ]
    assert [m.channel for m in state.sent()] == ["soc"]
    # the refused SMS was refunded; only the accepted VK message is paid
    assert world.balance() == before - 100


def test_the_gateways_bounce_report_fails_the_sms(
    engine: Engine,
    clock: SettableClock,
    settings: Settings,
    gateway: tuple[SmscState, str],
    fleet_url: str,
) -> None:
    state, url = gateway
    state.callback_url = f"{fleet_url}/api/delivery/dlr/smsc/{TOKEN}"
    state.plan("sms", Outcome.BOUNCE)
    world = make_world(engine, clock)
    world.providers = _phones(settings, url, engine, delivery_smsc_poll=False)
    rid = world.receipt(PHONE)
    worker = world.worker()
    worker.run_once()
    _until(lambda: len(state.reports_sent) == 1)
    worker.run_once()
    worker.run_once()
    got = [(a.channel, a.status) for a in _attempts(world, rid)]
    assert got == [("sms", "failed"), ("vk", "delivered")]


def test_no_money_at_the_gateway_is_said_and_the_next_channel_tried(
    engine: Engine, clock: SettableClock, settings: Settings, gateway: tuple[SmscState, str]
) -> None:
    state, url = gateway
    state.balance_kop = 200  # enough for VK (1 ₽), not for an SMS (2,50 ₽)
    world = make_world(engine, clock)
    world.providers = _phones(settings, url, engine)
    rid = world.receipt(PHONE)
    worker = world.worker()
    for _ in range(3):
        worker.run_once()
    [sms, vk] = _attempts(world, rid)
    assert sms.error == "SMSC: недостаточно средств на счёте у провайдера (код 3)"
    assert (vk.channel, vk.status) == ("vk", "delivered")


def test_a_restart_after_the_send_resends_the_same_id_and_the_gateway_has_it_once(
    engine: Engine, clock: SettableClock, settings: Settings, gateway: tuple[SmscState, str]
) -> None:
    state, url = gateway
    world = make_world(engine, clock)
    rid = world.receipt(PHONE)
    dead = world.worker()
    # the gateway's clock is the test's: the report is due 5 s after the restart's pass
    state.now, state.delay_s = clock.wall, dead.lease_s + dead.poll_s
    dead.providers = _phones(settings, url, engine)
    _, work = dead.claim()  # the attempt is QUEUED and committed, then sent…
    for w in work:
        message = w.outgoing()
        assert message is not None and w.contact is not None
        dead.providers[w.channel].send(w.channel.value, w.contact, message, w.key)
    # …and the process dies before recording it
    assert [a.status for a in _attempts(world, rid)] == ["queued"]
    clock.advance(dead.lease_s)
    alive = world.worker()  # a new process: new adapters that never saw the key
    alive.providers = _phones(settings, url, engine)
    alive.run_once()  # the gateway has the id: recorded SENT, nothing sent; no report yet
    assert [(a.channel, a.status) for a in _attempts(world, rid)] == [("sms", "sent")]
    clock.advance(alive.poll_s)  # the operator's report is due by now (status.php says 1)
    alive.run_once()
    assert [(a.channel, a.status) for a in _attempts(world, rid)] == [("sms", "delivered")]
    assert len(state.sent()) == 1 and state.balance_kop == 100_000 - 250
    assert [m for m, _ in state.requests].count("send") == 1


# --- the report and the record: the race closed ------------------------------------------------


def _dlr(fleet_url: str, message_id: str, status: int, err: int = 0) -> None:
    """The gateway's delivery report, posted to the fleet's endpoint as SMSC does."""
    body = {"id": message_id, "phone": PHONE.lstrip("+"), "status": str(status), "err": str(err)}
    r = httpx.post(f"{fleet_url}/api/delivery/dlr/smsc/{TOKEN}", data=body)
    assert r.text == "OK"


@pytest.mark.parametrize(
    ("status", "err", "expected"),
    [
        (1, 0, ("delivered", None)),
        (20, 1, ("failed", f"SMSC: статус 20 (невозможно доставить), ошибка 1 ({NO_ONE})")),
        (25, 247, ("failed", "SMSC: статус 25 (недоступный номер), ошибка 247")),
    ],
)  # fmt: skip
def test_a_report_between_asking_and_recording_is_applied_by_the_record(
    engine: Engine,
    clock: SettableClock,
    settings: Settings,
    gateway: tuple[SmscState, str],
    fleet_url: str,
    status: int,
    err: int,
    expected: tuple[str, str | None],
) -> None:
    state, url = gateway
    world = make_world(engine, clock)
    world.providers = _phones(settings, url, engine, delivery_smsc_poll=False)
    rid = world.receipt(PHONE)
    worker = world.worker()
    _, work = worker.claim()
    worker._send(work)  # sent and asked: no report yet
    [w] = work
    assert w.outcome == "accepted"
    [message] = state.sent()
    _dlr(fleet_url, message.id, status, err)  # the report comes now, before the record
    worker._record(work)
    [a] = _attempts(world, rid)
    assert (a.status, a.error) == expected  # settled by the record itself, in this pass
    if status == 1:
        assert _state(world, rid) == DeliveryState.DELIVERED
    else:  # and the cascade goes on at once (the VK attempt is due now)
        worker.run_once()
        got = [(x.channel, x.status) for x in _attempts(world, rid)]
        assert got == [("sms", "failed"), ("vk", "delivered")]


def test_a_report_committing_while_the_record_runs_is_not_lost(
    engine: Engine,
    clock: SettableClock,
    settings: Settings,
    gateway: tuple[SmscState, str],
) -> None:
    """The interleaving that lost reports: the report is written (not yet committed) while the
    worker records the attempt SENT. The record must wait for it and apply it; without the lock
    (PostgreSQL, READ COMMITTED) the record read no report and the report found no SENT
    attempt, so the SMS waited out its 10 minutes."""
    state, url = gateway
    world = make_world(engine, clock)
    world.providers = _phones(settings, url, engine, delivery_smsc_poll=False)
    rid = world.receipt(PHONE)
    worker = world.worker()
    _, work = worker.claim()
    worker._send(work)
    [w] = work
    assert w.provider_id is not None
    reporter = Session(engine)
    assert record_report(reporter, clock, w.provider_id, "delivered", "SMSC: статус 1")
    started = threading.Event()
    pg = engine.dialect.name == "postgresql"

    def mark(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if threading.current_thread() is recorder and not started.is_set():
            started.set()  # the record's first statement: it needs the reporter's lock

    recorder = threading.Thread(target=worker._record, args=(work,))
    event.listen(engine, "before_cursor_execute", mark)
    try:
        recorder.start()
        assert started.wait(10)
        if pg:  # the record is waiting on the report's advisory lock
            with engine.connect() as c:
                waiting = (
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
                )
                _until(lambda: c.execute(text(waiting)).scalar_one() == 1)
        reporter.commit()
    finally:
        reporter.close()
        recorder.join(30)
        event.remove(engine, "before_cursor_execute", mark)
    assert not recorder.is_alive()
    [a] = _attempts(world, rid)
    assert (a.status, a.provider_id) == ("delivered", w.provider_id)
    assert _state(world, rid) == DeliveryState.DELIVERED
    assert len(state.sent()) == 1


# --- a gateway refusing for now: retried later within the channel's wait -----------------------


def _retrying(engine: Engine, clock: SettableClock, url: str) -> dict[Channel, Any]:
    """SMS and VK through one adapter, its own retries quick (the worker's are on the clock)."""
    smsc = _adapter(url, max_wait_s=0.05, reports=StoredReports(engine))
    return {Channel.SMS: smsc, Channel.VK: smsc}


def _drive(world: World, worker: Any, rid: int, passes: int = 60) -> list[float]:
    """Passes of the worker, the clock moved to each next look, until the delivery ends;
    returns the times of the passes."""
    seen: list[float] = []
    for _ in range(passes):
        with Session(world.engine) as s:
            d = s.exec(select(Delivery).where(Delivery.receipt_id == rid)).one_or_none()
        if d is not None and d.state != DeliveryState.ACTIVE:
            return seen
        if d is not None:
            world.clock.advance(max(0.0, d.next_at - world.clock.wall()))
        seen.append(world.clock.wall())
        worker.run_once()
    raise AssertionError("the delivery did not end")


def test_an_outage_shorter_than_the_channel_wait_delivers_on_the_same_channel_once(
    engine: Engine, clock: SettableClock, gateway: tuple[SmscState, str]
) -> None:
    state, url = gateway
    state.now = clock.wall
    start = clock.wall()
    state.down_until = start + 150  # longer than the adapter's retries, within SMS's 10 min
    world = make_world(engine, clock)
    world.providers = _retrying(engine, clock, url)
    before = world.balance()
    rid = world.receipt(PHONE)
    worker = world.worker()
    worker.run_once()
    [a] = _attempts(world, rid)  # refused for now: still queued, the refusal on record
    assert (a.status, a.retries, a.error) == ("queued", 1, "SMSC: сервер ответил HTTP 503")
    with Session(engine) as s:  # due again after the first backoff
        d = s.exec(select(Delivery).where(Delivery.receipt_id == rid)).one()
        assert d.next_at == start + worker.retry_s
    seen = _drive(world, worker, rid)
    # backoff 5, 10, 20, 40, 60, 60 s: the send at 195 s goes through, its report at 200 s
    assert [t - start for t in seen] == [5, 15, 35, 75, 135, 195, 200]
    [a] = _attempts(world, rid)
    assert (a.channel, a.status, a.error, a.retries) == ("sms", "delivered", None, 6)
    [message] = state.sent()
    assert message.id == client_id(a.key or "") and message.channel == "sms"
    assert world.balance() == before - 250  # debited once


def test_an_outage_longer_than_the_channel_wait_moves_to_the_next_channel(
    engine: Engine, clock: SettableClock, gateway: tuple[SmscState, str]
) -> None:
    state, url = gateway
    state.now = clock.wall
    start = clock.wall()
    state.down_until = start + 11 * 60  # SMS waits 10 min; VK (5 min) outlives the rest
    world = make_world(engine, clock)
    world.providers = _retrying(engine, clock, url)
    before = world.balance()
    rid = world.receipt(PHONE)
    _drive(world, world.worker(), rid)
    sms, vk = _attempts(world, rid)
    assert (sms.channel, sms.status) == ("sms", "failed")
    assert sms.settled_at == start + 600  # the last try at the end of SMS's wait
    assert sms.error == "SMSC: сервер ответил HTTP 503 (попыток: 14; время ожидания канала вышло)"
    assert (vk.channel, vk.status, vk.error) == ("vk", "delivered", None)
    assert vk.retries > 0 and (vk.sent_at or 0) >= state.down_until
    assert [m.channel for m in state.sent()] == ["soc"]  # the SMS never went
    assert world.balance() == before - 100  # the SMS refunded


def test_a_rate_limit_is_retried_after_the_gateways_pause(
    engine: Engine, clock: SettableClock, gateway: tuple[SmscState, str]
) -> None:
    state, url = gateway
    state.now = clock.wall
    start = clock.wall()
    state.limited_until, state.retry_after_s = start + 50, 30
    world = make_world(engine, clock)
    world.providers = _retrying(engine, clock, url)
    rid = world.receipt(PHONE)
    worker = world.worker()
    seen = _drive(world, worker, rid)
    assert [t - start for t in seen[:3]] == [0, 30, 60]  # Retry-After (30 s) over the backoff
    [a] = _attempts(world, rid)
    assert (a.channel, a.status, a.retries) == ("sms", "delivered", 2)
    assert len(state.sent()) == 1


def test_a_restart_during_the_retry_wait_resumes_it_with_the_same_id(
    engine: Engine, clock: SettableClock, gateway: tuple[SmscState, str]
) -> None:
    state, url = gateway
    state.now = clock.wall
    state.down_until = clock.wall() + 20
    world = make_world(engine, clock)
    world.providers = _retrying(engine, clock, url)
    rid = world.receipt(PHONE)
    world.worker().run_once()  # refused for now, then the process dies
    [a] = _attempts(world, rid)
    assert (a.status, a.retries) == ("queued", 1)
    clock.advance(30)  # the outage is over; a new process with new adapters
    world.providers = _retrying(engine, clock, url)
    _drive(world, world.worker(), rid)
    [a] = _attempts(world, rid)
    assert (a.status, a.retries) == ("delivered", 1)
    [message] = state.sent()
    assert message.id == client_id(a.key or "")  # the key (and so the gateway's id) kept


def test_a_permanent_refusal_is_not_retried(
    engine: Engine, clock: SettableClock, gateway: tuple[SmscState, str]
) -> None:
    state, url = gateway
    state.plan("sms", Outcome.FORBIDDEN)
    world = make_world(engine, clock)
    world.providers = _retrying(engine, clock, url)
    rid = world.receipt(PHONE)
    worker = world.worker()
    worker.run_once()
    worker.run_once()  # no wait: the next channel at once
    got = [(a.channel, a.status, a.retries) for a in _attempts(world, rid)]
    assert got == [("sms", "failed", 0), ("vk", "delivered", 0)]


def test_the_cabinet_shows_the_gateways_words_and_the_retries_masked(
    client: TestClient,
    mailer: MemoryMailSender,
    engine: Engine,
    clock: SettableClock,
    gateway: tuple[SmscState, str],
) -> None:
    state, url = gateway
    state.now, state.delay_s = clock.wall, 1.0
    headers, _ = signed_in(client, mailer, 1)
    use_cookie(client, headers)
    world = make_world(engine, clock, company_id=company_id(client, headers))
    world.providers = {Channel.SMS: _adapter(url, max_wait_s=0.05)}  # SMS only: no fall-through
    state.plan("sms", Outcome.BOUNCE)
    world.receipt(PHONE)
    worker = world.worker()
    worker.run_once()
    clock.advance(worker.poll_s)  # status.php: 20, err 1
    worker.run_once()
    state.down_until = clock.wall() + 100
    world.receipt("+79167654321")
    worker.run_once()  # refused for now: queued
    html = client.get("/receipts/delivery").text
    assert f"SMSC: статус 20 (невозможно доставить), ошибка 1 ({NO_ONE})" in html
    assert "SMSC: сервер ответил HTTP 503" in html and "повторов: 1, ждёт" in html
    assert "+7********67" in html and "+7********21" in html
    assert "9161234567" not in html and "9167654321" not in html


# --- the adapter on the wire --------------------------------------------------------------------


def test_a_timed_out_send_is_resent_with_the_same_id_and_sent_once(
    gateway: tuple[SmscState, str],
) -> None:
    state, url = gateway
    state.plan("sms", Outcome.SLOW)  # kept, but answered after 1 s
    provider = _adapter(url, timeout_s=0.3)
    pid = provider.send("sms", PHONE, Outgoing(text="Чек"), "7:1:sms")
    assert pid == "smsc:7-1-sms"
    # first: is it there already (no); the re-try asked again (yes) and did not send again
    assert state.requests == [("status", "7-1-sms"), ("send", "7-1-sms"), ("status", "7-1-sms")]
    # a crash re-send with the same key from a new process: found there, not sent
    other = _adapter(url)
    assert other.send("sms", PHONE, Outgoing(text="Чек"), "7:1:sms") == pid
    assert state.requests[3:] == [("status", "7-1-sms")]
    # and without asking first, the gateway refuses the duplicate id; then the adapter asks
    blind = _adapter(url, check_first=False)
    assert blind.send("sms", PHONE, Outgoing(text="Чек"), "7:1:sms") == pid
    assert state.requests[4:] == [("send", "7-1-sms"), ("status", "7-1-sms")]
    assert len(state.sent(PHONE.lstrip("+"))) == 1
    assert state.balance_kop == 100_000 - 250


def test_network_failures_are_retried_then_refused_as_retry_later(
    gateway: tuple[SmscState, str],
) -> None:
    state, url = gateway
    state.plan("sms", Outcome.DOWN, Outcome.HTTP_429, Outcome.DELIVER)
    provider = _adapter(url)
    assert provider.send("sms", PHONE, Outgoing(text="Чек"), "1:1:sms") == "smsc:1-1-sms"
    assert len(state.sent()) == 1
    state.plan("sms", Outcome.DOWN, Outcome.DOWN, Outcome.DOWN)
    with pytest.raises(ProviderUnavailableError, match="HTTP 503") as exc:
        provider.send("sms", PHONE, Outgoing(text="Чек"), "2:1:sms")
    assert exc.value.retry_later
    state.plan("sms", *[Outcome.RATE_LIMIT] * 3)
    with pytest.raises(ProviderRateLimitedError, match="код 9"):
        provider.send("sms", PHONE, Outgoing(text="Чек"), "3:1:sms")
    assert len(state.sent()) == 1
    dead = _adapter("http://127.0.0.1:9", tries=2)  # nothing listens on the discard port
    with pytest.raises(ProviderUnavailableError, match="сеть: ConnectError"):
        dead.send("sms", PHONE, Outgoing(text="Чек"), "4:1:sms")


@pytest.mark.parametrize(
    ("outcome", "error", "text"),
    [
        (Outcome.BAD_NUMBER, InvalidNumberError, "неверный формат номера телефона (код 7)"),
        (Outcome.UNREACHABLE, InvalidNumberError, "не может быть доставлено (код 8)"),
        (Outcome.FORBIDDEN, MessageRejectedError, "сообщение запрещено"),
    ],
)
def test_gateway_refusals_are_typed(
    gateway: tuple[SmscState, str], outcome: Outcome, error: type[ProviderError], text: str
) -> None:
    state, url = gateway
    state.plan("viber", outcome)
    with pytest.raises(error, match=re.escape(text)) as exc:
        _adapter(url).send("viber", PHONE, Outgoing(text="Чек"), "1:1:viber")
    assert not exc.value.retry_later
    assert state.sent() == []
    assert state.requests == [("status", "1-1-viber"), ("send", "1-1-viber")]  # not retried


def test_auth_balance_and_number_errors(gateway: tuple[SmscState, str]) -> None:
    state, url = gateway
    wrong = SmscProvider(url, "oblako", "not-the-password")
    with pytest.raises(ProviderAuthError, match="код 2"):
        wrong.send("sms", PHONE, Outgoing(text="Чек"), "1:1:sms")
    with pytest.raises(InvalidNumberError, match="записан неверно"):
        _adapter(url).send("sms", "12345", Outgoing(text="Чек"), "2:1:sms")
    state.balance_kop = 0
    with pytest.raises(ProviderBalanceError, match="код 3"):
        _adapter(url).send("sms", PHONE, Outgoing(text="Чек"), "3:1:sms")
    with pytest.raises(MessageRejectedError, match="не подключён"):
        _adapter(url, flags={"sms": {}}).send("vk", PHONE, Outgoing(text="Чек"), "4:1:vk")
    assert [r for r in state.requests if r[1] in ("2-1-sms", "4-1-vk")] == []  # never asked
    api_key = SmscState(apikey="k-" + PASSWORD)
    server = _Serve(create_gateway(api_key))
    try:
        keyed = SmscProvider(server.url, None, "k-" + PASSWORD)
        assert keyed.send("ok", PHONE, "Чек", "5:1:ok") == "smsc:5-1-ok"
        assert [m.channel for m in api_key.sent()] == ["soc"]
    finally:
        server.stop()


def test_status_is_polled_while_no_report_came(gateway: tuple[SmscState, str]) -> None:
    state, url = gateway
    state.plan("sms", Outcome.DELIVER, Outcome.BOUNCE, Outcome.SILENT)
    clock = SettableClock()
    state.now, state.delay_s, state.bounce_err = clock.wall, 1.0, 6
    provider = _adapter(url)
    ids = [provider.send("sms", PHONE, Outgoing(text="Чек"), f"{n}:1:sms") for n in (1, 2, 3)]
    assert [provider.report(i) for i in ids] == ["accepted"] * 3  # within the gateway's delay
    clock.advance(state.delay_s)
    # a failure keeps the gateway's status and error codes, with their meaning
    bounced = "failed:SMSC: статус 20 (невозможно доставить), ошибка 6 (абонент не в сети)"
    assert [provider.report(i) for i in ids] == ["delivered", bounced, "accepted"]
    # after a restart the adapter does not know the phone: only kept reports decide
    assert _adapter(url).report(ids[0]) == "accepted"


def test_the_secret_is_never_logged_nor_in_errors(
    engine: Engine,
    clock: SettableClock,
    settings: Settings,
    gateway: tuple[SmscState, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    state, url = gateway
    caplog.set_level(logging.DEBUG)
    state.plan("sms", Outcome.DOWN, Outcome.DOWN, Outcome.DOWN)
    world = make_world(engine, clock)
    good = _settings(settings, url)
    world.providers = dict(phone_providers(good, engine, LoopbackChannels()))
    rid = world.receipt(PHONE)
    worker = world.worker()
    worker.run_once()
    first = [a.error or "" for a in _attempts(world, rid)]  # queued, to be tried again
    state.password = "changed-at-the-gateway"  # ours is now refused: auth failure
    for _ in range(3):
        clock.advance(worker.retry_s)
        worker.run_once()
    errors = [*first, *(a.error or "" for a in _attempts(world, rid))]
    assert errors[0].startswith("SMSC: сервер ответил HTTP 503")
    assert "код 2" in errors[1]
    provider = world.providers[Channel.SMS]
    texts = [caplog.text, *errors, repr(provider), repr(good), str(good.model_dump())]
    assert any("код 2" in t for t in texts[:1])  # the auth failure was logged…
    assert all(PASSWORD not in t for t in texts)  # …without the password
    state.password = PASSWORD
    timeout = _adapter(url, timeout_s=0.2, tries=1)
    state.plan("sms", Outcome.SLOW)
    with pytest.raises(ProviderUnavailableError) as exc:
        timeout.send("sms", PHONE, Outgoing(text="Чек"), "9:1:sms")
    assert PASSWORD not in str(exc.value) and PASSWORD not in repr(exc.value.__context__)


# --- the report endpoint and the configuration ----------------------------------------------------


def test_the_report_endpoint(fleet_url: str, engine: Engine, settings: Settings) -> None:
    post = httpx.post
    base = f"{fleet_url}/api/delivery/dlr/smsc"
    assert post(f"{base}/wrong-token", data={"id": "1-1-sms", "status": "1"}).status_code == 404
    assert post(f"{base}/{TOKEN}", data={"status": "1"}).status_code == 400
    assert post(f"{base}/{TOKEN}", data={"id": "a b", "status": "1"}).status_code == 400
    assert post(f"{base}/{TOKEN}", data={"id": "1-1-sms", "status": "0"}).text == "OK"
    with Session(engine) as s:
        assert s.exec(select(DeliveryReport)).all() == []  # not final: nothing kept
    for status in ("20", "1"):  # the first final word stays
        r = post(f"{base}/{TOKEN}", data={"id": "1-1-sms", "status": status, "err": "1"})
        assert r.text == "OK"
    with Session(engine) as s:
        [row] = s.exec(select(DeliveryReport)).all()
        assert (row.provider_id, row.status, row.detail) == (
            "smsc:1-1-sms",
            "failed",
            "SMSC: статус 20 (невозможно доставить), ошибка 1 (абонент не существует)",
        )
    # without a configured token the endpoint does not exist
    plain = _Serve(create_app(settings, engine=engine))
    try:
        assert post(f"{plain.url}/api/delivery/dlr/smsc/", data={}).status_code == 404
        assert post(f"{plain.url}/api/delivery/dlr/smsc/x", data={}).status_code == 404
    finally:
        plain.stop()


def test_a_report_cut_off_by_the_gateway_is_dropped_quietly(
    fleet_url: str, engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    """The gateway's own time-out closing the connection mid-body: no traceback, nothing kept,
    and the endpoint keeps answering (the gateway repeats the report)."""
    host, port = fleet_url.removeprefix("http://").split(":")
    body = "id=1-1-sms&status=1&err=0"
    with caplog.at_level(logging.INFO):
        with socket.create_connection((host, int(port))) as s:
            s.sendall(
                (
                    f"POST /api/delivery/dlr/smsc/{TOKEN} HTTP/1.1\r\nHost: x\r\n"
                    "Content-Type: application/x-www-form-urlencoded\r\n"
                    f"Content-Length: {len(body) + 50}\r\n\r\n{body}"
                ).encode()
            )
            time.sleep(0.2)  # the handler is waiting for the rest of the body
        deadline = time.monotonic() + 5
        while "оборван" not in caplog.text and time.monotonic() < deadline:
            time.sleep(0.05)
    assert "оборван" in caplog.text
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    with Session(engine) as s2:
        assert s2.exec(select(DeliveryReport)).all() == []
    ok = httpx.post(
        f"{fleet_url}/api/delivery/dlr/smsc/{TOKEN}", data={"id": "1-1-sms", "status": "1"}
    )
    assert ok.text == "OK"


def test_providers_from_the_settings(settings: Settings, engine: Engine) -> None:
    loop = LoopbackChannels()
    assert phone_providers(settings, engine, loop) == {}  # nothing configured: phones off
    dev = settings.model_copy(update={"delivery_loopback": True})
    assert set(phone_providers(dev, engine, loop)) == {
        Channel.SMS,
        Channel.VK,
        Channel.OK,
        Channel.VIBER,
    }
    smsc = _settings(settings, "https://smsc.example", delivery_ok_provider="loopback")
    got = phone_providers(smsc, engine, loop)
    assert got[Channel.SMS] is got[Channel.VK] and isinstance(got[Channel.SMS], SmscProvider)
    assert got[Channel.OK] is loop and Channel.VIBER not in got
    # Viber is off by default even with a provider named: the channel set decides
    built = build_providers(smsc.model_copy(update={"delivery_viber_provider": "smsc"}), engine)
    assert set(built) == {Channel.EMAIL, Channel.SMS, Channel.VK, Channel.OK}
    with pytest.raises(ProviderConfigError):
        smsc_provider(smsc.model_copy(update={"delivery_smsc_secret": None}), engine)
    relay = email_provider(
        settings.model_copy(
            update={"delivery_smtp_url": SecretStr("smtp://u:p%40ss@relay.example:587?starttls=1")}
        )
    )
    assert relay is not None and (relay.security, relay.password) == ("starttls", "p@ss")
    assert "p@ss" not in repr(relay)
