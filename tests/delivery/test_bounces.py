"""Bounces off the wire: the letter goes by real SMTP to a receiving MTA that answers with an
RFC 3464 DSN to the VERP envelope sender; the fleet's bounce endpoint reads it. Within the
window the e-mail fails and the cascade falls through to SMS; after it, the DSN is kept and
nothing is sent again."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from aiosmtpd.controller import Controller
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from fleet.core.clock import SettableClock
from fleet.delivery.bounces import BounceInbox, BounceOutcome, parse_dsn, verp_address, verp_key
from fleet.delivery.channels import CHANNELS, Channel
from fleet.delivery.email import SmtpEmailProvider
from fleet.delivery.models import Delivery, DeliveryAttempt
from fleet.delivery.routes import set_route
from fleet.delivery.worker import DeliveryState
from simulator.channels import BouncingMta, dsn_bytes
from tests.delivery.world import SECRET, World, make_world

DOMAIN = "bounces.oblako.test"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Mail:
    world: World
    mta: BouncingMta
    mta_port: int
    inbox: BounceInbox
    inbox_port: int

    def flush(self) -> int:
        return self.mta.flush("127.0.0.1", self.inbox_port)


@pytest.fixture(name="mail")
def fixture_mail(engine: Engine, clock: SettableClock) -> Iterator[Mail]:
    world = make_world(engine, clock)
    mta = BouncingMta(bounce={"nobody@mail.ru"})
    inbox = BounceInbox(lambda: Session(engine), clock, SECRET, DOMAIN)
    mta_port, inbox_port = _free_port(), _free_port()
    servers = [
        Controller(mta, hostname="127.0.0.1", port=mta_port),
        Controller(inbox, hostname="127.0.0.1", port=inbox_port),
    ]
    for server in servers:
        server.start()
    smtp = SmtpEmailProvider(
        "127.0.0.1",
        mta_port,
        sender="cheki@romashka.ru",
        bounce_domain=DOMAIN,
        bounce_secret=SECRET,
    )
    world.providers = {**world.providers, Channel.EMAIL: smtp}
    with Session(engine) as s:
        set_route(s, clock, world.company_id, ["email", "sms"])
        s.commit()
    try:
        yield Mail(world, mta, mta_port, inbox, inbox_port)
    finally:
        smtp.close()
        for server in servers:
            server.stop()


def _attempts(world: World, receipt_id: int) -> list[DeliveryAttempt]:
    with Session(world.engine) as s:
        return list(
            s.exec(
                select(DeliveryAttempt)
                .where(DeliveryAttempt.receipt_id == receipt_id)
                .order_by(col(DeliveryAttempt.id))
            )
        )


def _state(world: World, receipt_id: int) -> str:
    with Session(world.engine) as s:
        return s.exec(select(Delivery.state).where(Delivery.receipt_id == receipt_id)).one()


def test_a_bounced_email_fails_within_the_window(mail: Mail) -> None:
    world = mail.world
    rid = world.receipt("nobody@mail.ru")
    worker = world.worker()
    worker.run_once()
    [sender, rcpts, letter] = mail.mta.letters[0]
    assert rcpts == ["nobody@mail.ru"]
    [a] = _attempts(world, rid)
    assert a.status == "sent" and verp_key(SECRET, sender, DOMAIN) == a.key
    assert letter["Message-ID"] == a.provider_id

    world.clock.advance(60)  # well within the 15-minute window
    assert mail.flush() == 1
    assert mail.inbox.outcomes == [BounceOutcome.FAILED]
    [a] = _attempts(world, rid)
    assert a.status == "failed" and a.bounced_at is not None
    assert a.error is not None and a.error.startswith("bounced 5.1.1")
    assert "User unknown" in (a.bounce or "")

    worker.run_once()
    # an e-mail contact's order is e-mail only (SMS needs a phone): the cascade ends failed
    assert _state(world, rid) == DeliveryState.FAILED
    assert len(mail.mta.letters) == 1  # never a second letter on the same channel


def test_a_late_dsn_is_recorded_and_sends_nothing_again(mail: Mail) -> None:
    world = mail.world
    rid = world.receipt("nobody@mail.ru")
    worker = world.worker()
    worker.run_once()
    world.clock.advance(CHANNELS[Channel.EMAIL].wait_s + 1)
    worker.run_once()  # the window passed without a bounce: delivered
    assert _state(world, rid) == DeliveryState.DELIVERED
    assert mail.flush() == 1  # the DSN comes late
    assert mail.inbox.outcomes == [BounceOutcome.LATE]
    [a] = _attempts(world, rid)
    assert a.status == "delivered" and a.error is None
    assert a.bounced_at is not None and (a.bounce or "").startswith("bounced 5.1.1")
    for _ in range(3):
        world.clock.advance(60)
        worker.run_once()
    assert len(_attempts(world, rid)) == 1 and len(mail.mta.letters) == 1
    assert _state(world, rid) == DeliveryState.DELIVERED


def test_a_delayed_notice_changes_nothing(mail: Mail) -> None:
    world = mail.world
    mail.mta.action = "delayed"
    rid = world.receipt("nobody@mail.ru")
    world.worker().run_once()
    mail.flush()
    assert mail.inbox.outcomes == [BounceOutcome.IGNORED]
    assert _attempts(world, rid)[0].status == "sent"


def test_the_endpoint_refuses_addresses_that_are_not_ours(mail: Mail) -> None:
    import smtplib

    forged = verp_address("another-secret", "1:1:email", DOMAIN)
    with smtplib.SMTP("127.0.0.1", mail.inbox_port) as smtp:
        for rcpt in (forged, "postmaster@" + DOMAIN, verp_address(SECRET, "1:1:email", "x.ru")):
            with pytest.raises(smtplib.SMTPRecipientsRefused):
                smtp.sendmail("", [rcpt], b"Subject: x\r\n\r\nx\r\n")


def test_a_bounced_email_falls_through_to_sms(mail: Mail, engine: Engine) -> None:
    """A delivery whose order goes on after e-mail (set on the row: the routes give an e-mail
    contact e-mail channels only): the DSN fails the e-mail and the next pass sends the SMS,
    once, and the cascade ends on its delivery report."""
    world = mail.world
    rid = world.receipt("nobody@mail.ru")
    worker = world.worker()
    worker.run_once()  # the e-mail goes out
    with Session(engine) as s:
        d = s.exec(select(Delivery).where(Delivery.receipt_id == rid)).one()
        d.order = ["email", "sms"]
        s.add(d)
        s.commit()
    world.clock.advance(45)
    mail.flush()
    worker.run_once()
    got = [(a.channel, a.status) for a in _attempts(world, rid)]
    assert got == [("email", "failed"), ("sms", "sent")]
    assert world.fake.counts()[("sms", "nobody@mail.ru")] == 1
    world.clock.advance(60)
    worker.run_once()
    assert _state(world, rid) == DeliveryState.DELIVERED
    assert len(mail.mta.letters) == 1


# --- the wire formats --------------------------------------------------------------------


@given(
    delivery=st.integers(1, 10**9),
    round_=st.integers(1, 1000),
    channel=st.sampled_from(["email"]),
)
def test_verp_round_trip_and_tamper(delivery: int, round_: int, channel: str) -> None:
    key = f"{delivery}:{round_}:{channel}"
    address = verp_address(SECRET, key, DOMAIN)
    assert verp_key(SECRET, address, DOMAIN) == key
    assert verp_key(SECRET, address.upper(), DOMAIN) == key  # local parts may be re-cased
    assert verp_key("other", address, DOMAIN) is None
    other = address.replace(f"+{delivery}.", f"+{delivery + 1}.")
    assert verp_key(SECRET, other, DOMAIN) is None


def test_parse_dsn_reads_the_recipient_status_and_original_id() -> None:
    head = b"From: cheki@romashka.ru\r\nMessage-ID: <abc@romashka.ru>\r\nSubject: x"
    dsn = parse_dsn(dsn_bytes(to="b@x.ru", recipient="ivan@mail.ru", original_headers=head))
    assert dsn is not None and dsn.failed
    assert (dsn.status, dsn.recipient, dsn.message_id) == (
        "5.1.1",
        "ivan@mail.ru",
        "<abc@romashka.ru>",
    )
    assert dsn.describe() == "bounced 5.1.1: smtp; 550 5.1.1 User unknown"


def test_parse_dsn_ignores_mail_that_is_not_a_report() -> None:
    assert parse_dsn(b"Subject: out of office\r\n\r\nI am away\r\n") is None
    bad = dsn_bytes(to="b@x.ru", recipient="i@m.ru", original_headers=b"X: y").replace(
        b"report-type=delivery-status", b"report-type=disposition-notification"
    )
    assert parse_dsn(bad) is None


def test_the_apps_delivery_thread_serves_the_endpoint_and_verps_its_letters(
    mail: Mail, engine: Engine
) -> None:
    """The settings wire it: the provider's envelope sender is VERP in the configured domain
    and `start_bounce_inbox` listens where the settings say, recording into the database."""
    from fleet.core.config import Settings
    from fleet.delivery.runner import build_providers, start_bounce_inbox

    world = mail.world
    port = _free_port()
    settings = Settings(
        environment="test",
        database_url="sqlite://",
        secret_key=SECRET,
        smtp_host="127.0.0.1",
        smtp_port=mail.mta_port,
        delivery_bounce_domain=DOMAIN,
        delivery_bounce_listen=f"127.0.0.1:{port}",
    )
    email_provider = build_providers(settings)[Channel.EMAIL]
    assert isinstance(email_provider, SmtpEmailProvider)
    assert email_provider.bounce_domain == DOMAIN
    world.providers = {**world.providers, Channel.EMAIL: email_provider}
    inbox = start_bounce_inbox(engine, world.clock, settings)
    assert inbox is not None
    try:
        rid = world.receipt("nobody@mail.ru")
        world.worker().run_once()
        mail.mta.flush("127.0.0.1", port)
        [a] = _attempts(world, rid)
        assert a.status == "failed" and (a.bounce or "").startswith("bounced 5.1.1")
    finally:
        inbox.stop()
        email_provider.close()
    off = settings.model_copy(update={"delivery_bounce_listen": None})
    assert start_bounce_inbox(engine, world.clock, off) is None
