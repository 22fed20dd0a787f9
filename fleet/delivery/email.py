"""The e-mail channel: the receipt as HTML and plain text over SMTP, from the tag-1117 address.

Delivered means "the relay accepted it and no bounce arrived within the window"
(DeliveredOn.BOUNCE_WINDOW). With ``bounce_domain`` set, the envelope sender is a VERP
address naming the attempt, and the DSNs that come back to it are read by
`bounces.BounceInbox`. The connection to the relay is kept open between messages (a new TCP +
EHLO per receipt would cost more than the message) and re-opened once when the relay dropped
it; it is protected by STARTTLS (RFC 3207) or TLS and logged in (AUTH PLAIN/LOGIN) when the
settings say so. A merchant mailing from its own domain
signs with its DKIM key (dkimpy), so the receiving side can check the From domain.
"""

from __future__ import annotations

import contextlib
import functools
import ipaddress
import re
import smtplib
import ssl
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import make_msgid, parseaddr
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import dkim  # type: ignore[import-untyped]

from fleet.delivery.bounces import verp_address
from fleet.delivery.cascade import ProviderRefusedError
from fleet.delivery.message import DkimKey, Outgoing
from fleet.delivery.mime import letter_bytes

__all__ = [
    "SMTP_SECURITY",
    "SmtpEmailProvider",
    "build_message",
    "dkim_signature",
    "transmit",
    "transmit_many",
]

#: how the connection to the relay is protected
SMTP_SECURITY = ("none", "starttls", "tls")


def _loopback(host: str) -> bool:
    """Is ``host`` this machine (where a password in plain text crosses no network)?"""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


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


_LEADING_DOT = re.compile(rb"(?m)^\.")


@functools.lru_cache(maxsize=1024)
def _mailbox(header: str) -> str:
    """The address in a From header (parsed once: the same few senders every letter)."""
    return parseaddr(header)[1]


def transmit(smtp: smtplib.SMTP, from_addr: str, to: str, raw: bytes) -> None:
    """One letter over ``smtp``. When the relay offers PIPELINING (RFC 2920), MAIL, RCPT and
    DATA go in one write and their three replies are read together, then the content: two round
    trips instead of smtplib's four. Otherwise (and for non-ASCII addresses) smtplib's sendmail.
    Raises smtplib's errors as sendmail does, the connection left usable (RSET) on a refusal."""
    smtp.ehlo_or_helo_if_needed()
    if not (smtp.has_extn("pipelining") and from_addr.isascii() and to.isascii()):
        smtp.sendmail(from_addr, [to], raw)
        return
    smtp.send(f"MAIL FROM:<{from_addr}>\r\nRCPT TO:<{to}>\r\nDATA\r\n")
    refused = _envelope_reply(smtp, from_addr, to)
    if refused is not None:
        raise refused
    smtp.send(_content(raw) + b".\r\n")
    code, text = smtp.getreply()
    if code != 250:
        with contextlib.suppress(smtplib.SMTPException, OSError):
            smtp.rset()
        raise smtplib.SMTPDataError(code, text)


def _end_of_data(smtp: smtplib.SMTP) -> smtplib.SMTPException | None:
    """The reply to a letter's end of data: None when accepted, else its refusal (the
    transaction is over either way, RFC 5321 §4.1.1.4: no RSET is needed)."""
    code, text = smtp.getreply()
    return None if code == 250 else smtplib.SMTPDataError(code, text)


