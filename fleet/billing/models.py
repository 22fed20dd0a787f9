"""Billing tables. Money is integer kopecks; times are UTC seconds from the injected clock.

The ledger is double-entry: a `LedgerTransaction` holds `LedgerEntry` rows whose amounts sum to
zero; an entry's amount is what arrives in its account (negative: what leaves). A client's
balance is the sum of its account's entries, cached in `LedgerAccount.balance` (updated in the
same transaction under a row lock).
"""

from __future__ import annotations

from typing import Final

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

__all__ = [
    "ACCOUNT_ACQUIRING",
    "ACCOUNT_BANK",
    "ACCOUNT_REVENUE",
    "BankPayment",
    "BankPaymentStatus",
    "CardPayment",
    "CardPaymentStatus",
    "Invoice",
    "InvoiceStatus",
    "LedgerAccount",
    "LedgerEntry",
    "LedgerTransaction",
    "RegisterPeriod",
    "Tariff",
]

#: System accounts (codes); a client's account code is ``client:<company_id>``.
ACCOUNT_ACQUIRING: Final = "acquiring"  # card money on its way from the acquirer
ACCOUNT_BANK: Final = "bank"  # Oblako's bank account (payments by invoice)
ACCOUNT_REVENUE: Final = "revenue"  # paid services


class CardPaymentStatus:
    """States of a card payment (stored as these strings)."""

    PENDING: Final = "pending"
    SUCCEEDED: Final = "succeeded"
    FAILED: Final = "failed"


class InvoiceStatus:
    """States of an invoice."""

    ISSUED: Final = "issued"
    PARTIAL: Final = "partial"
    PAID: Final = "paid"


class BankPaymentStatus:
    """States of a bank statement line."""

    MATCHED: Final = "matched"  # matched automatically by invoice number and ИНН
    UNMATCHED: Final = "unmatched"  # waits for an operator
    RESOLVED: Final = "resolved"  # an operator credited it to a company by hand


class Tariff(SQLModel, table=True):
    """A tariff plan: a price per register per month, a receipts quota, prepaid months."""

    code: str = Field(primary_key=True, max_length=32)
    name: str = Field(max_length=100)
    price_kop: int  # per register per month
    receipts_quota: int | None = None  # receipts per register per month; None: unlimited
    months: int = 1  # months paid at once (12 for a yearly plan)
    active: bool = True
    created_at: float
    updated_at: float


class LedgerAccount(SQLModel, table=True):
    """A ledger account: a client's balance (``company_id`` set) or a system account."""

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=64, unique=True, index=True)
    company_id: int | None = Field(default=None, foreign_key="company.id", unique=True)
    balance: int = 0  # cache of the sum of the account's entries
    created_at: float


class LedgerTransaction(SQLModel, table=True):
    """One posting; ``idempotency_key`` makes a repeated callback or statement line a no-op."""

    id: int | None = Field(default=None, primary_key=True)
    idempotency_key: str = Field(max_length=200, unique=True, index=True)
    kind: str = Field(max_length=32)  # card, bank, booking, subscription, charge:<kind>
    memo: str = Field(max_length=300)
    company_id: int | None = Field(default=None, foreign_key="company.id", index=True)
    user_id: int | None = None
    created_at: float = Field(index=True)


class LedgerEntry(SQLModel, table=True):
    """One leg of a transaction: ``amount`` arrives in (positive) or leaves (negative) the
    account."""

    id: int | None = Field(default=None, primary_key=True)
    transaction_id: int = Field(foreign_key="ledgertransaction.id", index=True)
    account_id: int = Field(foreign_key="ledgeraccount.id", index=True)
    amount: int
    created_at: float = Field(index=True)


class CardPayment(SQLModel, table=True):
    """A top-up by card through the acquirer: pending until its signed callback arrives."""

    id: int | None = Field(default=None, primary_key=True)
    company_id: int = Field(foreign_key="company.id", index=True)
    user_id: int | None = None
    amount: int
    status: str = Field(default=CardPaymentStatus.PENDING, max_length=16)
    operation_id: str | None = Field(default=None, max_length=64)
    failure_reason: str | None = Field(default=None, max_length=300)
    transaction_id: int | None = Field(default=None, foreign_key="ledgertransaction.id")
    created_at: float
    finished_at: float | None = None


class Invoice(SQLModel, table=True):
    """An invoice for a bank transfer; ``number`` (СЧ-2026-000123) goes into the payment's
    purpose, which is how a statement line finds it."""

    id: int | None = Field(default=None, primary_key=True)
    number: str | None = Field(default=None, max_length=32, unique=True, index=True)
    company_id: int = Field(foreign_key="company.id", index=True)
    user_id: int | None = None
    amount: int
    paid_amount: int = 0
    status: str = Field(default=InvoiceStatus.ISSUED, max_length=16)
    created_at: float
    paid_at: float | None = None


class BankPayment(SQLModel, table=True):
    """A payment line of an uploaded bank statement (matched, or waiting for an operator)."""

    id: int | None = Field(default=None, primary_key=True)
    #: number|date|payer ИНН|amount: the same line in a re-uploaded statement is recognised.
    line_key: str = Field(max_length=200, unique=True, index=True)
    doc_number: str = Field(max_length=32)
    doc_date: str = Field(max_length=10)  # ДД.ММ.ГГГГ as in the statement
    amount: int
    payer_inn: str = Field(max_length=12)
    payer_name: str = Field(default="", max_length=300)
    purpose: str = Field(default="", max_length=1000)
    status: str = Field(max_length=16, index=True)
    reason: str | None = Field(default=None, max_length=300)  # why it did not match
    invoice_id: int | None = Field(default=None, foreign_key="invoice.id")
    company_id: int | None = Field(default=None, foreign_key="company.id", index=True)
    transaction_id: int | None = Field(default=None, foreign_key="ledgertransaction.id")
    created_at: float
    resolved_at: float | None = None
    resolved_by: int | None = None


class RegisterPeriod(SQLModel, table=True):
    """A register's month (``YYYY-MM``, Moscow time): paid (by its booking or the monthly job) or
    in arrears. One row per register and month: the monthly charge happens once."""

    __table_args__ = (UniqueConstraint("register_id", "period"),)

    id: int | None = Field(default=None, primary_key=True)
    register_id: int = Field(foreign_key="register.id", index=True)
    company_id: int = Field(foreign_key="company.id", index=True)
    period: str = Field(max_length=7)
    tariff_code: str = Field(max_length=32)
    amount: int  # what this month costs (0 for a month prepaid by an earlier charge)
    status: str = Field(max_length=16)  # paid | arrears
    transaction_id: int | None = Field(default=None, foreign_key="ledgertransaction.id")
    created_at: float
    updated_at: float
