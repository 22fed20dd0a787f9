"""Card payments through an acquiring gateway (the simulator in development).

The protocol (simulator/acquiring implements the other side; neither imports the other):

- The fleet sends the browser to ``{FLEET_ACQUIRING_URL}/pay?payment_id=..&amount=..&callback=..
  &return_url=..&signature=..`` where ``signature`` is the hex HMAC-SHA256, keyed by
  ``FLEET_ACQUIRING_SECRET``, of the other parameters as ``key=value`` joined by ``&`` in key
  order (`order_signature`): the acquirer refuses an order whose amount was altered.
- The acquirer POSTs JSON ``{"payment_id", "status": "succeeded"|"failed", "amount",
  "operation_id", "reason"}`` to ``callback`` with header ``X-Acquiring-Signature``: the hex
  HMAC-SHA256 of the raw body. A bad signature is refused (403) and changes nothing.
- Success credits the balance at once (acquiring clearing → client) under the idempotency key
  ``card:<payment id>``; a repeated callback is harmless.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import urlencode

from sqlmodel import Session

from fleet import audit
from fleet.access.principal import Principal
from fleet.billing import ledger
from fleet.billing.exceptions import (
    BadSignatureError,
    CardPaymentNotFoundError,
    InvalidBillingInputError,
    PaymentStateError,
)
from fleet.billing.models import ACCOUNT_ACQUIRING, CardPayment, CardPaymentStatus
from fleet.billing.money import rubles
from fleet.core.clock import Clock
from fleet.core.config import Settings

__all__ = [
    "MAX_TOPUP",
    "MIN_TOPUP",
    "SIGNATURE_HEADER",
    "create_card_payment",
    "get_card_payment",
    "handle_callback",
    "order_signature",
    "payment_url",
    "sign",
]

SIGNATURE_HEADER: Final = "X-Acquiring-Signature"
MIN_TOPUP: Final = 100  # 1 ₽
MAX_TOPUP: Final = 100_000_000  # 1 000 000 ₽


def sign(secret: str, data: bytes) -> str:
    """Hex HMAC-SHA256 of ``data``."""
    return hmac.new(secret.encode(), data, hashlib.sha256).hexdigest()


def order_signature(secret: str, params: Mapping[str, str]) -> str:
    """The signature of an order's parameters (every one except ``signature``, in key order)."""
    canonical = "&".join(f"{k}={params[k]}" for k in sorted(params) if k != "signature")
    return sign(secret, canonical.encode())


def validate_amount(amount: int, *, field: str = "amount") -> None:
    """A top-up or invoice amount in kopecks within the limits."""
    if not MIN_TOPUP <= amount <= MAX_TOPUP:
        raise InvalidBillingInputError(
            "Неверная сумма",
            fields={field: f"Сумма от {rubles(MIN_TOPUP)} до {rubles(MAX_TOPUP)}"},
        )


def payment_url(settings: Settings, payment: CardPayment) -> str:
    """Where the browser pays: the acquirer's form for this payment, signed."""
    params = {
        "payment_id": str(payment.id),
        "amount": str(payment.amount),
        "callback": f"{settings.base_url}/api/billing/acquiring/callback",
        "return_url": f"{settings.base_url}/billing?payment={payment.id}",
    }
    params["signature"] = order_signature(settings.acquiring_secret, params)
    return f"{settings.acquiring_url.rstrip('/')}/pay?{urlencode(params)}"


def create_card_payment(
    *, session: Session, clock: Clock, principal: Principal, amount: int
) -> CardPayment:
    """A pending top-up by card; the caller sends the browser to `payment_url`."""
    validate_amount(amount)
    payment = CardPayment(
        company_id=principal.company_id,
        user_id=principal.user_id,
        amount=amount,
        created_at=clock.wall(),
    )
    session.add(payment)
    session.flush()
    audit.record(
        session,
        clock,
        action="card_payment.create",
        entity="card_payment",
        entity_id=payment.id,
        company_id=principal.company_id,
        user_id=principal.user_id,
        amount=amount,
    )
    session.commit()
    return payment


def get_card_payment(*, session: Session, company_id: int, payment_id: int) -> CardPayment:
    """The company's card payment (another company's: not found)."""
    payment = session.get(CardPayment, payment_id)
    if payment is None or payment.company_id != company_id:
        raise CardPaymentNotFoundError(f"Платёж № {payment_id} не найден")
    return payment


def _parse(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        body = None
    if not isinstance(body, dict):
        raise InvalidBillingInputError("Тело уведомления — не объект JSON")
    fields: dict[str, str] = {}
    if not isinstance(body.get("payment_id"), (int, str)) or not str(body["payment_id"]).isdigit():
        fields["payment_id"] = "Нужен номер платежа"
    if body.get("status") not in (CardPaymentStatus.SUCCEEDED, CardPaymentStatus.FAILED):
        fields["status"] = "Ожидается succeeded или failed"
    if not isinstance(body.get("amount"), int):
        fields["amount"] = "Нужна сумма в копейках"
    if fields:
        raise InvalidBillingInputError("Неверное уведомление эквайера", fields=fields)
    return body


def handle_callback(
    *, session: Session, clock: Clock, secret: str, raw: bytes, signature: str | None
) -> CardPayment:
    """Apply the acquirer's signed notification. Idempotent; a contradiction is a 409."""
    if not signature or not hmac.compare_digest(sign(secret, raw), signature.strip().lower()):
        raise BadSignatureError("Неверная подпись уведомления эквайера")
    body = _parse(raw)
    # The row lock makes a concurrent duplicate wait and then see the finished payment.
    payment = session.get(CardPayment, int(body["payment_id"]), with_for_update=True)
    if payment is None:
        raise CardPaymentNotFoundError(f"Платёж № {body['payment_id']} не найден")
    if body["amount"] != payment.amount:
        raise InvalidBillingInputError(
            "Сумма в уведомлении не совпадает с суммой платежа",
            fields={"amount": f"Ожидалось {payment.amount} коп."},
        )
    status = body["status"]
    if payment.status == status:
        return payment  # a duplicate: already applied
    if payment.status != CardPaymentStatus.PENDING:
        raise PaymentStateError(f"Платёж № {payment.id} уже завершён со статусом {payment.status}")
    assert payment.id is not None
    now = clock.wall()
    operation = str(body.get("operation_id") or "")[:64] or None
    if status == CardPaymentStatus.SUCCEEDED:
        posting = ledger.credit(
            session,
            clock,
            company_id=payment.company_id,
            amount=payment.amount,
            source=ACCOUNT_ACQUIRING,
            kind="card",
            memo=f"Пополнение картой, платёж № {payment.id}",
            idempotency_key=f"card:{payment.id}",
            user_id=payment.user_id,
        )
        payment.transaction_id = posting.transaction.id
    else:
        payment.failure_reason = str(body.get("reason") or "Платёж отклонён")[:300]
    payment.status = status
    payment.operation_id = operation
    payment.finished_at = now
    session.add(payment)
    audit.record(
        session,
        clock,
        action=f"card_payment.{status}",
        entity="card_payment",
        entity_id=payment.id,
        company_id=payment.company_id,
        amount=payment.amount,
        operation_id=operation,
    )
    session.commit()
    return payment
