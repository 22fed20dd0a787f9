"""Advertising-receipt tables: images, templates, where a template applies, buyers' consent.

A buyer's contact is personal data (152-FZ): a consent row keeps only a salted SHA-256 of the
normalised contact (to find it again) and the masked form the cabinet shows.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Index, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel

__all__ = ["AdAssignment", "AdConsent", "AdImage", "AdTemplate", "AssignmentKind", "ConsentSource"]


class AssignmentKind(StrEnum):
    """Where a template applies; a campaign wins over a register, a register over a store."""

    CAMPAIGN = "campaign"
    REGISTER = "register"
    STORE = "store"


class ConsentSource(StrEnum):
    """Where a buyer's consent to advertising came from."""

    RECEIPT_REQUEST = "receipt_request"  # the integrator's receipt request carried the flag
    API = "api"  # POST /api/adreceipts/consents
    CABINET = "cabinet"  # entered by the merchant in the cabinet


class AdImage(SQLModel, table=True):
    """An uploaded logo or banner picture (checked by its magic bytes, at most 512 KiB)."""

    __tablename__ = "ad_image"

    id: int | None = Field(default=None, primary_key=True)
    company_id: int = Field(foreign_key="company.id", index=True)
    content_type: str = Field(max_length=32)
    size: int
    sha256: str = Field(max_length=64)
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: float


class AdTemplate(SQLModel, table=True):
    """A frame around the buyer's receipt: colours, company, greeting, text, banners, links.

    ``banners``: ``[{"image_id", "link", "erid", "advertising"}]``; ``links``:
    ``[{"label", "url"}]``; both validated before they are stored."""

    __tablename__ = "ad_template"

    id: int | None = Field(default=None, primary_key=True)
    company_id: int = Field(foreign_key="company.id", index=True)
    name: str = Field(max_length=100)
    background: str = Field(max_length=7)  # #rrggbb
    company_name: str = Field(max_length=200)
    logo_id: int | None = Field(default=None, foreign_key="ad_image.id")
    greeting: str = Field(max_length=300)
    text: str = Field(max_length=2000)
    banners: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    links: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    created_at: float
    updated_at: float


class AdAssignment(SQLModel, table=True):
    """A template applied to a campaign (a named period, optionally narrowed to a store or a
    register), to a register or to a store; ``starts_at``/``ends_at`` bound it when set."""

    __tablename__ = "ad_assignment"
    __table_args__ = (Index("ix_ad_assignment_company_kind", "company_id", "kind"),)

    id: int | None = Field(default=None, primary_key=True)
    company_id: int = Field(foreign_key="company.id")
    template_id: int = Field(foreign_key="ad_template.id", index=True)
    kind: str = Field(max_length=16)  # AssignmentKind
    campaign: str | None = Field(default=None, max_length=100)
    store_id: int | None = Field(default=None, foreign_key="store.id")
    register_id: int | None = Field(default=None, foreign_key="register.id")
    starts_at: float | None = None
    ends_at: float | None = None  # exclusive
    created_at: float


class AdConsent(SQLModel, table=True):
    """A buyer's answer to advertising, one row per company and contact (the latest answer)."""

    __tablename__ = "ad_consent"
    __table_args__ = (
        UniqueConstraint("company_id", "contact_hash", name="uq_ad_consent_company_contact"),
    )

    id: int | None = Field(default=None, primary_key=True)
    company_id: int = Field(foreign_key="company.id")
    contact_hash: str = Field(max_length=64)
    masked: str = Field(max_length=64)
    granted: bool
    source: str = Field(max_length=32)  # ConsentSource
    receipt_id: int | None = Field(default=None, foreign_key="receipt.id")
    updated_at: float
