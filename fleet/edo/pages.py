"""The «ЭДО» settings page: connect an operator, see the closing documents and their state,
download each УПД as the FNS's XML or a printable page."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Final

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlmodel import Session

from fleet.access.deps import page_need
from fleet.access.permissions import Permission
from fleet.access.principal import Principal
from fleet.accounts.models import Company
from fleet.core import csrf
from fleet.core.errors import DomainError, status_for
from fleet.deps import AppState, SessionDep, StateDep
from fleet.edo import service
from fleet.edo.gateway import EdoGateway, HttpEdoGateway
from fleet.edo.jobs import seller_from
from fleet.edo.models import EdoDocument, EdoDocumentStatus, EdoLinkStatus
from fleet.edo.upd import VAT_RATE, upd_bytes, vat_of
from fleet.web.render import render_page

__all__ = ["gateway_for", "router"]

router = APIRouter(include_in_schema=False)

BillingView = Annotated[Principal, page_need(Permission.BILLING_VIEW)]
CompanyManage = Annotated[Principal, page_need(Permission.COMPANY_MANAGE)]
FormStr = Annotated[str, Form()]
CsrfField = Annotated[str | None, Form(alias=csrf.FIELD)]

STATUS_LABEL: Final[dict[str, tuple[str, str]]] = {
    EdoDocumentStatus.READY: ("Готов к отправке", "info"),
    EdoDocumentStatus.SENT: ("Отправлен, ждёт подписи", "warn"),
    EdoDocumentStatus.SIGNED: ("Подписан", "ok"),
    EdoDocumentStatus.REFUSED: ("Отказ в подписи", "danger"),
}
LINK_LABEL: Final[dict[str, tuple[str, str]]] = {
    EdoLinkStatus.ACTIVE: ("Подключено", "ok"),
    EdoLinkStatus.REFUSED: ("Оператор не подтвердил участника", "danger"),
    EdoLinkStatus.DISCONNECTED: ("Отключено", "warn"),
}
MSK: Final = dt.timezone(dt.timedelta(hours=3))


def gateway_for(request: Request, state: AppState) -> EdoGateway:
    """The app's EDO gateway: one set on ``app.state.edo_gateway`` (tests, another operator),
    else HTTP to ``FLEET_EDO_URL``."""
    gateway = getattr(request.app.state, "edo_gateway", None)
    return gateway if gateway is not None else HttpEdoGateway(state.settings.edo_url)


def _rub(kop: int) -> str:
    return f"{kop // 100:,}".replace(",", " ") + f",{kop % 100:02d} ₽"


def _moment(seconds: float | None) -> str:
    if seconds is None:
        return ""
    return dt.datetime.fromtimestamp(seconds, MSK).strftime("%d.%m.%Y %H:%M")


def _row(doc: EdoDocument) -> dict[str, Any]:
    label, tone = STATUS_LABEL.get(doc.status, (doc.status, "info"))
    return {
        "id": doc.id,
        "period": doc.period,
        "kind": service.KIND_LABEL.get(doc.kind, doc.kind),
        "number": doc.number,
        "amount": _rub(doc.amount),
        "status": doc.status,
        "status_label": label,
        "tone": tone,
        "refusal": doc.refusal,
        "error": doc.last_error if doc.status == EdoDocumentStatus.READY else None,
        "sent": _moment(doc.sent_at),
        "answered": _moment(doc.answered_at),
    }


def _page(
    request: Request,
    state: AppState,
    session: Session,
    principal: Principal,
    *,
    status: int = 200,
    message: str | None = None,
    errors: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
    flash: str | None = None,
) -> HTMLResponse:
    link = service.connection(session, principal.company_id)
    rows = [_row(d) for d in service.documents(session, principal.company_id)]
    partial = request.headers.get("HX-Request") == "true" and request.method == "GET"
    return render_page(
        request,
        state,
        "edo/_documents.html" if partial else "edo/index.html",
        principal=principal,
        status=status,
        message=message,
        errors=errors or {},
        form=form or {},
        flashes=[{"kind": "ok", "text": flash}] if flash else [],
        link=link,
        link_label=LINK_LABEL.get(link.status) if link else None,
        rows=rows,
        waiting=any(r["status"] == EdoDocumentStatus.SENT for r in rows),
        can_manage=principal.has(Permission.COMPANY_MANAGE),
        sender_id=state.settings.edo_participant_id,
    )


@router.get("/settings/edo", response_class=HTMLResponse)
def edo_page(
    request: Request, principal: BillingView, state: StateDep, session: SessionDep
) -> HTMLResponse:
    """The EDO connection and the closing documents (an HTMX poll gets the table only)."""
    return _page(request, state, session, principal)


@router.post("/settings/edo", response_class=HTMLResponse)
def connect(
    request: Request,
    principal: CompanyManage,
    state: StateDep,
    session: SessionDep,
    operator_id: FormStr,
    participant_id: FormStr,
    csrf_token: CsrfField = None,
) -> HTMLResponse:
    """Connect (or change) the EDO operator: the operator confirms the participant id."""
    csrf.check(request, state.settings.secret_key, csrf_token)
    try:
        link = service.connect(
            session,
            state.clock,
            gateway_for(request, state),
            principal.company_id,
            operator_id=operator_id,
            participant_id=participant_id,
        )
    except DomainError as exc:
        session.rollback()
        return _page(
            request,
            state,
            session,
            principal,
            status=status_for(exc),
            message=exc.message,
            errors=exc.fields,
            form={"operator_id": operator_id, "participant_id": participant_id},
        )
    flash = (
        "ЭДО подключено: закрывающие документы придут к вам через оператора"
        if link.status == EdoLinkStatus.ACTIVE
        else None
    )
    return _page(request, state, session, principal, flash=flash)


@router.post("/settings/edo/disconnect", response_model=None)
def disconnect(
    request: Request,
    principal: CompanyManage,
    state: StateDep,
    session: SessionDep,
    csrf_token: CsrfField = None,
) -> Response:
    """Stop sending new closing documents through EDO."""
    csrf.check(request, state.settings.secret_key, csrf_token)
    service.disconnect(session, state.clock, principal.company_id)
    return RedirectResponse("/settings/edo", status_code=303)


@router.get("/settings/edo/documents/{edo_document_id}/upd.xml")
def download_xml(edo_document_id: int, principal: BillingView, session: SessionDep) -> Response:
    """The УПД as the FNS's XML (format 5.03, windows-1251)."""
    doc = service.document(session, principal.company_id, edo_document_id)
    return Response(
        upd_bytes(doc.xml),
        media_type="application/xml; charset=windows-1251",
        headers={"Content-Disposition": f'attachment; filename="{doc.file_id}.xml"'},
    )


@router.get("/settings/edo/documents/{edo_document_id}/upd.html", response_class=HTMLResponse)
def printable(
    edo_document_id: int,
    request: Request,
    principal: BillingView,
    state: StateDep,
    session: SessionDep,
) -> HTMLResponse:
    """The УПД as a printable page."""
    doc = service.document(session, principal.company_id, edo_document_id)
    company = session.get(Company, doc.company_id)
    seller = seller_from(state.settings)
    html = state.templates.get_template("edo/upd.html").render(
        doc=doc,
        kind=service.KIND_LABEL.get(doc.kind, doc.kind),
        status=STATUS_LABEL.get(doc.status, (doc.status, "info"))[0],
        seller=seller,
        buyer=company,
        vat_rate=VAT_RATE,
        lines=[
            {
                "n": n,
                "name": line["name"],
                "net": _rub(int(line["amount"]) - vat_of(int(line["amount"]))),
                "vat": _rub(vat_of(int(line["amount"]))),
                "gross": _rub(int(line["amount"])),
            }
            for n, line in enumerate(doc.lines, start=1)
        ],
        total=_rub(doc.amount),
        total_vat=_rub(doc.vat),
        total_net=_rub(doc.amount - doc.vat),
    )
    return HTMLResponse(html)
