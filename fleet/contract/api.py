"""The offer in the JSON API."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Request
from pydantic import BaseModel

from fleet.access.deps import need
from fleet.access.permissions import Permission
from fleet.access.principal import Principal
from fleet.accounts.api import client_ip
from fleet.accounts.schemas import utc
from fleet.contract import service
from fleet.deps import SessionDep, StateDep

__all__ = ["router"]

router = APIRouter(prefix="/api/contract", tags=["Договор"])


class OfferOut(BaseModel):
    """The current offer and the company's acceptance."""

    version: str
    accepted: bool
    accepted_at: dt.datetime | None
    url: str = "/contract"

    @classmethod
    def of(cls, s: service.OfferState) -> OfferOut:
        """From the service's state."""
        at = None if s.accepted_at is None else utc(s.accepted_at)
        return cls(version=s.version, accepted=s.accepted, accepted_at=at)


@router.get("")
def get_offer(
    principal: Annotated[Principal, need(Permission.BILLING_VIEW)], session: SessionDep
) -> OfferOut:
    """The current offer's version and whether the company accepted it."""
    return OfferOut.of(service.state(session, principal.company_id))


@router.post("/accept")
def accept_offer(
    principal: Annotated[Principal, need(Permission.COMPANY_MANAGE)],
    request: Request,
    session: SessionDep,
    state: StateDep,
) -> OfferOut:
    """Accept the current offer for the company (a person, not an API token)."""
    return OfferOut.of(service.accept(session, state.clock, principal, client_ip(request)))
