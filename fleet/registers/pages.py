"""The Russian register list page (signed in by the session cookie)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from fleet.accounts import service as accounts
from fleet.accounts.schemas import utc
from fleet.core import csrf
from fleet.deps import SESSION_COOKIE, SessionDep, StateDep
from fleet.registers import service
from fleet.registers.models import NEXT_STEP, STATE_LABEL, RegisterState

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


@router.get("/registers", response_class=HTMLResponse)
def register_list(
    request: Request,
    state: StateDep,
    session: SessionDep,
    page: int = 1,
) -> HTMLResponse:
    """The company's registers with their state and next step, 50 a page."""
    user = accounts.current_user(
        session=session, clock=state.clock, token=request.cookies.get(SESSION_COOKIE)
    )
    per_page = 50
    found = service.list_registers(
        session=session,
        company_id=user.company_id,
        flt=service.RegisterFilter(limit=per_page, offset=max(0, page - 1) * per_page),
    )
    rows = [
        {
            "id": r.id,
            "serial": r.serial,
            "model": r.model,
            "state": STATE_LABEL[RegisterState(r.state)],
            "next_step": NEXT_STEP[RegisterState(r.state)],
            "drive_expires": None
            if r.drive_expires_at is None
            else utc(r.drive_expires_at).strftime("%d.%m.%Y"),
        }
        for r in found.items
    ]
    token = csrf.token_for(request, state.settings.secret_key)
    html = state.templates.get_template("registers.html").render(
        csrf_token=token,
        user=user,
        rows=rows,
        total=found.total,
        page=max(1, page),
        has_next=found.offset + len(found.items) < found.total,
    )
    response = HTMLResponse(html)
    csrf.set_cookie(response, token, secure=state.settings.cookie_secure)
    return response
