"""The receipt tables: receipts, their parts (one fiscal document each), the registers' routing
profiles, companies' callback settings and callback deliveries.

A receipt is what an integrator sent (one request of the shared schema, docs/receipt-schema.md);
a part is what one register fiscalises (a receipt too large for one document has several).
Routing, sending and tracking work on parts; a receipt's status is derived from its parts.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Final

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

__all__ = [
    "STATUS_LABEL",
    "CallbackDelivery",
    "CallbackSettings",
    "DeliveryStatus",
    "Receipt",
    "ReceiptPart",
    "ReceiptStatus",
    "RoutingProfile",
    "RoutingUsage",
]


class ReceiptStatus(StrEnum):
    """accepted → queued → fiscalised → confirmed (by the OFD); or failed."""

    ACCEPTED = "accepted"  # validated and stored, waiting for a register
    QUEUED = "queued"  # given to one register (a command sent or due)
    FISCALISED = "fiscalised"  # the drive made the document (FD, ФП)
    CONFIRMED = "confirmed"  # the OFD accepted the document
    FAILED = "failed"  # not fiscalised: `failure` says why, `retryable` whether a retry helps


STATUS_LABEL: Final[dict[ReceiptStatus, str]] = {
    ReceiptStatus.ACCEPTED: "Принят",
    ReceiptStatus.QUEUED: "В очереди кассы",
    ReceiptStatus.FISCALISED: "Фискализирован",
    ReceiptStatus.CONFIRMED: "Подтверждён ОФД",
    ReceiptStatus.FAILED: "Ошибка",
}

#: Order of progress: a receipt is as far as its least advanced part.
PROGRESS: Final[dict[str, int]] = {
    ReceiptStatus.ACCEPTED: 0,
    ReceiptStatus.QUEUED: 1,
    ReceiptStatus.FISCALISED: 2,
    ReceiptStatus.CONFIRMED: 3,
}


class Receipt(SQLModel, table=True):
    """One integrator request, unique per company by its external id (the request's `id`)
    and, when given, by the Idempotency-Key header."""

    __table_args__ = (
        UniqueConstraint("company_id", "external_id", name="uq_receipt_company_external"),
        UniqueConstraint("company_id", "idempotency_key", name="uq_receipt_company_key"),
        Index("ix_receipt_company_created", "company_id", "created_at"),
        Index("ix_receipt_status", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    company_id: int = Field(foreign_key="company.id")
    external_id: str = Field(max_length=128)
    idempotency_key: str | None = Field(default=None, max_length=128)
    body_hash: str = Field(max_length=64)  # SHA-256 of the canonical JSON body
    body: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    kind: str = Field(max_length=32)  # sale, sale_return, …, sale_correction, …
    total: int  # kopecks
    parts: int = 1
    status: str = Field(default=ReceiptStatus.ACCEPTED.value, max_length=16)
    failure: str | None = Field(default=None, max_length=500)
    retryable: bool | None = None
    created_at: float
    updated_at: float
    fiscalised_at: float | None = None
    confirmed_at: float | None = None


class ReceiptPart(SQLModel, table=True):
    """One fiscal document of a receipt: its request, its register and what the drive made."""

    __table_args__ = (
        UniqueConstraint("receipt_id", "part_no", name="uq_receiptpart_receipt_no"),
        Index("ix_receiptpart_status_register", "status", "register_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    receipt_id: int = Field(foreign_key="receipt.id", index=True)
    company_id: int = Field(foreign_key="company.id")
    part_no: int  # 1..parts
    request_id: str = Field(max_length=64, unique=True)  # the command's and the journal's id
    action: str = Field(max_length=16)  # "receipt" or "correction" (docs/mqtt.md)
    request: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    total: int
    status: str = Field(default=ReceiptStatus.ACCEPTED.value, max_length=16)
    register_id: int | None = Field(default=None, foreign_key="register.id")
    # the register the sender chose (the cabinet's manual form): routed only there
    pinned_register_id: int | None = Field(default=None, foreign_key="register.id")
    # the company's store (point of sale) the receipt names: only that store's registers,
    # registered at its address and in its time zone, may make it
    store_id: int | None = Field(default=None, foreign_key="store.id")
    # registers that answered "not executed" for this part: it never goes back to them
    tried: list[int] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    routed_at: float | None = None
    fn_number: str | None = Field(default=None, max_length=16)
    fd_number: int | None = None
    fiscal_sign: str | None = Field(default=None, max_length=20)
    shift_number: int | None = None
    receipt_number: int | None = None
    document_time: str | None = Field(default=None, max_length=32)  # the register's local time
    qr: str | None = Field(default=None, max_length=200)
    ofd_status: str | None = Field(default=None, max_length=16)
    failure: str | None = Field(default=None, max_length=500)
    retryable: bool | None = None
    created_at: float
    updated_at: float


class RoutingProfile(SQLModel, table=True):
    """What routing needs to know of a register's registration: the user's INN, the FFD
    version, tax systems and usage flags (the shared schema's register profile, rules.py)."""

    register_id: int = Field(primary_key=True, foreign_key="register.id")
    inn: str = Field(max_length=12, index=True)
    profile: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    updated_at: float


class RoutingUsage(SQLModel, table=True):
    """Parts routed to a register in a Moscow month (``YYYY-MM``), against its tariff's
    receipts quota: raised by routing in the assigning transaction, lowered when a part comes
    back unmade ("not executed", refused, expired), so it counts what was made or is in flight."""

    register_id: int = Field(primary_key=True, foreign_key="register.id")
    period: str = Field(primary_key=True, max_length=7)
    routed: int = 0


class CallbackSettings(SQLModel, table=True):
    """A company's callback URL and the secret its events are signed with (HMAC-SHA-256)."""

    company_id: int = Field(primary_key=True, foreign_key="company.id")
    url: str = Field(max_length=500)
    secret: str = Field(max_length=200)
    updated_at: float


class DeliveryStatus(StrEnum):
    """A callback event's delivery."""

    PENDING = "pending"  # due at next_at
    DELIVERED = "delivered"  # the receiver answered 2xx
    GAVE_UP = "gave_up"  # every attempt failed


class CallbackDelivery(SQLModel, table=True):
    """One event for one company's callback URL, retried with backoff until a 2xx."""

    __table_args__ = (Index("ix_callbackdelivery_due", "status", "next_at"),)

    id: int | None = Field(default=None, primary_key=True)
    event_id: str = Field(max_length=64, unique=True)
    company_id: int = Field(foreign_key="company.id")
    receipt_id: int = Field(foreign_key="receipt.id", index=True)
    event: str = Field(max_length=16)  # fiscalised | confirmed | failed
    payload: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    status: str = Field(default=DeliveryStatus.PENDING.value, max_length=16)
    attempts: int = 0
    next_at: float
    last_error: str | None = Field(default=None, max_length=500)
    created_at: float
    delivered_at: float | None = None
