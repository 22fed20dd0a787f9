"""The e-mail channel: the receipt as HTML and plain text over SMTP, from the tag-1117 address.

Delivered means "the relay accepted it and no bounce arrived within the window"
(DeliveredOn.BOUNCE_WINDOW). With ``bounce_domain`` set, the envelope sender is a VERP
address naming the attempt, and the DSNs that come back to it are read by
`bounces.BounceInbox`. The connection to the relay is kept open between messages (a new TCP +
EHLO per receipt would cost more than the message) and re-opened once when the relay dropped
it. A merchant mailing from its own domain
signs with its DKIM key (dkimpy), so the receiving side can check the From domain.
"""

from __future__ import annotations

import contextlib
import smtplib
import threading
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import make_msgid, parseaddr

import dkim  # type: ignore[import-untyped]

from fleet.delivery.bounces import verp_address
from fleet.delivery.cascade import ProviderRefusedError
from fleet.delivery.message import DkimKey, Outgoing
from fleet.delivery.mime import letter_bytes

__all__ = ["SmtpEmailProvider", "build_message", "dkim_signature"]


def dkim_signature(raw: bytes, key: DkimKey) -> bytes:
    """The DKIM-Signature header line for ``raw`` (relaxed/simple, rsa-sha256)."""
    header: bytes = dkim.sign(
        raw,
        key.selector.encode(),
        key.domain.encode(),
        key.private_key_pem.encode(),
        include_headers=[b"from", b"to", b"subject", b"date", b"message-id"],
    )
    return header


def build_message(sender: str, address: str, message: Outgoing, key: str) -> EmailMessage:
    """The MIME message: text, its HTML alternative, Message-ID derived from the attempt key."""
    msg = EmailMessage()
    msg["From"] = message.sender or sender
    msg["To"] = address
    msg["Subject"] = message.subject
    domain = parseaddr(str(msg["From"]))[1].rpartition("@")[2] or None
    msg["Message-ID"] = make_msgid(idstring=key.replace(":", "."), domain=domain)
    # quoted-printable: SMTP refuses lines over 998 octets, and HTML has long ones
    msg.set_content(message.text, cte="quoted-printable")
    if message.html is not None:
        msg.add_alternative(message.html, subtype="html", cte="quoted-printable")
    return msg


@dataclass
class SmtpEmailProvider:
    """Sends the e-mail channel's messages; each sending thread keeps its own connection open
    (the worker sends a batch over a few threads: the relay's round trips overlap)."""

    host: str
    port: int
    sender: str  # the default tag-1117 address when the register gives none
    timeout_s: float = 10.0
    # VERP (bounces.py): the envelope sender names the attempt, so a DSN finds it
    bounce_domain: str | None = None
    bounce_secret: str = ""
    bounced: set[str] = field(default_factory=set)
    _local: threading.local = field(default_factory=threading.local)
    _all: list[smtplib.SMTP] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def send(self, channel: str, address: str, message: Outgoing | str, key: str) -> str:
        out = message if isinstance(message, Outgoing) else Outgoing(text=message)
        raw, message_id = self.letter(address, out, key)
        from_addr = (
            verp_address(self.bounce_secret, key, self.bounce_domain)
            if self.bounce_domain
            else parseaddr(out.sender or self.sender)[1]
        )
        for retry in (True, False):
            try:
                self._connect().sendmail(from_addr, [address], raw)
                break
            except smtplib.SMTPServerDisconnected as exc:
                self._drop()
                if not retry:
                    raise ProviderRefusedError(f"SMTP: соединение закрыто: {exc}") from exc
            except (OSError, smtplib.SMTPException) as exc:
                self._drop()
                raise ProviderRefusedError(f"SMTP: {type(exc).__name__}: {exc}"[:300]) from exc
        return message_id

    def letter(self, address: str, out: Outgoing, key: str) -> tuple[bytes, str]:
        """The letter's bytes (DKIM-signed when ``out`` says so) and its Message-ID."""
        header_from = out.sender or self.sender
        domain = parseaddr(header_from)[1].rpartition("@")[2] or None
        message_id = make_msgid(idstring=key.replace(":", "."), domain=domain)
        if header_from.isascii() and address.isascii():  # mime.py: 20x cheaper
            raw = letter_bytes(
                sender=header_from,
                to=address,
                subject=out.subject,
                message_id=message_id,
                text=out.text,
                html=out.html,
            )
        else:  # an internationalised address: the email package encodes it
            msg = build_message(self.sender, address, out, key)
            msg.replace_header("Message-ID", message_id)
            raw = msg.as_bytes(policy=SMTP)  # CRLF: sendmail passes bytes through as they are
        if out.dkim is not None:
            try:
                raw = dkim_signature(raw, out.dkim) + raw
            except dkim.DKIMException as exc:
                raise ProviderRefusedError(f"DKIM: {exc}"[:300]) from exc
        return raw, message_id

    def _connect(self) -> smtplib.SMTP:
        smtp: smtplib.SMTP | None = getattr(self._local, "smtp", None)
        if smtp is None:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout_s)
            self._local.smtp = smtp
            with self._lock:
                self._all.append(smtp)
        return smtp

    def _drop(self) -> None:
        smtp: smtplib.SMTP | None = getattr(self._local, "smtp", None)
        self._local.smtp = None
        if smtp is not None:
            with self._lock:
                if smtp in self._all:
                    self._all.remove(smtp)
            with contextlib.suppress(OSError):
                smtp.close()

    def close(self) -> None:
        """Say QUIT on every kept connection."""
        with self._lock:
            kept, self._all = self._all, []
        for smtp in kept:
            with contextlib.suppress(OSError, smtplib.SMTPException):
                smtp.quit()
        self._local = threading.local()

    def record_bounce(self, message_id: str) -> None:
        """A delivery-status notification named this message: it failed."""
        self.bounced.add(message_id)

    def report(self, provider_id: str) -> str:
        return "bounced" if provider_id in self.bounced else "accepted"
