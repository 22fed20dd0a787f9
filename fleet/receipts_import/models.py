"""The payments already receipted: one row per (company, payment key), so a statement uploaded
again makes no second receipt."""

from __future__ import annotations

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

__all__ = ["ImportedPayment"]


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
