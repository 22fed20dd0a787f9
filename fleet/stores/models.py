"""The store table: where a company sells; registers are placed in stores."""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from sqlmodel import Field, SQLModel

__all__ = ["DEFAULT_TIMEZONE", "KIND_LABEL", "Store", "StoreKind"]

DEFAULT_TIMEZONE: Final = "Europe/Moscow"


class StoreKind(StrEnum):
    """How the company sells there (the place of settlement differs: an address or a website)."""

    SHOP = "shop"
    ONLINE = "online"
    MOBILE = "mobile"


KIND_LABEL: Final[dict[StoreKind, str]] = {
    StoreKind.SHOP: "Магазин",
    StoreKind.ONLINE: "Интернет-магазин",
    StoreKind.MOBILE: "Выездная торговля",
}


class Store(SQLModel, table=True):
    """A point of sale (a shop, a website or a mobile trade) of one company.

    A shop has a structured address; an internet store has a website instead; mobile trade may
    give an address (the base it leaves from). ``timezone`` is an IANA name: the store's days.
    """

    id: int | None = Field(default=None, primary_key=True)
    company_id: int = Field(foreign_key="company.id", index=True)
    name: str = Field(max_length=200)
    kind: str = Field(default=StoreKind.SHOP.value, max_length=16)
    postal_code: str | None = Field(default=None, max_length=6)
    region_code: str | None = Field(default=None, max_length=2)
    city: str | None = Field(default=None, max_length=200)
    street: str | None = Field(default=None, max_length=200)
    house: str | None = Field(default=None, max_length=32)
    flat: str | None = Field(default=None, max_length=32)
    website: str | None = Field(default=None, max_length=300)
    timezone: str = Field(default=DEFAULT_TIMEZONE, max_length=64)
    created_at: float
    updated_at: float | None = None
