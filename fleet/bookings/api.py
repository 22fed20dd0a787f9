"""The booking JSON API (tenant-scoped: a user sees only their company's bookings)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, status
from pydantic import BaseModel, Field

from fleet.access.deps import need
from fleet.access.permissions import Permission
from fleet.access.principal import Principal
from fleet.accounts.schemas import utc
from fleet.billing import ledger
from fleet.bookings import service
from fleet.bookings.models import Booking
from fleet.deps import SessionDep, StateDep

__all__ = ["router"]

router = APIRouter(prefix="/api/bookings", tags=["Бронирование касс"])


class BookingCreate(BaseModel):
    """How many registers to book, on which tariff."""

    quantity: int = Field(examples=[2])
    tariff_code: str = Field(default="start", max_length=32, examples=["start"])


class BookingPublic(BaseModel):
    """A booking as the API shows it; ``lapses_at`` is when it lapses if still unpaid, ``price``
    (kopecks) what paying it debits from the balance."""

    id: int
    quantity: int
    tariff_code: str
    price: int
    status: str
    created_at: dt.datetime
    lapses_at: dt.datetime
    paid_at: dt.datetime | None
    lapsed_at: dt.datetime | None

    @classmethod
    def of(cls, b: Booking, price: int) -> BookingPublic:
        """From the table row."""
        assert b.id is not None
        return cls(
            id=b.id,
            quantity=b.quantity,
            tariff_code=b.tariff_code,
            price=price,
            status=b.status,
            created_at=utc(b.created_at),
            lapses_at=utc(b.created_at + service.LAPSE_AFTER_S),
            paid_at=None if b.paid_at is None else utc(b.paid_at),
            lapsed_at=None if b.lapsed_at is None else utc(b.lapsed_at),
        )


class BookingPaid(BaseModel):
    """A paid booking and the balance left."""

    booking: BookingPublic
    balance: int


@router.post("", status_code=status.HTTP_201_CREATED)
def create(
    body: BookingCreate,
    principal: Annotated[Principal, need(Permission.BOOKINGS_CREATE)],
    session: SessionDep,
    state: StateDep,
) -> BookingPublic:
    """Book registers on a tariff; they are booked at once; the booking lapses after 7 days
    unpaid."""
    booking = service.create_booking(
        session=session,
        clock=state.clock,
        company_id=principal.company_id,
        user_id=principal.user_id,
        quantity=body.quantity,
        tariff_code=body.tariff_code,
    )
    return BookingPublic.of(booking, service.booking_price(session, booking))


@router.get("")
def list_all(
    principal: Annotated[Principal, need(Permission.REGISTERS_VIEW)], session: SessionDep
) -> list[BookingPublic]:
    """The company's bookings, newest first."""
    return [
        BookingPublic.of(b, service.booking_price(session, b))
        for b in service.list_bookings(session=session, company_id=principal.company_id)
    ]


@router.get("/{booking_id}")
def get_one(
    booking_id: int,
    principal: Annotated[Principal, need(Permission.REGISTERS_VIEW)],
    session: SessionDep,
) -> BookingPublic:
    """One of the company's bookings (another company's id: 404)."""
    booking = service.get_booking(
        session=session, company_id=principal.company_id, booking_id=booking_id
    )
    return BookingPublic.of(booking, service.booking_price(session, booking))


@router.post("/{booking_id}/pay")
def pay(
    booking_id: int,
    principal: Annotated[Principal, need(Permission.BILLING_PAY)],
    session: SessionDep,
    state: StateDep,
) -> BookingPaid:
    """Pay the booking from the balance: the tariff's first period × its registers. A short
    balance is 409 "Недостаточно средств: пополните баланс на N ₽"."""
    booking = service.pay_booking(
        session=session, clock=state.clock, principal=principal, booking_id=booking_id
    )
    return BookingPaid(
        booking=BookingPublic.of(booking, service.booking_price(session, booking)),
        balance=ledger.balance(session, principal.company_id),
    )
