"""«Чеки покупателям»: statistics and chart, the attempts journal, resend (one, selected, or
all undelivered of the period, with a progress bar), the channel order per company, store and
register, retention, the buyer's export and erasure; and the public receipt page (no sign-in).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated, Any, Final
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session, col, select

from fleet.access.deps import page_need
from fleet.access.permissions import Permission
from fleet.access.principal import Principal
from fleet.accounts.models import Company
from fleet.billing.periods import moscow
from fleet.core import csrf
from fleet.delivery import privacy, service
from fleet.delivery.channels import CHANNELS, Channel
from fleet.delivery.compose import PAYMENT_LABEL, money
from fleet.delivery.exceptions import BadScopeError, DeliveryNotFoundError, NothingChosenError
from fleet.delivery.models import Delivery, DeliveryRoute
from fleet.delivery.pricing import LABEL
from fleet.delivery.routes import set_route
from fleet.delivery.worker import receipt_view
from fleet.deps import SessionDep, StateDep
from fleet.receipts.models import Receipt, ReceiptPart, RoutingProfile
from fleet.receipts_cabinet.view import qr_svg
from fleet.registers.models import Register
from fleet.stores.models import Store
from fleet.web.render import render_page

__all__ = ["public_router", "router"]

router = APIRouter(include_in_schema=False)
public_router = APIRouter(include_in_schema=False)

Viewer = Annotated[Principal, page_need(Permission.RECEIPTS_VIEW)]
Sender = Annotated[Principal, page_need(Permission.RECEIPTS_CREATE)]
Manager = Annotated[Principal, page_need(Permission.COMPANY_MANAGE)]

STATUS_LABEL: Final = {
    "queued": "В очереди",
    "sent": "Отправлен",
    "delivered": "Доставлен",
    "failed": "Не доставлен",
    "skipped": "Пропущен",
}
STATUS_BADGE: Final = {
    "queued": "badge-info",
    "sent": "badge-info",
    "delivered": "badge-ok",
    "failed": "badge-danger",
    "skipped": "badge-warn",
}
DELIVERY_LABEL: Final = {"active": "В пути", "delivered": "Доставлен", "failed": "Не доставлен"}


def _period(params: Any, now: float) -> tuple[float, float, str, str, str | None]:
    """[since, until) from ``date_from``/``date_to`` (Moscow days; default: the last 7)."""
    today = moscow(now).date()
    raw_from = str(params.get("date_from") or "").strip()
    raw_to = str(params.get("date_to") or "").strip()
    error = None
    try:
        d_from = dt.date.fromisoformat(raw_from) if raw_from else today - dt.timedelta(days=6)
        d_to = dt.date.fromisoformat(raw_to) if raw_to else today
    except ValueError:
        d_from, d_to, error = today - dt.timedelta(days=6), today, "Дата в виде ГГГГ-ММ-ДД"
    if d_to < d_from:
        d_from, d_to, error = d_to, d_from, "Начало периода позже конца: поменяли местами"
    if (d_to - d_from).days > 91:
        d_from, error = d_to - dt.timedelta(days=91), "Период — не больше 92 дней"
    msk = dt.timezone(dt.timedelta(hours=3))
    since = dt.datetime.combine(d_from, dt.time(), msk).timestamp()
    until = dt.datetime.combine(d_to + dt.timedelta(days=1), dt.time(), msk).timestamp()
    return since, until, d_from.isoformat(), d_to.isoformat(), error


def _when(t: float | None) -> str:
    return moscow(t).strftime("%d.%m.%Y %H:%M:%S") if t else "—"


@router.get("/receipts/delivery", response_class=HTMLResponse)
def section(
    request: Request, state: StateDep, session: SessionDep, principal: Viewer
) -> HTMLResponse:
    """Statistics by channel and day, undelivered receipts, the attempts journal."""
    since, until, d_from, d_to, error = _period(request.query_params, state.clock.wall())
    channel = request.query_params.get("channel") or None
    status = request.query_params.get("status") or None
    cid = principal.company_id
    failed = service.undelivered(session, cid, since, until)
    receipts = {
        r.id: r.external_id
        for r in session.exec(
            select(Receipt).where(col(Receipt.id).in_([d.receipt_id for d in failed]))
        )
    }
    mark = _mark(request.query_params.get("resent"))
    return render_page(
        request,
        state,
        "delivery/section.html",
        principal=principal,
        rows=service.channel_rows(session, cid, since, until),
        chart=service.day_chart(session, cid, since, until),
        attempts=service.recent_attempts(
            session, cid, since, until, channel=channel, status=status
        ),
        failed=failed,
        receipts=receipts,
        date_from=d_from,
        date_to=d_to,
        error=error,
        channel=channel or "",
        status_filter=status or "",
        channels=[(c.value, LABEL[c]) for c in Channel],
        statuses=STATUS_LABEL,
        badges=STATUS_BADGE,
        labels={c.value: LABEL[c] for c in Channel},
        when=_when,
        money=money,
        progress=service.progress(session, cid, mark) if mark is not None else None,
        mark=mark,
        may_send=principal.has(Permission.RECEIPTS_CREATE),
    )


def _mark(raw: str | None) -> float | None:
    """A resend batch's mark from the URL (None when absent or not a number)."""
    try:
        return float(raw) if raw else None
    except ValueError:
        return None


