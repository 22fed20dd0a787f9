"""The Russian drive pages: «График замены ФН» and «Покупка ФН»."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from fleet.access.deps import page_need
from fleet.access.permissions import Permission
from fleet.access.principal import Principal
from fleet.billing import ledger
from fleet.billing.exceptions import InsufficientFundsError
from fleet.billing.money import rubles
from fleet.billing.periods import moscow
from fleet.core import csrf
from fleet.deps import SessionDep, StateDep
from fleet.drives import catalogue, purchase, regime
from fleet.drives.api import lead_days
from fleet.drives.chart import timeline
from fleet.drives.exceptions import InvalidPurchaseError
from fleet.drives.history import date_of, day_of
from fleet.drives.schedule import schedule
from fleet.registration.application import TAX_SYSTEMS
from fleet.web.render import render_page

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

LEVEL_LABEL = {
    "overdue": ("Просрочено", "danger"),
    "urgent": ("Срочно", "danger"),
    "soon": ("Скоро", "warn"),
    "ok": ("В порядке", "ok"),
    "unknown": ("Нет данных", "info"),
}


@router.get("/drives", response_class=HTMLResponse)
def schedule_page(
    request: Request,
    state: StateDep,
    session: SessionDep,
    principal: Annotated[Principal, page_need(Permission.REGISTERS_VIEW)],
) -> HTMLResponse:
    """Every register's replace-by date, a chart by month, warnings."""
    lead = lead_days(state)
    rows = schedule(session, state.clock, principal, lead_days=lead)
    today = date_of(day_of(state.clock.wall()))
    flashes = []
    overdue = sum(1 for r in rows if r.level == "overdue")
    urgent = sum(1 for r in rows if r.level == "urgent")
    soon = sum(1 for r in rows if r.level == "soon")
    misfit = sum(1 for r in rows if r.problems)
    if overdue:
        flashes.append({"kind": "error", "text": f"Просрочена замена ФН: касс — {overdue}"})
    if urgent:
        flashes.append({"kind": "warn", "text": f"ФН нужно заменить в течение недели: {urgent}"})
    if soon:
        flashes.append({"kind": "info", "text": f"ФН нужно заменить в течение месяца: {soon}"})
    if misfit:
        flashes.append({"kind": "warn", "text": f"ФН не подходит режиму бизнеса: касс — {misfit}"})
    return render_page(
        request,
        state,
        "drives/schedule.html",
        principal=principal,
        rows=rows,
        chart=timeline(rows, today),
        levels=LEVEL_LABEL,
        lead=lead,
        today=today,
        flashes=flashes,
    )


def _render_purchase(
    request: Request,
    state: StateDep,
    session: SessionDep,
    principal: Principal,
    *,
    profile: regime.Profile,
    asked: bool,
    message: str | None = None,
    errors: dict[str, str] | None = None,
    bought: int | None = None,
    status: int = 200,
) -> HTMLResponse:
    advice = purchase.recommend(profile) if asked else None
    can_see_billing = principal.has(Permission.BILLING_VIEW)
    return render_page(
        request,
        state,
        "drives/purchase.html",
        principal=principal,
        status=status,
        models=catalogue.CATALOGUE,
        rubles=rubles,
        when=lambda t: moscow(t).strftime("%d.%m.%Y %H:%M"),
        tax_systems=TAX_SYSTEMS,
        profile=profile,
        advice=advice,
        can_pay=principal.has(Permission.BILLING_PAY),
        balance=ledger.balance(session, principal.company_id) if can_see_billing else None,
        purchases=purchase.purchases(session, principal.company_id) if can_see_billing else [],
        request_key=uuid.uuid4().hex,
        message=message,
        errors=errors or {},
        bought=bought,
    )


@router.get("/drives/purchase", response_class=HTMLResponse)
def purchase_page(
    request: Request,
    state: StateDep,
    session: SessionDep,
    principal: Annotated[Principal, page_need(Permission.REGISTERS_VIEW)],
    tax_systems: Annotated[list[str] | None, Query()] = None,
    services: bool = False,
    excise: bool = False,
    autonomous: bool = False,
    seasonal: bool = False,
    bought: int | None = None,
) -> HTMLResponse:
    """The catalogue, the advice for the business described, the company's purchases."""
    asked = "advice" in request.query_params
    profile = regime.Profile(
        tax_systems=frozenset(t for t in tax_systems or [] if t in TAX_SYSTEMS),
        services=services,
        excise=excise,
        autonomous=autonomous,
        seasonal=seasonal,
    )
    return _render_purchase(
        request, state, session, principal, profile=profile, asked=asked, bought=bought
    )


@router.post("/drives/purchase", response_model=None)
def purchase_post(
    request: Request,
    state: StateDep,
    session: SessionDep,
    principal: Annotated[Principal, page_need(Permission.BILLING_PAY)],
    model_code: Annotated[str, Form()] = "",
    quantity: Annotated[str, Form()] = "1",
    request_key: Annotated[str, Form()] = "",
    csrf_token: Annotated[str | None, Form(alias=csrf.FIELD)] = None,
) -> Response:
    """Buy from the balance; on refusal show the page again with the reason."""
    csrf.check(request, state.settings.secret_key, csrf_token)
    try:
        count = int(quantity)
    except ValueError:
        count = 0
    try:
        row = purchase.buy(
            session,
            state.clock,
            principal,
            model_code=model_code,
            quantity=count,
            request_key=request_key,
        )
    except (InvalidPurchaseError, InsufficientFundsError) as exc:
        session.rollback()
        return _render_purchase(
            request,
            state,
            session,
            principal,
            profile=regime.Profile(),
            asked=False,
            message=exc.message,
            errors=exc.fields,
            status=422 if isinstance(exc, InvalidPurchaseError) else 409,
        )
    return RedirectResponse(f"/drives/purchase?bought={row.id}", status_code=303)
