"""Account refusals (mapped to HTTP by fleet.core.errors)."""

from __future__ import annotations

from fleet.core.errors import (
    AuthenticationError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
    RateLimitedError,
)

__all__ = [
    "AlreadyRegisteredError",
    "BadCredentialsError",
    "CompanyNotFoundError",
    "EmailNotConfirmedError",
    "InvalidRequisiteError",
    "InvalidSignUpError",
    "InvalidTokenError",
    "NotSignedInError",
    "TooManyAttemptsError",
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
