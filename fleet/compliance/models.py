"""Findings of the compliance checks: one row per (register, check), reopened when it recurs."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

__all__ = ["ComplianceFinding", "FindingStatus"]


class FindingStatus(StrEnum):
    """Open while the check matches; fixed once a run finds it no longer does."""

    OPEN = "open"
    FIXED = "fixed"


class ComplianceFinding(SQLModel, table=True):
    """A check that matched a register: since when, last seen, what it saw."""

    __table_args__ = (
        UniqueConstraint("register_id", "check_code", name="uq_compliancefinding_register_check"),
        Index("ix_compliancefinding_company_status", "company_id", "status", "severity"),
    )

    id: int | None = Field(default=None, primary_key=True)
    company_id: int = Field(foreign_key="company.id")
    register_id: int = Field(foreign_key="register.id")
    check_code: str = Field(max_length=8)
    severity: str = Field(max_length=8)  # critical / high / medium
    status: str = Field(default=FindingStatus.OPEN.value, max_length=8)
    first_seen: float
    last_seen: float
    fixed_at: float | None = None
    detail: str = Field(default="", max_length=500)
    document_id: int | None = None  # an example document, when the check has one
