"""The «Рекламные чеки» cabinet pages: the template list, the designer with a live preview
(HTMX), assignments, the free test send, buyers' consent; and the public pictures."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session, select
from starlette.datastructures import FormData, UploadFile

from fleet.access.deps import page_need
from fleet.access.permissions import Permission
from fleet.access.principal import Principal
from fleet.accounts.models import Company, User
from fleet.adreceipts import consent, design, markup, pricing, sample, service, testsend
from fleet.adreceipts.exceptions import AdTemplateNotFoundError
from fleet.adreceipts.models import AdAssignment, AdImage, AdTemplate, AssignmentKind, ConsentSource
from fleet.billing.money import rubles
from fleet.core import csrf
from fleet.core.errors import DomainError, InvalidInputError, status_for
from fleet.deps import AppState, SessionDep, StateDep
from fleet.registers.models import Register
from fleet.stores.models import Store
from fleet.web.render import render_page

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

Manager = Annotated[Principal, page_need(Permission.COMPANY_MANAGE)]
CsrfField = Annotated[str | None, Form(alias=csrf.FIELD)]
MSK = ZoneInfo("Europe/Moscow")
KIND_LABEL = {
    AssignmentKind.CAMPAIGN.value: "Кампания",
    AssignmentKind.REGISTER.value: "Касса",
    AssignmentKind.STORE.value: "Магазин",
}


def _text(form: FormData, key: str) -> str:
    value = form.get(key)
    return value if isinstance(value, str) else ""


def _int(form: FormData, key: str) -> int | None:
    value = _text(form, key).strip()
    return int(value) if value.isdigit() else None


async def _upload(form: FormData, key: str) -> bytes | None:
    value = form.get(key)
    if isinstance(value, UploadFile):
        data = await value.read()
        return data or None
    return None


async def _raw(request: Request, state: AppState) -> tuple[design.RawTemplate, FormData]:
    """The designer form as typed (the CSRF token checked first)."""
    form = await request.form()
    csrf.check(request, state.settings.secret_key, _text(form, csrf.FIELD) or None)
    banners = []
    for n in range(1, design.MAX_BANNERS + 1):
        if _text(form, f"banner{n}_remove"):
            continue
        banners.append(
            design.RawBanner(
                link=_text(form, f"banner{n}_link"),
                erid=_text(form, f"banner{n}_erid"),
                not_advertising=bool(_text(form, f"banner{n}_not_ad")),
                image_id=_int(form, f"banner{n}_image_id"),
                upload=await _upload(form, f"banner{n}_image"),
            )
        )
    links = tuple(
        design.RawLink(_text(form, f"link{n}_label"), _text(form, f"link{n}_url"))
        for n in range(1, design.MAX_LINKS + 1)
    )
    raw = design.RawTemplate(
        name=_text(form, "name"),
        background=_text(form, "background") or design.DEFAULT_BACKGROUND,
        company_name=_text(form, "company_name"),
        greeting=_text(form, "greeting"),
        text=_text(form, "text"),
        logo_id=_int(form, "logo_id"),
        logo_upload=await _upload(form, "logo"),
        remove_logo=bool(_text(form, "remove_logo")),
        banners=tuple(banners),
        links=links,
    )
    return raw, form


def _form_of(row: AdTemplate | None, company: Company | None) -> dict[str, Any]:
    """The editor's values: a stored template, or a new one's defaults."""
    if row is None:
        return {
            "name": "",
            "background": design.DEFAULT_BACKGROUND,
            "company_name": company.name if company else "",
            "greeting": "Спасибо за покупку!",
            "text": "",
            "logo_id": None,
            "banners": [],
            "links": [],
        }
    return {
        "name": row.name,
        "background": row.background,
        "company_name": row.company_name,
        "greeting": row.greeting,
        "text": row.text,
        "logo_id": row.logo_id,
        "banners": [
            {
                "image_id": b.get("image_id"),
                "link": b.get("link", ""),
                "erid": b.get("erid") or "",
                "not_ad": not b.get("advertising", True),
            }
            for b in row.banners
        ],
        "links": [{"label": x.get("label", ""), "url": x.get("url", "")} for x in row.links],
    }


def _form_from(form: FormData) -> dict[str, Any]:
    """The editor's values as typed (a refused save shows them again)."""
    return {
        "name": _text(form, "name"),
        "background": _text(form, "background"),
        "company_name": _text(form, "company_name"),
        "greeting": _text(form, "greeting"),
        "text": _text(form, "text"),
        "logo_id": _int(form, "logo_id"),
        "banners": [
            {
                "image_id": _int(form, f"banner{n}_image_id"),
                "link": _text(form, f"banner{n}_link"),
                "erid": _text(form, f"banner{n}_erid"),
                "not_ad": bool(_text(form, f"banner{n}_not_ad")),
            }
            for n in range(1, design.MAX_BANNERS + 1)
        ],
        "links": [
            {"label": _text(form, f"link{n}_label"), "url": _text(form, f"link{n}_url")}
            for n in range(1, design.MAX_LINKS + 1)
        ],
    }


