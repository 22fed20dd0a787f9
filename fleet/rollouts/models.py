"""The rollouts' tables: firmware bundles, rollouts and each register's part in one."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Column, Index, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel

__all__ = ["FirmwareBundle", "Rollout", "RolloutDevice"]


class FirmwareBundle(SQLModel, table=True):
    """A bundle built by `oblako firmware build`, kept whole: registers download it."""

    id: int | None = Field(default=None, primary_key=True)
    version: str = Field(max_length=32, unique=True)
    sha256: str = Field(max_length=64, unique=True)
    size: int
    board: str = Field(default="", max_length=64)
    manifest: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    # only a certified version may go to a registered register (DESIGN decision 9)
    certified: bool = False
    certified_by: int | None = Field(default=None, foreign_key="user.id")
    certified_at: float | None = None
    uploaded_by: int | None = Field(default=None, foreign_key="user.id")
    created_at: float


class Rollout(SQLModel, table=True):
    """A staged rollout of one bundle to a group: a canary, then phases by share."""

    id: int | None = Field(default=None, primary_key=True)
    bundle_id: int = Field(foreign_key="firmwarebundle.id", index=True)
    target: str = Field(default="", max_length=64)  # a rack ("R1"), or "" for the whole fleet
    status: str = Field(default="running", max_length=16, index=True)
    canary: int = 1
    phases: list[int] = Field(sa_column=Column(JSON, nullable=False))  # cumulative shares, %
    phase: int = 0  # 0: the canary; i: phases[i - 1]
    threshold_pct: int = 5
    min_devices: int = 20
    device_timeout_s: int = 1800
    base_url: str = Field(max_length=256)  # where registers download the bundle
    abort_reason: str | None = Field(default=None, max_length=500)
    created_by: int | None = Field(default=None, foreign_key="user.id")
    created_at: float
    finished_at: float | None = None


class RolloutDevice(SQLModel, table=True):
    """One register in a rollout: waiting → sent → staged (rebooting) → succeeded or failed."""

    __table_args__ = (
        UniqueConstraint("rollout_id", "register_id", name="uq_rolloutdevice_register"),
        Index("ix_rolloutdevice_rollout_status", "rollout_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    rollout_id: int = Field(foreign_key="rollout.id")
    register_id: int = Field(foreign_key="register.id", index=True)
    serial: str = Field(max_length=32)
    position: int  # the order devices are taken in (the canary first)
    status: str = Field(default="waiting", max_length=16)
    phase: int | None = None  # the phase it was started in
    request_id: str | None = Field(default=None, max_length=64)
    from_version: str | None = Field(default=None, max_length=32)
    sent_at: float | None = None
    staged_at: float | None = None
    finished_at: float | None = None
    reason: str | None = Field(default=None, max_length=500)  # why it failed, or waits
