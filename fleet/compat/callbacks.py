"""Peer-shaped callbacks: once a compat receipt is final (fiscalised, confirmed or failed),
its report is POSTed to the callback URL of the request, in its peer's shape (ATOL: the
report; Ferma: the status envelope). Signed like Oblako's own events (X-Oblako-Signature,
fleet/receipts/callbacks.py) when the company has a callback secret; ATOL and Ferma clients
that do not check it ignore the header. Retried with Oblako's backoff, then given up.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
from sqlmodel import Session, col, select

from fleet.compat.atol import views as atol
from fleet.compat.ferma import views as ferma
from fleet.compat.models import CompatCallbackStatus, CompatReceipt, Peer
from fleet.compat.receipts import Made, made_of
from fleet.core.clock import Clock
from fleet.receipts.callbacks import MAX_ATTEMPTS, SIGNATURE_HEADER, retry_after_s, sign
from fleet.receipts.models import CallbackSettings, Receipt, ReceiptStatus

__all__ = ["body_of", "compat_callbacks", "deliver_due"]

FINAL = (ReceiptStatus.FISCALISED.value, ReceiptStatus.CONFIRMED.value, ReceiptStatus.FAILED.value)


def body_of(made: Made, now: float) -> dict[str, Any]:
    """The callback's JSON in the receipt's peer's shape."""
    if made.compat.peer == Peer.ATOL:
        return atol.report(made, now)
    return ferma.success(ferma.status_data(made))


def deliver_due(session: Session, clock: Clock, client: httpx.Client, *, limit: int = 100) -> int:
    """Send each due callback once; how many were delivered."""
    now = clock.wall()
    due = session.exec(
        select(CompatReceipt, Receipt)
        .join(Receipt, col(Receipt.id) == col(CompatReceipt.receipt_id))
        .where(
            CompatReceipt.callback_status == CompatCallbackStatus.PENDING.value,
            col(CompatReceipt.callback_next_at) <= now,
            col(Receipt.status).in_(FINAL),
        )
        .order_by(col(CompatReceipt.callback_next_at))
        .limit(limit)
    ).all()
    delivered = 0
    for row, rec in due:
        assert rec.id is not None and row.callback_url is not None
        made = made_of(session, row, rec, False, False)
        body = json.dumps(body_of(made, now), ensure_ascii=False, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json"}
        settings = session.get(CallbackSettings, rec.company_id)
        if settings is not None:
            headers[SIGNATURE_HEADER] = sign(settings.secret, int(now), body)
        error: str | None = None
        try:
            answer = client.post(row.callback_url, content=body, headers=headers, timeout=5.0)
            if not 200 <= answer.status_code < 300:
                error = f"HTTP {answer.status_code}"
        except httpx.HTTPError as e:
            error = f"{type(e).__name__}: {e}"[:500]
        row.callback_attempts += 1
        if error is None:
            row.callback_status = CompatCallbackStatus.DELIVERED.value
            row.callback_error = None
            delivered += 1
        elif row.callback_attempts >= MAX_ATTEMPTS:
            row.callback_status = CompatCallbackStatus.GAVE_UP.value
            row.callback_error = error
        else:
            row.callback_next_at = now + retry_after_s(row.callback_attempts)
            row.callback_error = error
        session.add(row)
        session.commit()
    return delivered


def compat_callbacks(session: Session, clock: Clock) -> int:
    """The `compat-callbacks` job."""
    with httpx.Client() as client:
        return deliver_due(session, clock, client)
