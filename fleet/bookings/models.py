"""The minimal booking table (issue 5 foundation): enough for the lapse job and tenant checks."""

from __future__ import annotations

from sqlmodel import Field, SQLModel

__all__ = ["BOOKING_ACTIVE", "BOOKING_LAPSED", "BOOKING_PAID", "Booking"]

BOOKING_ACTIVE = "active"
BOOKING_PAID = "paid"
BOOKING_LAPSED = "lapsed"


class Booking(SQLModel, table=True):
    """A company's booking of ``quantity`` registers; lapses 7 days after creation if unpaid."""

    id: int | None = Field(default=None, primary_key=True)
    company_id: int = Field(foreign_key="company.id", index=True)
    quantity: int
    tariff_code: str = Field(default="start", max_length=32)
    status: str = Field(default=BOOKING_ACTIVE, max_length=16, index=True)
    created_at: float
    paid_at: float | None = None
    lapsed_at: float | None = None
