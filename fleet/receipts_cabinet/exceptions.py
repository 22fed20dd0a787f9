"""Refusals of the receipts cabinet: search input, a document not found, the receipt form."""

from __future__ import annotations

from fleet.core.errors import InvalidInputError, NotFoundError

__all__ = ["DocumentNotFoundError", "InvalidReceiptFormError", "InvalidSearchError"]


class InvalidSearchError(InvalidInputError):
    """A search field is wrong (a number that is not one, a period backwards…)."""


class DocumentNotFoundError(NotFoundError):
    """No such fiscal document in the company (another company's is "not found" too)."""


class InvalidReceiptFormError(InvalidInputError):
    """The «Пробить чек» form cannot make a request: a row's price, quantity… (per field)."""
