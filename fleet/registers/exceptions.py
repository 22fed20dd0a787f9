"""Register refusals."""

from __future__ import annotations

from fleet.core.errors import ConflictError, InvalidInputError, NotFoundError, PermissionDeniedError

__all__ = [
    "DuplicateSerialError",
    "InvalidRegisterError",
    "NotOperatorError",
    "RegisterNotFoundError",
]


class RegisterNotFoundError(NotFoundError):
    """No register with this id in the caller's company."""


class InvalidRegisterError(InvalidInputError):
    """The register data or the list filter is wrong."""


class DuplicateSerialError(ConflictError):
    """A register with this serial number is already in the inventory."""


class NotOperatorError(PermissionDeniedError):
    """Only Oblako operators manage the inventory."""
