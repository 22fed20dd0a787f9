"""Findings of the compliance checks: one row per (register, check), reopened when it recurs;
a check about the company rather than a register (K23, bank payments) has one row per
(company, check) with no register."""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import Index, UniqueConstraint, text
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
        # NULLs are distinct in the constraint above: the company's own findings need this one
        Index(
            "uq_compliancefinding_company_check",
            "company_id",
            "check_code",
            unique=True,
            postgresql_where=text("register_id IS NULL"),
            sqlite_where=text("register_id IS NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    company_id: int = Field(foreign_key="company.id")
    register_id: int | None = Field(default=None, foreign_key="register.id")  # None: company
    check_code: str = Field(max_length=8)
    severity: str = Field(max_length=8)  # critical / high / medium
    status: str = Field(default=FindingStatus.OPEN.value, max_length=8)
    first_seen: float
    last_seen: float
    fixed_at: float | None = None
    detail: str = Field(default="", max_length=500)
    document_id: int | None = None  # an example document (K23: a receivedpayment id)
