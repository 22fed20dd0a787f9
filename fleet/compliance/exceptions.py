"""Errors of the fines control (mapped to HTTP by fleet/core/errors.py through their bases)."""

from __future__ import annotations

from fleet.core.errors import DomainError, InvalidInputError, NotFoundError

__all__ = ["ComplianceError", "UnknownCheckError", "UnknownFindingError"]


class ComplianceError(DomainError):
    """Base of this package's errors."""


class UnknownCheckError(InvalidInputError, ComplianceError):
    """A filter names a check that does not exist."""


class UnknownFindingError(NotFoundError, ComplianceError):
    """No such finding for this company."""
