"""Typed refusals of the delivery domain."""

from __future__ import annotations

from fleet.core.errors import InvalidInputError, NotFoundError

__all__ = [
    "BadContactError",
    "BadOrderError",
    "BadScopeError",
    "ContactErasedError",
    "DeliveryError",
    "DeliveryNotFoundError",
    "NothingChosenError",
    "UnknownChannelError",
]


class DeliveryError(InvalidInputError):
    """A delivery request or configuration is wrong."""


class UnknownChannelError(DeliveryError):
    """The configuration names a channel the service does not have."""


class BadContactError(DeliveryError):
    """The buyer's contact (tag 1008) is neither an e-mail nor a phone number."""


class ContactErasedError(DeliveryError):
    """The buyer's contact was erased (on request or by retention): nothing to resend to."""


class BadOrderError(DeliveryError):
    """A channel order names a channel twice, an unknown one, or none."""


class BadScopeError(DeliveryError):
    """A setting names a store or register scope that does not parse."""


class NothingChosenError(DeliveryError):
    """A bulk action was asked with nothing selected."""


class DeliveryNotFoundError(NotFoundError):
    """No receipt, store or register of this company by that link or id."""