def _slots(values: dict[str, Any], session: Session, company_id: int) -> dict[str, Any]:
    """Pad banners and links to the form's slots; stored pictures get their public path."""
    values = dict(values)
    banners = list(values["banners"])[: design.MAX_BANNERS]
    banners += [{"image_id": None, "link": "", "erid": "", "not_ad": False}] * (
        design.MAX_BANNERS - len(banners)
    )
    values["banners"] = [dict(b, src=_src(session, company_id, b["image_id"])) for b in banners]
    links = list(values["links"])[: design.MAX_LINKS]
    values["links"] = links + [{"label": "", "url": ""}] * (design.MAX_LINKS - len(links))
    values["logo_src"] = _src(session, company_id, values["logo_id"])
    return values


def _src(session: Session, company_id: int, image_id: object) -> str | None:
    if not isinstance(image_id, int):
        return None
    image = session.get(AdImage, image_id)
    if image is None or image.company_id != company_id:
        return None
    return service.image_path(image)


def _preview_html(session: Session, p: Principal, data: design.TemplateInput) -> str:
    company = session.get(Company, p.company_id)
    name, inn = (company.name, company.inn) if company else ("", "")
    view = service.preview_view(session, p.company_id, data)
    return markup.fragment(view, sample.sample_html(name, inn))


def _editor(
    request: Request,
    state: AppState,
    session: Session,
    p: Principal,
    row: AdTemplate | None,
    *,
    values: dict[str, Any] | None = None,
    status: int = 200,
    errors: dict[str, str] | None = None,
    message: str | None = None,
    notice: str | None = None,
) -> HTMLResponse:
    company = session.get(Company, p.company_id)
    preview: str | None = None
    if values is None:
        values = _form_of(row, company)
        if row is not None:
            view = service.view_of(session, row, base_url=None)
            preview = markup.fragment(
                view,
                sample.sample_html(company.name if company else "", company.inn if company else ""),
            )
    assignments = []
    if row is not None:
        assert row.id is not None  # a stored row
        for a in service.assignments_of(session, row.id):
            assignments.append({"id": a.id, "label": _assignment_label(session, a)})
    stores = session.exec(select(Store).where(Store.company_id == p.company_id)).all()
    registers = session.exec(select(Register).where(Register.company_id == p.company_id)).all()
    return render_page(
        request,
        state,
        "adreceipts/edit.html",
        principal=p,
        status=status,
        tpl=row,
        form=_slots(values, session, p.company_id),
        errors=errors or {},
        message=message,
        notice=notice,
        preview=preview,
        assignments=assignments,
        stores=[{"id": s.id, "name": s.name} for s in stores],
        registers=[{"id": r.id, "name": r.name or f"Касса № {r.id}"} for r in registers],
        price=rubles(pricing.ad_receipt_price(state.settings)),
    )


def _when(at: float | None) -> str:
    return "…" if at is None else dt.datetime.fromtimestamp(at, MSK).strftime("%d.%m.%Y")


def _assignment_label(session: Session, a: AdAssignment) -> str:
    where = []
    if a.store_id is not None:
        store = session.get(Store, a.store_id)
        where.append(f"магазин «{store.name if store else a.store_id}»")
    if a.register_id is not None:
        register = session.get(Register, a.register_id)
        where.append(f"касса «{(register.name if register else None) or a.register_id}»")
    head = KIND_LABEL.get(a.kind, a.kind)
    if a.kind == AssignmentKind.CAMPAIGN.value:
        head += f" «{a.campaign}»" + (": " + ", ".join(where) if where else ": все кассы")
    else:
        head += " " + ", ".join(where)
    if a.starts_at is not None or a.ends_at is not None:
        end = None if a.ends_at is None else a.ends_at - 1  # the last day shown inclusive
        head += f", {_when(a.starts_at)} — {_when(end)}"
    return head


@router.get("/adreceipts", response_class=HTMLResponse)
def list_page(
    request: Request, state: StateDep, session: SessionDep, p: Manager, done: str = ""
) -> HTMLResponse:
    """The company's templates and buyers' consent."""
    return _list(request, state, session, p, message={"deleted": "Шаблон удалён."}.get(done))


