"""Register logic: operators add hardware; bookings take free registers; lapses release them.

Assignment: a booking of N takes up to N free inventory registers (oldest first); if the
inventory is short, the rest are virtual slots (no serial) that an operator fills with hardware
later. A lapsed booking returns its hardware to the inventory (state free, no company) and
deletes its virtual slots. None of these functions commits except `add_hardware`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from sqlalchemy import func
from sqlmodel import Session, col, delete, select

from fleet import audit
from fleet.accounts.models import User
from fleet.core.clock import Clock
from fleet.registers.exceptions import (
    DuplicateSerialError,
    InvalidRegisterError,
    NotOperatorError,
    RegisterNotFoundError,
)
from fleet.registers.models import Register, RegisterState

__all__ = [
    "MAX_PAGE",
    "Hardware",
    "Page",
    "RegisterFilter",
    "add_hardware",
    "assign_for_booking",
    "get_register",
    "list_registers",
    "mark_booking_paid",
    "release_for_booking",
    "require_operator",
]

MAX_PAGE: Final = 200


@dataclass(frozen=True)
class Hardware:
    """What an operator enters for a new register."""

    serial: str
    model: str
    rack_slot: str
    firmware_version: str
    drive_number: str | None = None
    drive_expires_at: float | None = None


@dataclass(frozen=True)
class RegisterFilter:
    """List filters; every one is optional and they combine with AND."""

    states: tuple[RegisterState, ...] = ()
    company_id: int | None = None
    drive_expires_from: float | None = None
    drive_expires_to: float | None = None
    limit: int = 50
    offset: int = 0


@dataclass(frozen=True)
class Page:
    """One page of registers and the total number matching the filter."""

    items: Sequence[Register]
    total: int
    limit: int
    offset: int


def require_operator(user: User) -> None:
    """Refuse (403) anyone but an operator."""
    if not user.is_operator:
        raise NotOperatorError("Это действие доступно только операторам Облака")


def add_hardware(*, session: Session, clock: Clock, user: User, hardware: Hardware) -> Register:
    """An operator adds a register to the free inventory."""
    require_operator(user)
    fields = {
        name: "Заполните поле"
        for name in ("serial", "model", "rack_slot", "firmware_version")
        if not getattr(hardware, name).strip()
    }
    if fields:
        raise InvalidRegisterError("Неполные данные кассы", fields=fields)
    serial = hardware.serial.strip()
    if session.exec(select(Register).where(Register.serial == serial)).first() is not None:
        raise DuplicateSerialError(f"Касса с заводским номером {serial} уже есть на складе")
    register = Register(
        serial=serial,
        model=hardware.model.strip(),
        rack_slot=hardware.rack_slot.strip(),
        firmware_version=hardware.firmware_version.strip(),
        drive_number=hardware.drive_number,
        drive_expires_at=hardware.drive_expires_at,
        state=RegisterState.FREE.value,
        created_at=clock.wall(),
    )
    session.add(register)
    session.flush()
    audit.record(
        session,
        clock,
        action="register.add",
        entity="register",
        entity_id=register.id,
        user_id=user.id,
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


def get_register(*, session: Session, company_id: int, register_id: int) -> Register:
    """The register, only if it belongs to ``company_id`` (else: not found)."""
    register = session.get(Register, register_id)
    if register is None or register.company_id != company_id:
        raise RegisterNotFoundError(f"Касса № {register_id} не найдена")
    return register


def list_registers(*, session: Session, company_id: int, flt: RegisterFilter) -> Page:
    """The company's registers matching the filter, by id; another company's filter: nothing."""
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
    if fields:
        raise InvalidRegisterError("Неверный фильтр списка касс", fields=fields)
    conditions = [col(Register.company_id) == company_id]
    if flt.company_id is not None and flt.company_id != company_id:
        conditions.append(col(Register.id).is_(None))  # a foreign company: an empty list
    if flt.states:
        conditions.append(col(Register.state).in_([s.value for s in flt.states]))
    if flt.drive_expires_from is not None:
        conditions.append(col(Register.drive_expires_at) >= flt.drive_expires_from)
    if flt.drive_expires_to is not None:
        conditions.append(col(Register.drive_expires_at) <= flt.drive_expires_to)
    total = session.exec(select(func.count()).select_from(Register).where(*conditions)).one()
    items = session.exec(
        select(Register)
        .where(*conditions)
        .order_by(col(Register.id))
        .limit(flt.limit)
        .offset(flt.offset)
    ).all()
    return Page(items=items, total=int(total), limit=flt.limit, offset=flt.offset)
