"""ATOL Online v4/v5-compatible endpoints, below /atol (production) and /sandbox/atol.

An ATOL client sets its base URL to ``https://<oblako>/atol/possystem`` (or the sandbox's)
and keeps its paths: getToken, /{group_code}/{operation}, /{group_code}/report/{uuid}.
Every answer is ATOL-shaped JSON, errors too (never Oblako's own error shape).
"""

from __future__ import annotations

import json
import logging
import re
from typing import Any, Final

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from sqlmodel import Session

from fleet.access.principal import Principal
from fleet.compat import auth
from fleet.compat import receipts as compat
from fleet.compat.atol import views
from fleet.compat.atol.mapping import OPERATIONS, V4_OPERATIONS, to_request
from fleet.compat.exceptions import (
    CompatNotFoundError,
    ExpiredTokenError,
    MappingError,
    MissingTokenError,
    WrongCredentialsError,
)
from fleet.compat.groups import client_inn, store_of_group
from fleet.compat.models import Peer
from fleet.core.errors import PermissionDeniedError
from fleet.deps import AppState
from fleet.receipts.exceptions import InvalidReceiptError

__all__ = ["production_router", "sandbox_router"]

log = logging.getLogger(__name__)

VERSIONS: Final = ("v4", "v5")
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def _json(code: tuple[int, int] | int, body: dict[str, Any]) -> JSONResponse:
    status = code[0] if isinstance(code, tuple) else code
    return JSONResponse(body, status_code=status)


def _fail(err: tuple[int, int], text: str, now: float, **extra: Any) -> JSONResponse:
    body = {
        "uuid": extra.get("uuid"),
        "status": extra.get("status", views.ERROR_STATUS.get(err[1])),
        "error": views.error(err[1], text),
        "timestamp": views.timestamp(now),
    }
    return _json(err, body)


def _text(code: int, *args: Any) -> str:
    return views.TEXTS[code].format(*args)


def _json_content_type(request: Request) -> str | None:
    """The Content-Type when it is present and not JSON (ATOL's 415/41), else None.

    ATOL requires "application/json; charset=utf-8"; every SDK sends application/json. An
    absent header is let through (a hand-made request without it is still JSON or error 40).
    """
    ctype = request.headers.get("content-type")
    return ctype if ctype and "json" not in ctype.lower() else None


async def _body(request: Request) -> Any:
    raw = await request.body()
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return ...  # not JSON at all


def _token(request: Request) -> str | None:
    return request.headers.get("Token") or request.query_params.get("token")