def _list(
    request: Request,
    state: AppState,
    session: Session,
    p: Principal,
    *,
    status: int = 200,
    message: str | None = None,
    errors: dict[str, str] | None = None,
    notice: str | None = None,
) -> HTMLResponse:
    rows = []
    for t in service.list_templates(session, p.company_id):
        assert t.id is not None  # stored rows
        rows.append(
            {
                "id": t.id,
                "name": t.name,
                "where": [
                    _assignment_label(session, a) for a in service.assignments_of(session, t.id)
                ],
            }
        )
    counts = consent.counts(session, p.company_id)
    return render_page(
        request,
        state,
        "adreceipts/list.html",
        principal=p,
        status=status,
        rows=rows,
        agreed=counts[True],
        refused=counts[False],
        message=message,
        notice=notice,
        errors=errors or {},
        price=rubles(pricing.ad_receipt_price(state.settings)),
    )


@router.get("/adreceipts/new", response_class=HTMLResponse)
def new_page(request: Request, state: StateDep, session: SessionDep, p: Manager) -> HTMLResponse:
    """An empty designer."""
    return _editor(request, state, session, p, None)


@router.post("/adreceipts/new", response_model=None)
async def create(
    request: Request, state: StateDep, session: SessionDep, p: Manager
) -> HTMLResponse | RedirectResponse:
    """Save a new template."""
    raw, form = await _raw(request, state)
    try:
        row = service.create_template(session, state.clock, p, design.check(raw))
    except InvalidInputError as exc:
        session.rollback()
        return _editor(
            request,
            state,
            session,
            p,
            None,
            values=_form_from(form),
            status=422,
            errors=exc.fields,
            message=exc.message,
        )
    return RedirectResponse(f"/adreceipts/{row.id}?done=saved", status_code=303)


@router.post("/adreceipts/preview", response_class=HTMLResponse)
async def preview(
    request: Request, state: StateDep, session: SessionDep, p: Manager
) -> HTMLResponse:
    """The live preview (HTMX): the design as typed around a sample receipt; nothing saved."""
    raw, _form = await _raw(request, state)
    partial = state.templates.get_template("adreceipts/_preview.html")
    try:
        html = _preview_html(session, p, design.check(raw))
    except InvalidInputError as exc:
        return HTMLResponse(partial.render(preview=None, errors=list(exc.fields.values())))
    return HTMLResponse(partial.render(preview=html, errors=[]))


@router.post("/adreceipts/consents", response_model=None)
def add_consent(
    request: Request,
    state: StateDep,
    session: SessionDep,
    p: Manager,
    contact: Annotated[str, Form()] = "",
    answer: Annotated[str, Form()] = "granted",
    csrf_token: CsrfField = None,
) -> HTMLResponse | RedirectResponse:
    """Record a buyer's answer given in the shop (the merchant keeps the signed form)."""
    csrf.check(request, state.settings.secret_key, csrf_token)
    try:
        row = consent.record(
            session,
            state.clock,
            company_id=p.company_id,
            contact=contact,
            granted=answer == "granted",
            source=ConsentSource.CABINET,
            user_id=p.user_id,
        )
        session.commit()
    except InvalidInputError as exc:
        session.rollback()
        return _list(request, state, session, p, status=422, message=exc.message, errors=exc.fields)
    said = "согласие записано" if row.granted else "отказ записан"
    return _list(request, state, session, p, notice=f"{row.masked}: {said}.")


@router.get("/adreceipts/{ad_template_id}", response_class=HTMLResponse)
def edit_page(
    ad_template_id: int,
    request: Request,
    state: StateDep,
    session: SessionDep,
    p: Manager,
    done: str = "",
) -> HTMLResponse:
    """The designer for a stored template."""
    row = service.get_template(session, p.company_id, ad_template_id)
    # the address is the user's own, read here: a link cannot make the page claim another
    user = session.get(User, p.user_id) if p.user_id is not None else None
    to = user.email if user is not None else ""
    notices = {
        "saved": "Шаблон сохранён.",
        "assigned": "Назначение добавлено.",
        "unassigned": "Назначение удалено.",
        "sent": f"Тестовое письмо отправлено на {to}. Это бесплатно.",
    }
    return _editor(request, state, session, p, row, notice=notices.get(done))


@router.post("/adreceipts/{ad_template_id}", response_model=None)
async def update(
    ad_template_id: int, request: Request, state: StateDep, session: SessionDep, p: Manager
) -> HTMLResponse | RedirectResponse:
    """Save the template's new design."""
    raw, form = await _raw(request, state)
    try:
        service.update_template(session, state.clock, p, ad_template_id, design.check(raw))
    except InvalidInputError as exc:
        session.rollback()
        row = service.get_template(session, p.company_id, ad_template_id)
        return _editor(
            request,
            state,
            session,
            p,
            row,
            values=_form_from(form),
            status=422,
            errors=exc.fields,
            message=exc.message,
        )
    return RedirectResponse(f"/adreceipts/{ad_template_id}?done=saved", status_code=303)


