"""The «Отчёты» section: ready reports, custom templates, auto-reports and finished files.

Filters live in the URL (HTMX swaps the report body and pushes the URL), as in the receipt
search. Every page needs «Чеки: просмотр»: reports show the company's sales.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Final
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session, col, select

from fleet.access.deps import page_need
from fleet.access.permissions import Permission
from fleet.access.principal import Principal
from fleet.accounts.models import Company
from fleet.core import csrf
from fleet.deps import SessionDep, StateDep
from fleet.registers.models import Register
from fleet.reports import catalog, custom, schedules, service
from fleet.reports.chart import bar_chart
from fleet.reports.exceptions import InvalidReportError
from fleet.reports.export import MEDIA, export, filename, parse_format
from fleet.reports.filters import ReportFilter, parse_filter
from fleet.reports.table import MSK, ReportTable, cell_text
from fleet.stores.models import Store
from fleet.web.render import render_page

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

Viewer = Annotated[Principal, page_need(Permission.RECEIPTS_VIEW)]
FormStr = Annotated[str, Form()]
FormList = Annotated[list[str] | None, Form()]
CsrfField = Annotated[str | None, Form(alias=csrf.FIELD)]
ROWS_SHOWN: Final = 500
FIELD_LABEL: Final = {
    "date_from": "С даты",
    "date_to": "По дату",
    "store_id": "Магазин",
    "register_id": "Касса",
    "company_id": "Компания",
    "name": "Название",
    "base": "Отчёт",
    "columns": "Колонки",
    "group_by": "Группировка",
    "sort": "Сортировка",
    "report": "Отчёт",
    "frequency": "Частота",
    "period": "Период",
    "fmt": "Формат",
    "email": "E-mail",
}


def _today(state: StateDep) -> dt.date:
    return dt.datetime.fromtimestamp(state.clock.wall(), MSK).date()


def _choices(
    session: Session, principal: Principal, company_id: int | None = None
) -> dict[str, Any]:
    """The filter's lists: the company's stores and registers the principal sees; for an
    Oblako operator (the only one who may name another company, filters.py) also the
    companies."""
    company = company_id if company_id is not None else principal.company_id
    regs = session.exec(
        select(Register).where(Register.company_id == company).order_by(col(Register.id))
    ).all()
    stores = session.exec(
        select(Store).where(Store.company_id == company).order_by(col(Store.name))
    ).all()
    companies = (
        [(c.id, c.name) for c in session.exec(select(Company).order_by(col(Company.name))).all()]
        if principal.has(Permission.OPERATOR_FLEET)
        else []
    )
    return {
        "registers": [
            (r.id, r.name or r.serial or f"№ {r.id}")
            for r in regs
            if principal.sees_folder(r.folder_id)
        ],
        "stores": [(s.id, s.name) for s in stores],
        "companies": companies,
    }


def _shown(table: ReportTable) -> dict[str, Any]:
    """The table's rows as text for the template, and its chart."""
    return {
        "table": table,
        "cells": [
            [(c, cell_text(c, r.get(c.key))) for c in table.columns]
            for r in table.rows[:ROWS_SHOWN]
        ],
        "cut": len(table.rows) > ROWS_SHOWN,
        "chart": bar_chart(table),
    }


def _template_id(params: Any) -> int | None:
    text = str(params.get("template_id", "") or "")
    return int(text) if text.isdigit() and len(text) < 12 else None


@router.get("/reports", response_class=HTMLResponse)
def reports_index(
    request: Request, state: StateDep, session: SessionDep, principal: Viewer
) -> HTMLResponse:
    """The catalogue of ready reports and the company's custom ones."""
    return render_page(
        request,
        state,
        "reports/index.html",
        principal=principal,
        reports=list(catalog.REPORTS.values()),
        templates=custom.list_templates(session, principal),
    )


