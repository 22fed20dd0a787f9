"""The audit log: one row for every change, written in the same transaction as the change."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func
from sqlmodel import Field, Session, SQLModel, col, select

from fleet.access.principal import Principal
from fleet.core.clock import Clock

__all__ = ["AuditLog", "AuditPage", "list_entries", "record", "record_by"]


class AuditLog(SQLModel, table=True):
    """Who did what to which object, when (UTC seconds)."""

    id: int | None = Field(default=None, primary_key=True)
    at: float = Field(index=True)
    company_id: int | None = Field(default=None, index=True)
    user_id: int | None = None
    token_id: int | None = None  # the API token that acted, if it was one
    action: str = Field(max_length=64, index=True)
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
    _add(session, clock, action, entity, entity_id, company_id, user_id, None, detail)


def record_by(
    session: Session,
    clock: Clock,
    actor: Principal,
    *,
    action: str,
    entity: str,
    entity_id: object = None,
    company_id: int | None = None,
    **detail: Any,
) -> None:
    """`record` for a principal's action: its company (unless given), user and API token."""
    _add(
        session,
        clock,
        action,
        entity,
        entity_id,
        actor.company_id if company_id is None else company_id,
        actor.user_id,
        actor.token_id,
        detail,
    )


def _add(
    session: Session,
    clock: Clock,
    action: str,
    entity: str,
    entity_id: object,
    company_id: int | None,
    user_id: int | None,
    token_id: int | None,
    detail: dict[str, Any],
) -> None:
    session.add(
        AuditLog(
            at=clock.wall(),
            company_id=company_id,
            user_id=user_id,
            token_id=token_id,
            action=action,
            entity=entity,
            entity_id=None if entity_id is None else str(entity_id),
            detail=json.dumps(detail, ensure_ascii=False, sort_keys=True),
        )
    )


@dataclass(frozen=True)
class AuditPage:
    """One page of audit rows (newest first) and how many match the filter."""

    items: list[AuditLog]
    total: int
    limit: int
    offset: int


MAX_PAGE = 200


def list_entries(
    session: Session,
    *,
    company_id: int,
    action: str | None = None,
    since: float | None = None,
    until: float | None = None,
    limit: int = 50,
    offset: int = 0,
) -> AuditPage:
    """The company's audit rows, newest first; ``action`` matches exactly or as a prefix
    ending in a dot (``role.`` gives every role action); the period is [since, until)."""
    limit = max(1, min(MAX_PAGE, limit))
    offset = max(0, offset)
    conds: list[Any] = [AuditLog.company_id == company_id]
    if action:
        if action.endswith("."):
            conds.append(col(AuditLog.action).startswith(action, autoescape=True))
        else:
            conds.append(AuditLog.action == action)
    if since is not None:
        conds.append(AuditLog.at >= since)
    if until is not None:
        conds.append(AuditLog.at < until)
    total = session.exec(select(func.count()).select_from(AuditLog).where(*conds)).one()
    rows = session.exec(
        select(AuditLog)
        .where(*conds)
        .order_by(col(AuditLog.at).desc(), col(AuditLog.id).desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return AuditPage(items=list(rows), total=int(total), limit=limit, offset=offset)
