"""The main page for a signed-in user: the widgets of their layout, and the HTMX routes that
add, remove and arrange them. Without JavaScript every control is a plain form post that
comes back to the main page."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session
from starlette.routing import Match

from fleet.access.deps import page_need
from fleet.access.permissions import Permission
from fleet.access.principal import Principal
from fleet.billing.money import rubles
from fleet.core import csrf
from fleet.dashboard import layout as layouts
from fleet.dashboard.data import SEVERITY_LABEL, widget_data
from fleet.dashboard.exceptions import DashboardError
from fleet.dashboard.widgets import CATALOGUE, available, section_of
from fleet.deps import AppState, SessionDep, StateDep
from fleet.drives.api import lead_days
from fleet.general.links import ADMIN_PERMISSION
from fleet.web.render import render_page

__all__ = ["render_dashboard", "router"]

router = APIRouter(include_in_schema=False)

Signed = Annotated[Principal, page_need()]
CsrfField = Annotated[str | None, Form(alias=csrf.FIELD)]


def _served(request: Request) -> frozenset[str]:
    """The widgets' section paths the app serves with a GET (cached on the app: routes do not
    change once built). Asked by matching a GET scope, as the router does: FastAPI 0.165 keeps
    included routers as nested `_IncludedRouter`s, not as paths in ``app.routes`` (as
    fleet/web/nav.py does for the menu)."""
    cached = getattr(request.app.state, "dashboard_served", None)
    if isinstance(cached, frozenset):
        return cached
    sections = {s.partition("?")[0] for w in CATALOGUE.values() for s in w.sections}
    paths = frozenset(p for p in sections if _serves(request, p))
    request.app.state.dashboard_served = paths
    return paths


def _serves(request: Request, path: str) -> bool:
    scope = {"type": "http", "method": "GET", "path": path, "root_path": "",
             "query_string": b"", "headers": []}  # fmt: skip
    return any(r.matches(scope)[0] == Match.FULL for r in request.app.router.routes)


def _context(
    request: Request, state: AppState, session: Session, principal: Principal
) -> dict[str, Any]:
    layout = layouts.current(session, principal.user_id) if principal.user_id else None
    if layout is None:
        layout = layouts.Layout((), "7d", stored=False)
    shown = layouts.shown(layout, principal)
    served = _served(request)
    return {
        "widgets": [CATALOGUE[w] for w in shown],
        "addable": [CATALOGUE[w] for w in available(principal) if w not in shown],
        "links": {w: section_of(CATALOGUE[w], served) for w in CATALOGUE},
        "data": widget_data(
            session,
            state.clock,
            principal,
            shown,
            sales_period=layout.sales_period,
            drive_lead=lead_days(state),
        ),
        "sales_period": layout.sales_period,
        "sales_periods": layouts.SALES_PERIODS,
        "severity_label": SEVERITY_LABEL,
        "rubles": rubles,
        "can_book": principal.has(Permission.BOOKINGS_CREATE),
        "can_general": principal.has(ADMIN_PERMISSION) and principal.folder_ids is None,
    }


def render_dashboard(
    request: Request, state: AppState, session: Session, principal: Principal
) -> HTMLResponse:
    """The whole main page of a signed-in user."""
    return render_page(
        request,
        state,
        "index.html",
        principal=principal,
        **_context(request, state, session, principal),
    )


def _answer(
    request: Request,
    state: AppState,
    session: Session,
    principal: Principal,
    *,
    focus: str = "",
    error: DashboardError | None = None,
) -> Response:
    if request.headers.get("HX-Request") != "true":
        if error is not None:
            raise error
        return RedirectResponse("/", status_code=303)
    # HTMX swaps only 2xx answers: a refusal comes back as the grid with the reason in it.
    return render_page(
        request,
        state,
        "dashboard/_grid.html",
        principal=principal,
        focus=focus,
        error=error.message if error else None,
        **_context(request, state, session, principal),
    )


def _apply(
    request: Request,
    state: AppState,
    session: Session,
    principal: Principal,
    change: Any,
    focus: str = "",
) -> Response:
    try:
        change()
    except DashboardError as exc:
        session.rollback()
        return _answer(request, state, session, principal, error=exc)
    session.commit()
    return _answer(request, state, session, principal, focus=focus)


@router.post("/dashboard/widgets/add", response_model=None)
def add_widget(
    request: Request,
    state: StateDep,
    session: SessionDep,
    principal: Signed,
    widget: Annotated[str, Form()] = "",
    csrf_token: CsrfField = None,
) -> Response:
    """Put a widget at the end of the page."""
    csrf.check(request, state.settings.secret_key, csrf_token)
    return _apply(
        request,
        state,
        session,
        principal,
        lambda: layouts.add(session, state.clock, principal, widget),
        focus=f"w-{widget}-remove",
    )


@router.post("/dashboard/widgets/remove", response_model=None)
def remove_widget(
    request: Request,
    state: StateDep,
    session: SessionDep,
    principal: Signed,
    widget: Annotated[str, Form()] = "",
    csrf_token: CsrfField = None,
) -> Response:
    """Take a widget off the page."""
    csrf.check(request, state.settings.secret_key, csrf_token)
    return _apply(
        request,
        state,
        session,
        principal,
        lambda: layouts.remove(session, state.clock, principal, widget),
        focus="widget-add",
    )


@router.post("/dashboard/widgets/move", response_model=None)
def move_widget(
    request: Request,
    state: StateDep,
    session: SessionDep,
    principal: Signed,
    widget: Annotated[str, Form()] = "",
    direction: Annotated[str, Form()] = "",
    csrf_token: CsrfField = None,
) -> Response:
    """Move a widget one place up or down (the keyboard's way to arrange)."""
    csrf.check(request, state.settings.secret_key, csrf_token)
    return _apply(
        request,
        state,
        session,
        principal,
        lambda: layouts.move(session, state.clock, principal, widget, direction),
        focus=f"w-{widget}-{direction}",
    )


@router.post("/dashboard/widgets/order", response_model=None)
def order_widgets(
    request: Request,
    state: StateDep,
    session: SessionDep,
    principal: Signed,
    order: Annotated[str, Form()] = "",
    csrf_token: CsrfField = None,
) -> Response:
    """Store the order a drag left on the page (comma-separated widget ids)."""
    csrf.check(request, state.settings.secret_key, csrf_token)
    ids = [w.strip() for w in order.split(",") if w.strip()]
    return _apply(
        request,
        state,
        session,
        principal,
        lambda: layouts.reorder(session, state.clock, principal, ids),
    )


@router.post("/dashboard/sales-period", response_model=None)
def sales_period(
    request: Request,
    state: StateDep,
    session: SessionDep,
    principal: Signed,
    period: Annotated[str, Form()] = "",
    csrf_token: CsrfField = None,
) -> Response:
    """Remember the sales widget's period."""
    csrf.check(request, state.settings.secret_key, csrf_token)
    return _apply(
        request,
        state,
        session,
        principal,
        lambda: layouts.set_sales_period(session, state.clock, principal, period),
        focus="sales-period",
    )