@router.get("/reports/show", response_class=HTMLResponse)
def report_page(
    request: Request, state: StateDep, session: SessionDep, principal: Viewer
) -> HTMLResponse:
    """One report (ready, or a template with ``template_id``) as a table and a chart."""
    params = request.query_params
    code = str(params.get("code", "") or "revenue_day")
    template_id = _template_id(params)
    fields = ("date_from", "date_to", "store_id", "register_id", "company_id")
    form = {k: str(params.get(k, "") or "") for k in fields}
    errors: dict[str, str] = {}
    shown: dict[str, Any] = {"table": None, "cells": [], "cut": False, "chart": None}
    status = 200
    flt: ReportFilter | None = None
    try:
        flt = parse_filter(params, _today(state))
        table = service.produce(session, principal, flt, code=code, template_id=template_id)
        shown = _shown(table)
        form.update(flt.params())
    except InvalidReportError as e:
        errors = e.fields or {"date_from": e.message}
        status = 422
    query = {k: v for k, v in form.items() if v}
    if template_id is not None:
        query["template_id"] = str(template_id)
    else:
        query["code"] = code
    title = (
        custom.get(session, principal, template_id).name
        if template_id is not None
        else catalog.report(code).title
    )
    partial = request.headers.get("HX-Request") is not None
    return render_page(
        request,
        state,
        "reports/_body.html" if partial else "reports/show.html",
        principal=principal,
        status=status,
        title=title,
        code=code,
        template_id=template_id,
        form=form,
        errors=errors,
        field_label=FIELD_LABEL,
        export_query=urlencode(query),
        **shown,
        **_choices(session, principal, flt.company_id if flt is not None else None),
    )


@router.get("/reports/export", response_model=None)
def report_export(
    request: Request, state: StateDep, session: SessionDep, principal: Viewer
) -> Response:
    """The report as an XLSX, CSV or PDF file."""
    params = request.query_params
    fmt = parse_format(str(params.get("fmt", "") or "xlsx"))
    flt = parse_filter(params, _today(state))
    table = service.produce(
        session,
        principal,
        flt,
        code=str(params.get("code", "") or "revenue_day"),
        template_id=_template_id(params),
    )
    name = filename(table, fmt)
    return Response(
        export(table, fmt),
        media_type=MEDIA[fmt],
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"},
    )


# ---- custom templates ------------------------------------------------------------------------


