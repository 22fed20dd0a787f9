"""Delivery tables: each receipt's cascade (its durable state), every attempt to send it (the
proof of sending), the client's channel order per store or register, its privacy settings and the
tariffs' prices of paid channels.

The buyer's contact lives only in ``delivery.contact`` (and in the fiscal document, tag 1008);
attempts keep the masked address. The retention job and an erasure request blank the contact and
keep its masked form and a keyed hash (so an erasure request still finds the rows).
"""

from __future__ import annotations

from sqlalchemy import JSON, Column, Index, Table, UniqueConstraint
from sqlmodel import Field, SQLModel

from fleet.receipts.models import Receipt

__all__ = ["Delivery", "DeliveryAttempt", "DeliveryPrefs", "DeliveryPrice", "DeliveryRoute"]


class DeliveryAttempt(SQLModel, table=True):
    """One try by one channel for one receipt."""

    __tablename__ = "delivery_attempt"
    __table_args__ = (
        Index("ix_delivery_attempt_receipt", "receipt_id"),
        Index("ix_delivery_attempt_company_at", "company_id", "at"),
        Index("ix_delivery_attempt_delivery", "delivery_id"),
        Index("ix_delivery_attempt_key", "key", unique=True),
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
    # the durable cascade (migration 0023); None on attempts journaled by `save_attempts`
    delivery_id: int | None = None
    # "<delivery>:<round>:<channel>": one send per channel per round; the provider's dedup key
    key: str | None = Field(default=None, max_length=64)
    price_kop: int = 0  # what the balance was debited (refunded when the provider refused)
    sent_at: float | None = None
    settled_at: float | None = None
    # a delivery status notification (RFC 3464) that named this e-mail (migration 0030): when
    # and what it said; one after the bounce window is kept here and changes nothing else
    bounced_at: float | None = None
    bounce: str | None = Field(default=None, max_length=300)
    # sends the provider refused for now (an outage, a rate limit) while the attempt stayed
    # queued within its channel's wait (migration 0039); ``error`` holds the last refusal
    retries: int = Field(default=0, sa_column_kwargs={"server_default": "0"})


class Delivery(SQLModel, table=True):
    """A receipt's way to its buyer: the contact, the channel order, where the cascade is.

    ``state`` is active (``next_at`` says when to look again), delivered or failed (every
    channel tried). A resend starts a new ``round`` over the same order.
    """

    __table_args__ = (
        Index("ix_delivery_due", "state", "next_at"),
        Index("ix_delivery_company_created", "company_id", "created_at"),
        Index("ix_delivery_contact_hash", "company_id", "contact_hash"),
    )

    id: int | None = Field(default=None, primary_key=True)
    company_id: int = Field(foreign_key="company.id")
    receipt_id: int = Field(foreign_key="receipt.id", unique=True)
    store_id: int | None = None
    register_id: int | None = None
    contact: str | None = Field(default=None, max_length=64)  # None once erased or expired
    contact_kind: str = Field(max_length=8)  # email | phone
    contact_hash: str = Field(max_length=64)  # HMAC of the normalised contact (erasure lookup)
    masked: str = Field(max_length=64)
    order: list[str] = Field(sa_column=Column(JSON, nullable=False))
    token: str = Field(max_length=43, unique=True)  # the public page's unguessable id
    state: str = Field(default="active", max_length=16)
    round: int = 1
    position: int = 0  # index in ``order`` of the next channel to start
    next_at: float
    version: int = 0  # compare-and-set guard: one worker steps a delivery at a time
    reason: str | None = Field(default=None, max_length=300)
    fiscalised_at: float
    first_attempt_at: float | None = None
    resent_at: float | None = None  # the mark of the last resend batch (its progress bar)
    created_at: float
    updated_at: float


class DeliveryRoute(SQLModel, table=True):
    """The client's channel order for the whole company (both ids None), a store or a register
    (the most specific one wins)."""

    __tablename__ = "delivery_route"
    __table_args__ = (
        UniqueConstraint("company_id", "store_id", "register_id", name="uq_delivery_route_scope"),
    )

    id: int | None = Field(default=None, primary_key=True)
    company_id: int = Field(foreign_key="company.id", index=True)
    store_id: int | None = Field(default=None, foreign_key="store.id")
    register_id: int | None = Field(default=None, foreign_key="register.id")
    order: list[str] = Field(sa_column=Column(JSON, nullable=False))
    updated_at: float


class DeliveryPrefs(SQLModel, table=True):
    """A company's delivery settings: retention of buyers' contacts and its mail domain."""

    __tablename__ = "delivery_prefs"

    company_id: int = Field(primary_key=True, foreign_key="company.id")
    retention_days: int = 30
    dkim_domain: str | None = Field(default=None, max_length=253)
    dkim_selector: str | None = Field(default=None, max_length=63)
    dkim_key_pem: str | None = None  # the merchant's private key for its own From domain
    updated_at: float


class DeliveryPrice(SQLModel, table=True):
    """A paid channel's price per message under a tariff (``*``: every tariff without a row)."""

    __tablename__ = "delivery_price"

    tariff_code: str = Field(primary_key=True, max_length=32)
    channel: str = Field(primary_key=True, max_length=16)
    price_kop: int


_RECEIPT: Table = Receipt.__table__  # type: ignore[attr-defined]
#: The delivery worker finds newly fiscalised receipts by time (worker.py `_enqueue`, migration
#: 0038): without it each pass read every fiscalised receipt ever made to find the new ones.
Index("ix_receipt_fiscalised_at", _RECEIPT.c.fiscalised_at)
