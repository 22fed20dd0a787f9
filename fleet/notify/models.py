"""Notification tables: one row per user and event (deduplicated by key), e-mail preferences."""

from __future__ import annotations

from typing import Final

from sqlalchemy import Index, UniqueConstraint
from sqlmodel import Field, SQLModel

__all__ = ["KINDS", "EmailState", "Kind", "Notification", "NotificationPreference"]


class Kind:
    """A kind of notification: its Russian label and whether it goes by e-mail by default."""

    def __init__(self, code: str, label: str, email_default: bool) -> None:
        self.code, self.label, self.email_default = code, label, email_default


KINDS: Final[dict[str, Kind]] = {
    k.code: k
    for k in (
        Kind("drive.replace", "Замена фискального накопителя", True),
        Kind("drive.purchase", "Покупка фискальных накопителей", False),
    )
}


class EmailState:
    """What happens to a notification's letter."""

    NONE: Final = "none"  # the user does not want this kind by e-mail
    PENDING: Final = "pending"
    SENT: Final = "sent"
    FAILED: Final = "failed"  # retried by the next run until MAX_ATTEMPTS


class Notification(SQLModel, table=True):
    """A message to one user; ``key`` makes raising the same event twice harmless."""

    __table_args__ = (
        UniqueConstraint("user_id", "key", name="uq_notification_user_key"),
        Index("ix_notification_user_read", "user_id", "read_at"),
        Index("ix_notification_email", "email_state"),
    )

    id: int | None = Field(default=None, primary_key=True)
    company_id: int = Field(foreign_key="company.id", index=True)
    user_id: int = Field(foreign_key="user.id")
    kind: str = Field(max_length=32)
    key: str = Field(max_length=128)
    title: str = Field(max_length=200)
    body: str = Field(max_length=2000)
    link: str | None = Field(default=None, max_length=300)
    created_at: float
    read_at: float | None = None
    email_state: str = Field(default=EmailState.NONE, max_length=16)
    email_attempts: int = 0
    emailed_at: float | None = None
    email_error: str | None = Field(default=None, max_length=300)


class NotificationPreference(SQLModel, table=True):
    """A user's choice for one kind: by e-mail or in the cabinet only."""

    user_id: int = Field(primary_key=True, foreign_key="user.id")
    kind: str = Field(primary_key=True, max_length=32)
    email: bool
