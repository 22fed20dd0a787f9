"""Card checks a payment form makes before anything is sent: Luhn, expiry, CVC."""

from __future__ import annotations

import datetime as dt
import re
from typing import Final

__all__ = ["APPROVED", "DECLINED", "check_card", "luhn_ok"]

APPROVED: Final = "4111111111111111"  # the test card that pays
DECLINED: Final = "4000000000000002"  # the test card the issuer declines

_EXPIRY = re.compile(r"^(\d{2})\s*/\s*(\d{2})$")


def luhn_ok(digits: str) -> bool:
    """The Luhn check digit holds (ISO/IEC 7812)."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def check_card(number: str, expiry: str, cvc: str, *, today: dt.date) -> dict[str, str]:
    """Per-field Russian reasons why the card cannot be charged (empty: it can)."""
    errors: dict[str, str] = {}
    digits = re.sub(r"[\s-]", "", number)
    if not digits.isdigit() or not 13 <= len(digits) <= 19:
        errors["number"] = "Номер карты — от 13 до 19 цифр"
    elif not luhn_ok(digits):
        errors["number"] = "Номер карты набран с ошибкой: не сходится контрольная цифра"
    match = _EXPIRY.match(expiry.strip())
    if match is None:
        errors["expiry"] = "Срок действия — в виде ММ/ГГ, например 12/29"
    else:
        month, year = int(match.group(1)), 2000 + int(match.group(2))
        if not 1 <= month <= 12:
            errors["expiry"] = "Месяц срока действия — от 01 до 12"
        elif (year, month) < (today.year, today.month):
            errors["expiry"] = "Срок действия карты истёк"
    if not re.fullmatch(r"\d{3}", cvc.strip()):
        errors["cvc"] = "CVC — три цифры с обратной стороны карты"
    return errors
