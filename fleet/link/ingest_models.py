"""The ingest's tables: dead letters, device shadows, storage watermarks, commands' answers.

Written only by the MQTT ingest (fleet/link/ingest.py) with set-based Core statements; the
cabinet reads them.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel

__all__ = ["DeadLetter", "DeviceShadow", "LinkCommand", "PendingOfdAnswer", "StoredWatermark"]


class DeadLetter(SQLModel, table=True):
    """A message the ingest could not take (bad topic, size, JSON, version, schema, serial)."""

    __table_args__ = (Index("ix_deadletter_received", "received_at"),)

    id: int | None = Field(default=None, primary_key=True)
    topic: str = Field(max_length=512)
    payload: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    reason: str = Field(max_length=500)
    serial: str | None = Field(default=None, max_length=32)
    kind: str | None = Field(default=None, max_length=16)
    received_at: float


class DeviceShadow(SQLModel, table=True):
    """The reported half of a register's shadow and its presence."""

    register_id: int = Field(primary_key=True, foreign_key="register.id")
    online: bool = False
    presence_at: float | None = None  # when the last presence message came
    last_seen_at: float | None = None  # the last message of any kind from the register
    firmware: str | None = Field(default=None, max_length=32)
    offline_reason: str | None = Field(default=None, max_length=16)
    # BIGINT where the link allows more than 2^31 - 1 (seq 2^53 - 1, FD and outbox 2^32 - 1)
    seq: int | None = Field(default=None, sa_type=BigInteger)  # only a newer state replaces it
    reported: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    reported_at: float | None = None
    # from `reported`, as columns: which drives may hold documents the fleet lacks
    drive_fn: str | None = Field(default=None, max_length=16)
    drive_last_fd: int | None = Field(default=None, sa_type=BigInteger)
    outbox: int | None = Field(default=None, sa_type=BigInteger)


class StoredWatermark(SQLModel, table=True):
    """Per drive: every FD 1..through is in fiscaldocument; `highest` the largest stored FD.

    The ingest only looks at documents above `through`, so the storage acknowledgement costs
    O(new documents), never a scan of the drive's history.
    """

    fn_number: str = Field(primary_key=True, max_length=16)
    register_id: int = Field(foreign_key="register.id", index=True)
    through: int = Field(default=0, sa_type=BigInteger)  # FD numbers: up to 2^32 - 1
    highest: int = Field(default=0, sa_type=BigInteger)
    updated_at: float


class PendingOfdAnswer(SQLModel, table=True):
    """An OFD answer that came before its document; applied when the document is stored."""

    fn_number: str = Field(primary_key=True, max_length=16)
    fd_number: int = Field(primary_key=True, sa_type=BigInteger)  # up to 2^32 - 1
    status: str = Field(max_length=16)
    code: int | None = None
    answered_at: float


class LinkCommand(SQLModel, table=True):
    """What a register answered to a fleet command: its ack and its result, by request id."""

    __table_args__ = (
        UniqueConstraint("register_id", "request_id", name="uq_linkcommand_register_request"),
    )

    id: int | None = Field(default=None, primary_key=True)
    register_id: int = Field(foreign_key="register.id")
    request_id: str = Field(max_length=64)
    ack_status: str | None = Field(default=None, max_length=16)
    ack_errors: list[Any] | None = Field(default=None, sa_column=Column(JSON))
    acked_at: float | None = None
    result_status: str | None = Field(default=None, max_length=16)
    result: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    result_at: float | None = None
