"""The Russian receipt pages: search, the document page, marked goods, «Пробить новый чек».

Filters live in the URL (HTMX swaps the table and pushes the URL), as on the register list.
A request with ``HX-Request`` gets only the table partial.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Final
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session, col, select

from fleet.access.deps import need, page_need
from fleet.access.permissions import Permission
from fleet.access.principal import Principal
from fleet.core import csrf
from fleet.deps import SessionDep, StateDep
from fleet.documents.models import OPERATION_LABEL, Operation
from fleet.receipts import service as receipts
from fleet.receipts.exceptions import IdempotencyConflictError, InvalidReceiptError
from fleet.receipts.models import STATUS_LABEL, ReceiptStatus, RoutingProfile
from fleet.receipts_cabinet import form as rform
from fleet.receipts_cabinet import search, view
from fleet.receipts_cabinet.exceptions import InvalidSearchError
from fleet.registers.models import Register
from fleet.stores.models import Store
from fleet.web.render import render_page
from protocol.portable import receipt as schema

__all__ = ["api_router", "parse_filter", "router"]

router = APIRouter(include_in_schema=False)
api_router = APIRouter(prefix="/api/receipts/documents", tags=["Чеки: поиск документов"])

PER_PAGE: Final = 50
MSK: Final = ZoneInfo("Europe/Moscow")
OFD_LABEL: Final = {"pending": "Ждёт ОФД", "accepted": "Принят ОФД", "rejected": "Отклонён ОФД"}
OFD_BADGE: Final = {"pending": "badge-info", "accepted": "badge-ok", "rejected": "badge-danger"}
FIELDS: Final = ("fd", "fs", "date_from", "date_to", "sum", "register_id", "store_id", "contact")


def parse_filter(
    params: Any, *, marked: bool
) -> tuple[search.ReceiptFilter, dict[str, str], dict[str, str]]:
    form = {name: str(params.get(name, "")).strip() for name in (*FIELDS, "sort", "page", "errors")}
    errors: dict[str, str] = {}

    def number(name: str, label: str) -> int | None:
        if not form[name]:
            return None
        if not form[name].isdigit():
            errors[name] = f"{label} — число"
            return None
        return int(form[name])

    def day(name: str, end: bool) -> float | None:
        if not form[name]:
            return None
        try:
            d = dt.date.fromisoformat(form[name])
        except ValueError:
            errors[name] = "Дата в виде ГГГГ-ММ-ДД"
            return None
        start, nxt = search.day_bounds(d, MSK)
        return nxt if end else start

    total = None
    if form["sum"]:
        total = rform.kopecks(form["sum"])
        if total is None:
            errors["sum"] = "Сумма в рублях: 150 или 150,50"
    page = number("page", "Страница") or 1
    flt = search.ReceiptFilter(
        fd_number=number("fd", "Номер ФД"),
        fiscal_sign=form["fs"] or None,
        issued_from=day("date_from", False),
        issued_to=day("date_to", True),
        total=total,
        register_id=number("register_id", "Касса"),
        store_id=number("store_id", "Магазин"),
        contact=form["contact"] or None,
        marked=marked,
        errors_only=marked and form["errors"] == "yes",
        sort=form["sort"] or "-date",
        limit=PER_PAGE,
        offset=(max(page, 1) - 1) * PER_PAGE,
    )
    form["page"] = str(max(page, 1))
    return flt, form, errors


def _moment(seconds: float) -> str:
    return dt.datetime.fromtimestamp(seconds, MSK).strftime("%d.%m.%Y %H:%M")


def _row(r: dict[str, Any]) -> dict[str, Any]:
    op = r["operation"]
    return {
        **r,
        "when": _moment(r["issued_at"]),
        "sum": view.rubles(r["total"] or 0),
        "operation_label": OPERATION_LABEL[Operation(op)] if op in (1, 2, 3, 4) else "",
        "ofd_label": OFD_LABEL.get(r["ofd_status"], r["ofd_status"]),
        "ofd_badge": OFD_BADGE.get(r["ofd_status"], ""),
        "register": r["register_name"] or r["register_serial"] or f"№ {r['register_id']}",
    }


def _choices(session: Session, principal: Principal) -> dict[str, Any]:
    regs = session.exec(
        select(Register)
        .where(Register.company_id == principal.company_id)
        .order_by(col(Register.id))
    ).all()
    stores = session.exec(
        select(Store).where(Store.company_id == principal.company_id).order_by(col(Store.name))
    ).all()
    return {
        "registers": [
            (r.id, r.name or r.serial or f"№ {r.id}")
            for r in regs
            if principal.sees_folder(r.folder_id)
        ],
        "stores": [(s.id, s.name) for s in stores],
    }


def _list_page(
    request: Request,
    state: StateDep,
    session: SessionDep,
    principal: Principal,
    *,
    marked: bool,
) -> HTMLResponse:
    flt, form, errors = parse_filter(request.query_params, marked=marked)
    found = None
    status = 200
    if not errors:
        try:
            found = search.search(session, principal, flt)
        except InvalidSearchError as e:
            errors = {_FORM_NAME.get(k, k): v for k, v in e.fields.items()}
    if errors:
        status = 422
    query = {k: v for k, v in form.items() if v and k != "page"}
    page = int(form["page"])
    partial = "receipts_cabinet/_results.html"
    template = (
        partial
        if request.headers.get("HX-Request")
        else ("receipts_cabinet/marked.html" if marked else "receipts_cabinet/search.html")
    )
    base = "/receipts/marked" if marked else "/receipts/search"
    return render_page(
        request,
        state,
        template,
        principal=principal,
        status=status,
        form=form,
        errors=errors,
        rows=[_row(r) for r in found.rows] if found else [],
        searched=found is not None,
        marked=marked,
        base=base,
        prev_url=f"{base}?{urlencode({**query, 'page': page - 1})}" if page > 1 else None,
        next_url=f"{base}?{urlencode({**query, 'page': page + 1})}"
        if found and found.has_next
        else None,
        sorts=search.MARKED_SORTS,
        can_create=principal.has(Permission.RECEIPTS_CREATE),
        **_choices(session, principal),
    )


_FORM_NAME: Final = {
    "fd_number": "fd",
    "fiscal_sign": "fs",
    "issued_to": "date_to",
    "total": "sum",
}


@router.get("/receipts/search", response_class=HTMLResponse)
def search_page(
    request: Request,
    state: StateDep,
    session: SessionDep,
    principal: Annotated[Principal, page_need(Permission.RECEIPTS_VIEW)],
) -> HTMLResponse:
    """Search any receipt by FD number, fiscal sign, period, sum, register, store, buyer."""
    return _list_page(request, state, session, principal, marked=False)


@router.get("/receipts/marked", response_class=HTMLResponse)
def marked_page(
    request: Request,
    state: StateDep,
    session: SessionDep,
    principal: Annotated[Principal, page_need(Permission.RECEIPTS_VIEW)],
) -> HTMLResponse:
    """Receipts with marked goods, sortable, with the ones that have errors."""
    return _list_page(request, state, session, principal, marked=True)


@router.get("/receipts/documents/{document_id}", response_class=HTMLResponse)
def document_page(
    request: Request,
    state: StateDep,
    session: SessionDep,
    principal: Annotated[Principal, page_need(Permission.RECEIPTS_VIEW)],
    document_id: int,
) -> HTMLResponse:
    """One fiscal document: requisites, the TLV in Russian, the QR code."""
    v = view.load(session, principal, document_id)
    doc = v.doc
    return render_page(
        request,
        state,
        "receipts_cabinet/document.html",
        principal=principal,
        v=v,
        title=view.doc_title(doc),
        when=v.local_time.strftime("%d.%m.%Y %H:%M"),
        sum=view.rubles(doc.total or 0),
        ofd_label=OFD_LABEL.get(doc.ofd_status, doc.ofd_status),
        ofd_badge=OFD_BADGE.get(doc.ofd_status, ""),
        register=v.register.name or v.register.serial or f"№ {v.register.id}",
        qr_svg=view.qr_svg(v.qr) if v.qr else None,
        can_create=principal.has(Permission.RECEIPTS_CREATE) and doc.operation is not None,
    )


# ---- «Пробить новый чек» ------------------------------------------------------------------


def _form_from(data: Any) -> rform.ReceiptForm:
    def many(name: str) -> list[str]:
        return [str(v) for v in data.getlist(name)]

    names = many("item_name")
    cols = {
        k: many(f"item_{k}")
        for k in ("price", "quantity", "measure", "vat", "type", "method", "marking")
    }
    rows = []
    for i, name in enumerate(names):

        def at(k: str, i: int = i) -> str:
            vals = cols[k]
            return vals[i] if i < len(vals) else ""

        rows.append(
            rform.Row(
                name=name,
                price=at("price"),
                quantity=at("quantity") or "1",
                measure=at("measure") or "0",
                vat=at("vat") or "none",
                type=at("type") or "1",
                method=at("method") or "full_payment",
                marking=at("marking"),
            )
        )
    return rform.ReceiptForm(
        **{
            k: str(data.get(k, "")).strip()
            for k in (
                "register_id",
                "operation",
                "tax_system",
                "correction",
                "correction_date",
                "order_number",
                "original_date",
                "buyer_contact",
                "cash",
                "electronic",
                "original_id",
            )
        },
        rows=rows or [rform.Row()],
    )


def _form_page(
    request: Request,
    state: StateDep,
    session: SessionDep,
    principal: Principal,
    f: rform.ReceiptForm,
    *,
    errors: dict[str, str] | None = None,
    message: str | None = None,
    sent: Any = None,
    original: Any = None,
    status: int = 200,
) -> HTMLResponse:
    return render_page(
        request,
        state,
        "receipts_cabinet/new.html",
        principal=principal,
        status=status,
        f=f,
        errors=errors or {},
        message=message,
        sent=sent,
        original=original,
        operations=rform.OPERATIONS,
        taxes=rform.TAX_CHOICES,
        vats=rform.VAT_CHOICES,
        methods=rform.METHOD_CHOICES,
        types=rform.TYPE_CHOICES,
        measures=rform.MEASURES,
        **_choices(session, principal),
    )


@router.get("/receipts/new", response_class=HTMLResponse)
def new_page(
    request: Request,
    state: StateDep,
    session: SessionDep,
    principal: Annotated[Principal, page_need(Permission.RECEIPTS_CREATE)],
) -> HTMLResponse:
    """The empty form; ``?original=<document id>`` fills it from that document (a return or a
    correction); ``?sent=<receipt id>`` shows what was sent."""
    params = request.query_params
    f = rform.ReceiptForm()
    original = None
    sent = None
    if params.get("original", "").isdigit():
        v = view.load(session, principal, int(params["original"]))
        f = rform.from_original(view.original_request(v))
        if params.get("kind") == "correction":
            f.correction = "self"
            f.operation = {2: "sale_return", 4: "expense_return"}.get(
                v.doc.operation or 1, {1: "sale", 3: "expense"}.get(v.doc.operation or 1, "sale")
            )
        original = {"id": v.doc.id, "title": view.doc_title(v.doc)}
    if params.get("sent", "").isdigit():
        rec = receipts.get_receipt(session, principal, int(params["sent"]))
        sent = {
            "id": rec.id,
            "status": STATUS_LABEL.get(ReceiptStatus(rec.status), rec.status),
            "total": view.rubles(rec.total),
            "parts": rec.parts,
        }
    return _form_page(request, state, session, principal, f, original=original, sent=sent)


@router.get("/receipts/new/row", response_class=HTMLResponse)
def new_row(
    request: Request,
    state: StateDep,
    principal: Annotated[Principal, page_need(Permission.RECEIPTS_CREATE)],
) -> HTMLResponse:
    """One empty position row (HTMX appends it to the table)."""
    return render_page(
        request,
        state,
        "receipts_cabinet/_row.html",
        principal=principal,
        r=rform.Row(),
        i=0,
        errors={},
        vats=rform.VAT_CHOICES,
        methods=rform.METHOD_CHOICES,
        types=rform.TYPE_CHOICES,
        measures=rform.MEASURES,
    )


def _profile(session: Session, principal: Principal, register_id: str) -> tuple[Any, str | None]:
    """The chosen register's profile (its own rules check the form), or why it cannot be used."""
    if not register_id.isdigit():
        return None, "Выберите кассу"
    reg = session.get(Register, int(register_id))
    if (
        reg is None
        or reg.company_id != principal.company_id
        or not principal.sees_folder(reg.folder_id)
    ):
        return None, "Касса не найдена"
    prof = session.get(RoutingProfile, reg.id)
    return (prof.profile if prof is not None else None), None


