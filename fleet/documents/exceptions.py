"""Fiscal document refusals."""

from __future__ import annotations

from fleet.core.errors import ConflictError, InvalidInputError, NotFoundError

__all__ = ["DocumentConflictError", "DocumentNotFoundError", "InvalidDocumentError"]


class InvalidDocumentError(InvalidInputError):
    """The document's fields are wrong (unknown type, operation on a shift report...)."""


class DocumentConflictError(ConflictError):
    """Another document with the same drive and number exists, or the OFD answer contradicts."""


class DocumentNotFoundError(NotFoundError):
    """No such document (or no such register to file it under)."""
