"""Access refusals: roles, folders, API tokens, operator staff (mapped by fleet.core.errors)."""

from __future__ import annotations

from fleet.core.errors import (
    AuthenticationError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
)

__all__ = [
    "EscalationError",
    "FolderConflictError",
    "FolderNotFoundError",
    "InvalidFolderError",
    "InvalidRoleError",
    "InvalidTokenInputError",
    "RoleInUseError",
    "RoleNotFoundError",
    "RoleProtectedError",
    "StaffConflictError",
    "StaffNotFoundError",
    "TokenNotFoundError",
    "TokenRevokedError",
]


class InvalidRoleError(InvalidInputError):
    """A role's name or permissions are wrong (unknown, or operator permissions)."""


class EscalationError(PermissionDeniedError):
    """Granting permissions or folders the acting principal does not hold itself."""


class RoleNotFoundError(NotFoundError):
    """No such role in the caller's company."""


class RoleInUseError(ConflictError):
    """The role is assigned to users or API tokens and cannot be deleted."""


class RoleProtectedError(ConflictError):
    """A built-in role that cannot be changed in this way (the owner role, renaming, deleting)."""


class FolderNotFoundError(NotFoundError):
    """No such folder in the caller's company."""


class InvalidFolderError(InvalidInputError):
    """A folder's name or the list of registers is wrong."""


class FolderConflictError(ConflictError):
    """The folder name is taken, or roles are limited to the folder."""


class TokenNotFoundError(NotFoundError):
    """No such API token in the caller's company."""


class InvalidTokenInputError(InvalidInputError):
    """A token's name or role is wrong."""


class TokenRevokedError(AuthenticationError):
    """An unknown or revoked API token."""


class StaffNotFoundError(NotFoundError):
    """No user with this e-mail or id."""


class StaffConflictError(ConflictError):
    """The user is already (or is not) an operator, or would revoke themselves."""
