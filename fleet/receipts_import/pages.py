"""The Russian pages of receipts from a bank registry: upload → preview table → send.

The preview carries the file itself back (base64 in a hidden field), so sending re-reads exactly
what was previewed. Reading a file files its payments (received.py), receipted or not, for the
fines control's check K23.
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import UploadFile

from fleet.access.deps import page_need
from fleet.access.permissions import Permission
from fleet.access.principal import Principal
from fleet.core import csrf
from fleet.core.errors import InvalidInputError
from fleet.deps import SessionDep, StateDep
from fleet.receipts_cabinet.view import rubles
from fleet.receipts_import import acquiring, plan, received, service
from fleet.web.render import render_page
from protocol.portable import codes, vat

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

STATUS_LABEL = {
    "new": ("будет пробит", "badge-ok"),
    "done": ("уже пробит", "badge-info"),
    "skip": ("пропущен", ""),
    "invalid": ("ошибка", "badge-danger"),
}
DEFAULTS = {"tax_system": "usn_income", "vat": "none", "item_type": "4", "item_name": ""}


def _page(
    request: Request,
    state: StateDep,
    principal: Principal,
    *,
    settings: dict[str, str],
    errors: dict[str, str] | None = None,
    message: str | None = None,
    preview: list[dict[str, Any]] | None = None,
    data: str = "",
    kind: str = "",
    outcome: Any = None,
    status: int = 200,
) -> HTMLResponse:
    return render_page(
        request,
        state,
        "receipts_import/import.html",
        principal=principal,
        status=status,
        settings=settings,
        errors=errors or {},
        message=message,
        preview=preview,
        data=data,
        kind=kind,
        outcome=outcome,
        taxes=[(n, codes.TAX_NAMES_RU[b]) for n, b in codes.TAX_SYSTEMS.items()],
        vats=[(n, vat.LABELS[c]) for n, c in vat.NAMES.items()],
        types=list(plan.ITEM_TYPES.items()),
        columns=acquiring.COLUMNS,
    )


@router.get("/receipts/import", response_class=HTMLResponse)
def import_form(
    request: Request,
    state: StateDep,
    principal: Annotated[Principal, page_need(Permission.RECEIPTS_CREATE)],
) -> HTMLResponse:
    """The upload form."""
    return _page(request, state, principal, settings=dict(DEFAULTS))


def _rows(rows: list[service.PreviewRow]) -> list[dict[str, Any]]:
    return [
        {
            "key": r.payment.key,
            "line": r.payment.line,
            "date": r.payment.date.strftime("%d.%m.%Y"),
            "number": r.payment.number,
            "payer": r.payment.payer or r.payment.contact or "—",
            "payer_inn": r.payment.payer_inn,
            "operation": "Возврат прихода" if r.payment.operation == "sale_return" else "Приход",
            "sum": rubles(r.payment.amount),
            "item": r.item_name,
            "status": r.status,
            "label": STATUS_LABEL[r.status][0],
            "badge": STATUS_LABEL[r.status][1],
            "reason": r.reason,
            "receipt_id": r.receipt_id,
        }
        for r in rows
    ]


async def _read(request: Request, state: StateDep) -> tuple[dict[str, str], bytes | None, Any]:
    form = await request.form()
    csrf.check(request, state.settings.secret_key, str(form.get(csrf.FIELD, "")) or None)
    settings = {k: str(form.get(k, DEFAULTS[k])).strip() for k in DEFAULTS}
    upload = form.get("file")
    data: bytes | None = None
    if isinstance(upload, UploadFile):
        data = await upload.read()
    elif form.get("data"):
        try:
            data = base64.b64decode(str(form["data"]), validate=True)
        except binascii.Error:
            data = None
    return settings, data, form


@router.post("/receipts/import/preview", response_model=None)
async def import_preview(
    request: Request,
    state: StateDep,
    session: SessionDep,
    principal: Annotated[Principal, page_need(Permission.RECEIPTS_CREATE)],
) -> Response:
    """Read the file and show the receipts it will make; no receipt is made, but the file's
    payments are filed for the fines control (received.py)."""
    settings, data, _form = await _read(request, state)
    try:
        s = service.settings_from(
            settings["tax_system"], settings["vat"], settings["item_type"], settings["item_name"]
        )
        kind, payments = service.read(data or b"", service.company_inn(session, principal))
        received.record(session, principal.company_id, state.clock, payments, principal.user_id)
        rows = service.preview(session, principal, state.clock, payments, s)
    except InvalidInputError as e:
        return _page(
            request, state, principal, settings=settings, errors=e.fields, message=e.message,
            status=422,
        )  # fmt: skip
    return _page(
        request,
        state,
        principal,
        settings=settings,
        preview=_rows(rows),
        data=base64.b64encode(data or b"").decode(),
        kind=kind,
    )


@router.post("/receipts/import/send", response_model=None)
async def import_send(
    request: Request,
    state: StateDep,
    session: SessionDep,
    principal: Annotated[Principal, page_need(Permission.RECEIPTS_CREATE)],
) -> Response:
    """Make the receipts of the chosen new payments, then show the preview again (now with
    those payments receipted)."""
    settings, data, form = await _read(request, state)
    keys = {str(k) for k in form.getlist("key")}
    try:
        s = service.settings_from(
            settings["tax_system"], settings["vat"], settings["item_type"], settings["item_name"]
        )
        kind, payments = service.read(data or b"", service.company_inn(session, principal))
        received.record(session, principal.company_id, state.clock, payments, principal.user_id)
        outcome = service.send(session, principal, state.clock, payments, s, keys)
        rows = service.preview(session, principal, state.clock, payments, s)
    except InvalidInputError as e:
        return _page(
            request, state, principal, settings=settings, errors=e.fields, message=e.message,
            status=422,
        )  # fmt: skip
    return _page(
        request,
        state,
        principal,
        settings=settings,
        preview=_rows(rows),
        data=base64.b64encode(data or b"").decode(),
        kind=kind,
        outcome={
            "created": len(outcome.created),
            "repeated": outcome.repeated,
            "failed": [(p.number, reason) for p, reason in outcome.failed],
        },
    )
