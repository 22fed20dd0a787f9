"""The General's report tables: the issued links (only token hashes) and who opened them."""

from __future__ import annotations

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

__all__ = ["GeneralLink", "GeneralView"]


class GeneralLink(SQLModel, table=True):
    """One version of a company's report link. At most one per company has ``revoked_at``
    None: issuing a new one revokes the previous in the same transaction."""

    __tablename__ = "general_link"
    __table_args__ = (Index("ix_general_link_company", "company_id", "revoked_at"),)

    id: int | None = Field(default=None, primary_key=True)
    company_id: int = Field(foreign_key="company.id")
    # SHA-256 of the secret (hex): the secret itself is shown once and never stored
    token_hash: str = Field(max_length=64, unique=True)
    store_id: int | None = Field(default=None, foreign_key="store.id")  # None: every store
    days: int  # the rolling period the report covers, ending today
    created_by: int | None = Field(default=None, foreign_key="user.id")
    created_at: float
    revoked_at: float | None = None


class GeneralView(SQLModel, table=True):
    """One opening of a link: when, from which address, with which browser."""

    __tablename__ = "general_view"
    __table_args__ = (Index("ix_general_view_link_at", "link_id", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    link_id: int = Field(foreign_key="general_link.id")
    at: float
    ip: str = Field(max_length=64)
    user_agent: str = Field(max_length=300)