def transmit_many(
    smtp: smtplib.SMTP,
    letters: Sequence[tuple[str, str, bytes]],
    done: list[smtplib.SMTPException | None],
) -> None:
    """``letters`` (envelope sender, recipient, bytes) over ``smtp``, appending to ``done``
    each letter's outcome once the relay answered it (None: accepted; else the refusal). With
    PIPELINING the next letter's MAIL, RCPT and DATA go in the write that ends the previous
    letter's content (RFC 2920 §3.1: DATA ends a group, the end of data may be followed by
    more commands): N + 1 round trips for N letters, one write and one read a letter. A lost
    connection or a broken reply raises, ``done`` telling how far the relay confirmed."""
    smtp.ehlo_or_helo_if_needed()
    pipelining = smtp.has_extn("pipelining")
    pending = b""  # the previous letter's content, sent with the next envelope
    for from_addr, to, raw in letters:
        if not (pipelining and from_addr.isascii() and to.isascii()):
            if pending:
                smtp.send(pending)
                pending = b""
                done.append(_end_of_data(smtp))
            try:
                transmit(smtp, from_addr, to, raw)
                done.append(None)
            except (smtplib.SMTPResponseException, smtplib.SMTPRecipientsRefused) as exc:
                done.append(exc)  # refused, the connection usable (a lost one raises on)
            continue
        smtp.send(pending + f"MAIL FROM:<{from_addr}>\r\nRCPT TO:<{to}>\r\nDATA\r\n".encode())
        if pending:
            pending = b""
            done.append(_end_of_data(smtp))
        refused = _envelope_reply(smtp, from_addr, to)
        if refused is not None:
            done.append(refused)
            continue
        pending = _content(raw) + b".\r\n"
    if pending:
        smtp.send(pending)
        done.append(_end_of_data(smtp))


def _envelope_reply(smtp: smtplib.SMTP, from_addr: str, to: str) -> smtplib.SMTPException | None:
    """The three replies to a pipelined MAIL, RCPT, DATA: None when DATA may go on (354),
    else the refusal, the connection left ready for the next envelope."""
    (mail, mail_text), (rcpt, rcpt_text), (data, data_text) = (smtp.getreply() for _ in "123")
    refused: smtplib.SMTPException | None = None
    if mail != 250:
        refused = smtplib.SMTPSenderRefused(mail, mail_text, from_addr)
    elif rcpt not in (250, 251):
        refused = smtplib.SMTPRecipientsRefused({to: (rcpt, rcpt_text)})
    elif data != 354:
        refused = smtplib.SMTPDataError(data, data_text)
    if refused is not None:
        if data == 354:  # DATA opened though the envelope was refused: end it with no content
            smtp.send(".\r\n")
            smtp.getreply()
        with contextlib.suppress(smtplib.SMTPException, OSError):
            smtp.rset()
    return refused


def _content(raw: bytes) -> bytes:
    """The letter as DATA content: dot-stuffed (RFC 5321 §4.5.2), ending in CRLF."""
    # the regular expression only when a line starts with a dot (a substring test is ~50×
    # cheaper, and quoted-printable bodies rarely have one)
    content = _LEADING_DOT.sub(b"..", raw) if raw.startswith(b".") or b"\n." in raw else raw
    return content if content.endswith(b"\r\n") else content + b"\r\n"


