"""The console's drive stock and replacement work orders (operators only)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlmodel import Session, col, select

from fleet.access.deps import page_need
from fleet.access.permissions import Permission
from fleet.access.principal import Principal
from fleet.console import commands
from fleet.console.pages import moment
from fleet.core import csrf
from fleet.core.errors import DomainError
from fleet.deps import AppState, SessionDep, StateDep
from fleet.registers.models import Register
from fleet.stock import service
from fleet.web.render import render_page

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
Operator = Annotated[Principal, page_need(Permission.OPERATOR_FLEET)]
CsrfField = Annotated[str | None, Form(alias=csrf.FIELD)]


def _day(day: int) -> str:
    return dt.date.fromordinal(dt.date(1970, 1, 1).toordinal() + day).strftime("%d.%m.%Y")


def _stock_page(
    request: Request,
    state: AppState,
    session: Session,
    principal: Principal,
    *,
    error: DomainError | None = None,
    status: int = 200,
) -> HTMLResponse:
    orders = service.list_orders(session)
    ids = {o.register_id for o in orders}
    serials = {
        r.id: r.serial
        for r in session.exec(select(Register).where(col(Register.id).in_(ids))).all()
    }
    return render_page(
        request, state, "console/stock.html", principal=principal, status=status,
        rows=service.stock(session), orders=orders, serials=serials, day=_day,
        steps=service.STEPS, error=error, moment=moment,
    )  # fmt: skip


@router.get("/console/stock", response_class=HTMLResponse)
def stock_page(
    request: Request, state: StateDep, session: SessionDep, principal: Operator
) -> HTMLResponse:
    """Drives on the shelf and the replacement work orders."""
    return _stock_page(request, state, session, principal)


@router.post("/console/stock/receive", response_model=None)
def stock_receive(
    request: Request,
    state: StateDep,
    session: SessionDep,
    principal: Operator,
    model_code: Annotated[str, Form()] = "",
    quantity: Annotated[str, Form()] = "",
    csrf_token: CsrfField = None,
) -> HTMLResponse | RedirectResponse:
    """Drives arrived."""
    csrf.check(request, state.settings.secret_key, csrf_token)
    try:
        service.receive(session, state.clock, principal, model_code, quantity)
    except DomainError as exc:
        session.rollback()
        return _stock_page(request, state, session, principal, error=exc, status=422)
    session.commit()
    return RedirectResponse("/console/stock", status_code=303)


@router.post("/console/stock/generate", response_model=None)
def stock_generate(
    request: Request,
    state: StateDep,
    session: SessionDep,
    principal: Operator,
    csrf_token: CsrfField = None,
) -> RedirectResponse:
    """Work orders from the forecast now (the job does it hourly)."""
    csrf.check(request, state.settings.secret_key, csrf_token)
    service.generate(session, state.clock)
    session.commit()
    return RedirectResponse("/console/stock", status_code=303)


def _order_page(
    request: Request,
    state: AppState,
    session: Session,
    principal: Principal,
    order_id: int,
    *,
    error: DomainError | None = None,
    status: int = 200,
) -> HTMLResponse:
    order = service.get_order(session, order_id)
    service.refresh(session, state.clock, order)
    session.commit()
    reg = session.get(Register, order.register_id)
    views: dict[str, Any] = {}
    for s in order.steps:
        if s["command_id"] is not None:
            views[s["code"]] = commands.get_command(session, s["command_id"])
    return render_page(
        request, state, "console/work_order.html", principal=principal, status=status,
        o=order, reg=reg, steps=service.STEPS, state_of={s["code"]: s for s in order.steps},
        views=views, day=_day, moment=moment, error=error,
    )  # fmt: skip


@router.get("/console/stock/orders/{order_id}", response_class=HTMLResponse)
def order_page(
    order_id: int, request: Request, state: StateDep, session: SessionDep, principal: Operator
) -> HTMLResponse:
    """A work order: the replacement checklist."""
    return _order_page(request, state, session, principal, order_id)


@router.post("/console/stock/orders/{order_id}/steps/{code}", response_model=None)
def order_step(
    order_id: int,
    code: str,
    request: Request,
    state: StateDep,
    session: SessionDep,
    principal: Operator,
    confirm: Annotated[str, Form()] = "",
    csrf_token: CsrfField = None,
) -> HTMLResponse | RedirectResponse:
    """Run the checklist's next step."""
    csrf.check(request, state.settings.secret_key, csrf_token)
    try:
        service.run_step(session, state.clock, principal, order_id, code, confirm)
    except DomainError as exc:
        session.rollback()
        return _order_page(request, state, session, principal, order_id, error=exc, status=409)
    session.commit()
    return RedirectResponse(f"/console/stock/orders/{order_id}", status_code=303)
