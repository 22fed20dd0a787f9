"""Errors of the offer."""

from __future__ import annotations

from fleet.core.errors import ConflictError

__all__ = ["OfferNeedsPersonError", "OfferNotAcceptedError"]


class OfferNotAcceptedError(ConflictError):
    """A paid action before the company accepted the current offer."""


class OfferNeedsPersonError(ConflictError):
    """An API token cannot accept the offer: a person of the company must (the token's rights
    are not in question, the acceptance needs someone who can be named in it)."""