@router.post("/receipts/new", response_model=None)
async def new_send(
    request: Request,
    state: StateDep,
    session: SessionDep,
    principal: Annotated[Principal, page_need(Permission.RECEIPTS_CREATE)],
) -> Response:
    """Check the form with the chosen register's rules and send it through create_receipt."""
    data = await request.form()
    csrf.check(request, state.settings.secret_key, str(data.get(csrf.FIELD, "")) or None)
    f = _form_from(data)
    body, errors = rform.build(f)
    profile, reg_error = _profile(session, principal, f.register_id)
    if reg_error:
        errors["register_id"] = reg_error
    if not errors:
        now = dt.datetime.fromtimestamp(state.clock.wall(), MSK).isoformat(timespec="seconds")
        _norm, problems = schema.check(body, profile, now)
        for path, _code, text in problems:
            key = rform.field_of(str(path))
            errors[key] = f"{errors[key]}; {text}" if key in errors else str(text)
    if not errors:
        try:
            rec, _created = receipts.create_receipt(session, principal, body, clock=state.clock)
        except InvalidReceiptError as e:
            for path, _code, text in e.errors:
                errors[rform.field_of(path)] = text
        except IdempotencyConflictError as e:
            errors["_"] = e.message
        else:
            return RedirectResponse(f"/receipts/new?sent={rec.id}", status_code=303)
    return _form_page(
        request,
        state,
        session,
        principal,
        f,
        errors=errors,
        message="Чек не отправлен: исправьте отмеченные поля",
        status=422,
    )


# ---- API ----------------------------------------------------------------------------------


@api_router.get("/search")
def api_search(
    request: Request,
    session: SessionDep,
    principal: Annotated[Principal, need(Permission.RECEIPTS_VIEW)],
) -> dict[str, Any]:
    """Settlement documents by ``fd``, ``fs``, ``date_from``/``date_to`` (Moscow days),
    ``sum`` (rubles), ``register_id``, ``store_id``, ``contact``, ``marked=yes``,
    ``errors=yes``, ``sort``, ``page`` (50 a page): ``{items, page, has_next}``."""
    flt, form, errors = parse_filter(
        request.query_params, marked=request.query_params.get("marked") == "yes"
    )
    if errors:
        raise InvalidSearchError("Поиск не выполнен: проверьте поля", fields=errors)
    found = search.search(session, principal, flt)
    return {
        "items": [
            {k: v for k, v in r.items() if k not in ("register_serial",)} for r in found.rows
        ],
        "page": int(form["page"]),
        "has_next": found.has_next,
    }