def _template_form(
    request: Request,
    state: StateDep,
    session: SessionDep,
    principal: Principal,
    form: dict[str, Any],
    *,
    template_id: int | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    base = form.get("base") or "revenue_register"
    if base not in catalog.REPORTS:
        base = "revenue_register"
        form["base"] = base
    return render_page(
        request,
        state,
        "reports/template.html",
        principal=principal,
        status=status,
        form=form,
        template_id=template_id,
        errors=errors or {},
        field_label=FIELD_LABEL,
        reports=list(catalog.REPORTS.values()),
        columns=custom.base_columns(session, base, principal.company_id),
        **_choices(session, principal),
    )


@router.get("/reports/templates/new", response_class=HTMLResponse)
def template_new(
    request: Request, state: StateDep, session: SessionDep, principal: Viewer
) -> HTMLResponse:
    """The form of a new custom report (``base`` chooses the ready report it starts from)."""
    base = str(request.query_params.get("base", "") or "revenue_register")
    form = {"name": "", "base": base, "columns": [], "group_by": "", "sort": "",
            "store_id": "", "register_id": ""}  # fmt: skip
    return _template_form(request, state, session, principal, form)


def _spec(
    name: str,
    base: str,
    columns: list[str] | None,
    group_by: str,
    sort: str,
    store_id: str,
    register_id: str,
) -> tuple[custom.TemplateSpec, dict[str, Any]]:
    form = {"name": name, "base": base, "columns": columns or [], "group_by": group_by,
            "sort": sort, "store_id": store_id, "register_id": register_id}  # fmt: skip
    spec = custom.TemplateSpec(
        name=name,
        base=base,
        columns=tuple(columns or ()),
        group_by=group_by,
        sort=sort,
        store_id=int(store_id) if store_id.isdigit() and len(store_id) < 12 else None,
        register_id=int(register_id) if register_id.isdigit() and len(register_id) < 12 else None,
    )
    return spec, form


@router.post("/reports/templates", response_model=None)
def template_create(
    request: Request,
    state: StateDep,
    session: SessionDep,
    principal: Viewer,
    name: FormStr = "",
    base: FormStr = "",
    columns: FormList = None,
    group_by: FormStr = "",
    sort: FormStr = "",
    store_id: FormStr = "",
    register_id: FormStr = "",
    csrf_token: CsrfField = None,
) -> Response:
    """Save a new custom report, then show it."""
    csrf.check(request, state.settings.secret_key, csrf_token)
    spec, form = _spec(name, base, columns, group_by, sort, store_id, register_id)
    try:
        t = custom.save(session, principal, state.clock, spec)
    except InvalidReportError as e:
        return _template_form(request, state, session, principal, form, errors=e.fields, status=422)
    session.commit()
    return RedirectResponse(f"/reports/show?template_id={t.id}", status_code=303)


@router.get("/reports/templates/{report_template_id}", response_class=HTMLResponse)
def template_edit(
    request: Request,
    state: StateDep,
    session: SessionDep,
    principal: Viewer,
    report_template_id: int,
) -> HTMLResponse:
    """The form of a saved custom report."""
    spec = custom.spec_of(custom.get(session, principal, report_template_id))
    form = {
        "name": spec.name,
        "base": spec.base,
        "columns": list(spec.columns),
        "group_by": spec.group_by,
        "sort": spec.sort,
        "store_id": str(spec.store_id or ""),
        "register_id": str(spec.register_id or ""),
    }
    return _template_form(request, state, session, principal, form, template_id=report_template_id)


@router.post("/reports/templates/{report_template_id}", response_model=None)
def template_update(
    request: Request,
    state: StateDep,
    session: SessionDep,
    principal: Viewer,
    report_template_id: int,
    name: FormStr = "",
    base: FormStr = "",
    columns: FormList = None,
    group_by: FormStr = "",
    sort: FormStr = "",
    store_id: FormStr = "",
    register_id: FormStr = "",
    csrf_token: CsrfField = None,
) -> Response:
    """Replace a custom report's settings."""
    csrf.check(request, state.settings.secret_key, csrf_token)
    custom.get(session, principal, report_template_id)
    spec, form = _spec(name, base, columns, group_by, sort, store_id, register_id)
    try:
        custom.save(session, principal, state.clock, spec, report_template_id)
    except InvalidReportError as e:
        return _template_form(
            request, state, session, principal, form, template_id=report_template_id,
            errors=e.fields, status=422,
        )  # fmt: skip
    session.commit()
    return RedirectResponse(f"/reports/show?template_id={report_template_id}", status_code=303)


@router.post("/reports/templates/{report_template_id}/delete", response_model=None)
def template_delete(
    request: Request,
    state: StateDep,
    session: SessionDep,
    principal: Viewer,
    report_template_id: int,
    csrf_token: CsrfField = None,
) -> Response:
    """Delete a custom report no auto-report uses."""
    csrf.check(request, state.settings.secret_key, csrf_token)
    custom.delete(session, principal, report_template_id)
    session.commit()
    return RedirectResponse("/reports", status_code=303)


# ---- auto-reports and finished files ---------------------------------------------------------


def _schedules_page(
    request: Request,
    state: StateDep,
    session: SessionDep,
    principal: Principal,
    form: dict[str, str],
    *,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    items = [
        (s, schedules.schedule_title(session, principal, s))
        for s in schedules.list_schedules(session, principal)
    ]
    return render_page(
        request,
        state,
        "reports/schedules.html",
        principal=principal,
        status=status,
        form=form,
        errors=errors or {},
        field_label=FIELD_LABEL,
        items=items,
        reports=list(catalog.REPORTS.values()),
        templates=custom.list_templates(session, principal),
        frequencies=schedules.FREQUENCY_LABEL,
        periods=schedules.PERIOD_LABEL,
        moment=lambda s: dt.datetime.fromtimestamp(s, MSK).strftime("%d.%m.%Y %H:%M"),
    )


@router.get("/reports/schedules", response_class=HTMLResponse)
def schedules_page(
    request: Request, state: StateDep, session: SessionDep, principal: Viewer
) -> HTMLResponse:
    """Auto-reports: the list and the form of a new one."""
    report = str(request.query_params.get("report", "") or "")
    form = {"report": report, "frequency": "daily", "period": "day", "fmt": "xlsx", "email": ""}
    return _schedules_page(request, state, session, principal, form)


@router.post("/reports/schedules", response_model=None)
def schedule_create(
    request: Request,
    state: StateDep,
    session: SessionDep,
    principal: Viewer,
    report: FormStr = "",
    frequency: FormStr = "",
    period: FormStr = "",
    fmt: FormStr = "",
    email: FormStr = "",
    csrf_token: CsrfField = None,
) -> Response:
    """Save an auto-report."""
    csrf.check(request, state.settings.secret_key, csrf_token)
    form = {"report": report, "frequency": frequency, "period": period, "fmt": fmt,
            "email": email}  # fmt: skip
    try:
        schedules.create(session, principal, state.clock, schedules.ScheduleForm(**form))
    except InvalidReportError as e:
        return _schedules_page(
            request, state, session, principal, form, errors=e.fields, status=422
        )
    session.commit()
    return RedirectResponse("/reports/schedules", status_code=303)


@router.post("/reports/schedules/{report_schedule_id}/run", response_model=None)
def schedule_run(
    request: Request,
    state: StateDep,
    session: SessionDep,
    principal: Viewer,
    report_schedule_id: int,
    csrf_token: CsrfField = None,
) -> Response:
    """Build and send the auto-report now (the schedule's next time stays as it was)."""
    csrf.check(request, state.settings.secret_key, csrf_token)
    s = schedules.get_schedule(session, principal, report_schedule_id)
    keep = s.next_run_at
    schedules.run_schedule(session, s, state.clock, state.mailer)
    s.next_run_at = keep
    session.add(s)
    session.commit()
    return RedirectResponse("/reports/history", status_code=303)


@router.post("/reports/schedules/{report_schedule_id}/delete", response_model=None)
def schedule_delete(
    request: Request,
    state: StateDep,
    session: SessionDep,
    principal: Viewer,
    report_schedule_id: int,
    csrf_token: CsrfField = None,
) -> Response:
    """Delete an auto-report (its files stay in the history)."""
    csrf.check(request, state.settings.secret_key, csrf_token)
    schedules.delete(session, principal, report_schedule_id)
    session.commit()
    return RedirectResponse("/reports/schedules", status_code=303)


@router.get("/reports/history", response_class=HTMLResponse)
def history_page(
    request: Request, state: StateDep, session: SessionDep, principal: Viewer
) -> HTMLResponse:
    """Finished reports with downloads."""
    return render_page(
        request,
        state,
        "reports/history.html",
        principal=principal,
        runs=schedules.list_runs(session, principal),
        moment=lambda s: dt.datetime.fromtimestamp(s, MSK).strftime("%d.%m.%Y %H:%M"),
    )


@router.get("/reports/history/{report_run_id}", response_model=None)
def history_download(session: SessionDep, principal: Viewer, report_run_id: int) -> Response:
    """One finished report's file."""
    run = schedules.get_run(session, principal, report_run_id)
    return Response(
        run.content,
        media_type=MEDIA[parse_format(run.fmt)],
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(run.filename)}"},
    )