@router.get("/receipts/delivery/progress", response_class=HTMLResponse)
def progress_fragment(
    request: Request, state: StateDep, session: SessionDep, principal: Viewer
) -> HTMLResponse:
    """The bulk resend's progress bar (HTMX polls it while receipts are on their way)."""
    mark = _mark(request.query_params.get("resent"))
    p = service.progress(session, principal.company_id, mark if mark is not None else -1.0)
    return render_page(
        request, state, "delivery/_progress.html", principal=principal, progress=p, mark=mark
    )


@router.post("/receipts/delivery/resend", response_model=None)
async def resend(
    request: Request, state: StateDep, session: SessionDep, principal: Sender
) -> Response:
    """Resend the chosen undelivered receipts (``id`` repeated) or all of the period (``all``)."""
    form = await request.form()
    token = form.get(csrf.FIELD)
    csrf.check(request, state.settings.secret_key, token if isinstance(token, str) else None)
    ids = [int(v) for v in form.getlist("id") if isinstance(v, str) and v.isdigit()]
    if form.get("all"):
        since, until, *_ = _period(form, state.clock.wall())
        n, mark = service.resend(
            session, state.clock, principal.company_id, None, since=since, until=until
        )
    else:
        if not ids:
            raise NothingChosenError("Выберите чеки для повторной отправки", fields={"id": "пусто"})
        n, mark = service.resend(session, state.clock, principal.company_id, ids)
    session.commit()
    query = {
        "date_from": str(form.get("date_from") or ""),
        "date_to": str(form.get("date_to") or ""),
        "resent": repr(mark),
        "n": str(n),
    }
    return RedirectResponse(f"/receipts/delivery?{urlencode(query)}", status_code=303)


@router.get("/receipts/delivery/settings", response_class=HTMLResponse)
def settings_page(
    request: Request, state: StateDep, session: SessionDep, principal: Manager
) -> HTMLResponse:
    """Channel order per company, store and register; retention; a buyer's data request."""
    cid = principal.company_id
    routes = session.exec(select(DeliveryRoute).where(DeliveryRoute.company_id == cid)).all()
    stores = session.exec(select(Store).where(Store.company_id == cid)).all()
    registers = session.exec(select(Register).where(Register.company_id == cid)).all()
    prefs = privacy.prefs_for(session, state.clock, cid)
    return render_page(
        request,
        state,
        "delivery/settings.html",
        principal=principal,
        routes=routes,
        stores={s.id: s.name for s in stores},
        registers={r.id: r.serial for r in registers},
        channels=[(c.value, LABEL[c], CHANNELS[c].needs) for c in Channel],
        labels={c.value: LABEL[c] for c in Channel},
        prefs=prefs,
        saved=request.query_params.get("saved"),
        erased=request.query_params.get("erased"),
    )


