"""Account refusals (mapped to HTTP by fleet.core.errors)."""

from __future__ import annotations

from fleet.core.errors import (
    AuthenticationError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
)

__all__ = [
    "AlreadyRegisteredError",
    "BadCredentialsError",
    "CompanyNotFoundError",
    "EmailNotConfirmedError",
    "InvalidInviteError",
    "InvalidRequisiteError",
    "InvalidSignUpError",
    "InvalidTokenError",
    "LastOwnerError",
    "NotSignedInError",
    "OwnerProtectedError",
    "TooManyAttemptsError",
    "UserBlockedError",
    "UserConflictError",
    "UserNotFoundError",
]


class InvalidRequisiteError(InvalidInputError):
    """An ИНН, ОГРН or ОГРНИП is malformed or its check digit is wrong."""


class InvalidSignUpError(InvalidInputError):
    """A sign-up field is wrong (e-mail, password, company name)."""


class AlreadyRegisteredError(ConflictError):
    """The e-mail or the company's ИНН is already registered."""


class InvalidTokenError(InvalidInputError):
    """A confirmation token is unknown, used or expired."""


class BadCredentialsError(AuthenticationError):
    """Wrong e-mail or password (never says which)."""


class EmailNotConfirmedError(AuthenticationError):
    """Correct password but the e-mail address is not confirmed yet."""


class NotSignedInError(AuthenticationError):
    """No valid session."""


class TooManyAttemptsError(RateLimitedError):
    """Too many failed sign-ins for this account from this address."""


class CompanyNotFoundError(NotFoundError):
    """No company with this id visible to the caller."""


class UserBlockedError(AuthenticationError):
    """The user is blocked by their company."""


class UserNotFoundError(NotFoundError):
    """No such user in the caller's company."""


class InvalidInviteError(InvalidInputError):
    """An invitation's e-mail, role, token or new password is wrong."""


class UserConflictError(ConflictError):
    """The e-mail is taken, or the action makes no sense for this user (blocking oneself)."""


class LastOwnerError(ConflictError):
    """The company's last owner cannot be demoted or blocked."""


class OwnerProtectedError(PermissionDeniedError):
    """Only an owner may demote, block or appoint an owner (or touch a user with more rights)."""
