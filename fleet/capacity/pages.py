"""The console's capacity page (operators only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from fleet.access.deps import page_need
from fleet.access.permissions import Permission
from fleet.access.principal import Principal
from fleet.capacity import service
from fleet.deps import SessionDep, StateDep
from fleet.web.render import render_page

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
Operator = Annotated[Principal, page_need(Permission.OPERATOR_FLEET)]


@router.get("/console/capacity", response_class=HTMLResponse)
def capacity_page(
    request: Request, state: StateDep, session: SessionDep, principal: Operator
) -> HTMLResponse:
    """Capacity per register group, the groups that need registers first."""
    return render_page(
        request,
        state,
        "console/capacity.html",
        principal=principal,
        groups=service.groups(session, state.clock),
        per_s=service.RECEIPTS_PER_S,
        target=int(service.TARGET_UTILISATION * 100),
        lag_target=int(service.LAG_TARGET_S),
    )
