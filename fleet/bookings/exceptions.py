"""Booking refusals."""

from __future__ import annotations

from fleet.core.errors import InvalidInputError, NotFoundError

__all__ = ["BookingNotFoundError", "InvalidBookingError"]


class BookingNotFoundError(NotFoundError):
    """No booking with this id in the caller's company."""


class InvalidBookingError(InvalidInputError):
    """The booking request is wrong."""
