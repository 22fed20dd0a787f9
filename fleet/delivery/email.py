"""The e-mail channel: the receipt as HTML and plain text over SMTP, from the tag-1117 address.

Delivered means "the relay accepted it and no bounce arrived within the window"
(DeliveredOn.BOUNCE_WINDOW); bounces are fed in by `record_bounce` (from the DSN mailbox).
"""

from __future__ import annotations

import smtplib
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import make_msgid

from fleet.delivery.cascade import ProviderRefusedError

__all__ = ["SmtpEmailProvider"]


@dataclass(slots=True)
class SmtpEmailProvider:
    """Sends the e-mail channel's messages; the body is the plain text, ``html`` its twin."""

    host: str
    port: int
    sender: str  # tag 1117, "адрес электронной почты отправителя чека"
    subject: str = "Кассовый чек"
    html: str | None = None
    timeout_s: float = 10.0
    bounced: set[str] = field(default_factory=set)

    def send(self, channel: str, address: str, body: str) -> str:
        msg = EmailMessage()
        msg["From"] = self.sender
        msg["To"] = address
        msg["Subject"] = self.subject
        msgid = make_msgid(domain=self.sender.rpartition("@")[2] or None)
        msg["Message-ID"] = msgid
        msg.set_content(body)
        if self.html is not None:
            msg.add_alternative(self.html, subtype="html")
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout_s) as smtp:
                smtp.send_message(msg)
        except (OSError, smtplib.SMTPException) as exc:
            raise ProviderRefusedError(f"SMTP: {type(exc).__name__}: {exc}"[:300]) from exc
        return msgid

    def record_bounce(self, message_id: str) -> None:
        """A delivery-status notification named this message: it failed."""
        self.bounced.add(message_id)

    def report(self, provider_id: str) -> str:
        return "bounced" if provider_id in self.bounced else "accepted"