@router.post("/adreceipts/{ad_template_id}/delete", response_model=None)
def delete(
    ad_template_id: int,
    request: Request,
    state: StateDep,
    session: SessionDep,
    p: Manager,
    csrf_token: CsrfField = None,
) -> RedirectResponse:
    """Delete the template with its assignments and pictures."""
    csrf.check(request, state.settings.secret_key, csrf_token)
    service.delete_template(session, state.clock, p, ad_template_id)
    return RedirectResponse("/adreceipts?done=deleted", status_code=303)


@router.post("/adreceipts/{ad_template_id}/test", response_model=None)
def test_send(
    ad_template_id: int,
    request: Request,
    state: StateDep,
    session: SessionDep,
    p: Manager,
    csrf_token: CsrfField = None,
) -> HTMLResponse | RedirectResponse:
    """Send the template to the user's own e-mail, free of charge."""
    csrf.check(request, state.settings.secret_key, csrf_token)
    try:
        testsend.send_test(
            session, state.clock, state.mailer, p, ad_template_id, base_url=state.settings.base_url
        )
    except AdTemplateNotFoundError:
        raise
    except DomainError as exc:
        session.rollback()
        row = service.get_template(session, p.company_id, ad_template_id)
        return _editor(request, state, session, p, row, status=status_for(exc), message=exc.message)
    return RedirectResponse(f"/adreceipts/{ad_template_id}?done=sent", status_code=303)


def _day(value: str, field: str, *, end: bool) -> float | None:
    """A date (YYYY-MM-DD, Moscow) as UTC seconds; an end date counts the whole day."""
    value = value.strip()
    if not value:
        return None
    try:
        day = dt.date.fromisoformat(value)
    except ValueError as exc:
        raise InvalidInputError("Дата записана неверно", fields={field: "Дата ДД.ММ.ГГГГ"}) from exc
    if end:
        day += dt.timedelta(days=1)
    return dt.datetime(day.year, day.month, day.day, tzinfo=MSK).timestamp()


@router.post("/adreceipts/{ad_template_id}/assignments", response_model=None)
def assign(
    ad_template_id: int,
    request: Request,
    state: StateDep,
    session: SessionDep,
    p: Manager,
    kind: Annotated[str, Form()] = "",
    campaign: Annotated[str, Form()] = "",
    store_id: Annotated[str, Form()] = "",
    register_id: Annotated[str, Form()] = "",
    starts: Annotated[str, Form()] = "",
    ends: Annotated[str, Form()] = "",
    csrf_token: CsrfField = None,
) -> HTMLResponse | RedirectResponse:
    """Apply the template to a campaign, a register or a store."""
    csrf.check(request, state.settings.secret_key, csrf_token)
    try:
        if kind not in {k.value for k in AssignmentKind}:
            raise InvalidInputError(
                "Выберите, где показывать шаблон", fields={"kind": "Кампания, касса или магазин"}
            )
        service.add_assignment(
            session,
            state.clock,
            p,
            ad_template_id,
            service.AssignmentInput(
                kind=AssignmentKind(kind),
                campaign=campaign,
                store_id=int(store_id) if store_id.isdigit() else None,
                register_id=int(register_id) if register_id.isdigit() else None,
                starts_at=_day(starts, "period", end=False),
                ends_at=_day(ends, "period", end=True),
            ),
        )
    except AdTemplateNotFoundError:
        raise
    except InvalidInputError as exc:
        session.rollback()
        row = service.get_template(session, p.company_id, ad_template_id)
        return _editor(
            request, state, session, p, row, status=422, errors=exc.fields, message=exc.message
        )
    return RedirectResponse(f"/adreceipts/{ad_template_id}?done=assigned", status_code=303)


@router.post(
    "/adreceipts/{ad_template_id}/assignments/{ad_assignment_id}/delete", response_model=None
)
def unassign(
    ad_template_id: int,
    ad_assignment_id: int,
    request: Request,
    state: StateDep,
    session: SessionDep,
    p: Manager,
    csrf_token: CsrfField = None,
) -> RedirectResponse:
    """Remove one assignment."""
    csrf.check(request, state.settings.secret_key, csrf_token)
    service.delete_assignment(session, state.clock, p, ad_template_id, ad_assignment_id)
    return RedirectResponse(f"/adreceipts/{ad_template_id}?done=unassigned", status_code=303)


@router.get("/ad/images/{image_id}/{digest}")
def image(image_id: int, digest: str, session: SessionDep) -> Response:
    """A logo or banner for the letters (public: mail clients fetch it without a session; the
    digest in the path makes the address unguessable)."""
    row = service.get_image(session, image_id)
    if row is None or len(digest) < 32 or not row.sha256.startswith(digest):
        return Response(status_code=404)
    return Response(
        row.data,
        media_type=row.content_type,
        headers={
            "Cache-Control": "public, max-age=31536000, immutable",
            "X-Content-Type-Options": "nosniff",
        },
    )
