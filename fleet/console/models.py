"""The console's tables: operators' commands, alarms, the alarm rules' damping state, and
registers declared dead.

A command's life is read from the sender's `sentcommand` and the ingest's `linkcommand` rows
(fleet/link); `consolecommand` adds who asked, when, and the answers of earlier tries.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Final

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

__all__ = [
    "SEVERITY_LABEL",
    "Alarm",
    "AlarmStatus",
    "AlarmWatch",
    "ConsoleCommand",
    "DeadRegister",
    "Severity",
]


class Severity(StrEnum):
    """How urgent an alarm is."""

    CRITICAL = "critical"
    WARNING = "warning"
    INFO = "info"


SEVERITY_LABEL: Final[dict[str, str]] = {
    Severity.CRITICAL: "Критическая",
    Severity.WARNING: "Предупреждение",
    Severity.INFO: "Сведения",
}


class AlarmStatus(StrEnum):
    """open → acknowledged (an operator took it) → cleared (by an operator or by its rule)."""

    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    CLEARED = "cleared"


class ConsoleCommand(SQLModel, table=True):
    """A command an operator sent to a register (the request id is the sender's)."""

    __table_args__ = (
        UniqueConstraint("register_id", "request_id", name="uq_consolecommand_register_request"),
        Index("ix_consolecommand_requested", "requested_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    register_id: int = Field(foreign_key="register.id", index=True)
    request_id: str = Field(max_length=64)
    action: str = Field(max_length=32)
    params: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    ttl_s: int
    requested_by: int | None = Field(default=None, foreign_key="user.id")
    requested_at: float
    retries: int = 0
    retried_at: float | None = None
    # the answers of earlier tries (a retry clears the ingest's row so the new answer shows)
    history: list[Any] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))


class Alarm(SQLModel, table=True):
    """One alarm of one rule on one register; raised again while open, it only counts up."""

    __table_args__ = (Index("ix_alarm_register_rule_status", "register_id", "rule", "status"),)

    id: int | None = Field(default=None, primary_key=True)
    register_id: int = Field(foreign_key="register.id")
    rule: str = Field(max_length=32)
    severity: str = Field(max_length=16)
    message: str = Field(max_length=500)
    status: str = Field(default=AlarmStatus.OPEN.value, max_length=16, index=True)
    raised_at: float
    last_at: float  # the last time its rule found the condition (raised again, or escalated)
    occurrences: int = 1
    assignee_id: int | None = Field(default=None, foreign_key="user.id")
    acknowledged_by: int | None = Field(default=None, foreign_key="user.id")
    acknowledged_at: float | None = None
    cleared_by: int | None = Field(default=None, foreign_key="user.id")  # None: by its rule
    cleared_at: float | None = None


class AlarmWatch(SQLModel, table=True):
    """The damping state of one rule on one register (fleet/console/flap.py)."""

    register_id: int = Field(primary_key=True, foreign_key="register.id")
    rule: str = Field(primary_key=True, max_length=32)
    state: str = Field(max_length=16)
    since: float


class DeadRegister(SQLModel, table=True):
    """A register an operator declared dead: what its drive showed, what moved, its successor."""

    id: int | None = Field(default=None, primary_key=True)
    register_id: int = Field(foreign_key="register.id", unique=True)
    replacement_id: int | None = Field(default=None, foreign_key="register.id")
    declared_by: int | None = Field(default=None, foreign_key="user.id")
    declared_at: float
    reason: str = Field(max_length=500)
    fn_number: str | None = Field(default=None, max_length=16)
    stored_through: int = 0  # every FD up to it is in the fleet's database
    made: int = 0  # parts the drive's documents prove made
    moved: int = 0  # parts marked "not executed" and routed again
    held: int = 0  # parts left for a manual check (a document of the drive may be theirs)
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
