"""The fleet's outgoing commands (fleet/link/commands.py): what was sent, when, how often.

The register's answers (ack, result) are stored by the ingest in `linkcommand` under the same
(register, request id); this table is the sender's side only.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

__all__ = ["CommandStatus", "SentCommand"]


class CommandStatus(StrEnum):
    """pending (sent or due, no ack yet) → acked; or expired (no ack within its TTL)."""

    PENDING = "pending"
    ACKED = "acked"
    EXPIRED = "expired"


class SentCommand(SQLModel, table=True):
    """A command to one register, re-sent with the same request id until its ack comes."""

    __table_args__ = (
        UniqueConstraint("register_id", "request_id", name="uq_sentcommand_register_request"),
        Index("ix_sentcommand_due", "status", "next_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    register_id: int = Field(foreign_key="register.id")
    serial: str = Field(max_length=32)
    request_id: str = Field(max_length=64)
    action: str = Field(max_length=32)
    body: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))  # request or params
    ttl_s: int
    issued_at: int  # unix seconds: the same in every re-send (the register judges the TTL)
    expires_at: float
    status: str = Field(default=CommandStatus.PENDING.value, max_length=16)
    attempts: int = 0
    sent_at: float | None = None
    next_at: float  # when it is (re-)sent, unless an ack came
    created_at: float
