"""Booking logic: create (registers assigned at once, on a tariff), read within a tenant, pay
from the balance, and the 7-day lapse job (which releases the registers back to the inventory)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from sqlmodel import Session, col, select

from fleet import audit
from fleet.access.principal import Principal
from fleet.billing import ledger, tariffs
from fleet.billing.periods import period_of
from fleet.billing.subscriptions import cover_periods
from fleet.bookings.exceptions import BookingNotFoundError, InvalidBookingError
from fleet.bookings.models import BOOKING_ACTIVE, BOOKING_LAPSED, BOOKING_PAID, Booking
from fleet.contract import service as offer
from fleet.core.clock import Clock
from fleet.core.errors import ConflictError
from fleet.registers import service as registers
from fleet.registers.models import Register, RegisterState

__all__ = [
    "LAPSE_AFTER_S",
    "MAX_QUANTITY",
    "booking_price",
    "create_booking",
    "get_booking",
    "lapse_unpaid",
    "list_bookings",
    "mark_paid",
    "pay_booking",
]

#: DESIGN.md (cabinet): "a booking lapses after 7 days unpaid".
LAPSE_AFTER_S: Final = 7 * 24 * 3600.0
MAX_QUANTITY: Final = 1000


def create_booking(
    *,
    session: Session,
    clock: Clock,
    company_id: int,
    user_id: int | None,
    quantity: int,
    tariff_code: str = tariffs.DEFAULT_TARIFF,
) -> Booking:
    """Book ``quantity`` registers on a tariff for the company (booked, awaiting payment)."""
    if not 1 <= quantity <= MAX_QUANTITY:
        raise InvalidBookingError(
            "Неверное количество касс",
            fields={"quantity": f"Укажите число от 1 до {MAX_QUANTITY}"},
        )
    tariff = tariffs.usable_tariff(session, tariff_code)
    booking = Booking(
        company_id=company_id,
        quantity=quantity,
        tariff_code=tariff.code,
        created_at=clock.wall(),
    )
    session.add(booking)
    session.flush()
    assert booking.id is not None
    taken = registers.assign_for_booking(
        session=session,
        clock=clock,
        company_id=company_id,
        booking_id=booking.id,
        quantity=quantity,
    )
    for register in taken:
        register.tariff_code = tariff.code
        session.add(register)
    audit.record(
        session,
        clock,
        action="booking.create",
        entity="booking",
        entity_id=booking.id,
        company_id=company_id,
        user_id=user_id,
        quantity=quantity,
        tariff=tariff.code,
    )
    session.commit()
    return booking


def get_booking(*, session: Session, company_id: int, booking_id: int) -> Booking:
    """The booking, only if it belongs to ``company_id`` (else: not found, never 'forbidden')."""
    booking = session.get(Booking, booking_id)
    if booking is None or booking.company_id != company_id:
        raise BookingNotFoundError(f"Бронь № {booking_id} не найдена")
    return booking


def list_bookings(*, session: Session, company_id: int) -> Sequence[Booking]:
    """The company's bookings, newest first."""
    stmt = select(Booking).where(Booking.company_id == company_id).order_by(col(Booking.id).desc())
    return session.exec(stmt).all()


def _require_active(booking: Booking) -> None:
    if booking.status != BOOKING_ACTIVE:
        raise ConflictError(f"Бронь № {booking.id} уже не активна (статус: {booking.status})")


def _mark_paid(
    session: Session, clock: Clock, booking: Booking, user_id: int | None, **detail: object
) -> None:
    booking.status = BOOKING_PAID
    booking.paid_at = clock.wall()
    session.add(booking)
    assert booking.id is not None
    registers.mark_booking_paid(session=session, clock=clock, booking_id=booking.id)
    audit.record(
        session,
        clock,
        action="booking.pay",
        entity="booking",
        entity_id=booking.id,
        company_id=booking.company_id,
        user_id=user_id,
        **detail,
    )


