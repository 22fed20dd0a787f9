"""The Russian store page: the company's stores and a form to add one."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from fleet.access.deps import page_need
from fleet.access.permissions import Permission
from fleet.access.principal import Principal
from fleet.core import csrf
from fleet.deps import SessionDep, StateDep
from fleet.stores import service
from fleet.stores.exceptions import InvalidStoreError
from fleet.stores.models import DEFAULT_TIMEZONE, KIND_LABEL
from fleet.web.render import render_page

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

FormStr = Annotated[str, Form()]
Optional = Annotated[str, Form()]


def _render(
    request: Request,
    state: StateDep,
    session: SessionDep,
    principal: Principal,
    *,
    form: dict[str, str],
    errors: dict[str, str],
    message: str | None,
    status: int = 200,
) -> HTMLResponse:
    stores = service.list_stores(session=session, company_id=principal.company_id)
    rows = [
        {
            "id": s.id,
            "name": s.name,
            "kind": service.kind_label(s),
            "address": service.address_line(s),
            "timezone": s.timezone,
        }
        for s in stores
    ]
    return render_page(
        request,
        state,
        "stores/list.html",
        principal=principal,
        status=status,
        rows=rows,
        kinds=[(k.value, label) for k, label in KIND_LABEL.items()],
        can_manage=principal.has(Permission.COMPANY_MANAGE),
        form=form,
        errors=errors,
        message=message,
    )


@router.get("/stores", response_class=HTMLResponse)
def store_list(
    request: Request,
    state: StateDep,
    session: SessionDep,
    principal: Annotated[Principal, page_need(Permission.REGISTERS_VIEW)],
) -> HTMLResponse:
    """The company's stores; a form to add one for those who manage the company."""
    form = {"kind": "shop", "timezone": DEFAULT_TIMEZONE}
    return _render(request, state, session, principal, form=form, errors={}, message=None)


@router.post("/stores", response_model=None)
def store_create(
    request: Request,
    state: StateDep,
    session: SessionDep,
    principal: Annotated[Principal, page_need(Permission.COMPANY_MANAGE)],
    name: FormStr = "",
    kind: FormStr = "shop",
    postal_code: Optional = "",
    region_code: Optional = "",
    city: Optional = "",
    street: Optional = "",
    house: Optional = "",
    flat: Optional = "",
    website: Optional = "",
    timezone: Optional = DEFAULT_TIMEZONE,
    csrf_token: Annotated[str | None, Form(alias=csrf.FIELD)] = None,
) -> Response:
    """Add a store; on refusal show the form again with the reasons."""
    csrf.check(request, state.settings.secret_key, csrf_token)
    form = {
        "name": name,
        "kind": kind,
        "postal_code": postal_code,
        "region_code": region_code,
        "city": city,
        "street": street,
        "house": house,
        "flat": flat,
        "website": website,
        "timezone": timezone,
    }
    try:
        service.create_store(
            session=session,
            clock=state.clock,
            company_id=principal.company_id,
            user_id=principal.user_id,
            data=service.StoreIn(**form),
        )
    except InvalidStoreError as exc:
        return _render(
            request,
            state,
            session,
            principal,
            form=form,
            errors=exc.fields,
            message=exc.message,
            status=422,
        )
    return RedirectResponse("/stores", status_code=303)
