"""Store logic: create, read, change and delete a company's stores, validated in Russian.

A shop needs a structured address (postal code, region, city, street, house, optional flat);
an internet store a website (http or https); mobile trade may give an address. The time zone
is an IANA name checked with zoneinfo. Bad input changes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Final
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import func
from sqlmodel import Session, col, select

from fleet import audit
from fleet.core.clock import Clock
from fleet.registers.models import Register
from fleet.stores.exceptions import InvalidStoreError, StoreInUseError, StoreNotFoundError
from fleet.stores.models import DEFAULT_TIMEZONE, KIND_LABEL, Store, StoreKind

__all__ = [
    "StoreIn",
    "address_line",
    "create_store",
    "delete_store",
    "get_store",
    "list_stores",
    "update_store",
    "valid_timezone",
]

_POSTAL: Final = re.compile(r"\d{6}")
_REGION: Final = re.compile(r"\d{2}")
_HOST: Final = re.compile(r"(?i)^(?=.{1,253}$)([a-z0-9а-яё-]+\.)+[a-zа-яё0-9-]{2,}$")


@dataclass(frozen=True)
class StoreIn:
    """What a user enters for a store (strings as typed; empty means not given)."""

    name: str
    kind: str = StoreKind.SHOP.value
    postal_code: str = ""
    region_code: str = ""
    city: str = ""
    street: str = ""
    house: str = ""
    flat: str = ""
    website: str = ""
    timezone: str = DEFAULT_TIMEZONE


def valid_timezone(name: str) -> bool:
    """Whether ``name`` is an IANA time zone zoneinfo knows."""
    if not name or name != name.strip() or ".." in name or name.startswith("/"):
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _clean(data: StoreIn) -> StoreIn:
    return StoreIn(**{k: v.strip() for k, v in asdict(data).items()})


def _check(data: StoreIn) -> None:
    fields: dict[str, str] = {}
    if not data.name:
        fields["name"] = "Укажите название магазина"
    elif len(data.name) > 200:
        fields["name"] = "Название — не длиннее 200 символов"
    kinds = {k.value for k in StoreKind}
    if data.kind not in kinds:
        fields["kind"] = "Выберите вид: магазин, интернет-магазин или выездная торговля"
    address = (data.postal_code, data.region_code, data.city, data.street, data.house, data.flat)
    needs_address = data.kind == StoreKind.SHOP.value or (
        data.kind == StoreKind.MOBILE.value and any(address)
    )
    if needs_address:
        if not _POSTAL.fullmatch(data.postal_code):
            fields["postal_code"] = "Почтовый индекс — 6 цифр"
        if not _REGION.fullmatch(data.region_code) or data.region_code == "00":
            fields["region_code"] = "Код региона — две цифры от 01 до 99"
        for name, label in (("city", "населённый пункт"), ("street", "улицу"), ("house", "дом")):
            value = getattr(data, name)
            if not value:
                fields[name] = f"Укажите {label}"
            elif len(value) > (32 if name == "house" else 200):
                fields[name] = "Слишком длинное значение"
        if len(data.flat) > 32:
            fields["flat"] = "Слишком длинное значение"
    if data.kind == StoreKind.ONLINE.value:
        parts = urlsplit(data.website)
        if not data.website:
            fields["website"] = "Укажите адрес сайта интернет-магазина"
        elif parts.scheme not in ("http", "https") or not _HOST.match(parts.hostname or ""):
            fields["website"] = "Адрес сайта — вида https://shop.example.ru"
        elif len(data.website) > 300:
            fields["website"] = "Адрес сайта — не длиннее 300 символов"
    if not valid_timezone(data.timezone):
        fields["timezone"] = "Неизвестный часовой пояс: укажите вида Europe/Moscow"
    if fields:
        raise InvalidStoreError("Проверьте данные магазина", fields=fields)


def _apply(store: Store, data: StoreIn) -> None:
    online = data.kind == StoreKind.ONLINE.value
    store.name = data.name
    store.kind = data.kind
    for name in ("postal_code", "region_code", "city", "street", "house", "flat"):
        setattr(store, name, None if online else (getattr(data, name) or None))
    store.website = data.website if online else None
    store.timezone = data.timezone


def address_line(store: Store) -> str:
    """The address as one Russian line (or the website; '—' when neither)."""
    if store.kind == StoreKind.ONLINE.value:
        return store.website or "—"
    if not store.city:
        return "—"
    parts = [store.postal_code, f"регион {store.region_code}", store.city, store.street]
    parts.append(f"д. {store.house}")
    if store.flat:
        parts.append(f"кв./оф. {store.flat}")
    return ", ".join(p for p in parts if p)


def kind_label(store: Store) -> str:
    """The Russian name of the store's kind."""
    return KIND_LABEL[StoreKind(store.kind)]


def create_store(
    *, session: Session, clock: Clock, company_id: int, user_id: int | None, data: StoreIn
) -> Store:
    """Add a store to the company."""
    data = _clean(data)
    _check(data)
    store = Store(company_id=company_id, name=data.name, created_at=clock.wall())
    _apply(store, data)
    session.add(store)
    session.flush()
    audit.record(
        session,
        clock,
        action="store.create",
        entity="store",
        entity_id=store.id,
        company_id=company_id,
        user_id=user_id,
        name=store.name,
    )
    session.commit()
    return store


def get_store(*, session: Session, company_id: int, store_id: int) -> Store:
    """The store, only if it belongs to the company (else: not found)."""
    store = session.get(Store, store_id)
    if store is None or store.company_id != company_id:
        raise StoreNotFoundError(f"Магазин № {store_id} не найден")
    return store


def list_stores(*, session: Session, company_id: int) -> Sequence[Store]:
    """The company's stores by name."""
    stmt = (
        select(Store).where(Store.company_id == company_id).order_by(col(Store.name), col(Store.id))
    )
    return session.exec(stmt).all()


def update_store(
    *,
    session: Session,
    clock: Clock,
    company_id: int,
    user_id: int | None,
    store_id: int,
    data: StoreIn,
) -> Store:
    """Change every field of the store."""
    store = get_store(session=session, company_id=company_id, store_id=store_id)
    data = _clean(data)
    _check(data)
    _apply(store, data)
    store.updated_at = clock.wall()
    session.add(store)
    audit.record(
        session,
        clock,
        action="store.update",
        entity="store",
        entity_id=store_id,
        company_id=company_id,
        user_id=user_id,
        name=store.name,
    )
    session.commit()
    return store


def delete_store(
    *, session: Session, clock: Clock, company_id: int, user_id: int | None, store_id: int
) -> None:
    """Delete an empty store (registers still placed there: a conflict)."""
    store = get_store(session=session, company_id=company_id, store_id=store_id)
    placed = session.exec(
        select(func.count()).select_from(Register).where(Register.store_id == store_id)
    ).one()
    if placed:
        raise StoreInUseError(
            f"В магазине «{store.name}» есть кассы ({placed}): сначала перенесите их"
        )
    session.delete(store)
    audit.record(
        session,
        clock,
        action="store.delete",
        entity="store",
        entity_id=store_id,
        company_id=company_id,
        user_id=user_id,
        name=store.name,
    )
    session.commit()
