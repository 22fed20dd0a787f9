"""The desired half of a register's shadow: what the fleet wants it to apply (docs/mqtt.md)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, BigInteger, Column
from sqlmodel import Field, SQLModel

__all__ = ["DesiredState"]


class DesiredState(SQLModel, table=True):
    """One register's desired document; `seq` grows with every change.

    `published_seq` is the last seq put on the broker (retained); `next_at` is when the sender
    looks again whether the register reported it.
    """

    register_id: int = Field(primary_key=True, foreign_key="register.id")
    seq: int = Field(default=0, sa_type=BigInteger)
    doc: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    updated_at: float
    updated_by: int | None = Field(default=None, foreign_key="user.id")
    published_seq: int | None = Field(default=None, sa_type=BigInteger)
    published_at: float | None = None
    next_at: float | None = Field(default=None, index=True)
