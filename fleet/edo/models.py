"""The EDO tables: a company's connection to an EDO operator and its closing documents."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

__all__ = ["EdoConnection", "EdoDocument", "EdoDocumentKind", "EdoDocumentStatus", "EdoLinkStatus"]


class EdoLinkStatus(StrEnum):
    """Whether the operator knows the client's participant id."""

    ACTIVE = "active"
    REFUSED = "refused"  # the operator does not know this participant
    DISCONNECTED = "disconnected"


class EdoDocumentKind(StrEnum):
    """One closing document per company, month and kind of service."""

    TARIFFS = "tariffs"
    DRIVES = "drives"
    MESSAGES = "messages"


class EdoDocumentStatus(StrEnum):
    """ready → sent → signed | refused. A failed send stays ready (with ``last_error``)."""

    READY = "ready"
    SENT = "sent"
    SIGNED = "signed"
    REFUSED = "refused"


class EdoConnection(SQLModel, table=True):
    """A client company's EDO operator and participant id (ИдУчастника ЭДО)."""

    company_id: int = Field(primary_key=True, foreign_key="company.id")
    operator_id: str = Field(max_length=3)
    participant_id: str = Field(max_length=46)
    status: str = Field(max_length=16)
    message: str | None = Field(default=None, max_length=300)
    created_at: float
    updated_at: float


class EdoDocument(SQLModel, table=True):
    """A closing document (УПД) of a month: its lines, its XML, and how its exchange stands.
    Unique per company, month and kind: the monthly job makes and sends it once."""

    __table_args__ = (
        UniqueConstraint("company_id", "period", "kind", name="uq_edodocument_month_kind"),
        Index("ix_edodocument_status_next", "status", "next_attempt_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    company_id: int = Field(foreign_key="company.id", index=True)
    period: str = Field(max_length=7)  # YYYY-MM, Moscow time
    kind: str = Field(max_length=16)
    number: str = Field(max_length=32)
    amount: int  # kopecks, VAT included
    vat: int  # kopecks
    lines: list[dict[str, Any]] = Field(sa_column=Column(JSON, nullable=False))
    file_id: str = Field(max_length=200)  # ИдФайл of the XML
    xml: str = Field(sa_column=Column(Text, nullable=False))
    recipient_id: str = Field(max_length=46)
    status: str = Field(default=EdoDocumentStatus.READY.value, max_length=16)
    edo_id: str | None = Field(default=None, max_length=64)
    attempts: int = 0
    last_error: str | None = Field(default=None, max_length=300)
    next_attempt_at: float | None = None
    refusal: str | None = Field(default=None, max_length=500)
    created_at: float
    sent_at: float | None = None
    answered_at: float | None = None
