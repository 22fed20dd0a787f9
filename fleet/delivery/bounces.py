"""Bounces: delivery status notifications (RFC 3464) that turn a sent e-mail into a failed one.

E-mail counts as delivered when the relay accepted it and no bounce came within the window
(channels.py). Each letter's envelope sender (the SMTP ``MAIL FROM``, where every MTA sends its
DSN, RFC 5321 §4.5.5) is a VERP address naming the attempt: ``bounce+<key>.<tag>@<domain>``
with ``tag`` an HMAC of the key, so a forged bounce cannot fail someone else's receipt. The
fleet's inbound SMTP endpoint (`BounceInbox`, aiosmtpd) accepts mail only for such addresses,
reads the ``multipart/report; report-type=delivery-status`` and records it:

* the attempt still waiting (sent, within the window): FAILED with the DSN's status, and the
  delivery is due at once, so the cascade moves on to the next channel;
* the window already over (DELIVERED) or the attempt settled otherwise: the DSN is kept on the
  attempt (``bounced_at``, ``bounce``) and nothing is sent again — the law counted the letter
  sent, and a second channel would be a second receipt.

Only ``Action: failed`` (a permanent 5.x.x) counts; ``delayed`` is the MTA still trying.
"""

from __future__ import annotations

import asyncio
import enum
import hashlib
import hmac
import re
from collections.abc import Callable
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import Message
from typing import Any, Final

from sqlalchemy import Table, and_, update
from sqlmodel import Session, select

from fleet.core.clock import Clock
from fleet.delivery.cascade import AttemptStatus
from fleet.delivery.channels import Channel
from fleet.delivery.models import Delivery, DeliveryAttempt

__all__ = [
    "BounceInbox",
    "BounceOutcome",
    "Dsn",
    "parse_dsn",
    "record_dsn",
    "verp_address",
    "verp_key",
]

_DELIVERY: Table = Delivery.__table__  # type: ignore[attr-defined]
_LOCAL: Final = "bounce"
_VERP: Final = re.compile(r"^bounce\+(\d+)\.(\d+)\.([a-z]+)\.([0-9a-f]{12})@(.+)$", re.I)


def _tag(secret: str, key: str) -> str:
    return hmac.new(secret.encode(), f"verp:{key}".encode(), hashlib.sha256).hexdigest()[:12]


def verp_address(secret: str, key: str, domain: str) -> str:
    """The envelope sender for attempt ``key`` (``<delivery>:<round>:<channel>``)."""
    return f"{_LOCAL}+{key.replace(':', '.')}.{_tag(secret, key)}@{domain}"


def verp_key(secret: str, address: str, domain: str | None = None) -> str | None:
    """The attempt key a VERP address names, or None (not ours, another domain, bad tag)."""
    m = _VERP.match(address.strip().strip("<>"))
    if m is None or (domain is not None and m.group(5).lower() != domain.lower()):
        return None
    key = f"{m.group(1)}:{m.group(2)}:{m.group(3).lower()}"
    return key if hmac.compare_digest(m.group(4).lower(), _tag(secret, key)) else None


@dataclass(frozen=True, slots=True)
class Dsn:
    """What a delivery status notification says about one recipient."""

    action: str  # failed | delayed | delivered | relayed | expanded (RFC 3464 §2.3.3)
    status: str  # e.g. 5.1.1
    recipient: str | None
    diagnostic: str | None
    message_id: str | None  # of the original letter (its returned headers)

    @property
    def failed(self) -> bool:
        """A permanent failure: the letter will not arrive."""
        return self.action == "failed"

    def describe(self) -> str:
        """The line kept on the attempt."""
        text = f"bounced {self.status}"
        if self.diagnostic:
            text += f": {self.diagnostic}"
        return text[:300]


def parse_dsn(raw: bytes) -> Dsn | None:
    """The first recipient's report of a ``multipart/report; report-type=delivery-status``
    message, or None when ``raw`` is not a DSN (an auto-reply, spam to the bounce address)."""
    msg = message_from_bytes(raw, policy=policy.compat32)
    if msg.get_content_type() != "multipart/report":
        return None
    if str(msg.get_param("report-type", "")).lower() != "delivery-status":
        return None
    blocks: list[Message] = []
    original: str | None = None
    for part in msg.walk():
        kind = part.get_content_type()
        if kind in ("message/delivery-status", "message/global-delivery-status"):
            payload = part.get_payload()
            if isinstance(payload, list):
                blocks = [b for b in payload if isinstance(b, Message)]
        elif kind == "message/rfc822":
            inner = part.get_payload()
            if isinstance(inner, list) and inner and isinstance(inner[0], Message):
                original = inner[0].get("Message-ID")
        elif kind == "text/rfc822-headers":
            body = part.get_payload(decode=True)
            if isinstance(body, bytes):
                original = message_from_bytes(body).get("Message-ID")
    # the first block holds the per-message fields, each next one a recipient's
    for block in blocks[1:]:
        action = str(block.get("Action", "")).strip().lower()
        if not action:
            continue
        recipient = block.get("Final-Recipient") or block.get("Original-Recipient")
        diagnostic = block.get("Diagnostic-Code")
        return Dsn(
            action=action,
            status=str(block.get("Status", "")).strip(),
            recipient=_address_of(recipient),
            diagnostic=" ".join(str(diagnostic).split()) if diagnostic else None,
            message_id=str(original).strip() if original else None,
        )
    return None


