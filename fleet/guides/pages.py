"""The guide pages: «Как подключиться к облачной кассе», one page per system, the test receipt
button (HTMX: the result block polls until the receipt is final) and the sandbox key."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from fleet.access.deps import page_need
from fleet.access.permissions import Permission
from fleet.access.principal import Principal
from fleet.core import csrf
from fleet.deps import AppState, SessionDep, StateDep
from fleet.guides import trial
from fleet.guides.catalog import API_LABEL, FAMILIES, GUIDES, Guide, guide_by_slug
from fleet.guides.exceptions import GuideNotFoundError
from fleet.guides.settings import client_settings
from fleet.sandbox import service as sandbox
from fleet.web.render import render_page

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

ReceiptsView = Annotated[Principal, page_need(Permission.RECEIPTS_VIEW)]
ReceiptsCreate = Annotated[Principal, page_need(Permission.RECEIPTS_CREATE)]
TokensManage = Annotated[Principal, page_need(Permission.TOKENS_MANAGE)]
CsrfField = Annotated[str | None, Form(alias=csrf.FIELD)]
GuideField = Annotated[str, Form()]


def _htmx(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true"


def _guide(slug: str) -> Guide:
    guide = guide_by_slug(slug)
    if guide is None:
        raise GuideNotFoundError("Такой инструкции нет: выберите систему в списке инструкций")
    return guide


@router.get("/guides", response_class=HTMLResponse)
def guides_index(
    request: Request, principal: ReceiptsView, state: StateDep, session: SessionDep
) -> HTMLResponse:
    """Every guide, by the kind of system."""
    return render_page(
        request,
        state,
        "guides/index.html",
        principal=principal,
        families=[
            (label, [g for g in GUIDES if g.family == family]) for family, label in FAMILIES.items()
        ],
        api_label=API_LABEL,
    )


def _guide_page(
    request: Request,
    state: AppState,
    session: SessionDep,
    principal: Principal,
    guide: Guide,
    **extra: Any,
) -> HTMLResponse:
    mine = client_settings(session, principal.company_id, state.settings.base_url)
    return render_page(
        request,
        state,
        "guides/guide.html",
        principal=principal,
        guide=guide,
        api=API_LABEL[guide.api],
        mine=mine,
        production=[(f.label, mine.values[f.setting]) for f in guide.fields],
        test=[(f.label, mine.sandbox[f.setting]) for f in guide.fields],
        can_send=principal.has(Permission.RECEIPTS_CREATE),
        can_issue=principal.has(Permission.TOKENS_MANAGE),
        **extra,
    )


@router.get("/guides/{guide_slug}", response_class=HTMLResponse)
def guide_page(
    guide_slug: str,
    request: Request,
    principal: ReceiptsView,
    state: StateDep,
    session: SessionDep,
    test_receipt: int | None = None,
) -> HTMLResponse:
    """One system's guide with the client's own values (``test_receipt``: the result of the
    button without JavaScript)."""
    guide = _guide(guide_slug)
    shown = (
        trial.trial_view(session, principal.company_id, test_receipt)
        if test_receipt is not None
        else None
    )
    return _guide_page(request, state, session, principal, guide, trial=shown)


@router.post("/guides/test-receipt", response_model=None)
def send_test_receipt(
    request: Request,
    principal: ReceiptsCreate,
    state: StateDep,
    session: SessionDep,
    guide: GuideField = "oblako-api",
    csrf_token: CsrfField = None,
) -> Response:
    """Send a test receipt through the sandbox; HTMX gets the result block that polls."""
    csrf.check(request, state.settings.secret_key, csrf_token)
    slug = _guide(guide).slug
    receipt_id = trial.send_trial(session, state.clock, principal.company_id)
    if not _htmx(request):
        return RedirectResponse(f"/guides/{slug}?test_receipt={receipt_id}", status_code=303)
    return render_page(
        request,
        state,
        "guides/_trial.html",
        principal=principal,
        trial=trial.trial_view(session, principal.company_id, receipt_id),
    )


@router.get("/guides/test-receipt/{receipt_id}", response_class=HTMLResponse)
def test_receipt_state(
    receipt_id: int,
    request: Request,
    principal: ReceiptsView,
    state: StateDep,
    session: SessionDep,
) -> HTMLResponse:
    """The test receipt's state (the block polls this until the receipt is final)."""
    return render_page(
        request,
        state,
        "guides/_trial.html",
        principal=principal,
        trial=trial.trial_view(session, principal.company_id, receipt_id),
    )


@router.post("/guides/sandbox-key", response_class=HTMLResponse)
def issue_sandbox_key(
    request: Request,
    principal: TokensManage,
    state: StateDep,
    session: SessionDep,
    guide: GuideField = "oblako-api",
    csrf_token: CsrfField = None,
) -> HTMLResponse:
    """A new sandbox key, shown once on the guide page (only its fingerprint is kept)."""
    csrf.check(request, state.settings.secret_key, csrf_token)
    chosen = _guide(guide)
    made = sandbox.issue_key(session, state.clock, principal.company_id)
    return _guide_page(
        request,
        state,
        session,
        principal,
        chosen,
        trial=None,
        sandbox_key=made.secret,
        sandbox_login=made.row.prefix,
    )
