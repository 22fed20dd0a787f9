"""EDO refusals."""

from __future__ import annotations

from fleet.core.errors import ConflictError, DomainError, InvalidInputError, NotFoundError

__all__ = [
    "EdoDocumentNotFoundError",
    "EdoError",
    "EdoInputError",
    "EdoNotConnectedError",
    "EdoUnavailableError",
    "UpdFormatError",
]


class EdoError(DomainError):
    """Base of the EDO refusals."""


class EdoInputError(EdoError, InvalidInputError):
    """A wrong operator or participant id (``fields`` says which)."""


class EdoNotConnectedError(EdoError, ConflictError):
    """The company has no active EDO connection."""


class EdoDocumentNotFoundError(EdoError, NotFoundError):
    """No such closing document for this company."""


class EdoUnavailableError(EdoError):
    """The EDO operator did not answer (network, 5xx): try again later; nothing was lost."""


class UpdFormatError(EdoError, InvalidInputError):
    """A УПД file that breaks the format or does not add up."""
