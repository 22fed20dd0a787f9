"""Register logic: inventory, booking assignment, the filtered list, the card, store placement.

Assignment: a booking of N takes up to N free inventory registers (oldest first); if the
inventory is short, the rest are virtual slots (no serial) that an operator fills with hardware
later. A lapsed booking returns its hardware to the inventory (state free, no company) and
deletes its virtual slots. The booking functions do not commit (the booking's transaction does);
the operator's and the client's actions commit with their audit row.

The list: `list_statements` builds the count and the page query once; the API, the pages and
the bench (which runs them bare as its baseline) use the same statements.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import func
from sqlalchemy.sql import ColumnElement, Select
from sqlmodel import Session, col, delete, select

from fleet import audit
from fleet.access.principal import Principal
from fleet.core.clock import Clock
from fleet.documents.counters import (
    Counters,
    counters_from_row,
    counters_statement,
    utc_offset_s,
)
from fleet.registers import search as _search  # noqa: F401  (Unicode lower() on SQLite)
from fleet.registers.exceptions import (
    DuplicateSerialError,
    InvalidRegisterError,
    NotVirtualError,
    RegisterNotFoundError,
)
from fleet.registers.models import Register, RegisterState
from fleet.stores.exceptions import StoreNotFoundError
from fleet.stores.models import Store

__all__ = [
    "MAX_PAGE",
    "SORTS",
    "Card",
    "Hardware",
    "Page",
    "RegisterFilter",
    "add_hardware",
    "assign_for_booking",
    "fill_virtual",
    "get_card",
    "get_register",
    "list_fleet",
    "list_registers",
    "list_statements",
    "mark_booking_paid",
    "move_to_store",
    "release_for_booking",
]

MAX_PAGE: Final = 200
_R = Register.__table__.c  # type: ignore[attr-defined]

#: Sort keys of the list; a leading "-" is descending; ties always break by id.
SORTS: Final[dict[str, Any]] = {
    "id": _R.id,
    "serial": _R.serial,
    "rnm": _R.rnm,
    "name": _R.name,
    "state": _R.state,
    "drive_expires_at": _R.drive_expires_at,
    "last_seen_at": _R.last_seen_at,
}


@dataclass(frozen=True)
class Hardware:
    """What an operator enters for a register's hardware."""

    serial: str
    model: str
    rack_slot: str
    firmware_version: str
    drive_number: str | None = None
    drive_expires_at: float | None = None


@dataclass(frozen=True)
class RegisterFilter:
    """List filters; every one is optional and they combine with AND (lists mean "any of")."""

    states: tuple[RegisterState, ...] = ()
    company_id: int | None = None
    store_ids: tuple[int, ...] = ()
    tariff_code: str | None = None
    drive_expires_from: float | None = None
    drive_expires_to: float | None = None
    has_errors: bool | None = None
    shift_open: bool | None = None
    folder_id: int | None = None
    q: str | None = None
    sort: str = "id"
    limit: int = 50
    offset: int = 0


@dataclass(frozen=True)
class Page:
    """One page of registers and the total number matching the filter."""

    items: Sequence[Register]
    total: int
    limit: int
    offset: int


@dataclass(frozen=True)
class Card:
    """The register card: the register, its store and the counters from its documents."""

    register: Register
    store: Store | None
    counters: Counters


def _check_hardware(hardware: Hardware) -> str:
    fields = {
        name: "Заполните поле"
        for name in ("serial", "model", "rack_slot", "firmware_version")
        if not getattr(hardware, name).strip()
    }
    if hardware.drive_number is not None and not (
        hardware.drive_number.isdigit() and len(hardware.drive_number) == 16
    ):
        fields["drive_number"] = "Номер ФН — 16 цифр"
    if fields:
        raise InvalidRegisterError("Неполные данные кассы", fields=fields)
    return hardware.serial.strip()


def _unique_serial(session: Session, serial: str) -> None:
    if session.exec(select(Register).where(Register.serial == serial)).first() is not None:
        raise DuplicateSerialError(f"Касса с заводским номером {serial} уже есть на складе")


def _put_hardware(register: Register, serial: str, hardware: Hardware) -> None:
    register.serial = serial
    register.model = hardware.model.strip()
    register.rack_slot = hardware.rack_slot.strip()
    register.firmware_version = hardware.firmware_version.strip()
    register.drive_number = hardware.drive_number
    register.drive_expires_at = hardware.drive_expires_at


def add_hardware(
    *, session: Session, clock: Clock, principal: Principal, hardware: Hardware
) -> Register:
    """An operator adds a register to the free inventory (the route checks operator.inventory)."""
    serial = _check_hardware(hardware)
    _unique_serial(session, serial)
    register = Register(state=RegisterState.FREE.value, created_at=clock.wall())
    _put_hardware(register, serial, hardware)
    session.add(register)
    session.flush()
    audit.record(
        session,
        clock,
        action="register.add",
        entity="register",
        entity_id=register.id,
        user_id=principal.user_id,
        serial=serial,
    )
    session.commit()
    return register


