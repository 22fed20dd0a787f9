"""The sandbox's tables: each client's sandbox twin company and its simulated registers."""

from __future__ import annotations

from sqlmodel import Field, SQLModel

__all__ = ["SandboxCompany", "SandboxRegister"]


class SandboxCompany(SQLModel, table=True):
    """A client company's sandbox twin: a company of its own (own registers, receipts and
    keys), so routing, idempotency and listing never mix test and production receipts."""

    company_id: int = Field(primary_key=True, foreign_key="company.id")
    sandbox_company_id: int = Field(foreign_key="company.id", unique=True)
    created_at: float


class SandboxRegister(SQLModel, table=True):
    """A simulated register of a sandbox twin with its test drive's counters: it answers the
    fleet's commands itself, never registers with the tax service, never reaches an OFD."""

    register_id: int = Field(primary_key=True, foreign_key="register.id")
    company_id: int = Field(foreign_key="company.id", index=True)
    fn_number: str = Field(max_length=16)
    last_fd: int = 0
    shift_number: int = 1
    receipts_in_shift: int = 0
    created_at: float
