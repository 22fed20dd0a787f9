"""The General's report's refusals."""

from __future__ import annotations

from fleet.core.errors import DomainError, InvalidInputError, NotFoundError, PermissionDeniedError

__all__ = [
    "GeneralReportError",
    "InvalidScopeError",
    "LinkNotFoundError",
    "LinkRevokedError",
    "NotAdministratorError",
]


class GeneralReportError(DomainError):
    """The base of the General's report's errors."""


class LinkNotFoundError(GeneralReportError, NotFoundError):
    """No link with this token was ever issued (or the token is malformed)."""


class LinkRevokedError(GeneralReportError, NotFoundError):
    """The link was replaced by a newer version; the page answers 410 Gone."""


class NotAdministratorError(GeneralReportError, PermissionDeniedError):
    """Only a company administrator over every register may issue the link."""


class InvalidScopeError(GeneralReportError, InvalidInputError):
    """The store or the period asked for is not one the report can cover."""