def fill_virtual(
    *,
    session: Session,
    clock: Clock,
    principal: Principal,
    register_id: int,
    hardware: Hardware,
) -> Register:
    """An operator puts hardware behind a client's virtual slot (a register without a serial)."""
    register = session.get(Register, register_id)
    if register is None:
        raise RegisterNotFoundError(f"Касса № {register_id} не найдена")
    if register.serial is not None:
        raise NotVirtualError(
            f"У кассы № {register_id} уже есть оборудование (заводской номер {register.serial})"
        )
    serial = _check_hardware(hardware)
    _unique_serial(session, serial)
    _put_hardware(register, serial, hardware)
    session.add(register)
    audit.record(
        session,
        clock,
        action="register.fill",
        entity="register",
        entity_id=register_id,
        company_id=register.company_id,
        user_id=principal.user_id,
        serial=serial,
    )
    session.commit()
    return register


def assign_for_booking(
    *, session: Session, clock: Clock, company_id: int, booking_id: int, quantity: int
) -> list[Register]:
    """Give the booking ``quantity`` registers: free inventory first, then virtual slots."""
    now = clock.wall()
    free_stmt = (
        select(Register)
        .where(Register.state == RegisterState.FREE.value, col(Register.company_id).is_(None))
        .order_by(col(Register.id))
        .limit(quantity)
        .with_for_update(skip_locked=True)
    )
    taken = list(session.exec(free_stmt).all())
    for _ in range(quantity - len(taken)):
        taken.append(Register(created_at=now))
    for register in taken:
        register.state = RegisterState.BOOKED.value
        register.company_id = company_id
        register.booking_id = booking_id
        register.booked_at = now
        session.add(register)
    session.flush()
    return taken


def mark_booking_paid(*, session: Session, clock: Clock, booking_id: int) -> None:
    """The booking's booked registers become paid."""
    now = clock.wall()
    stmt = select(Register).where(
        Register.booking_id == booking_id, Register.state == RegisterState.BOOKED.value
    )
    for register in session.exec(stmt).all():
        register.state = RegisterState.PAID.value
        register.paid_at = now
        session.add(register)
    session.flush()


def release_for_booking(*, session: Session, booking_id: int) -> int:
    """A lapsed booking: hardware goes back to the free inventory, virtual slots go away."""
    stmt = select(Register).where(
        Register.booking_id == booking_id, Register.state == RegisterState.BOOKED.value
    )
    released = 0
    for register in session.exec(stmt).all():
        released += 1
        if register.serial is None:
            continue
        register.state = RegisterState.FREE.value
        register.company_id = None
        register.booking_id = None
        register.booked_at = None
        session.add(register)
    session.execute(
        delete(Register).where(
            col(Register.booking_id) == booking_id,
            col(Register.state) == RegisterState.BOOKED.value,
            col(Register.serial).is_(None),
        )
    )
    session.flush()
    return released


def get_register(
    *,
    session: Session,
    company_id: int,
    register_id: int,
    folder_ids: frozenset[int] | None = None,
) -> Register:
    """The register, only if it belongs to ``company_id`` and a visible folder (else: not found)."""
    register = session.get(Register, register_id)
    if (
        register is None
        or register.company_id != company_id
        or (folder_ids is not None and register.folder_id not in folder_ids)
    ):
        raise RegisterNotFoundError(f"Касса № {register_id} не найдена")
    return register


def _validate(flt: RegisterFilter) -> None:
    fields: dict[str, str] = {}
    if not 1 <= flt.limit <= MAX_PAGE:
        fields["limit"] = f"Укажите число от 1 до {MAX_PAGE}"
    if flt.offset < 0:
        fields["offset"] = "Смещение не может быть отрицательным"
    if (
        flt.drive_expires_from is not None
        and flt.drive_expires_to is not None
        and flt.drive_expires_from > flt.drive_expires_to
    ):
        fields["drive_expires_to"] = "Конец периода раньше начала"
    if flt.sort.removeprefix("-") not in SORTS:
        fields["sort"] = "Сортировка: " + ", ".join(SORTS) + " (с «-» — по убыванию)"
    if flt.q is not None and len(flt.q) > 100:
        fields["q"] = "Строка поиска — не длиннее 100 символов"
    if fields:
        raise InvalidRegisterError("Неверный фильтр списка касс", fields=fields)


