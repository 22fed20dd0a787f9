"""A real SMTP server for tests (aiosmtpd on a free local port) that keeps what it receives."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope
from aiosmtpd.smtp import Session as SmtpSession

from fleet.accounts.mail import SmtpMailSender

__all__ = ["SmtpSink", "smtp_sink"]


class SmtpSink:
    """The letters received, parsed (``EmailMessage``), with their envelope recipients."""

    def __init__(self) -> None:
        self.letters: list[tuple[list[str], EmailMessage]] = []
        self.port = 0

    async def handle_DATA(  # noqa: N802  (aiosmtpd's hook name)
        self, server: SMTP, session: SmtpSession, envelope: Envelope
    ) -> str:
        """Keep the letter."""
        msg = message_from_bytes(envelope.original_content or b"", policy=policy.default)
        assert isinstance(msg, EmailMessage)
        self.letters.append((list(envelope.rcpt_tos), msg))
        return "250 OK"

    def sender(self) -> SmtpMailSender:
        """The app's SMTP sender pointed at this server."""
        return SmtpMailSender(host="127.0.0.1", port=self.port, sender="robot@oblako.example")

    def to(self, address: str) -> list[EmailMessage]:
        """Letters whose envelope names the address."""
        return [m for rcpt, m in self.letters if address in rcpt]


@contextmanager
def smtp_sink() -> Iterator[SmtpSink]:
    """Run a sink on a free port while the block runs."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    sink = SmtpSink()
    sink.port = port
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield sink
    finally:
        controller.stop()
