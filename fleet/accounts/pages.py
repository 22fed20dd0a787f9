"""Server-rendered Russian pages: sign-up, confirmation, sign-in (the main page: fleet.web).

Form posts carry a CSRF token (fleet.core.csrf). Input refusals re-render the form with the
service's per-field messages; other domain errors go to the one handler in fleet.core.errors.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from fleet.access.models import Role
from fleet.accounts import service, users
from fleet.accounts.api import client_ip
from fleet.accounts.models import Company
from fleet.core import csrf
from fleet.core.errors import (
    AuthenticationError,
    ConflictError,
    InvalidInputError,
    RateLimitedError,
    status_for,
)
from fleet.deps import SESSION_COOKIE, AppState, CtxDep, SessionDep, StateDep
from fleet.web.local_path import local_path
from fleet.web.render import render_page

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

FormStr = Annotated[str, Form()]
CsrfField = Annotated[str | None, Form(alias=csrf.FIELD)]


def _render(
    request: Request, state: AppState, template: str, *, status: int = 200, **context: Any
) -> HTMLResponse:
    return render_page(request, state, template, status=status, **context)


@router.get("/signup", response_class=HTMLResponse)
def signup_form(request: Request, state: StateDep) -> HTMLResponse:
    """The sign-up form."""
    return _render(request, state, "signup.html", form={}, errors={}, message=None)


@router.post("/signup", response_class=HTMLResponse)
def signup(
    request: Request,
    state: StateDep,
    session: SessionDep,
    ctx: CtxDep,
    email: FormStr = "",
    password: FormStr = "",
    company_name: FormStr = "",
    inn: FormStr = "",
    ogrn: FormStr = "",
    csrf_token: CsrfField = None,
) -> HTMLResponse:
    """Register; on refusal show the form again with the reasons."""
    csrf.check(request, state.settings.secret_key, csrf_token)
    form = {"email": email, "company_name": company_name, "inn": inn, "ogrn": ogrn}
    try:
        result = service.sign_up(session=session, ctx=ctx, password=password, **form)
    except (InvalidInputError, ConflictError) as exc:
        return _render(
            request,
            state,
            "signup.html",
            status=status_for(exc),
            form=form,
            errors=exc.fields,
            message=exc.message,
        )
    return _render(request, state, "signup_done.html", email=result.user.email)


@router.get("/confirm", response_class=HTMLResponse)
def confirm_form(request: Request, state: StateDep, token: str = "") -> HTMLResponse:
    """A button that confirms (a GET changes nothing, so mail scanners cannot confirm)."""
    return _render(request, state, "confirm.html", token=token)


@router.post("/confirm", response_class=HTMLResponse)
def confirm(
    request: Request,
    state: StateDep,
    session: SessionDep,
    ctx: CtxDep,
    token: FormStr = "",
    csrf_token: CsrfField = None,
) -> HTMLResponse:
    """Confirm the address."""
    csrf.check(request, state.settings.secret_key, csrf_token)
    user = service.confirm_email(session=session, ctx=ctx, token=token)
    return _render(request, state, "confirmed.html", email=user.email)


@router.get("/signin", response_class=HTMLResponse)
def signin_form(request: Request, state: StateDep, next: str = "") -> HTMLResponse:
    """The sign-in form (``next``: the local page to return to after signing in)."""
    return _render(request, state, "signin.html", email="", message=None, next=local_path(next, ""))


@router.post("/signin", response_model=None)
def signin(
    request: Request,
    state: StateDep,
    session: SessionDep,
    ctx: CtxDep,
    email: FormStr = "",
    password: FormStr = "",
    csrf_token: CsrfField = None,
    next: Annotated[str, Form()] = "",
) -> Response:
    """Sign in: set the session cookie and go to ``next`` (a local path) or the main page."""
    csrf.check(request, state.settings.secret_key, csrf_token)
    try:
        issued = service.sign_in(
            session=session, ctx=ctx, email=email, password=password, ip=client_ip(request)
        )
    except (AuthenticationError, RateLimitedError) as exc:
        response = _render(
            request,
            state,
            "signin.html",
            status=status_for(exc),
            email=email,
            message=exc.message,
            next=local_path(next, ""),
        )
        if isinstance(exc, RateLimitedError):
            response.headers["Retry-After"] = str(max(1, round(exc.retry_after_s)))
        return response
    redirect = RedirectResponse(local_path(next), status_code=303)
    redirect.set_cookie(
        SESSION_COOKIE,
        issued.token,
        max_age=int(state.settings.session_ttl_s),
        httponly=True,
        samesite="lax",
        secure=state.settings.cookie_secure,
    )
    return redirect


@router.post("/signout")
def signout(
    request: Request,
    state: StateDep,
    session: SessionDep,
    ctx: CtxDep,
    csrf_token: CsrfField = None,
) -> RedirectResponse:
    """Sign out and go to the main page."""
    csrf.check(request, state.settings.secret_key, csrf_token)
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        service.sign_out(session=session, ctx=ctx, token=token)
    redirect = RedirectResponse("/", status_code=303)
    redirect.delete_cookie(SESSION_COOKIE)
    return redirect


def _invite_page(
    request: Request,
    state: AppState,
    session: SessionDep,
    token: str,
    *,
    status: int = 200,
    message: str | None = None,
    errors: dict[str, str] | None = None,
) -> HTMLResponse:
    try:
        user = users.invite_of(session, state.clock, token)
    except InvalidInputError as exc:
        return _render(request, state, "accounts/invite.html", status=404, invalid=exc.message)
    company = session.get(Company, user.company_id)
    role = None if user.role_id is None else session.get(Role, user.role_id)
    return _render(
        request,
        state,
        "accounts/invite.html",
        status=status,
        token=token,
        email=user.email,
        company=company.name if company else "",
        role=role.name if role else "Владелец",
        message=message,
        errors=errors or {},
        invalid=None,
    )


@router.get("/invite", response_class=HTMLResponse)
def invite_form(
    request: Request, state: StateDep, session: SessionDep, token: str = ""
) -> HTMLResponse:
    """The invitation: set a password (a GET changes nothing)."""
    return _invite_page(request, state, session, token)


@router.post("/invite", response_class=HTMLResponse)
def invite_accept(
    request: Request,
    state: StateDep,
    session: SessionDep,
    ctx: CtxDep,
    token: FormStr = "",
    password: FormStr = "",
    password2: FormStr = "",
    csrf_token: CsrfField = None,
) -> HTMLResponse:
    """Accept the invitation with the new password."""
    csrf.check(request, state.settings.secret_key, csrf_token)
    if password != password2:
        return _invite_page(
            request,
            state,
            session,
            token,
            status=422,
            message="Пароли не совпадают",
            errors={"password2": "Введите тот же пароль ещё раз"},
        )
    try:
        user = users.accept_invite(session, ctx, token=token, password=password)
    except InvalidInputError as exc:
        return _invite_page(
            request, state, session, token, status=422, message=exc.message, errors=exc.fields
        )
    return _render(request, state, "accounts/invite_done.html", email=user.email)