def _refused(exc: smtplib.SMTPException) -> ProviderRefusedError:
    return ProviderRefusedError(f"SMTP: {type(exc).__name__}: {exc}"[:300])


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
    # the relay's security (`smtp_security`): "none", "starttls" (RFC 3207) or "tls" (smtps),
    # and AUTH (PLAIN or LOGIN, RFC 4954) when a user is set
    security: str = "none"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    tls_context: ssl.SSLContext | None = field(default=None, repr=False)
    bounced: set[str] = field(default_factory=set)
    _local: threading.local = field(default_factory=threading.local)
    _all: list[smtplib.SMTP] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def send(self, channel: str, address: str, message: Outgoing | str, key: str) -> str:
        out = message if isinstance(message, Outgoing) else Outgoing(text=message)
        raw, message_id = self.letter(address, out, key)
        from_addr = self._envelope_sender(out, key)
        for retry in (True, False):
            try:
                transmit(self._connect(), from_addr, address, raw)
                break
            except smtplib.SMTPServerDisconnected as exc:
                self._drop()
                if not retry:
                    raise ProviderRefusedError(f"SMTP: соединение закрыто: {exc}") from exc
            except (OSError, smtplib.SMTPException) as exc:
                self._drop()
                raise ProviderRefusedError(f"SMTP: {type(exc).__name__}: {exc}"[:300]) from exc
        return message_id

    def send_many(
        self, items: Sequence[tuple[str, Outgoing, str]]
    ) -> list[str | ProviderRefusedError]:
        """Several letters (address, message, key) over this thread's connection, pipelined
        across letters (`transmit_many`): per letter its Message-ID or its refusal. A dropped
        connection is re-opened once for the letters the relay had not confirmed."""
        out: list[str | ProviderRefusedError] = []
        letters: list[tuple[str, str, bytes]] = []
        ids: list[str] = []
        index: list[int] = []  # out's position of each letter to transmit
        for address, message, key in items:
            try:
                raw, message_id = self.letter(address, message, key)
            except ProviderRefusedError as exc:
                out.append(exc)
                continue
            index.append(len(out))
            out.append(message_id)  # replaced by the refusal if the relay refuses
            ids.append(message_id)
            letters.append((self._envelope_sender(message, key), address, raw))
        if not letters:
            return out
        pos = 0
        for retry in (True, False):
            done: list[smtplib.SMTPException | None] = []
            error: ProviderRefusedError | None = None
            try:
                transmit_many(self._connect(), letters[pos:], done)
            except smtplib.SMTPServerDisconnected as exc:
                self._drop()
                if not retry:
                    error = ProviderRefusedError(f"SMTP: соединение закрыто: {exc}")
            except (OSError, smtplib.SMTPException) as exc:
                self._drop()
                error = ProviderRefusedError(f"SMTP: {type(exc).__name__}: {exc}"[:300])
            for i, refusal in enumerate(done, start=pos):
                if refusal is not None:
                    out[index[i]] = _refused(refusal)
            pos += len(done)
            if error is not None:
                for i in range(pos, len(letters)):
                    out[index[i]] = error
                break
            if pos >= len(letters):
                break
        return out

    def _envelope_sender(self, out: Outgoing, key: str) -> str:
        if self.bounce_domain:
            return verp_address(self.bounce_secret, key, self.bounce_domain)
        return _mailbox(out.sender or self.sender)

    def letter(self, address: str, out: Outgoing, key: str) -> tuple[bytes, str]:
        """The letter's bytes (DKIM-signed when ``out`` says so) and its Message-ID."""
        header_from = out.sender or self.sender
        domain = _mailbox(header_from).rpartition("@")[2] or None
        message_id = make_msgid(idstring=key.replace(":", "."), domain=domain)
        if header_from.isascii() and address.isascii():  # mime.py: 20x cheaper
            raw = letter_bytes(
                sender=header_from,
                to=address,
                subject=out.subject,
                message_id=message_id,
                text=out.text,
                html=out.html,
                body=out.body(),
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
            smtp = self._open()
            self._local.smtp = smtp
            with self._lock:
                self._all.append(smtp)
        return smtp

    def _open(self) -> smtplib.SMTP:
        """A new connection: TLS as configured, then AUTH when a user is set (smtplib picks
        the mechanism the relay's EHLO offers). Credentials go over plain text only to a
        relay on this host."""
        if self.security not in SMTP_SECURITY:
            raise ProviderRefusedError(f"SMTP: неизвестный режим защиты «{self.security}»")
        if self.username and self.security == "none" and not _loopback(self.host):
            raise ProviderRefusedError("SMTP: вход по паролю без TLS запрещён (starttls или tls)")
        context = self.tls_context or ssl.create_default_context()
        smtp: smtplib.SMTP
        if self.security == "tls":
            smtp = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout_s, context=context)
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout_s)
        try:
            if self.security == "starttls":
                smtp.starttls(context=context)  # refused (no STARTTLS offered): no fallback
            if self.username:
                smtp.login(self.username, self.password or "")
        except BaseException:
            smtp.close()
            raise
        return smtp

    @classmethod
    def from_url(cls, url: str, sender: str, **options: Any) -> SmtpEmailProvider:
        """From ``smtp://[user:password@]host[:port][?starttls=1]`` or ``smtps://…`` (ports 25
        and 465 by default); a bad URL is refused by name, the password never quoted."""
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ProviderRefusedError("SMTP: адрес сервера — smtp://… или smtps://…")
        query = dict(parse_qsl(parts.query))
        if parts.scheme == "smtps":
            security = "tls"
        elif query.get("starttls", "").lower() in ("1", "true", "yes"):
            security = "starttls"
        else:
            security = "none"
        return cls(
            parts.hostname,
            parts.port or (465 if security == "tls" else 25),
            sender,
            security=security,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            **options,
        )

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
