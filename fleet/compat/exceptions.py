"""Refusals of the compatible APIs (each API answers them in its peer's shape)."""

from __future__ import annotations

from fleet.core.errors import AuthenticationError, DomainError, InvalidInputError, NotFoundError

__all__ = [
    "CompatAuthError",
    "CompatError",
    "CompatNotFoundError",
    "ExpiredTokenError",
    "MappingError",
    "MissingTokenError",
    "WrongCredentialsError",
]


class CompatError(DomainError):
    """Base of the compatible APIs' refusals."""


class MappingError(CompatError, InvalidInputError):
    """The peer's request cannot become an Oblako receipt; ``errors`` = (path, message)."""

    def __init__(self, errors: list[tuple[str, str]]) -> None:
        text = "; ".join(f"{p}: {m}" if p else m for p, m in errors)
        super().__init__(text, fields={p or "_": m for p, m in errors})
        self.errors = errors


class CompatAuthError(CompatError, AuthenticationError):
    """The caller is not authenticated for this API."""


class MissingTokenError(CompatAuthError):
    """No token in the request."""


class ExpiredTokenError(CompatAuthError):
    """The token is unknown, expired, for another API, or its key was revoked."""


class WrongCredentialsError(CompatAuthError):
    """The login or the password (the Oblako API key) is wrong."""


class CompatNotFoundError(CompatError, NotFoundError):
    """No receipt with this UUID (or external id) for the caller."""
