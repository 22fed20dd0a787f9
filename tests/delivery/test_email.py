"""The e-mail channel over real SMTP (aiosmtpd): HTML + text, sender = tag 1117, bounces."""

from __future__ import annotations

import email
import socket
from collections.abc import Iterator
from email.message import Message
from pathlib import Path

import dkim  # type: ignore[import-untyped]
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope
from aiosmtpd.smtp import Session as SmtpSession
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from fleet.core.clock import SettableClock
from fleet.delivery.cascade import AttemptStatus, Cascade, ProviderRefusedError
from fleet.delivery.channels import CHANNELS, Channel
from fleet.delivery.email import SmtpEmailProvider
from fleet.delivery.message import Outgoing
from fleet.delivery.models import DeliveryAttempt, DeliveryPrefs
from tests.delivery.world import make_world


class _Inbox:
    def __init__(self) -> None:
        self.letters: list[Message] = []

    async def handle_DATA(  # noqa: N802  (aiosmtpd's hook name)
        self, server: SMTP, session: SmtpSession, envelope: Envelope
    ) -> str:
        raw = envelope.content
        assert isinstance(raw, bytes)
        self.letters.append(email.message_from_bytes(raw))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(name="smtp")
def fixture_smtp() -> Iterator[tuple[_Inbox, int]]:
    port = _free_port()
    inbox = _Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def test_receipt_letter_has_text_and_html_from_1117(smtp: tuple[_Inbox, int]) -> None:
    inbox, port = smtp
    provider = SmtpEmailProvider("127.0.0.1", port, sender="cheki@shop.ru")
    body = Outgoing("Итог: 100,00", html="<p>Итог: 100,00</p>")
    c = Cascade("ivan@mail.ru", [Channel.EMAIL], body, provider, lambda _: True)
    c.step(0.0)
    assert len(inbox.letters) == 1
    letter = inbox.letters[0]
    assert letter["From"] == "cheki@shop.ru" and letter["To"] == "ivan@mail.ru"
    kinds = [p.get_content_type() for p in letter.walk()]
    assert "text/plain" in kinds and "text/html" in kinds
    assert c.attempts[0].provider_id == letter["Message-ID"]
    c.step(CHANNELS[Channel.EMAIL].wait_s)
    assert c.attempts[0].status is AttemptStatus.DELIVERED


def test_bounce_within_window_fails_the_attempt(smtp: tuple[_Inbox, int]) -> None:
    _, port = smtp
    provider = SmtpEmailProvider("127.0.0.1", port, sender="cheki@shop.ru")
    c = Cascade("ivan@mail.ru", [Channel.EMAIL], Outgoing("чек"), provider, lambda _: True)
    c.step(0.0)
    pid = c.attempts[0].provider_id
    assert pid is not None
    provider.record_bounce(pid)
    c.step(60.0)
    assert c.attempts[0].status is AttemptStatus.FAILED and c.done and not c.delivered


def test_unreachable_relay_is_a_refusal() -> None:
    provider = SmtpEmailProvider("127.0.0.1", _free_port(), sender="cheki@shop.ru", timeout_s=2)
    with pytest.raises(ProviderRefusedError):
        provider.send("email", "ivan@mail.ru", Outgoing("чек"), "k1")


DATA = Path(__file__).parent / "data"


class _RawInbox:
    def __init__(self) -> None:
        self.raw: list[bytes] = []

    async def handle_DATA(  # noqa: N802
        self, server: SMTP, session: SmtpSession, envelope: Envelope
    ) -> str:
        assert isinstance(envelope.content, bytes)
        self.raw.append(envelope.content)
        return "250 OK"


def test_worker_mails_the_receipt_from_1117_signed_with_the_merchants_dkim(
    engine: Engine, clock: SettableClock
) -> None:
    inbox = _RawInbox()
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        world = make_world(engine, clock)
        with Session(engine) as s:
            s.add(
                DeliveryPrefs(
                    company_id=world.company_id,
                    dkim_domain="romashka.ru",
                    dkim_selector="oblako",
                    dkim_key_pem=(DATA / "dkim-test.pem").read_text(),
                    updated_at=clock.wall(),
                )
            )
            s.commit()
        provider = SmtpEmailProvider("127.0.0.1", port, sender="noreply@oblako.ru")
        world.providers = {Channel.EMAIL: provider}
        rid = world.receipt("ivan@mail.ru")
        worker = world.worker()
        worker.run_once()
        worker.close()
        provider.close()
    finally:
        controller.stop()
    [raw] = inbox.raw
    letter = email.message_from_bytes(raw)
    assert letter["From"] == "cheki@romashka.ru"  # tag 1117 of the register
    kinds = [p.get_content_type() for p in letter.walk()]
    assert "text/plain" in kinds and "text/html" in kinds
    html = next(p for p in letter.walk() if p.get_content_type() == "text/html")
    payload = html.get_payload(decode=True)
    assert isinstance(payload, bytes)
    text = payload.decode()
    assert "123,45" in text and "ФП 1234567890" in text and "/r/" in text
    public = (DATA / "dkim-test.pub.b64").read_text().strip()

    def dns(name: bytes, timeout: int = 5) -> bytes:
        assert name == b"oblako._domainkey.romashka.ru."
        return f"v=DKIM1; k=rsa; p={public}".encode()

    assert dkim.verify(raw, dnsfunc=dns)
    assert not dkim.verify(raw.replace(b"123,45", b"999,99"), dnsfunc=dns)
    with Session(engine) as s:
        a = s.exec(select(DeliveryAttempt).where(DeliveryAttempt.receipt_id == rid)).one()
    assert a.status == "sent" and a.provider_id == letter["Message-ID"]
