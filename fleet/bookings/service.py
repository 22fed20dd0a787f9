"""Booking logic: create (registers assigned at once), read within a tenant, pay, and the 7-day
lapse job (which releases the registers back to the inventory)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from sqlmodel import Session, col, select

from fleet import audit
from fleet.bookings.exceptions import BookingNotFoundError, InvalidBookingError
from fleet.bookings.models import BOOKING_ACTIVE, BOOKING_LAPSED, BOOKING_PAID, Booking
from fleet.core.clock import Clock
from fleet.core.errors import ConflictError
from fleet.registers import service as registers

__all__ = [
    "LAPSE_AFTER_S",
    "MAX_QUANTITY",
    "create_booking",
    "get_booking",
    "lapse_unpaid",
    "list_bookings",
    "mark_paid",
]

#: DESIGN.md (cabinet): "a booking lapses after 7 days unpaid".
LAPSE_AFTER_S: Final = 7 * 24 * 3600.0
MAX_QUANTITY: Final = 1000


def create_booking(
    *, session: Session, clock: Clock, company_id: int, user_id: int, quantity: int
) -> Booking:
    """Book ``quantity`` registers for the company."""
    if not 1 <= quantity <= MAX_QUANTITY:
        raise InvalidBookingError(
            "Неверное количество касс",
            fields={"quantity": f"Укажите число от 1 до {MAX_QUANTITY}"},
        )
    booking = Booking(company_id=company_id, quantity=quantity, created_at=clock.wall())
    session.add(booking)
    session.flush()
    assert booking.id is not None
    registers.assign_for_booking(
        session=session,
        clock=clock,
        company_id=company_id,
        booking_id=booking.id,
        quantity=quantity,
    )
    audit.record(
        session,
        clock,
        action="booking.create",
        entity="booking",
        entity_id=booking.id,
        company_id=company_id,
        user_id=user_id,
        quantity=quantity,
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


def mark_paid(
    *, session: Session, clock: Clock, company_id: int, booking_id: int, user_id: int | None
) -> Booking:
    """Record payment of an active booking (payments proper come with the billing issue)."""
    booking = get_booking(session=session, company_id=company_id, booking_id=booking_id)
    if booking.status != BOOKING_ACTIVE:
        raise ConflictError(f"Бронь № {booking_id} уже не активна (статус: {booking.status})")
    booking.status = BOOKING_PAID
    booking.paid_at = clock.wall()
    session.add(booking)
    registers.mark_booking_paid(session=session, clock=clock, booking_id=booking_id)
    audit.record(
        session,
        clock,
        action="booking.pay",
        entity="booking",
        entity_id=booking.id,
        company_id=company_id,
        user_id=user_id,
    )
    session.commit()
    return booking


def lapse_unpaid(session: Session, clock: Clock) -> int:
    """The scheduled job: lapse active bookings unpaid for 7 days. Idempotent; does not commit."""
    now = clock.wall()
    stmt = select(Booking).where(
        Booking.status == BOOKING_ACTIVE, col(Booking.created_at) <= now - LAPSE_AFTER_S
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
