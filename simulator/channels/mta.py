"""A receiving mail server that can bounce: the far end of the e-mail channel in tests.

An aiosmtpd handler: every letter is kept; a letter to an address in ``bounce`` is accepted
(as a real relay does, 250) and later answered by a delivery status notification (RFC 3464:
``multipart/report; report-type=delivery-status`` with the per-recipient ``Action: failed``,
``Status: 5.1.1`` and the original's headers) addressed to the letter's envelope sender, sent
from the null reverse path (RFC 5321 §4.5.5). DSNs wait in ``pending`` until `flush` sends them,
so a test decides whether one arrives within the bounce window or after it. Written from the
RFCs, sharing no code with the fleet's parser.
"""

from __future__ import annotations

import email
import smtplib
import threading
from dataclasses import dataclass, field
from email.message import Message
from email.utils import formatdate, make_msgid
from typing import Any

__all__ = ["BouncingMta", "dsn_bytes"]


def dsn_bytes(
    *,
    to: str,
    recipient: str,
    original_headers: bytes,
    status: str = "5.1.1",
    diagnostic: str = "smtp; 550 5.1.1 User unknown",
    action: str = "failed",
    reporting_mta: str = "mx.buyer.example",
) -> bytes:
    """A DSN's bytes, as a receiving MTA writes them."""
    boundary = "=_dsn_boundary_0001"
    lines = [
        "From: Mail Delivery System <MAILER-DAEMON@" + reporting_mta + ">",
        f"To: {to}",
        "Subject: Undelivered Mail Returned to Sender",
        f"Date: {formatdate()}",
        f"Message-ID: {make_msgid(domain=reporting_mta)}",
        "MIME-Version: 1.0",
        "Content-Type: multipart/report; report-type=delivery-status;",
        f' boundary="{boundary}"',
        "",
        f"--{boundary}",
        "Content-Type: text/plain; charset=us-ascii",
        "",
        f"Your message to <{recipient}> could not be delivered.",
        "",
        f"--{boundary}",
        "Content-Type: message/delivery-status",
        "",
        f"Reporting-MTA: dns; {reporting_mta}",
        "",
        f"Final-Recipient: rfc822; {recipient}",
        f"Action: {action}",
        f"Status: {status}",
        f"Diagnostic-Code: {diagnostic}",
        "",
        f"--{boundary}",
        "Content-Type: text/rfc822-headers",
        "",
    ]
    head = "\r\n".join(lines).encode() + b"\r\n" + original_headers.rstrip(b"\r\n") + b"\r\n"
    return head + f"\r\n--{boundary}--\r\n".encode()


@dataclass
class BouncingMta:
    """Keeps every letter; queues a DSN for the addresses in ``bounce``."""

    bounce: set[str] = field(default_factory=set)
    action: str = "failed"
    letters: list[tuple[str, list[str], Message]] = field(default_factory=list)
    pending: list[tuple[str, bytes]] = field(default_factory=list)  # (to, DSN)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(  # noqa: N802  (aiosmtpd's hook name)
        self, server: Any, session: Any, envelope: Any
    ) -> str:
        raw: bytes = envelope.original_content or envelope.content
        letter = email.message_from_bytes(raw)
        head = raw.split(b"\r\n\r\n", 1)[0]
        with self._lock:
            self.letters.append((envelope.mail_from, list(envelope.rcpt_tos), letter))
            for rcpt in envelope.rcpt_tos:
                if rcpt.lower() in self.bounce and envelope.mail_from:
                    dsn = dsn_bytes(
                        to=envelope.mail_from,
                        recipient=rcpt,
                        original_headers=head,
                        action=self.action,
                    )
                    self.pending.append((envelope.mail_from, dsn))
        return "250 OK"

    def flush(self, host: str, port: int) -> int:
        """Send the queued DSNs to the bounce endpoint; returns how many went."""
        with self._lock:
            out, self.pending = self.pending, []
        with smtplib.SMTP(host, port, timeout=10) as smtp:
            for to, dsn in out:
                smtp.sendmail("", [to], dsn)
        return len(out)
