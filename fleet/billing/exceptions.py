"""Billing refusals."""

from __future__ import annotations

from fleet.core.errors import ConflictError, InvalidInputError, NotFoundError, PermissionDeniedError

__all__ = [
    "BadSignatureError",
    "BankPaymentNotFoundError",
    "CardPaymentNotFoundError",
    "InsufficientFundsError",
    "InvalidBillingInputError",
    "InvalidStatementError",
    "InvoiceNotFoundError",
    "PaymentStateError",
    "TariffExistsError",
    "TariffNotFoundError",
    "UnbalancedTransactionError",
]


class InvalidBillingInputError(InvalidInputError):
    """An amount, tariff or other billing input is wrong."""


class UnbalancedTransactionError(InvalidInputError):
    """A ledger transaction whose entries do not sum to zero (nothing is written)."""


class InsufficientFundsError(ConflictError):
    """The client's balance cannot cover a debit; ``shortfall`` kopecks are missing."""

    def __init__(self, message: str, *, shortfall: int) -> None:
        super().__init__(message)
        self.shortfall = shortfall


class TariffNotFoundError(NotFoundError):
    """No tariff with this code."""


class TariffExistsError(ConflictError):
    """A tariff with this code already exists."""


class CardPaymentNotFoundError(NotFoundError):
    """No card payment with this id in the caller's company."""


class InvoiceNotFoundError(NotFoundError):
    """No invoice with this id in the caller's company."""


class BankPaymentNotFoundError(NotFoundError):
    """No bank statement line with this id."""


class PaymentStateError(ConflictError):
    """The payment is already finished in another way (a contradicting callback, a line already
    credited)."""


class BadSignatureError(PermissionDeniedError):
    """A callback whose HMAC signature does not hold."""


class InvalidStatementError(InvalidInputError):
    """A bank statement file that cannot be read; the message names the line."""
