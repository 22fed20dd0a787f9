"""Registration refusals."""

from __future__ import annotations

from fleet.core.errors import ConflictError, InvalidInputError, NotFoundError

__all__ = [
    "FnsUnavailableError",
    "InvalidApplicationError",
    "InvalidPoaError",
    "InvalidSignatureError",
    "RegistrationNotFoundError",
    "RegistrationStateError",
]


class InvalidApplicationError(InvalidInputError):
    """The application's data are wrong; ``fields`` says which and why."""


class InvalidSignatureError(InvalidInputError):
    """The uploaded signature is not acceptable (bad, untrusted, expired, another signer)."""


class RegistrationStateError(ConflictError):
    """The application is in a state that forbids the action."""


class RegistrationNotFoundError(NotFoundError):
    """No application for this register yet."""


class FnsUnavailableError(ConflictError):
    """The tax service's gateway did not answer; nothing was lost, retry later."""


class InvalidPoaError(InvalidSignatureError):
    """The uploaded power of attorney (МЧД) is unreadable, or does not cover this signer."""
