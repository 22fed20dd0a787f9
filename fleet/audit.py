"""The audit log: one row for every change, written in the same transaction as the change."""

from __future__ import annotations

import json
from typing import Any

from sqlmodel import Field, Session, SQLModel

from fleet.core.clock import Clock

__all__ = ["AuditLog", "record"]


class AuditLog(SQLModel, table=True):
    """Who did what to which object, when (UTC seconds)."""

    id: int | None = Field(default=None, primary_key=True)
    at: float = Field(index=True)
    company_id: int | None = Field(default=None, index=True)
    user_id: int | None = None
    action: str = Field(max_length=64)
    entity: str = Field(max_length=64)
    entity_id: str | None = Field(default=None, max_length=64)
    detail: str = "{}"


def record(
    session: Session,
    clock: Clock,
    *,
    action: str,
    entity: str,
    entity_id: object = None,
    company_id: int | None = None,
    user_id: int | None = None,
    **detail: Any,
) -> None:
    """Add an audit row to ``session`` (committed with the change it describes)."""
    session.add(
        AuditLog(
            at=clock.wall(),
            company_id=company_id,
            user_id=user_id,
            action=action,
            entity=entity,
            entity_id=None if entity_id is None else str(entity_id),
            detail=json.dumps(detail, ensure_ascii=False, sort_keys=True),
        )
    )
