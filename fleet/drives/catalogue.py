"""The drives Oblako sells: FN-1.2 of 13, 15 and 36 months, at Oblako's own prices.

The prices are Oblako's price list (kopecks, VAT included), not a market fact; change them here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from fleet.drives.exceptions import InvalidPurchaseError

__all__ = ["CATALOGUE", "DriveModel", "model", "prices"]


@dataclass(frozen=True)
class DriveModel:
    """One model on sale."""

    code: str
    name: str
    term_months: int
    ffd: str
    price_kop: int


CATALOGUE: Final[tuple[DriveModel, ...]] = (
    DriveModel("fn12-13", "ФН-1.2 на 13 месяцев", 13, "1.2", 850_000),
    DriveModel("fn12-15", "ФН-1.2 на 15 месяцев", 15, "1.2", 990_000),
    DriveModel("fn12-36", "ФН-1.2 на 36 месяцев", 36, "1.2", 1_590_000),
)


def model(code: str) -> DriveModel:
    """The model with this code, or InvalidPurchaseError naming the field."""
    for m in CATALOGUE:
        if m.code == code:
            return m
    raise InvalidPurchaseError(
        f"Нет модели ФН «{code}» в каталоге",
        fields={"model_code": f"Выберите одну из: {', '.join(m.code for m in CATALOGUE)}"},
    )


def prices() -> dict[int, int]:
    """Price by term (months)."""
    return {m.term_months: m.price_kop for m in CATALOGUE}
