"""The compatible APIs' tables: the peers' short-lived tokens and each compat receipt's peer
identity (its UUID, group, callback URL and the callback's delivery)."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

__all__ = ["CompatCallbackStatus", "CompatReceipt", "CompatToken", "Peer"]


class Peer(StrEnum):
    """Whose API a token or a receipt came through."""

    ATOL = "atol"
    FERMA = "ferma"


class CompatToken(SQLModel, table=True):
    """A peer's session token (ATOL `getToken`, Ferma `CreateAuthToken`) for an Oblako API key:
    only its SHA-256 is kept; it acts with the key's role while the key lives and until
    `expires_at` (ATOL and Ferma document 24 hours)."""

    __table_args__ = (Index("ix_compattoken_expires", "expires_at"),)

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(max_length=64, unique=True)
    api_token_id: int = Field(foreign_key="apitoken.id", index=True)
    company_id: int = Field(foreign_key="company.id")
    peer: str = Field(max_length=8)
    sandbox: bool = False
    created_at: float
    expires_at: float


class CompatCallbackStatus(StrEnum):
    """The peer-shaped callback of one receipt."""

    PENDING = "pending"  # due at callback_next_at once the receipt is final
    DELIVERED = "delivered"
    GAVE_UP = "gave_up"


class CompatReceipt(SQLModel, table=True):
    """A receipt made through a compatible API: the UUID the peer's clients know it by, the
    ATOL group, where its peer-shaped callback goes and how that delivery stands."""

    __table_args__ = (
        UniqueConstraint("uuid", name="uq_compatreceipt_uuid"),
        Index("ix_compatreceipt_callback_due", "callback_status", "callback_next_at"),
        Index("ix_compatreceipt_company_created", "company_id", "created_at"),
    )

    receipt_id: int = Field(primary_key=True, foreign_key="receipt.id")
    company_id: int = Field(foreign_key="company.id")
    peer: str = Field(max_length=8)
    uuid: str = Field(max_length=36)
    group_code: str | None = Field(default=None, max_length=64)
    operation: str = Field(max_length=32)  # the peer's: sell, …; Income, …
    callback_url: str | None = Field(default=None, max_length=500)
    callback_status: str | None = Field(default=None, max_length=16)
    callback_attempts: int = 0
    callback_next_at: float | None = None
    callback_error: str | None = Field(default=None, max_length=500)
    created_at: float
