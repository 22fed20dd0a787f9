"""Money at the edges: integer kopecks inside, "1 234,50 ₽" on pages, rubles typed in forms."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

__all__ = ["parse_rubles", "rubles"]

_RUBLES = re.compile(r"^\d{1,9}([.,]\d{1,2})?$")


def rubles(kopecks: int) -> str:
    """``123450`` → ``"1 234,50 ₽"`` (minus sign for a negative amount)."""
    sign = "−" if kopecks < 0 else ""
    whole, kop = divmod(abs(kopecks), 100)
    return f"{sign}{whole:,}".replace(",", " ") + f",{kop:02d} ₽"


def parse_rubles(text: str) -> int | None:
    """Rubles as a person types them ("1500", "1 500,50", "1500.5") → kopecks; None if not a
    plain non-negative amount with at most two decimals."""
    cleaned = text.strip().replace(" ", "").replace("\u00a0", "").removesuffix("₽")
    if not _RUBLES.match(cleaned):
        return None
    try:
        return int(Decimal(cleaned.replace(",", ".")) * 100)
    except InvalidOperation:  # pragma: no cover - the pattern admits only numbers
        return None
