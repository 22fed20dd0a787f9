"""The General's report pages: the administrator's page that issues the link, and the
public report behind the link (no sign-in)."""

from __future__ import annotations

from typing import Annotated, Final

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session, col, select

from fleet.access.deps import page_need
from fleet.access.principal import Principal
from fleet.accounts.models import Company
from fleet.billing.money import rubles
from fleet.billing.periods import moscow
from fleet.core import csrf
from fleet.deps import SessionDep, StateDep
from fleet.general import links
from fleet.general.charts import WEEKDAYS, columns, heatmap, line
from fleet.general.exceptions import InvalidScopeError, LinkRevokedError
from fleet.general.figures import GeneralReport, build
from fleet.general.links import ADMIN_PERMISSION, PERIODS
from fleet.general.models import GeneralLink
from fleet.stores.models import Store
from fleet.web.errors import page_error
from fleet.web.render import render_page

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

#: The report carries revenue: no caching, no search engines, no token in a Referer header.
_PRIVATE: Final = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex, nofollow",
}


def _stores(session: Session, company_id: int) -> list[Store]:
    return list(
        session.exec(
            select(Store).where(Store.company_id == company_id).order_by(col(Store.name))
        ).all()
    )


def _scope_label(session: Session, link: GeneralLink) -> str:
    store = session.get(Store, link.store_id) if link.store_id is not None else None
    where = f"магазин «{store.name}»" if store else "все магазины"
    return f"{where}, {PERIODS.get(link.days, f'{link.days} дн.')}"


def _admin_page(
    request: Request,
    state: StateDep,
    session: Session,
    principal: Principal,
    *,
    issued_url: str | None = None,
    errors: dict[str, str] | None = None,
    message: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    current = links.current_link(session, principal.company_id)
    views = links.views_of(session, principal.company_id)
    return render_page(
        request,
        state,
        "general/admin.html",
        principal=principal,
        status=status,
        current=current,
        scope=_scope_label(session, current) if current else None,
        issued_url=issued_url,
        views=views,
        stores=_stores(session, principal.company_id),
        periods=PERIODS,
        errors=errors or {},
        message=message,
        when=lambda seconds: moscow(seconds).strftime("%d.%m.%Y %H:%M:%S"),
        current_id=current.id if current else None,
    )


@router.get("/general", response_class=HTMLResponse)
def admin_page(
    request: Request,
    state: StateDep,
    session: SessionDep,
    principal: Annotated[Principal, page_need(ADMIN_PERMISSION)],
) -> HTMLResponse:
    """The live link's scope, the form that issues a new version, and who opened the links."""
    links.check_admin(principal)
    return _admin_page(request, state, session, principal)


@router.post("/general/links", response_class=HTMLResponse)
def issue_link(
    request: Request,
    state: StateDep,
    session: SessionDep,
    principal: Annotated[Principal, page_need(ADMIN_PERMISSION)],
    store_id: Annotated[str, Form()] = "",
    days: Annotated[str, Form()] = "30",
    csrf_token: Annotated[str | None, Form(alias=csrf.FIELD)] = None,
) -> HTMLResponse:
    """Issue a new version (the previous link stops working) and show its URL once."""
    csrf.check(request, state.settings.secret_key, csrf_token)
    try:
        store = int(store_id) if store_id.strip() else None
        period = int(days)
    except ValueError:
        store, period = -1, -1
    try:
        issued = links.issue(session, state.clock, principal, store_id=store, days=period)
    except InvalidScopeError as exc:
        session.rollback()
        return _admin_page(
            request,
            state,
            session,
            principal,
            errors=exc.fields,
            message=exc.message,
            status=422,
        )
    session.commit()
    url = f"{state.settings.base_url.rstrip('/')}/g/{issued.secret}"
    response = _admin_page(request, state, session, principal, issued_url=url)
    response.headers["Cache-Control"] = "no-store"
    return response


def _charts(report: GeneralReport) -> dict[str, object]:
    return {
        # a phone gets its own narrower drawing: the same text stays legible when scaled down
        **{
            name: line(
                [(p.day, p.totals.revenue) for p in report.by_day],
                peaks=[p.day for p in report.peaks],
                dips=[p.day for p in report.dips],
                width=width,
                height=height,
                labels=labels,
            )
            for name, width, height, labels in (
                ("trend", 720, 240, 8),
                ("trend_phone", 360, 220, 4),
            )
        },
        "months": columns([(m, v) for m, v in report.by_month], width=360, height=180),
        "weekdays": columns(
            list(zip(WEEKDAYS, report.by_weekday, strict=True)), width=360, height=180
        ),
        "heat": heatmap(report.heat),
        "stores": columns(
            [(r.label, r.totals.revenue) for r in report.stores[:12]], width=480, height=180
        ),
        "regions": columns(
            [(r.label, r.totals.revenue) for r in report.regions[:12]], width=480, height=180
        ),
    }


@router.get("/g/{token}", response_class=HTMLResponse)
def public_report(token: str, request: Request, state: StateDep, session: SessionDep) -> Response:
    """The report for anyone holding the live link; a replaced link answers 410."""
    try:
        link = links.resolve(session, token)
    except LinkRevokedError as exc:
        response = page_error(request, exc, 410, {})
        response.headers.update(_PRIVATE)
        return response
    links.record_view(
        session,
        state.clock,
        link,
        ip=request.client.host if request.client else "",
        user_agent=request.headers.get("user-agent", ""),
    )
    session.commit()
    today = moscow(state.clock.wall()).date()
    report = build(session, link.company_id, today, link.days, store_id=link.store_id)
    company = session.get(Company, link.company_id)
    response = render_page(
        request,
        state,
        "general/report.html",
        report=report,
        company=company.name if company else "",
        scope=_scope_label(session, link),
        charts=_charts(report),
        rubles=rubles,
        issued=moscow(link.created_at).strftime("%d.%m.%Y %H:%M"),
        day=lambda d: f"{d:%d.%m.%Y}",
        generated=moscow(state.clock.wall()).strftime("%d.%m.%Y %H:%M"),
    )
    response.headers.update(_PRIVATE)
    return response
