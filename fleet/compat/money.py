"""Rubles as the peers send them (JSON numbers or strings) to kopecks, exactly, and back."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

__all__ = ["Problems", "kopecks", "quantity", "rubles"]

MAX_RUBLES = Decimal(10) ** 13  # far above any receipt (1020 is < 2^40 kopecks)

Problems = list[tuple[str, str]]


def _decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        # a float goes through its shortest repr: 5300.1 is "5300.1", not its binary value
        d = Decimal(repr(value)) if isinstance(value, float) else Decimal(str(value).strip())
    except InvalidOperation:
        return None
    # finite and of a sane size: 1e999999 would overflow the arithmetic below
    return d if d.is_finite() and abs(d) < MAX_RUBLES else None


def kopecks(problems: Problems, path: str, value: Any, *, required: bool = True) -> int | None:
    """Rubles to kopecks; a fraction of a kopeck or a non-number is a problem (None)."""
    if value is None:
        if required:
            problems.append((path, "Обязательное поле (сумма в рублях)"))
        return None
    d = _decimal(value)
    if d is None:
        problems.append((path, "Сумма — число в рублях, например 199.90"))
        return None
    k = d * 100
    if k != k.to_integral_value():
        problems.append((path, f"Сумма {value} — дробная часть копейки не допускается"))
        return None
    return int(k)


def quantity(problems: Problems, path: str, value: Any) -> str | None:
    """A quantity as the shared schema's decimal text ("0.345")."""
    d = _decimal(value)
    if d is None:
        problems.append((path, "Количество — число, например 1 или 0.345"))
        return None
    text = format(d.normalize(), "f")
    return text


def rubles(kop: int) -> float:
    """Kopecks as the peers' ruble number (two decimals)."""
    return round(kop / 100, 2)
