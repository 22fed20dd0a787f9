"""Raising, listing and reading notifications; each user's e-mail choices.

`notify_company` fans an event out to the company's users who may see registers (owners and
roles holding ``registers.view``), one row each, ``INSERT ... ON CONFLICT DO NOTHING`` on
(user, key): raising the same event again writes nothing. A row's letter is ``pending`` when the
user wants that kind by e-mail; `fleet.notify.delivery` sends it after the commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, func, or_, update
from sqlmodel import Session, col, select

from fleet.access.models import Role
from fleet.access.permissions import Permission
from fleet.accounts.models import User
from fleet.core.clock import Clock
from fleet.link.shadow import upsert
from fleet.notify.exceptions import InvalidPreferenceError, NotificationNotFoundError
from fleet.notify.models import KINDS, EmailState, Notification, NotificationPreference

__all__ = [
    "Event",
    "email_choices",
    "list_for",
    "mark_all_read",
    "mark_read",
    "notify_company",
    "set_email_choices",
    "unread_count",
]

_NOTE: Table = Notification.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Event:
    """What happened, for one company: kind (a key of KINDS), a dedup key, text, a link."""

    company_id: int
    kind: str
    key: str
    title: str
    body: str
    link: str | None = None


def _recipients(session: Session, company_ids: Sequence[int]) -> list[tuple[int, int]]:
    """(company, user) of confirmed, unblocked users who may see registers."""
    rows = session.exec(
        select(User.company_id, User.id)
        .outerjoin(Role, col(Role.id) == col(User.role_id))
        .where(
            col(User.company_id).in_(sorted(set(company_ids))),
            col(User.email_confirmed).is_(True),
            col(User.blocked_at).is_(None),
            or_(
                col(User.role_id).is_(None),
                col(Role.permissions).contains(Permission.REGISTERS_VIEW.value),
            ),
        )
    ).all()
    return [(c, u) for c, u in rows if u is not None]


def notify_company(session: Session, clock: Clock, events: Sequence[Event]) -> int:
    """Raise events (each once per user and key); returns rows written. Does not commit."""
    if not events:
        return 0
    for e in events:
        if e.kind not in KINDS:
            raise ValueError(f"unknown notification kind {e.kind}")
    users = _recipients(session, [e.company_id for e in events])
    by_company: dict[int, list[int]] = {}
    for company_id, user_id in users:
        by_company.setdefault(company_id, []).append(user_id)
    prefs = {
        (p.user_id, p.kind): p.email
        for p in session.exec(
            select(NotificationPreference).where(
                col(NotificationPreference.user_id).in_([u for _, u in users])
            )
        )
    }
    now = clock.wall()
    rows: list[dict[str, Any]] = []
    for e in events:
        for user_id in by_company.get(e.company_id, []):
            email = prefs.get((user_id, e.kind), KINDS[e.kind].email_default)
            rows.append(
                {
                    "company_id": e.company_id,
                    "user_id": user_id,
                    "kind": e.kind,
                    "key": e.key[:128],
                    "title": e.title[:200],
                    "body": e.body[:2000],
                    "link": e.link,
                    "created_at": now,
                    "email_state": EmailState.PENDING if email else EmailState.NONE,
                    "email_attempts": 0,
                }
            )
    if not rows:
        return 0
    existing = set(
        session.exec(
            select(Notification.user_id, Notification.key).where(
                col(Notification.key).in_(sorted({r["key"] for r in rows})),
                col(Notification.user_id).in_(sorted({r["user_id"] for r in rows})),
            )
        ).all()
    )
    conn = session.connection()
    stmt = upsert(conn, _NOTE).on_conflict_do_nothing(index_elements=["user_id", "key"])
    conn.execute(stmt, rows)
    return sum(1 for r in rows if (r["user_id"], r["key"]) not in existing)


def list_for(
    session: Session, user_id: int | None, *, unread_only: bool = False, limit: int = 50
) -> list[Notification]:
    """The user's notifications, newest first (an API token has none)."""
    if user_id is None:
        return []
    stmt = select(Notification).where(Notification.user_id == user_id)
    if unread_only:
        stmt = stmt.where(col(Notification.read_at).is_(None))
    return list(
        session.exec(
            stmt.order_by(col(Notification.created_at).desc(), col(Notification.id).desc()).limit(
                limit
            )
        )
    )


def unread_count(session: Session, user_id: int | None) -> int:
    """How many of the user's notifications are unread."""
    if user_id is None:
        return 0
    return int(
        session.exec(
            select(func.count())
            .select_from(Notification)
            .where(Notification.user_id == user_id, col(Notification.read_at).is_(None))
        ).one()
    )


def mark_read(session: Session, clock: Clock, user_id: int | None, notification_id: int) -> None:
    """Mark one of the user's notifications read (another user's: not found). Commits."""
    note = session.get(Notification, notification_id)
    if note is None or user_id is None or note.user_id != user_id:
        raise NotificationNotFoundError("Уведомление не найдено")
    if note.read_at is None:
        note.read_at = clock.wall()
        session.add(note)
    session.commit()


def mark_all_read(session: Session, clock: Clock, user_id: int | None) -> int:
    """Mark all the user's notifications read; returns how many changed. Commits."""
    if user_id is None:
        return 0
    changed = (
        session.connection()
        .execute(
            update(_NOTE)
            .where(_NOTE.c.user_id == user_id, _NOTE.c.read_at.is_(None))
            .values(read_at=clock.wall())
        )
        .rowcount
    )
    session.commit()
    return int(changed)


def email_choices(session: Session, user_id: int | None) -> dict[str, bool]:
    """Per kind: whether the user gets it by e-mail (defaults where not chosen)."""
    chosen: dict[str, bool] = {}
    if user_id is not None:
        chosen = {
            p.kind: p.email
            for p in session.exec(
                select(NotificationPreference).where(NotificationPreference.user_id == user_id)
            )
        }
    return {code: chosen.get(code, kind.email_default) for code, kind in KINDS.items()}


def set_email_choices(session: Session, user_id: int | None, choices: dict[str, bool]) -> None:
    """Save the user's choices (unknown kinds refused, nothing saved). Commits."""
    unknown = sorted(set(choices) - set(KINDS))
    if unknown:
        raise InvalidPreferenceError(
            "Нет таких видов уведомлений",
            fields={k: f"Виды: {', '.join(KINDS)}" for k in unknown},
        )
    if user_id is None:
        raise InvalidPreferenceError(
            "Уведомления получают пользователи, а не API-токены",
            fields={"user": "Войдите как пользователь"},
        )
    for kind, email in choices.items():
        pref = session.get(NotificationPreference, (user_id, kind))
        if pref is None:
            pref = NotificationPreference(user_id=user_id, kind=kind, email=email)
        pref.email = email
        session.add(pref)
    session.commit()
