"""The Russian register pages: the filtered list (HTMX swaps the table), the card, the operator's
fleet view. Filters live in the URL (the form's hx-push-url), so a list can be bookmarked."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Annotated, Any, Final
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlmodel import Session

from fleet.access.deps import page_need
from fleet.access.permissions import Permission
from fleet.access.principal import Principal
from fleet.accounts.schemas import utc
from fleet.core import csrf
from fleet.deps import AppState, SessionDep, StateDep
from fleet.documents.counters import Counters
from fleet.registers import service
from fleet.registers.exceptions import InvalidRegisterError
from fleet.registers.models import NEXT_STEP, STATE_LABEL, Register, RegisterState
from fleet.stores import service as stores
from fleet.stores.models import Store
from fleet.web.render import render_page

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

PER_PAGE: Final = 50
_BADGE: Final[dict[RegisterState, str]] = {
    RegisterState.ACTIVE: "badge-ok",
    RegisterState.BOOKED: "badge-warn",
    RegisterState.DEREGISTERED: "",
    RegisterState.FREE: "",
}
_YES_NO: Final = {"": None, "yes": True, "no": False}
FIELD_LABEL: Final = {
    "state": "Состояние",
    "company_id": "Компания",
    "folder_id": "Папка",
    "drive_expires_from": "ФН действует с",
    "drive_expires_to": "ФН действует по",
    "has_errors": "Ошибки",
    "shift_open": "Смена",
    "q": "Поиск",
    "sort": "Сортировка",
    "page": "Страница",
    "limit": "Размер страницы",
    "offset": "Смещение",
}
SORT_LABEL: Final = {
    "id": "по номеру",
    "-id": "сначала новые",
    "serial": "по заводскому номеру",
    "drive_expires_at": "по сроку ФН",
    "-last_seen_at": "по последней связи",
}


def _date(value: str, field: str, errors: dict[str, str], *, end: bool) -> float | None:
    if not value:
        return None
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        errors[field] = "Дата в виде ГГГГ-ММ-ДД"
        return None
    moment = dt.datetime.combine(day, dt.time.max if end else dt.time.min, tzinfo=dt.UTC)
    return moment.timestamp()


def _int(value: str, field: str, errors: dict[str, str]) -> int | None:
    if not value:
        return None
    if not value.isdigit():
        errors[field] = "Укажите номер"
        return None
    return int(value)


def parse_filter(
    request: Request, *, fleet: bool
) -> tuple[service.RegisterFilter, dict[str, Any], dict[str, str]]:
    """The filter from the URL's query (as the form sends it), the form's values and errors."""
    params = request.query_params
    errors: dict[str, str] = {}
    states = []
    for value in params.getlist("state"):
        try:
            states.append(RegisterState(value))
        except ValueError:
            errors["state"] = "Неизвестное состояние"
    store_ids = [int(v) for v in params.getlist("store_id") if v.isdigit()]
    form: dict[str, Any] = {
        "state": [s.value for s in states],
        "store_id": store_ids,
        **{
            name: params.get(name, "").strip()
            for name in (
                "tariff_code",
                "drive_expires_from",
                "drive_expires_to",
                "has_errors",
                "shift_open",
                "q",
                "sort",
                "company_id",
                "folder_id",
            )
        },
    }
    for name in ("has_errors", "shift_open"):
        if form[name] not in _YES_NO:
            errors[name] = "Выберите «да», «нет» или «все»"
    page = _int(params.get("page", ""), "page", errors) or 1
    sort = form["sort"] or "id"
    flt = service.RegisterFilter(
        states=tuple(states),
        company_id=_int(form["company_id"], "company_id", errors) if fleet else None,
        store_ids=() if fleet else tuple(store_ids),
        tariff_code=form["tariff_code"] or None,
        drive_expires_from=_date(
            form["drive_expires_from"], "drive_expires_from", errors, end=False
        ),
        drive_expires_to=_date(form["drive_expires_to"], "drive_expires_to", errors, end=True),
        has_errors=_YES_NO.get(form["has_errors"]),
        shift_open=_YES_NO.get(form["shift_open"]),
        folder_id=None if fleet else _int(form["folder_id"], "folder_id", errors),
        q=form["q"] or None,
        sort=sort,
        limit=PER_PAGE,
        offset=(max(1, page) - 1) * PER_PAGE,
    )
    form["page"] = max(1, page)
    return flt, form, errors


def _day(seconds: float | None) -> str | None:
    return None if seconds is None else utc(seconds).strftime("%d.%m.%Y")


def _moment(seconds: float | None) -> str | None:
    return None if seconds is None else utc(seconds).strftime("%d.%m.%Y %H:%M UTC")


def row_of(r: Register, stores_by_id: dict[int, Store]) -> dict[str, Any]:
    """What a list row shows."""
    state = RegisterState(r.state)
    store = stores_by_id.get(r.store_id) if r.store_id is not None else None
    return {
        "id": r.id,
        "serial": r.serial,
        "name": r.name,
        "rnm": r.rnm,
        "model": r.model,
        "state": STATE_LABEL[state],
        "badge": _BADGE.get(state, "badge-info"),
        "next_step": NEXT_STEP[state],
        "store": None if store is None else store.name,
        "tariff": r.tariff_code,
        "drive_expires": _day(r.drive_expires_at),
        "shift_open": r.shift_open,
        "has_errors": r.has_errors,
        "last_error": r.last_error,
        "company_id": r.company_id,
    }


def _query_without_page(request: Request) -> str:
    return urlencode([(k, v) for k, v in request.query_params.multi_items() if k != "page" and v])


def _list_page(
    request: Request,
    state: AppState,
    session: Session,
    principal: Principal,
    *,
    fleet: bool,
) -> HTMLResponse:
    flt, form, errors = parse_filter(request, fleet=fleet)
    items: Sequence[Register] = []
    total = 0
    if not errors:
        try:
            found = (
                service.list_fleet(session=session, flt=flt)
                if fleet
                else service.list_registers(
                    session=session,
                    company_id=principal.company_id,
                    folder_ids=principal.folder_ids,
                    flt=flt,
                )
            )
            items, total = found.items, found.total
        except InvalidRegisterError as exc:
            errors = exc.fields
    stores_by_id = service.stores_of(session, items)
    context: dict[str, Any] = {
        "rows": [row_of(r, stores_by_id) for r in items],
        "total": total,
        "page": form["page"],
        "has_next": flt.offset + len(items) < total,
        "query": _query_without_page(request),
        "errors": {FIELD_LABEL.get(k, k): v for k, v in errors.items()},
        "fleet": fleet,
        "base_path": "/operator/registers" if fleet else "/registers",
    }
    if request.headers.get("HX-Request") == "true":
        # the table only: no layout, no menu, no session lookups for the header
        return HTMLResponse(state.templates.get_template("registers/_table.html").render(context))
    stores_list = (
        [] if fleet else stores.list_stores(session=session, company_id=principal.company_id)
    )
    return render_page(
        request,
        state,
        "registers/list.html",
        principal=principal,
        form=form,
        states=[(s.value, STATE_LABEL[s]) for s in RegisterState],
        stores=[(s.id, s.name) for s in stores_list],
        sorts=SORT_LABEL,
        **context,
    )


@router.get("/registers", response_class=HTMLResponse)
def register_list(
    request: Request,
    state: StateDep,
    session: SessionDep,
    principal: Annotated[Principal, page_need(Permission.REGISTERS_VIEW)],
) -> HTMLResponse:
    """The company's registers with filters; an HTMX request gets the table only."""
    return _list_page(request, state, session, principal, fleet=False)