@router.post("/receipts/delivery/settings/route", response_model=None)
async def save_route(
    request: Request, state: StateDep, session: SessionDep, principal: Manager
) -> Response:
    """Save a channel order (``order`` repeated, in order) for the company, a store or a
    register (``scope`` = company | store:<id> | register:<id>)."""
    form = await request.form()
    token = form.get(csrf.FIELD)
    csrf.check(request, state.settings.secret_key, token if isinstance(token, str) else None)
    scope = str(form.get("scope") or "company")
    store_id = register_id = None
    kind, _, raw = scope.partition(":")
    if kind == "store" and raw.isdigit():
        store = session.get(Store, int(raw))
        if store is None or store.company_id != principal.company_id:
            raise DeliveryNotFoundError("Магазин не найден")
        store_id = store.id
    elif kind == "register" and raw.isdigit():
        reg = session.get(Register, int(raw))
        if reg is None or reg.company_id != principal.company_id:
            raise DeliveryNotFoundError("Касса не найдена")
        register_id = reg.id
    elif kind != "company":
        raise BadScopeError("Неизвестная область настройки", fields={"scope": scope})
    order = [str(v) for v in form.getlist("order")]
    set_route(
        session,
        state.clock,
        principal.company_id,
        order,
        store_id=store_id,
        register_id=register_id,
    )
    session.commit()
    return RedirectResponse("/receipts/delivery/settings?saved=route", status_code=303)


@router.post("/receipts/delivery/settings/retention", response_model=None)
def save_retention(
    request: Request,
    state: StateDep,
    session: SessionDep,
    principal: Manager,
    retention_days: Annotated[int, Form()],
    csrf_token: Annotated[str | None, Form(alias=csrf.FIELD)] = None,
) -> Response:
    """How long buyers' contacts are kept."""
    csrf.check(request, state.settings.secret_key, csrf_token)
    privacy.set_retention(session, state.clock, principal, retention_days)
    session.commit()
    return RedirectResponse("/receipts/delivery/settings?saved=retention", status_code=303)


@router.post("/receipts/delivery/buyer/export", response_model=None)
def buyer_export(
    request: Request,
    state: StateDep,
    session: SessionDep,
    principal: Manager,
    contact: Annotated[str, Form()],
    csrf_token: Annotated[str | None, Form(alias=csrf.FIELD)] = None,
) -> Response:
    """What the company holds on a buyer's e-mail or phone, as a JSON file."""
    csrf.check(request, state.settings.secret_key, csrf_token)
    data = privacy.export(session, state.clock, state.settings.secret_key, principal, contact)
    session.commit()
    return Response(
        json.dumps(data, ensure_ascii=False, indent=2),
        media_type="application/json",
        headers={"Content-Disposition": 'attachment; filename="buyer-data.json"'},
    )


@router.post("/receipts/delivery/buyer/erase", response_model=None)
def buyer_erase(
    request: Request,
    state: StateDep,
    session: SessionDep,
    principal: Manager,
    contact: Annotated[str, Form()],
    csrf_token: Annotated[str | None, Form(alias=csrf.FIELD)] = None,
) -> Response:
    """Erase a buyer's contact from the delivery records."""
    csrf.check(request, state.settings.secret_key, csrf_token)
    n = privacy.erase(session, state.clock, state.settings.secret_key, principal, contact)
    session.commit()
    return RedirectResponse(f"/receipts/delivery/settings?erased={n}", status_code=303)


@public_router.get("/r/{token}", response_class=HTMLResponse)
def public_receipt(
    token: str, request: Request, state: StateDep, session: SessionDep
) -> HTMLResponse:
    """The receipt by its unguessable link (the SMS carries it): fiscal data and the QR code."""
    view = public_view(session, state.settings.base_url, token)
    html = state.templates.get_template("delivery/public.html").render(
        r=view,
        money=money,
        payment_label=PAYMENT_LABEL,
        qr=[qr_svg(p.qr) if p.qr else None for p in view.parts],
    )
    return HTMLResponse(html, headers={"X-Robots-Tag": "noindex", "Referrer-Policy": "no-referrer"})


def public_view(session: Session, base_url: str, token: str) -> Any:
    """The receipt behind a public token; NotFoundError for any other string."""
    if not 20 <= len(token) <= 64:
        raise DeliveryNotFoundError("Чек не найден")
    d = session.exec(select(Delivery).where(Delivery.token == token)).first()
    if d is None:
        raise DeliveryNotFoundError("Чек не найден")
    receipt = session.get(Receipt, d.receipt_id)
    parts = session.exec(
        select(ReceiptPart)
        .where(ReceiptPart.receipt_id == d.receipt_id)
        .order_by(col(ReceiptPart.part_no))
    ).all()
    profile = session.get(RoutingProfile, d.register_id) if d.register_id else None
    return receipt_view(
        receipt,
        parts,
        session.get(Company, d.company_id),
        profile.profile if profile else {},
        f"{base_url.rstrip('/')}/r/{token}",
    )
