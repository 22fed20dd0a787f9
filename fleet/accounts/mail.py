"""Outgoing e-mail through a pluggable sender: an in-memory sink (dev, tests) or SMTP."""

from __future__ import annotations

import logging
import smtplib
import threading
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Protocol

__all__ = ["Attachment", "MailSender", "MemoryMailSender", "OutgoingMail", "SmtpMailSender"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Attachment:
    """A file attached to a message."""

    filename: str
    content: bytes
    maintype: str = "application"
    subtype: str = "octet-stream"


@dataclass(frozen=True)
class OutgoingMail:
    """One message: plain text, and optionally an HTML alternative of the same content."""

    to: str
    subject: str
    body: str
    html: str | None = None
    attachments: tuple[Attachment, ...] = ()  # files (an auto-report)


class MailSender(Protocol):
    """Anything that can send an `OutgoingMail`."""

    def send(self, mail: OutgoingMail) -> None:
        """Send, or raise OSError."""
        ...


class MemoryMailSender:
    """Keeps messages in a list (and logs them): the development default and the test sink."""

    def __init__(self) -> None:
        """An empty outbox."""
        self.outbox: list[OutgoingMail] = []
        self._lock = threading.Lock()

    def send(self, mail: OutgoingMail) -> None:
        """Append to the outbox."""
        log.info("mail to %s: %s\n%s", mail.to, mail.subject, mail.body)
        with self._lock:
            self.outbox.append(mail)


class SmtpMailSender:
    """Sends through an SMTP server (optionally STARTTLS and login)."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        sender: str,
        starttls: bool = False,
        username: str | None = None,
        password: str | None = None,
        timeout_s: float = 10.0,
    ) -> None:
        """Where and as whom to send."""
        self.host, self.port, self.sender = host, port, sender
        self.starttls, self.username, self.password = starttls, username, password
        self.timeout_s = timeout_s

    def send(self, mail: OutgoingMail) -> None:
        """One SMTP session per message."""
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = mail.to
        message["Subject"] = mail.subject
        message.set_content(mail.body)
        if mail.html is not None:
            message.add_alternative(mail.html, subtype="html")
        # after the alternative: attaching turns the message into multipart/mixed
        for a in mail.attachments:
            message.add_attachment(
                a.content, maintype=a.maintype, subtype=a.subtype, filename=a.filename
            )
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout_s) as smtp:
            if self.starttls:
                smtp.starttls()
            if self.username:
                smtp.login(self.username, self.password or "")
            smtp.send_message(message)