def mark_paid(
    *, session: Session, clock: Clock, company_id: int, booking_id: int, user_id: int | None
) -> Booking:
    """Record payment of an active booking without money (operators' and tests' path)."""
    booking = get_booking(session=session, company_id=company_id, booking_id=booking_id)
    _require_active(booking)
    register_ids = _booked_register_ids(session, booking)
    _mark_paid(session, clock, booking, user_id)
    # The first period counts as paid (settled outside the ledger), as with `pay_booking`.
    cover_periods(
        session,
        clock,
        register_ids=register_ids,
        company_id=booking.company_id,
        tariff=tariffs.get_tariff(session, booking.tariff_code),
        first_period=period_of(clock.wall()),
        transaction_id=None,
    )
    session.commit()
    return booking


def _booked_register_ids(session: Session, booking: Booking) -> list[int]:
    ids = session.exec(
        select(Register.id).where(
            Register.booking_id == booking.id, Register.state == RegisterState.BOOKED.value
        )
    ).all()
    return [i for i in ids if i is not None]


def booking_price(session: Session, booking: Booking) -> int:
    """What paying the booking debits: the tariff's first period × the booking's registers."""
    tariff = tariffs.get_tariff(session, booking.tariff_code)
    return tariffs.first_period_price(tariff) * booking.quantity


def pay_booking(
    *, session: Session, clock: Clock, principal: Principal, booking_id: int
) -> Booking:
    """Pay an active booking from the balance (client → revenue): the booking and its registers
    become paid and their first period is covered. Without the accepted offer, or with a short
    balance ("Недостаточно средств: пополните баланс на N ₽"), a 409 that changes nothing."""
    booking = get_booking(session=session, company_id=principal.company_id, booking_id=booking_id)
    offer.require_accepted(session, principal.company_id)  # booking is free; paying needs it
    # Lock the booking: a second payment (or the lapse job) waits and then sees it paid.
    session.refresh(booking, with_for_update=True)
    _require_active(booking)
    if clock.wall() >= booking.created_at + LAPSE_AFTER_S:
        raise ConflictError(
            f"Бронь № {booking.id} истекла: прошло 7 дней. Забронируйте кассы снова"
        )
    assert booking.id is not None
    tariff = tariffs.get_tariff(session, booking.tariff_code)
    amount = tariffs.first_period_price(tariff) * booking.quantity
    posting = ledger.charge(
        session,
        clock,
        principal.company_id,
        amount,
        "booking",
        f"Оплата брони № {booking.id}: {booking.quantity} касс(ы), тариф «{tariff.name}»",
        f"booking:{booking.id}",
        user_id=principal.user_id,
    )
    register_ids = _booked_register_ids(session, booking)
    _mark_paid(session, clock, booking, principal.user_id, amount=amount, tariff=tariff.code)
    cover_periods(
        session,
        clock,
        register_ids=register_ids,
        company_id=booking.company_id,
        tariff=tariff,
        first_period=period_of(clock.wall()),
        transaction_id=posting.transaction.id,
    )
    session.commit()
    return booking


def lapse_unpaid(session: Session, clock: Clock) -> int:
    """The scheduled job: lapse active bookings unpaid for 7 days. Idempotent; does not commit."""
    now = clock.wall()
    # SKIP LOCKED: a booking being paid right now is left for the next run, never overwritten.
    stmt = (
        select(Booking)
        .where(Booking.status == BOOKING_ACTIVE, col(Booking.created_at) <= now - LAPSE_AFTER_S)
        .with_for_update(skip_locked=True)
    )
    lapsed = 0
    for booking in session.exec(stmt).all():
        booking.status = BOOKING_LAPSED
        booking.lapsed_at = now
        session.add(booking)
        assert booking.id is not None
        released = registers.release_for_booking(session=session, booking_id=booking.id)
        audit.record(
            session,
            clock,
            action="booking.lapse",
            entity="booking",
            entity_id=booking.id,
            company_id=booking.company_id,
            reason="не оплачена 7 дней",
            registers_released=released,
        )
        lapsed += 1
    session.flush()
    return lapsed
