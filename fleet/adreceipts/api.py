"""The JSON API of advertising receipts: buyers' consent from the integrator's side."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, Field

from fleet.access.deps import need
from fleet.access.permissions import Permission
from fleet.access.principal import Principal
from fleet.accounts.schemas import utc
from fleet.adreceipts import consent
from fleet.adreceipts.models import ConsentSource
from fleet.deps import SessionDep, StateDep

__all__ = ["router"]

router = APIRouter(prefix="/api/adreceipts", tags=["Рекламные чеки"])


class ConsentIn(BaseModel):
    """A buyer's answer to advertising in receipts."""

    contact: str = Field(max_length=254, examples=["buyer@example.ru"])
    granted: bool = Field(description="true — согласен получать рекламу в чеках; false — отказ")


class ConsentPublic(BaseModel):
    """The stored answer (the contact masked: it is personal data)."""

    contact: str
    granted: bool
    source: str
    updated_at: dt.datetime


@router.post("/consents")
def put_consent(
    body: ConsentIn,
    p: Annotated[Principal, need(Permission.RECEIPTS_CREATE)],
    session: SessionDep,
    state: StateDep,
) -> ConsentPublic:
    """Record (or withdraw) a buyer's consent; a receipt to a buyer without it goes out plain."""
    row = consent.record(
        session,
        state.clock,
        company_id=p.company_id,
        contact=body.contact,
        granted=body.granted,
        source=ConsentSource.API,
        user_id=p.user_id,
    )
    session.commit()
    return ConsentPublic(
        contact=row.masked, granted=row.granted, source=row.source, updated_at=utc(row.updated_at)
    )
