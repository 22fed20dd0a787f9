"""The price of an advertising receipt for billing: tariffs carry no such price, so it is the
fleet's setting ``FLEET_AD_RECEIPT_PRICE_KOP``. A test send is free."""

from __future__ import annotations

from fleet.core.config import Settings

__all__ = ["ad_receipt_price"]


def ad_receipt_price(settings: Settings) -> int:
    """Kopecks to debit for one receipt that `render.frame` framed."""
    return settings.ad_receipt_price_kop
