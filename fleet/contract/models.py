"""Acceptances of the public offer: one row per company and offer version."""

from __future__ import annotations

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

__all__ = ["OfferAcceptance"]


class OfferAcceptance(SQLModel, table=True):
    """A company accepted a version of the offer (who, when, from which address)."""

    __table_args__ = (UniqueConstraint("company_id", "version", name="uq_offer_company_version"),)

    id: int | None = Field(default=None, primary_key=True)
    company_id: int = Field(foreign_key="company.id", index=True)
    version: str = Field(max_length=32)
    user_id: int | None = Field(default=None, foreign_key="user.id")
    ip: str = Field(default="", max_length=64)
    accepted_at: float
