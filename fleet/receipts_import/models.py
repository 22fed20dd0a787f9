"""The payments already receipted: one row per (company, payment key), so a statement uploaded
again makes no second receipt; and every payment a statement or registry showed, receipted or
not, kept for the fines control (check K23, fleet/compliance)."""

from __future__ import annotations

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

__all__ = ["ImportedPayment", "ReceivedPayment"]


class ImportedPayment(SQLModel, table=True):
    """A bank or acquiring payment a receipt was made for (``receipt_id``: fleet/receipts)."""

    __table_args__ = (UniqueConstraint("company_id", "key", name="uq_importedpayment_key"),)

    id: int | None = Field(default=None, primary_key=True)
    company_id: int = Field(foreign_key="company.id")
    key: str = Field(max_length=200)  # plan.bank_key / acquiring key
    source: str = Field(max_length=16)  # "bank" or "acquiring"
    amount: int  # kopecks
    receipt_id: int | None = None
    user_id: int | None = None
    created_at: float


class ReceivedPayment(SQLModel, table=True):
    """A payment received, as an uploaded bank statement or acquiring registry listed it.

    Filed when the file is read (fleet/receipts_import/received.py), whether or not a receipt is
    made for it, so the fines control can find the payments from people that no receipt
    matches. ``needs_receipt`` and ``reason`` are the classification at filing time."""

    __table_args__ = (
        UniqueConstraint("company_id", "key", name="uq_receivedpayment_key"),
        Index("ix_receivedpayment_company_paid", "company_id", "paid_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    company_id: int = Field(foreign_key="company.id")
    key: str = Field(max_length=200)  # the same key as ImportedPayment's
    source: str = Field(max_length=16)  # "bank" or "acquiring"
    paid_at: float  # the payment's date (credited, or the operation's), 00:00 Moscow time
    number: str = Field(max_length=64)
    amount: int  # kopecks
    operation: int  # tag 1054: 1 income (a payment), 2 income return (a card refund)
    payer: str = Field(default="", max_length=255)
    payer_inn: str = Field(default="", max_length=12)
    purpose: str = Field(default="", max_length=255)
    needs_receipt: bool
    reason: str = Field(default="", max_length=100)  # why no receipt is needed
    recorded_at: float
    user_id: int | None = None
