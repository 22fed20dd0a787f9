"""Advertising-receipt refusals."""

from __future__ import annotations

from fleet.core.errors import ConflictError, InvalidInputError, NotFoundError

__all__ = [
    "AdImageError",
    "AdTemplateNotFoundError",
    "BadConsentError",
    "InvalidAdTemplateError",
    "TestSendError",
]


class InvalidAdTemplateError(InvalidInputError):
    """The template's fields are wrong (``fields`` names each one); nothing is saved."""


class AdImageError(InvalidAdTemplateError):
    """An uploaded logo or banner is not an accepted image or is too large."""


class AdTemplateNotFoundError(NotFoundError):
    """No such template or assignment in the caller's company."""


class BadConsentError(InvalidInputError):
    """A consent record names no usable contact or an unknown source."""


class TestSendError(ConflictError):
    """The test letter could not be sent (no address for the caller, or the mail server)."""
