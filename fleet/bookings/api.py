"""The booking JSON API (tenant-scoped: a user sees only their company's bookings)."""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, status
from pydantic import BaseModel, Field

from fleet.accounts.schemas import utc
from fleet.bookings import service
from fleet.bookings.models import Booking
from fleet.deps import ApiUserDep, SessionDep, StateDep

__all__ = ["router"]

router = APIRouter(prefix="/api/bookings", tags=["Бронирование касс"])


class BookingCreate(BaseModel):
    """How many registers to book."""

    quantity: int = Field(examples=[2])


class BookingPublic(BaseModel):
    """A booking as the API shows it; ``lapses_at`` is when it lapses if still unpaid."""

    id: int
    quantity: int
    status: str
    created_at: dt.datetime
    lapses_at: dt.datetime
    paid_at: dt.datetime | None
    lapsed_at: dt.datetime | None

    @classmethod
    def of(cls, b: Booking) -> BookingPublic:
        """From the table row."""
        assert b.id is not None
        return cls(
            id=b.id,
            quantity=b.quantity,
            status=b.status,
            created_at=utc(b.created_at),
            lapses_at=utc(b.created_at + service.LAPSE_AFTER_S),
            paid_at=None if b.paid_at is None else utc(b.paid_at),
            lapsed_at=None if b.lapsed_at is None else utc(b.lapsed_at),
        )


@router.post("", status_code=status.HTTP_201_CREATED)
def create(
    body: BookingCreate, user: ApiUserDep, session: SessionDep, state: StateDep
) -> BookingPublic:
    """Book registers; the booking lapses after 7 days unpaid."""
    assert user.id is not None
    booking = service.create_booking(
        session=session,
        clock=state.clock,
        company_id=user.company_id,
        user_id=user.id,
        quantity=body.quantity,
    )
    return BookingPublic.of(booking)


@router.get("")
def list_all(user: ApiUserDep, session: SessionDep) -> list[BookingPublic]:
    """The company's bookings, newest first."""
    return [
        BookingPublic.of(b)
        for b in service.list_bookings(session=session, company_id=user.company_id)
    ]


@router.get("/{booking_id}")
def get_one(booking_id: int, user: ApiUserDep, session: SessionDep) -> BookingPublic:
    """One of the company's bookings (another company's id: 404)."""
    return BookingPublic.of(
        service.get_booking(session=session, company_id=user.company_id, booking_id=booking_id)
    )
