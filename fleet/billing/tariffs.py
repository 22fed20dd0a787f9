"""Tariff plans: the defaults (the migration inserts the same rows), listing and operator edits."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from fleet import audit
from fleet.access.principal import Principal
from fleet.billing.exceptions import (
    InvalidBillingInputError,
    TariffExistsError,
    TariffNotFoundError,
)
from fleet.billing.models import Tariff
from fleet.core.clock import Clock

__all__ = [
    "DEFAULT_TARIFF",
    "DEFAULT_TARIFFS",
    "TariffInput",
    "create_tariff",
    "ensure_default_tariffs",
    "first_period_price",
    "get_tariff",
    "list_tariffs",
    "update_tariff",
    "usable_tariff",
]

DEFAULT_TARIFF: Final = "start"


@dataclass(frozen=True)
class TariffInput:
    """A tariff as an operator enters it (prices in kopecks)."""

    code: str
    name: str
    price_kop: int
    receipts_quota: int | None
    months: int = 1
    active: bool = True


DEFAULT_TARIFFS: Final[tuple[TariffInput, ...]] = (
    TariffInput("start", "Старт", 150_000, 3_000),
    TariffInput("business", "Бизнес", 250_000, None),
    TariffInput("year", "Год (предоплата 12 месяцев)", 180_000, None, months=12),
)

_CODE = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
MAX_PRICE: Final = 100_000_000  # 1 000 000 ₽ per register per month


def ensure_default_tariffs(
    session: Session, clock: Clock | None = None, *, commit: bool = True
) -> int:
    """Insert the default tariffs that are missing (never changes existing ones). Idempotent."""
    have = set(session.exec(select(Tariff.code)).all())
    now = clock.wall() if clock is not None else 0.0
    added = 0
    for t in DEFAULT_TARIFFS:
        if t.code in have:
            continue
        session.add(
            Tariff(
                code=t.code,
                name=t.name,
                price_kop=t.price_kop,
                receipts_quota=t.receipts_quota,
                months=t.months,
                active=t.active,
                created_at=now,
                updated_at=now,
            )
        )
        added += 1
    if commit:
        session.commit()
    else:
        session.flush()
    return added


def _seed_if_empty(session: Session) -> None:
    # The migration inserts the defaults; a database made by `create_all` (tests, a fresh demo)
    # gets the same rows on first use, so booking with the default tariff always works. They go
    # in through a session of their own: committed whatever the caller's transaction does.
    if session.exec(select(Tariff.code).limit(1)).first() is not None:
        return
    with Session(session.get_bind()) as own:
        try:
            ensure_default_tariffs(own)
        except IntegrityError:  # another request seeded them first
            own.rollback()


def list_tariffs(session: Session, *, only_active: bool = True) -> Sequence[Tariff]:
    """Tariffs by price (active ones only unless asked)."""
    _seed_if_empty(session)
    stmt = select(Tariff).order_by(col(Tariff.price_kop), col(Tariff.code))
    if only_active:
        stmt = stmt.where(col(Tariff.active).is_(True))
    return session.exec(stmt).all()


def get_tariff(session: Session, code: str) -> Tariff:
    """The tariff ``code`` or `TariffNotFoundError`."""
    _seed_if_empty(session)
    tariff = session.get(Tariff, code)
    if tariff is None:
        raise TariffNotFoundError(f"Тариф «{code}» не найден")
    return tariff


def usable_tariff(session: Session, code: str, *, field: str = "tariff_code") -> Tariff:
    """An active tariff a client may choose; a 422 on ``field`` otherwise."""
    _seed_if_empty(session)
    tariff = session.get(Tariff, code)
    if tariff is None or not tariff.active:
        raise InvalidBillingInputError(
            "Неверный тариф", fields={field: f"Тарифа «{code}» нет среди действующих"}
        )
    return tariff


def first_period_price(tariff: Tariff) -> int:
    """What one register costs for the tariff's first period (``months`` months at once)."""
    return tariff.price_kop * tariff.months


def _validate(data: TariffInput, *, check_code: bool) -> None:
    fields: dict[str, str] = {}
    if check_code and not _CODE.match(data.code):
        fields["code"] = "Код: латинские строчные буквы, цифры, «-» и «_», до 32 знаков"
    if not data.name.strip():
        fields["name"] = "Заполните название"
    elif len(data.name) > 100:
        fields["name"] = "Не длиннее 100 знаков"
    if not 0 <= data.price_kop <= MAX_PRICE:
        fields["price_kop"] = f"Цена в копейках от 0 до {MAX_PRICE}"
    if data.receipts_quota is not None and data.receipts_quota < 1:
        fields["receipts_quota"] = "Квота — целое число больше нуля, или пусто (без ограничений)"
    if not 1 <= data.months <= 36:
        fields["months"] = "Число месяцев предоплаты от 1 до 36"
    if fields:
        raise InvalidBillingInputError("Неверные данные тарифа", fields=fields)


def create_tariff(
    *, session: Session, clock: Clock, principal: Principal, data: TariffInput
) -> Tariff:
    """An operator adds a tariff (409 if the code is taken)."""
    _validate(data, check_code=True)
    if session.get(Tariff, data.code) is not None:
        raise TariffExistsError(f"Тариф с кодом «{data.code}» уже есть")
    now = clock.wall()
    tariff = Tariff(
        code=data.code,
        name=data.name.strip(),
        price_kop=data.price_kop,
        receipts_quota=data.receipts_quota,
        months=data.months,
        active=data.active,
        created_at=now,
        updated_at=now,
    )
    session.add(tariff)
    audit.record(
        session,
        clock,
        action="tariff.create",
        entity="tariff",
        entity_id=data.code,
        user_id=principal.user_id,
        price_kop=data.price_kop,
    )
    session.commit()
    return tariff


def update_tariff(
    *, session: Session, clock: Clock, principal: Principal, data: TariffInput
) -> Tariff:
    """An operator changes a tariff (its code stays). Registers already paid keep their period;
    the new price applies from the next monthly charge."""
    tariff = get_tariff(session, data.code)
    _validate(data, check_code=False)
    before = {"price_kop": tariff.price_kop, "active": tariff.active}
    tariff.name = data.name.strip()
    tariff.price_kop = data.price_kop
    tariff.receipts_quota = data.receipts_quota
    tariff.months = data.months
    tariff.active = data.active
    tariff.updated_at = clock.wall()
    session.add(tariff)
    audit.record(
        session,
        clock,
        action="tariff.update",
        entity="tariff",
        entity_id=data.code,
        user_id=principal.user_id,
        before=before,
        price_kop=data.price_kop,
        active=data.active,
    )
    session.commit()
    return tariff
