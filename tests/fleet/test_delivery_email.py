"""The e-mail channel over real SMTP (aiosmtpd): HTML + text, sender = tag 1117, bounces."""

from __future__ import annotations

import email
import socket
from collections.abc import Iterator
from email.message import Message

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope
from aiosmtpd.smtp import Session as SmtpSession

from fleet.delivery.cascade import AttemptStatus, Cascade, ProviderRefusedError
from fleet.delivery.channels import CHANNELS, Channel
from fleet.delivery.email import SmtpEmailProvider


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
    provider = SmtpEmailProvider(
        "127.0.0.1", port, sender="cheki@shop.ru", html="<p>Итог: 100,00</p>"
    )
    c = Cascade("ivan@mail.ru", [Channel.EMAIL], "Итог: 100,00", provider, lambda _: True)
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
    c = Cascade("ivan@mail.ru", [Channel.EMAIL], "чек", provider, lambda _: True)
    c.step(0.0)
    pid = c.attempts[0].provider_id
    assert pid is not None
    provider.record_bounce(pid)
    c.step(60.0)
    assert c.attempts[0].status is AttemptStatus.FAILED and c.done and not c.delivered


def test_unreachable_relay_is_a_refusal() -> None:
    provider = SmtpEmailProvider("127.0.0.1", _free_port(), sender="cheki@shop.ru", timeout_s=2)
    with pytest.raises(ProviderRefusedError):
        provider.send("email", "ivan@mail.ru", "чек")
