"""Domain errors on pages: a guest is sent to sign in, anything else gets the error page."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session
from starlette.exceptions import HTTPException as StarletteHTTPException

from fleet.access.principal import Principal
from fleet.access.resolve import principal_for_token
from fleet.core.errors import AuthenticationError, DomainError
from fleet.deps import SESSION_COOKIE, get_state
from fleet.web.local_path import local_path
from fleet.web.render import render_page

__all__ = ["page_error", "page_framework_error"]

TITLE = {
    401: "Нужно войти",
    403: "Нет доступа",
    404: "Не найдено",
    405: "Так нельзя",
    409: "Не получилось",
    422: "Проверьте данные",
    429: "Слишком много попыток",
}


def _signin_url(request: Request) -> str:
    path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return "/signin?next=" + quote(local_path(path), safe="/")


def _principal(request: Request) -> Principal | None:
    """The signed-in principal for the menu, if any (the request's own session may be
    broken by the error, so a short one of its own)."""
    state = get_state(request)
    try:
        with Session(state.engine) as session:
            return principal_for_token(session, state.clock, request.cookies.get(SESSION_COOKIE))
    except DomainError:
        return None


def page_error(
    request: Request, exc: DomainError, status: int, headers: dict[str, str]
) -> Response:
    """A guest opening a page goes to sign-in and comes back (``next``); HTMX is told to
    redirect the whole page; other errors render ``error.html`` with the menu."""
    if isinstance(exc, AuthenticationError) and request.method in ("GET", "HEAD"):
        target = _signin_url(request)
        if request.headers.get("HX-Request") == "true":
            return Response(status_code=200, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)
    principal = None if isinstance(exc, AuthenticationError) else _principal(request)
    response = render_page(
        request,
        get_state(request),
        "error.html",
        principal=principal,
        status=status,
        message=exc.message,
        title=TITLE.get(status),
        signin=isinstance(exc, AuthenticationError),
    )
    response.headers.update(headers)
    return response


FRAMEWORK_MESSAGE = {
    404: "Такой страницы нет. Проверьте адрес или откройте нужный раздел в меню",
    405: "Этот адрес не принимает такой запрос",
}
INCOMPLETE_FORM = (
    "Форма пришла неполной или с неверными значениями: заполните все поля и отправьте её снова"
)


def page_framework_error(request: Request, exc: Exception) -> Response:
    """FastAPI's own refusals on a page (an unknown address, a form missing a field) as the
    Russian error page, not JSON."""
    if isinstance(exc, RequestValidationError):
        status, message, headers = 422, INCOMPLETE_FORM, {}
    else:
        assert isinstance(exc, StarletteHTTPException)  # the only other registration
        status, headers = exc.status_code, dict(exc.headers or {})
        detail = exc.detail if isinstance(exc.detail, str) else ""
        message = FRAMEWORK_MESSAGE.get(status, detail or "Запрос не выполнен")
    response = render_page(
        request,
        get_state(request),
        "error.html",
        principal=_principal(request),
        status=status,
        message=message,
        title=TITLE.get(status),
        signin=False,
    )
    response.headers.update(headers)
    return response