@router.get("/operator/registers", response_class=HTMLResponse)
def fleet_list(
    request: Request,
    state: StateDep,
    session: SessionDep,
    principal: Annotated[Principal, page_need(Permission.OPERATOR_FLEET)],
) -> HTMLResponse:
    """Every client's registers (operators), filtered by company and the list's filters."""
    return _list_page(request, state, session, principal, fleet=True)


def _tiles(c: Counters) -> list[tuple[str, str]]:
    return [
        ("Чеков прихода", str(c.receipts["income"])),
        ("Возвратов прихода", str(c.receipts["income_return"])),
        ("Чеков расхода", str(c.receipts["expense"])),
        ("Возвратов расхода", str(c.receipts["expense_return"])),
        ("Чеков коррекции", str(c.correction_receipts)),
        ("БСО", str(c.bso)),
        ("Чеков с маркировкой", str(c.marked_receipts)),
        ("Документов всего", str(c.documents_total)),
        ("Принято ОФД", str(c.ofd_accepted)),
        ("Отклонено ОФД", str(c.ofd_rejected)),
        ("Ждут ответа ОФД", str(c.ofd_pending)),
        ("Смен", str(c.shifts)),
        ("Рабочих дней", str(c.working_days)),
        ("Дней простоя", str(c.idle_days)),
    ]


@router.get("/registers/{register_id}", response_class=HTMLResponse)
def register_card(
    register_id: int,
    request: Request,
    state: StateDep,
    session: SessionDep,
    principal: Annotated[Principal, page_need(Permission.REGISTERS_VIEW)],
) -> HTMLResponse:
    """The card: main data on top, the tools that work below, the counters as tiles."""
    card = service.get_card(
        session=session, clock=state.clock, principal=principal, register_id=register_id
    )
    r = card.register
    reg_state = RegisterState(r.state)
    can_manage = principal.has(Permission.REGISTERS_MANAGE)
    store_choices = (
        [
            (s.id, s.name)
            for s in stores.list_stores(session=session, company_id=principal.company_id)
        ]
        if can_manage
        else []
    )
    c = card.counters
    return render_page(
        request,
        state,
        "registers/card.html",
        principal=principal,
        r=r,
        state_label=STATE_LABEL[reg_state],
        badge=_BADGE.get(reg_state, "badge-info"),
        next_step=NEXT_STEP[reg_state],
        store=card.store,
        store_address=None if card.store is None else stores.address_line(card.store),
        drive_expires=_day(r.drive_expires_at),
        last_seen=_moment(r.last_seen_at),
        counters=c,
        tiles=_tiles(c),
        last_document=_moment(c.last_document_at),
        can_manage=can_manage,
        store_choices=store_choices,
    )


@router.post("/registers/{register_id}/store")
def register_move(
    register_id: int,
    request: Request,
    state: StateDep,
    session: SessionDep,
    principal: Annotated[Principal, page_need(Permission.REGISTERS_MANAGE)],
    store_id: Annotated[str, Form()] = "",
    csrf_token: Annotated[str | None, Form(alias=csrf.FIELD)] = None,
) -> RedirectResponse:
    """Place the register in a store (the card's tool), then back to the card."""
    csrf.check(request, state.settings.secret_key, csrf_token)
    service.move_to_store(
        session=session,
        clock=state.clock,
        principal=principal,
        register_id=register_id,
        store_id=int(store_id) if store_id.isdigit() else None,
    )
    return RedirectResponse(f"/registers/{register_id}", status_code=303)