def make_router(sandbox: bool) -> APIRouter:
    """The endpoints on one contour (production or sandbox)."""
    prefix = "/sandbox/atol/possystem" if sandbox else "/atol/possystem"
    tag = "ATOL Online (песочница)" if sandbox else "ATOL Online (совместимый API)"
    router = APIRouter(prefix=prefix, tags=[tag])

    def state_of(request: Request) -> AppState:
        state: AppState = request.app.state.fleet
        return state

    def get_token(state: AppState, login: Any, password: Any) -> JSONResponse:
        now = state.clock.wall()
        with Session(state.engine) as session:
            try:
                _row, secret = auth.issue_token(
                    session, state.clock, Peer.ATOL, login, password, sandbox=sandbox
                )
            except WrongCredentialsError:
                err = views.error(views.ERR_WRONG_LOGIN[1], _text(12))
                return _json(views.ERR_WRONG_LOGIN, views.token_answer(None, err, now))
        return _json(200, views.token_answer(secret, None, now))

    @router.post("/{version}/getToken")
    async def post_token(version: str, request: Request) -> JSONResponse:
        """ATOL getToken: {login, pass} → a token valid 24 hours."""
        body = await _body(request)
        b = body if isinstance(body, dict) else {}
        return await run_in_threadpool(get_token, state_of(request), b.get("login"), b.get("pass"))

    @router.get("/{version}/getToken")
    async def query_token(version: str, request: Request) -> JSONResponse:
        """ATOL v4 also takes login and pass in the query."""
        q = request.query_params
        return await run_in_threadpool(get_token, state_of(request), q.get("login"), q.get("pass"))

    def principal(session: Session, state: AppState, token: str | None) -> Principal:
        return auth.principal_for(session, state.clock, Peer.ATOL, token, sandbox=sandbox)

    def operate(
        state: AppState, version: str, group: str, operation: str, token: str | None, body: Any
    ) -> JSONResponse:
        now = state.clock.wall()
        if (
            version not in VERSIONS
            or operation not in OPERATIONS
            or (version == "v4" and operation not in V4_OPERATIONS)
        ):
            return _fail(views.ERR_OPERATION, _text(31, f"{version}/{operation}"), now)
        with Session(state.engine) as session:
            try:
                p = principal(session, state, token)
            except MissingTokenError:
                return _fail(views.ERR_MISSING_TOKEN, _text(10), now)
            except ExpiredTokenError as e:
                return _fail(views.ERR_EXPIRED_TOKEN, f"{_text(11)}: {e.message}", now)
            known, store_id = store_of_group(session, p.company_id, group)
            if not known:
                return _fail(views.ERR_GROUP, f"{_text(20)} ({group})", now)
            if body is ...:
                return _fail(views.ERR_BAD_REQUEST, _text(40) + " Тело запроса — не JSON", now)
            try:
                request, callback = to_request(operation, body, client_inn(session, p.company_id))
                made = compat.create(
                    session, state.clock, p, Peer.ATOL, request,
                    operation=operation, group_code=group, store_id=store_id,
                    callback_url=callback,
                )  # fmt: skip
            except MappingError as e:
                return _fail(views.ERR_VALIDATION, _text(32, e.message), now)
            except InvalidReceiptError as e:
                reasons = "; ".join(f"{a}: {c}" if a else c for a, _b, c in e.errors)
                return _fail(views.ERR_VALIDATION, _text(32, f"{reasons} ({e.message})"), now)
            except PermissionDeniedError as e:
                return _fail(views.ERR_GROUP, f"{_text(20)} {e.message}", now)
            if made.created:
                return _json(200, views.accepted(made, now))
            text = _text(33, made.receipt.external_id, group) + (
                " (с другим содержимым)" if made.conflict else ""
            )
            err = views.error(views.ERR_DUPLICATE[1], text)
            return _json(views.ERR_DUPLICATE, views.accepted(made, now, err))

    @router.post("/{version}/{group_code}/{operation}")
    async def post_operation(
        version: str, group_code: str, operation: str, request: Request
    ) -> JSONResponse:
        """sell, sell_refund, buy, buy_refund, sell_correction, buy_correction (v5: also the
        refund corrections): the UUID and "wait"; a known external_id: error 33 with its UUID."""
        now = state_of(request).clock.wall()
        ctype = _json_content_type(request)
        if ctype is not None:
            return _fail(views.ERR_MEDIA_TYPE, _text(41, ctype), now)
        body = await _body(request)
        try:
            return await run_in_threadpool(
                operate, state_of(request), version, group_code, operation, _token(request), body
            )
        except Exception:  # ATOL's 500/50 in its shape, never a bare server error page
            log.exception("ATOL %s/%s failed", version, operation)
            return _fail(views.ERR_SERVER, _text(50), now)

    def get_report(
        state: AppState, group: str, receipt_uuid: str, token: str | None
    ) -> JSONResponse:
        now = state.clock.wall()
        if not _UUID.match(receipt_uuid):
            return _fail(views.ERR_BAD_UUID, _text(30, receipt_uuid), now)
        with Session(state.engine) as session:
            try:
                p = principal(session, state, token)
                made = compat.by_uuid(session, p, receipt_uuid)
            except MissingTokenError:
                return _fail(views.ERR_MISSING_TOKEN, _text(10), now)
            except ExpiredTokenError as e:
                return _fail(views.ERR_EXPIRED_TOKEN, f"{_text(11)}: {e.message}", now)
            except (CompatNotFoundError, PermissionDeniedError) as e:
                # ATOL's 30 covers "malformed or not found" (its text for both)
                text = f"{_text(30, receipt_uuid)} ({e.message})"
                return _fail(views.ERR_BAD_UUID, text, now, uuid=receipt_uuid)
            if not store_of_group(session, p.company_id, group)[0]:
                return _fail(views.ERR_GROUP, f"{_text(20)} ({group})", now)
            return _json(200, views.report(made, now))

    @router.get("/{version}/{group_code}/report/{receipt_uuid}")
    async def report(
        version: str, group_code: str, receipt_uuid: str, request: Request
    ) -> JSONResponse:
        """The receipt's status; the fiscal data once "done" (the callback's body too)."""
        return await run_in_threadpool(
            get_report, state_of(request), group_code, receipt_uuid, _token(request)
        )

    return router


production_router = make_router(sandbox=False)
sandbox_router = make_router(sandbox=True)
