"""Paid channels at the tariff's price: debit before sending, refund when the provider refused.

The price of a message is the ``delivery_price`` row of the register's tariff, else the ``*``
row, else `DEFAULT_PRICES`. Debits are ledger postings keyed by the attempt, so a retried step
never charges twice.
"""

from __future__ import annotations

from typing import Final

from sqlmodel import Session, select

from fleet.billing import ledger
from fleet.billing.exceptions import InsufficientFundsError
from fleet.billing.models import ACCOUNT_REVENUE
from fleet.core.clock import Clock
from fleet.delivery.channels import CHANNELS, Channel
from fleet.delivery.models import DeliveryPrice

__all__ = ["DEFAULT_PRICES", "LABEL", "Prices", "charge", "refund"]

#: kopecks per message when no tariff row says otherwise
DEFAULT_PRICES: Final[dict[Channel, int]] = {
    Channel.SMS: 250,
    Channel.VIBER: 150,
    Channel.VK: 100,
    Channel.OK: 100,
}

LABEL: Final[dict[Channel, str]] = {
    Channel.EMAIL: "E-mail",
    Channel.SMS: "SMS",
    Channel.VIBER: "Viber",
    Channel.VK: "ВКонтакте",
    Channel.OK: "Одноклассники",
}


class Prices:
    """The price table read once per worker pass."""

    def __init__(self, session: Session) -> None:
        self._rows = {
            (p.tariff_code, p.channel): p.price_kop for p in session.exec(select(DeliveryPrice))
        }

    def price(self, channel: Channel, tariff_code: str | None) -> int:
        """Kopecks for one message (0 for a free channel)."""
        if not CHANNELS[channel].paid:
            return 0
        for code in (tariff_code, "*"):
            found = self._rows.get((code or "*", channel.value))
            if found is not None:
                return found
        return DEFAULT_PRICES.get(channel, 0)


def charge(
    session: Session, clock: Clock, company_id: int, channel: Channel, price: int, key: str
) -> bool:
    """Debit one message; False (nothing written) when the balance is short."""
    if price <= 0:
        return True
    try:
        ledger.charge(
            session,
            clock,
            company_id,
            price,
            "delivery",
            f"Чек покупателю: {LABEL[channel]}",
            f"delivery:{key}",
        )
    except InsufficientFundsError:
        return False
    return True


def refund(session: Session, clock: Clock, company_id: int, price: int, key: str) -> None:
    """Give back the debit of a message the provider refused."""
    if price <= 0:
        return
    ledger.credit(
        session,
        clock,
        company_id=company_id,
        amount=price,
        source=ACCOUNT_REVENUE,
        kind="delivery_refund",
        memo="Возврат: провайдер не принял чек покупателю",
        idempotency_key=f"delivery-refund:{key}",
    )
