"""Delivery tables: every attempt to send a receipt to its buyer, kept as proof of sending.

Only the masked address is stored here: the buyer's contact itself stays in the receipt
(tag 1008) and is erased from there by the retention job (152-FZ, not built yet).
"""

from __future__ import annotations

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

__all__ = ["DeliveryAttempt"]


class DeliveryAttempt(SQLModel, table=True):
    """One try by one channel for one receipt."""

    __tablename__ = "delivery_attempt"
    __table_args__ = (
        Index("ix_delivery_attempt_receipt", "receipt_id"),
        Index("ix_delivery_attempt_company_at", "company_id", "at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    company_id: int = Field(foreign_key="company.id")
    receipt_id: int = Field(foreign_key="receipt.id")
    channel: str = Field(max_length=16)
    masked_address: str = Field(max_length=64)
    provider_id: str | None = Field(default=None, max_length=200)
    status: str = Field(max_length=16)  # AttemptStatus
    error: str | None = Field(default=None, max_length=300)
    at: float
