"""CSRF protection for form posts: a signed double-submit token.

A page that shows a form sets the ``oblako_csrf`` cookie (random value + HMAC with the secret
key) and puts the same value in a hidden field; a post is accepted only if the field equals the
cookie and the signature holds. A cross-site page can make the browser send the cookie (it is
SameSite=Lax anyway) but cannot read it to fill the field. The JSON API takes bearer tokens in a
header, which a cross-site form cannot send, so it needs no CSRF token.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from fastapi import Request, Response

from fleet.core.errors import PermissionDeniedError

__all__ = ["COOKIE", "FIELD", "HEADER", "CsrfError", "check", "set_cookie", "token_for"]

COOKIE = "oblako_csrf"
FIELD = "csrf_token"
#: HTMX posts send the token in this header (the layout sets ``hx-headers``); a cross-site page
#: can no more set a custom header on a credentialed request than read the cookie.
HEADER = "X-CSRF-Token"


class CsrfError(PermissionDeniedError):
    """A form post without a valid CSRF token."""


def _sign(secret: str, raw: str) -> str:
    return hmac.new(secret.encode(), raw.encode(), hashlib.sha256).hexdigest()


def _valid(secret: str, token: str) -> bool:
    raw, _, mac = token.partition(".")
    return bool(raw) and hmac.compare_digest(mac, _sign(secret, raw))


def token_for(request: Request, secret: str) -> str:
    """The request's valid CSRF cookie value, or a new token."""
    existing = request.cookies.get(COOKIE)
    if existing and _valid(secret, existing):
        return existing
    raw = secrets.token_urlsafe(24)
    return f"{raw}.{_sign(secret, raw)}"


def set_cookie(response: Response, token: str, *, secure: bool) -> None:
    """Send the token as the CSRF cookie."""
    response.set_cookie(COOKIE, token, httponly=True, samesite="lax", secure=secure)


def check(request: Request, secret: str, submitted: str | None) -> None:
    """Refuse the post unless ``submitted`` (the form field, or else the ``X-CSRF-Token``
    header) equals a validly signed CSRF cookie."""
    cookie = request.cookies.get(COOKIE)
    submitted = submitted or request.headers.get(HEADER)
    if (
        not cookie
        or not submitted
        or not hmac.compare_digest(cookie, submitted)
        or not _valid(secret, cookie)
    ):
        raise CsrfError(
            "Форма устарела или отправлена с другого сайта. Обновите страницу и отправьте её снова"
        )
