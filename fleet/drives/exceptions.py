"""Drive refusals."""

from __future__ import annotations

from fleet.core.errors import InvalidInputError, NotFoundError

__all__ = ["DriveNotFoundError", "InvalidPurchaseError", "InvalidReportError"]


class InvalidPurchaseError(InvalidInputError):
    """The purchase names an unknown model or a wrong quantity."""


class InvalidReportError(InvalidInputError):
    """A drive report is out of range (memory use, day)."""


class DriveNotFoundError(NotFoundError):
    """No such drive or register in the caller's company."""
