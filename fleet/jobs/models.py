"""The jobs table: one row per scheduled job, the lock and the schedule in one place."""

from __future__ import annotations

from sqlmodel import Field, SQLModel

__all__ = ["Job"]


class Job(SQLModel, table=True):
    """A job's lease (owner, lease_until), its next run and its last outcome (UTC seconds)."""

    name: str = Field(primary_key=True, max_length=64)
    owner: str | None = Field(default=None, max_length=128)
    lease_until: float | None = None
    next_run_at: float
    last_started_at: float | None = None
    last_finished_at: float | None = None
    last_status: str | None = Field(default=None, max_length=16)
    last_error: str | None = Field(default=None, max_length=500)
    runs: int = 0
