"""Typed refusals of the delivery domain."""

from __future__ import annotations

from fleet.core.errors import InvalidInputError

__all__ = ["BadContactError", "DeliveryError", "UnknownChannelError"]


class DeliveryError(InvalidInputError):
    """A delivery request or configuration is wrong."""


class UnknownChannelError(DeliveryError):
    """The configuration names a channel the service does not have."""


class BadContactError(DeliveryError):
    """The buyer's contact (tag 1008) is neither an e-mail nor a phone number."""
