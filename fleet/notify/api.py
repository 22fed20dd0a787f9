"""The notification JSON API: any signed-in principal; an API token has no notifications."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Response, status
from pydantic import BaseModel

from fleet.access.deps import need
from fleet.access.principal import Principal
from fleet.accounts.schemas import utc
from fleet.deps import SessionDep, StateDep
from fleet.notify import service
from fleet.notify.models import KINDS, Notification

__all__ = ["router"]

router = APIRouter(prefix="/api/notifications", tags=["Уведомления"])

Anyone = Annotated[Principal, need()]


class NotificationPublic(BaseModel):
    """One notification."""

    id: int
    kind: str
    kind_label: str
    title: str
    body: str
    link: str | None
    created_at: dt.datetime
    read: bool
    email_state: str

    @classmethod
    def of(cls, n: Notification) -> NotificationPublic:
        """From the table row."""
        assert n.id is not None
        return cls(
            id=n.id,
            kind=n.kind,
            kind_label=KINDS[n.kind].label if n.kind in KINDS else n.kind,
            title=n.title,
            body=n.body,
            link=n.link,
            created_at=utc(n.created_at),
            read=n.read_at is not None,
            email_state=n.email_state,
        )


@router.get("")
def list_all(principal: Anyone, session: SessionDep, unread_only: bool = False) -> dict[str, Any]:
    """The caller's notifications (newest first) and the unread count."""
    items = service.list_for(session, principal.user_id, unread_only=unread_only)
    return {
        "unread": service.unread_count(session, principal.user_id),
        "items": [NotificationPublic.of(n) for n in items],
    }


@router.post("/{notification_id}/read", status_code=status.HTTP_204_NO_CONTENT)
def read_one(
    notification_id: int, principal: Anyone, session: SessionDep, state: StateDep
) -> Response:
    """Mark one read (another user's: 404)."""
    service.mark_read(session, state.clock, principal.user_id, notification_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/read-all")
def read_all(principal: Anyone, session: SessionDep, state: StateDep) -> dict[str, int]:
    """Mark every notification read."""
    return {"changed": service.mark_all_read(session, state.clock, principal.user_id)}


@router.get("/preferences")
def get_preferences(principal: Anyone, session: SessionDep) -> dict[str, Any]:
    """Per kind: its label and whether it goes by e-mail."""
    choices = service.email_choices(session, principal.user_id)
    return {
        "kinds": [
            {"kind": k, "label": KINDS[k].label, "email": email} for k, email in choices.items()
        ]
    }


class PreferencesIn(BaseModel):
    """``{"email": {"drive.replace": true, ...}}``: kinds not named keep their choice."""

    email: dict[str, bool]


@router.put("/preferences")
def put_preferences(body: PreferencesIn, principal: Anyone, session: SessionDep) -> dict[str, Any]:
    """Choose which kinds go by e-mail (an unknown kind: 422, nothing saved)."""
    service.set_email_choices(session, principal.user_id, body.email)
    return get_preferences(principal, session)