def list_statements(
    *, company_id: int | None, folder_ids: frozenset[int] | None, flt: RegisterFilter
) -> tuple[Select[Any], Select[Any]]:
    """The count and the page query; ``company_id`` None is the whole fleet (operators).

    For a client, ``flt.company_id`` of another company matches nothing (never a leak).
    """
    _validate(flt)
    conditions: list[ColumnElement[bool]] = []
    if company_id is not None:
        conditions.append(_R.company_id == company_id)
        if flt.company_id is not None and flt.company_id != company_id:
            conditions.append(_R.id.is_(None))
    elif flt.company_id is not None:
        conditions.append(_R.company_id == flt.company_id)
    if folder_ids is not None:
        conditions.append(_R.folder_id.in_(sorted(folder_ids)))
    if flt.folder_id is not None:
        conditions.append(_R.folder_id == flt.folder_id)
    if flt.states:
        conditions.append(_R.state.in_(sorted({s.value for s in flt.states})))
    if flt.store_ids:
        conditions.append(_R.store_id.in_(sorted(set(flt.store_ids))))
    if flt.tariff_code:
        conditions.append(_R.tariff_code == flt.tariff_code)
    if flt.drive_expires_from is not None:
        conditions.append(_R.drive_expires_at >= flt.drive_expires_from)
    if flt.drive_expires_to is not None:
        conditions.append(_R.drive_expires_at <= flt.drive_expires_to)
    if flt.has_errors is not None:
        conditions.append(_R.has_errors == flt.has_errors)
    if flt.shift_open is not None:
        conditions.append(_R.shift_open == flt.shift_open)
    q = (flt.q or "").strip().lower()
    if q:
        conditions.append(
            func.lower(_R.serial).contains(q, autoescape=True)
            | func.lower(_R.rnm).contains(q, autoescape=True)
            | func.lower(_R.name).contains(q, autoescape=True)
        )
    key = SORTS[flt.sort.removeprefix("-")]
    descending = flt.sort.startswith("-")
    by_id = _R.id.desc() if descending else _R.id.asc()
    if key is _R.id:
        order = [by_id]  # never NULL: the plain order walks the primary key index
    else:
        # NULLs last in both directions and on both databases (their defaults differ)
        order = [(key.desc() if descending else key.asc()).nulls_last(), by_id]
    count_stmt = select(func.count()).select_from(Register.__table__).where(*conditions)  # type: ignore[attr-defined]
    page_stmt = (
        select(Register).where(*conditions).order_by(*order).limit(flt.limit).offset(flt.offset)
    )
    return count_stmt, page_stmt


def _page(session: Session, stmts: tuple[Select[Any], Select[Any]], flt: RegisterFilter) -> Page:
    count_stmt, page_stmt = stmts
    total = session.execute(count_stmt).scalar_one()
    items = list(session.execute(page_stmt).scalars().all())
    return Page(items=items, total=int(total), limit=flt.limit, offset=flt.offset)


def list_registers(
    *,
    session: Session,
    company_id: int,
    flt: RegisterFilter,
    folder_ids: frozenset[int] | None = None,
) -> Page:
    """The company's registers (in the visible folders) matching the filter."""
    stmts = list_statements(company_id=company_id, folder_ids=folder_ids, flt=flt)
    return _page(session, stmts, flt)


def list_fleet(*, session: Session, flt: RegisterFilter) -> Page:
    """Every client's registers (the route checks operator.fleet); ``flt.company_id`` narrows."""
    return _page(session, list_statements(company_id=None, folder_ids=None, flt=flt), flt)


def stores_of(session: Session, registers: Sequence[Register]) -> dict[int, Store]:
    """The stores of these registers, by id (one query)."""
    ids = {r.store_id for r in registers if r.store_id is not None}
    if not ids:
        return {}
    rows = session.exec(select(Store).where(col(Store.id).in_(sorted(ids)))).all()
    return {s.id: s for s in rows if s.id is not None}


def get_card(*, session: Session, clock: Clock, principal: Principal, register_id: int) -> Card:
    """The register card: the register, its store and its document counters."""
    register = get_register(
        session=session,
        company_id=principal.company_id,
        register_id=register_id,
        folder_ids=principal.folder_ids,
    )
    return card_of(session=session, clock=clock, register=register)


def card_of(*, session: Session, clock: Clock, register: Register) -> Card:
    """The card of a register already checked to be visible."""
    assert register.id is not None
    store = None if register.store_id is None else session.get(Store, register.store_id)
    now = clock.wall()
    timezone = None if store is None else store.timezone
    offset = utc_offset_s(timezone, now)
    stmt = counters_statement(register.id, dialect=session.get_bind().dialect.name, offset_s=offset)
    row = session.execute(stmt).one()
    counters = counters_from_row(
        row,
        shift_open=register.shift_open,
        offset_s=offset,
        timezone=timezone,
        paid_at=register.paid_at,
        now=now,
    )
    return Card(register=register, store=store, counters=counters)


def move_to_store(
    *,
    session: Session,
    clock: Clock,
    principal: Principal,
    register_id: int,
    store_id: int | None,
) -> Register:
    """Place the register in one of the company's stores (None: take it out of any store)."""
    register = get_register(
        session=session,
        company_id=principal.company_id,
        register_id=register_id,
        folder_ids=principal.folder_ids,
    )
    if store_id is not None:
        store = session.get(Store, store_id)
        if store is None or store.company_id != principal.company_id:
            raise StoreNotFoundError(f"Магазин № {store_id} не найден")
    previous = register.store_id
    register.store_id = store_id
    session.add(register)
    audit.record(
        session,
        clock,
        action="register.move",
        entity="register",
        entity_id=register_id,
        company_id=principal.company_id,
        user_id=principal.user_id,
        store_from=previous,
        store_to=store_id,
    )
    session.commit()
    return register
