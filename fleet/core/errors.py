"""Domain errors and their one mapping to HTTP.

Services raise these (through per-domain subclasses in each ``exceptions.py``), never
`HTTPException`. `install_error_handlers` maps them: JSON under ``/api``, a Russian HTML page
elsewhere. Bad input changes nothing (decision 7): services validate before they write.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exception_handlers import (
    http_exception_handler,
    request_validation_exception_handler,
)
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

__all__ = [
    "AuthenticationError",
    "ConflictError",
    "DomainError",
    "InvalidInputError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitedError",
    "install_error_handlers",
    "status_for",
]


class DomainError(Exception):
    """A refusal a person should read: a Russian message and, for input, per-field reasons."""

    code = "error"

    def __init__(self, message: str, *, fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fields = dict(fields or {})


class InvalidInputError(DomainError):
    """The input is wrong; ``fields`` says which field and why."""

    code = "invalid"


class NotFoundError(DomainError):
    """No such object for this tenant (other tenants' objects are 'not found' too)."""

    code = "not_found"


class ConflictError(DomainError):
    """The object already exists or is in a state that forbids the action."""

    code = "conflict"


class AuthenticationError(DomainError):
    """Not signed in, or the credentials are wrong."""

    code = "unauthenticated"


class PermissionDeniedError(DomainError):
    """Signed in but not allowed (or a CSRF check failed)."""

    code = "forbidden"


class RateLimitedError(DomainError):
    """Too many attempts; try again after ``retry_after_s``."""

    code = "rate_limited"

    def __init__(self, message: str, *, retry_after_s: float) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


_STATUS: tuple[tuple[type[DomainError], int], ...] = (
    (InvalidInputError, 422),
    (NotFoundError, 404),
    (ConflictError, 409),
    (AuthenticationError, 401),
    (PermissionDeniedError, 403),
    (RateLimitedError, 429),
)


def status_for(exc: DomainError) -> int:
    """The HTTP status of a domain error (400 for an unmapped one)."""
    for cls, status in _STATUS:
        if isinstance(exc, cls):
            return status
    return 400


def _headers(exc: DomainError) -> dict[str, str]:
    if isinstance(exc, RateLimitedError):
        return {"Retry-After": str(max(1, round(exc.retry_after_s)))}
    return {}


async def _handle(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DomainError)  # registered for DomainError only
    status = status_for(exc)
    if request.url.path.startswith("/api"):
        body = {"error": exc.code, "message": exc.message, "fields": exc.fields}
        return JSONResponse(body, status_code=status, headers=_headers(exc))
    # Imported here: the page layer builds on the domain layers, which import this module.
    from fleet.web.errors import page_error

    return page_error(request, exc, status, _headers(exc))


async def _handle_http(request: Request, exc: Exception) -> Response:
    """FastAPI's own errors (no such page, a malformed form): its JSON under ``/api``, the
    Russian error page elsewhere."""
    if request.url.path.startswith("/api"):
        if isinstance(exc, RequestValidationError):
            return await request_validation_exception_handler(request, exc)
        assert isinstance(exc, StarletteHTTPException)  # registered for these two only
        return await http_exception_handler(request, exc)
    from fleet.web.errors import page_framework_error

    return page_framework_error(request, exc)


def install_error_handlers(app: FastAPI) -> None:
    """Map every `DomainError` to HTTP: the one place where that happens."""
    app.add_exception_handler(DomainError, _handle)
    app.add_exception_handler(StarletteHTTPException, _handle_http)
    app.add_exception_handler(RequestValidationError, _handle_http)