def _address_of(field: Any) -> str | None:
    """``rfc822; ivan@mail.ru`` → ``ivan@mail.ru``."""
    if field is None:
        return None
    return str(field).partition(";")[2].strip() or str(field).strip()


class BounceOutcome(enum.StrEnum):
    """What a DSN did."""

    FAILED = "failed"  # the attempt failed within its window: the cascade moves on
    LATE = "late"  # recorded on an attempt already settled: nothing sent again
    IGNORED = "ignored"  # not a permanent failure (delayed, delivered)
    UNKNOWN = "unknown"  # names no e-mail attempt of ours


def record_dsn(
    session: Session,
    clock: Clock,
    dsn: Dsn,
    *,
    key: str | None = None,
    message_id: str | None = None,
) -> BounceOutcome:
    """Record ``dsn`` against the attempt ``key`` names (else the one with the Message-ID).
    Does not commit."""
    if not dsn.failed:
        return BounceOutcome.IGNORED
    message_id = message_id or dsn.message_id
    if key is None and message_id is None:
        return BounceOutcome.UNKNOWN
    q = select(DeliveryAttempt).where(DeliveryAttempt.channel == Channel.EMAIL.value)
    q = q.where(
        DeliveryAttempt.key == key if key is not None else DeliveryAttempt.provider_id == message_id
    )
    a = session.exec(q).first()
    if a is None or a.delivery_id is None:
        return BounceOutcome.UNKNOWN
    now = clock.wall()
    a.bounced_at, a.bounce = now, dsn.describe()
    session.add(a)
    # SENT: waiting for its window; QUEUED: the bounce beat the worker's record of the send
    if a.status not in (AttemptStatus.SENT.value, AttemptStatus.QUEUED.value):
        return BounceOutcome.LATE
    waiting = a.status == AttemptStatus.SENT.value
    a.status, a.error, a.settled_at = AttemptStatus.FAILED.value, a.bounce, now
    if waiting:  # a QUEUED one is still in a pass: its record makes the delivery due
        session.connection().execute(
            update(_DELIVERY)
            .where(and_(_DELIVERY.c.id == a.delivery_id, _DELIVERY.c.state == "active"))
            .values(next_at=now, updated_at=now)
        )
    return BounceOutcome.FAILED


class BounceInbox:
    """The aiosmtpd handler of the inbound bounce endpoint (``MAIL FROM`` of every letter).

    Accepts recipients that are valid VERP addresses of ``domain`` only (anything else: 550), so
    the endpoint is no open relay; a DSN is recorded in a database session of its own, off the
    SMTP loop's thread."""

    def __init__(
        self, session_factory: Callable[[], Session], clock: Clock, secret: str, domain: str
    ) -> None:
        """Where to record, and what addresses are ours."""
        self.session_factory = session_factory
        self.clock = clock
        self.secret = secret
        self.domain = domain
        self.outcomes: list[BounceOutcome] = []  # for the logs and the tests

    async def handle_RCPT(  # noqa: N802  (aiosmtpd's hook name)
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if verp_key(self.secret, address, self.domain) is None:
            return "550 5.1.1 Нет такого адреса"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802
        self, server: Any, session: Any, envelope: Any
    ) -> str:
        raw = envelope.original_content or envelope.content
        data = raw if isinstance(raw, bytes) else str(raw).encode()
        keys = [verp_key(self.secret, r, self.domain) for r in envelope.rcpt_tos]
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(None, self._record, data, [k for k in keys if k])
        return "250 OK"

    def _record(self, raw: bytes, keys: list[str]) -> None:
        dsn = parse_dsn(raw)
        if dsn is None:
            return
        with self.session_factory() as session:
            for key in keys:
                self.outcomes.append(record_dsn(session, self.clock, dsn, key=key))
            session.commit()
