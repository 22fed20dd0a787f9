"""Typed refusals of the SMS and messenger providers, mapped from the operators' error codes.

Each is a `ProviderRefusedError`. A permanent one (auth, balance, number, rejected) fails the
attempt and the cascade tries the next channel at once. ``retry_later`` marks what a later try
may cure (rate limit, network): the adapter re-sends those itself a few times, with the same
client message id; what still fails keeps the attempt queued in the worker, which tries again
with backoff within the channel's wait (worker.py). Messages are Russian, name the provider,
and never carry the login or key.
"""

from __future__ import annotations

from typing import ClassVar

from fleet.delivery.cascade import ProviderRefusedError
from fleet.delivery.exceptions import DeliveryError

__all__ = [
    "InvalidNumberError",
    "MessageRejectedError",
    "ProviderAuthError",
    "ProviderBalanceError",
    "ProviderConfigError",
    "ProviderError",
    "ProviderRateLimitedError",
    "ProviderUnavailableError",
]


class ProviderError(ProviderRefusedError):
    """A provider said no (or could not be asked)."""


class ProviderAuthError(ProviderError):
    """The login or API key is wrong, or the account is blocked: nothing can be sent."""


class ProviderBalanceError(ProviderError):
    """The account at the provider has no money left (not the client's balance with us)."""


class InvalidNumberError(ProviderError):
    """The buyer's number is malformed, or the operator says it does not exist."""


class MessageRejectedError(ProviderError):
    """The provider refused this message (forbidden text or sender, undeliverable)."""


class ProviderRateLimitedError(ProviderError):
    """Too many requests: try again after ``retry_after_s``."""

    retry_later: ClassVar[bool] = True

    def __init__(self, message: str, retry_after_s: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class ProviderUnavailableError(ProviderError):
    """No answer: connection refused, timeout, a 5xx or a reply that is not the API's."""

    retry_later: ClassVar[bool] = True


class ProviderConfigError(DeliveryError):
    """The settings name a provider without what it needs (an account's key)."""
