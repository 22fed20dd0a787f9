"""Callback delivery: receipt events POSTed to the company's URL, signed, retried with backoff.

An event (fiscalised, confirmed, failed; fleet/receipts/status.py queues them) is a JSON body
`{"event_id", "event", "occurred_at", "receipt": {…}}`. The request carries

    X-Oblako-Event-Id: <event id>            (the receiver de-duplicates on it)
    X-Oblako-Signature: t=<unix seconds>,v1=<hex HMAC-SHA-256(secret, "<t>.<raw body>")>

so the receiver checks the signature over the exact bytes and refuses old timestamps (replay).
A 2xx answer delivers the event; anything else (or no answer within `timeout_s`) is retried
after 10 s, 20 s, 40 s … up to an hour, `MAX_ATTEMPTS` times, then the delivery gives up (the
receipt itself stays readable by id). Deliveries are rows (`callbackdelivery`); `deliver_due`
sends the due ones and is safe to run in several workers (each row is claimed by a guarded
UPDATE of its `next_at` before it is sent).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Final

import httpx
from sqlalchemy import Table, select, update
from sqlalchemy.engine import Engine

from fleet.core.clock import Clock
from fleet.receipts.models import CallbackDelivery, CallbackSettings, DeliveryStatus

__all__ = [
    "EVENT_HEADER",
    "MAX_ATTEMPTS",
    "SIGNATURE_HEADER",
    "DeliveryStats",
    "deliver_due",
    "retry_after_s",
    "sign",
    "verify",
]

SIGNATURE_HEADER: Final = "X-Oblako-Signature"
EVENT_HEADER: Final = "X-Oblako-Event-Id"
MAX_ATTEMPTS: Final = 12
FIRST_RETRY_S: Final = 10.0
MAX_RETRY_S: Final = 3600.0
CLAIM_S: Final = 60.0  # a claimed delivery is not taken by another worker for this long

_DELIVERY: Table = CallbackDelivery.__table__  # type: ignore[attr-defined]
_SETTINGS: Table = CallbackSettings.__table__  # type: ignore[attr-defined]


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header's value for a body sent at `timestamp`."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify(secret: str, header: str, body: bytes, now: float, tolerance_s: float = 300) -> bool:
    """What a receiver does: the signature matches and the timestamp is recent."""
    try:
        parts = dict(p.split("=", 1) for p in header.split(","))
        t = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(now - t) > tolerance_s:
        return False
    return hmac.compare_digest(sign(secret, t, body), header)


def retry_after_s(attempts: int) -> float:
    """The wait after the `attempts`-th failed attempt."""
    return float(min(FIRST_RETRY_S * 2 ** max(attempts - 1, 0), MAX_RETRY_S))


@dataclass
class DeliveryStats:
    """What one pass did."""

    delivered: int = 0
    failed: int = 0  # attempts that will be retried
    gave_up: int = 0


def deliver_due(
    engine: Engine,
    clock: Clock,
    client: httpx.Client,
    *,
    limit: int = 100,
    timeout_s: float = 5.0,
) -> DeliveryStats:
    """Send every due delivery once (claimed first, sent outside any transaction)."""
    stats = DeliveryStats()
    now = clock.wall()
    with engine.begin() as conn:
        due = conn.execute(
            select(
                _DELIVERY.c.id,
                _DELIVERY.c.event_id,
                _DELIVERY.c.payload,
                _DELIVERY.c.attempts,
                _DELIVERY.c.next_at,
                _SETTINGS.c.url,
                _SETTINGS.c.secret,
            )
            .select_from(
                _DELIVERY.join(_SETTINGS, _SETTINGS.c.company_id == _DELIVERY.c.company_id)
            )
            .where(
                _DELIVERY.c.status == DeliveryStatus.PENDING.value,
                _DELIVERY.c.next_at <= now,
            )
            .order_by(_DELIVERY.c.next_at)
            .limit(limit)
        ).all()
        claimed = []
        for d in due:
            got = conn.execute(
                update(_DELIVERY)
                .where(_DELIVERY.c.id == d.id, _DELIVERY.c.next_at == d.next_at)
                .values(next_at=now + CLAIM_S)
            )
            if got.rowcount == 1:
                claimed.append(d)
    for d in claimed:
        body = json.dumps(d.payload, ensure_ascii=False, separators=(",", ":")).encode()
        headers = {
            "Content-Type": "application/json",
            EVENT_HEADER: d.event_id,
            SIGNATURE_HEADER: sign(d.secret, int(clock.wall()), body),
        }
        error: str | None = None
        try:
            answer = client.post(d.url, content=body, headers=headers, timeout=timeout_s)
            if not 200 <= answer.status_code < 300:
                error = f"HTTP {answer.status_code}"
        except httpx.HTTPError as e:
            error = f"{type(e).__name__}: {e}"[:500]
        attempts = d.attempts + 1
        at = clock.wall()
        if error is None:
            values = {
                "status": DeliveryStatus.DELIVERED.value,
                "attempts": attempts,
                "delivered_at": at,
                "last_error": None,
            }
            stats.delivered += 1
        elif attempts >= MAX_ATTEMPTS:
            values = {
                "status": DeliveryStatus.GAVE_UP.value,
                "attempts": attempts,
                "last_error": error,
            }
            stats.gave_up += 1
        else:
            values = {
                "attempts": attempts,
                "next_at": at + retry_after_s(attempts),
                "last_error": error,
            }
            stats.failed += 1
        with engine.begin() as conn:
            conn.execute(update(_DELIVERY).where(_DELIVERY.c.id == d.id).values(**values))
    return stats
