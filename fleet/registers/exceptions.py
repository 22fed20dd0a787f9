"""Register refusals."""

from __future__ import annotations

from fleet.core.errors import ConflictError, InvalidInputError, NotFoundError

__all__ = [
    "DuplicateSerialError",
    "InvalidRegisterError",
    "NotVirtualError",
    "RegisterNotFoundError",
]


class RegisterNotFoundError(NotFoundError):
    """No register with this id in the caller's company (or in the caller's folders)."""


class InvalidRegisterError(InvalidInputError):
    """The register data or the list filter is wrong."""


class DuplicateSerialError(ConflictError):
    """A register with this serial number is already in the inventory."""


class NotVirtualError(ConflictError):
    """The register already has hardware: only a virtual slot can be filled."""
