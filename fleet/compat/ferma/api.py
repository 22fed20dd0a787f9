"""Ferma-compatible endpoints, below /ferma (production) and /sandbox/ferma.

A Ferma client sets its host to ``https://<oblako>/ferma`` (or the sandbox's) and keeps its
paths: /api/Authorization/CreateAuthToken, /api/kkt/cloud/receipt, /status, /list, with
``?AuthToken=``. Every answer is HTTP 200 in Ferma's envelope.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from sqlmodel import Session

from fleet.access.principal import Principal
from fleet.compat import auth
from fleet.compat import receipts as compat
from fleet.compat.exceptions import CompatAuthError, CompatNotFoundError, MappingError
from fleet.compat.ferma import views
from fleet.compat.ferma.mapping import to_request
from fleet.compat.groups import client_inn
from fleet.compat.models import Peer
from fleet.core.errors import PermissionDeniedError
from fleet.deps import AppState
from fleet.receipts.exceptions import InvalidReceiptError

__all__ = ["production_router", "sandbox_router"]

MSK = dt.timezone(dt.timedelta(hours=3))


def _ok(body: dict[str, Any]) -> JSONResponse:
    return JSONResponse(body, status_code=200)


async def _body(request: Request) -> Any:
    raw = await request.body()
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None


def _when(v: Any, utc: bool) -> float | None:
    if not isinstance(v, str):
        return None
    try:
        at = dt.datetime.fromisoformat(v)
    except ValueError:
        return None
    if at.tzinfo is None:
        at = at.replace(tzinfo=dt.UTC if utc else MSK)
    return at.timestamp()


def make_router(sandbox: bool) -> APIRouter:
    """The endpoints on one contour (production or sandbox)."""
    prefix = "/sandbox/ferma/api" if sandbox else "/ferma/api"
    tag = "Ferma (песочница)" if sandbox else "Ferma (совместимый API)"
    router = APIRouter(prefix=prefix, tags=[tag])

    def state_of(request: Request) -> AppState:
        state: AppState = request.app.state.fleet
        return state

    def create_token(state: AppState, body: Any) -> JSONResponse:
        b = body if isinstance(body, dict) else {}
        with Session(state.engine) as session:
            try:
                row, secret = auth.issue_token(
                    session, state.clock, Peer.FERMA, b.get("Login"), b.get("Password"),
                    sandbox=sandbox,
                )  # fmt: skip
            except CompatAuthError as e:
                return _ok(views.failed(views.ERR_AUTH, e.message))
            expires = dt.datetime.fromtimestamp(row.expires_at, dt.UTC)
        return _ok(
            views.success(
                {"AuthToken": secret, "ExpirationDateUtc": expires.strftime("%Y-%m-%dT%H:%M:%S")}
            )
        )

    @router.post("/Authorization/CreateAuthToken")
    async def post_token(request: Request) -> JSONResponse:
        """{Login, Password} → {AuthToken, ExpirationDateUtc} (a day)."""
        return await run_in_threadpool(create_token, state_of(request), await _body(request))

    def principal(session: Session, state: AppState, request: Request) -> Principal:
        token = request.query_params.get("AuthToken")
        return auth.principal_for(session, state.clock, Peer.FERMA, token, sandbox=sandbox)

    def receipt(state: AppState, request: Request, body: Any) -> JSONResponse:
        with Session(state.engine) as session:
            try:
                p = principal(session, state, request)
            except CompatAuthError as e:
                return _ok(views.failed(views.ERR_TOKEN, e.message))
            try:
                mapped, rtype, callback = to_request(body, client_inn(session, p.company_id))
                made = compat.create(
                    session, state.clock, p, Peer.FERMA, mapped,
                    operation=rtype, callback_url=callback,
                )  # fmt: skip
            except MappingError as e:
                return _ok(views.failed(views.ERR_VALIDATION, "Ошибка в запросе: " + e.message))
            except InvalidReceiptError as e:
                reasons = "; ".join(f"{a}: {c}" if a else c for a, _b, c in e.errors)
                return _ok(views.failed(views.ERR_VALIDATION, f"{e.message}. {reasons}"))
            except PermissionDeniedError as e:
                return _ok(views.failed(views.ERR_TOKEN, e.message))
            data = {"ReceiptId": made.compat.uuid}
            if made.created:
                return _ok(views.success(data))
            other = " с другим содержимым" if made.conflict else ""
            text = (
                f"Чек с InvoiceId {made.receipt.external_id} уже существует{other}. "
                f"--{made.compat.uuid}--"
            )
            return _ok(views.failed(views.ERR_DUPLICATE, text, data))

    @router.post("/kkt/cloud/receipt")
    async def post_receipt(request: Request) -> JSONResponse:
        """Create a receipt: {Request: {Inn, Type, InvoiceId, CustomerReceipt, CallbackUrl}}."""
        body = await _body(request)
        return await run_in_threadpool(receipt, state_of(request), request, body)

    def status(state: AppState, request: Request, body: Any) -> JSONResponse:
        req = body.get("Request") if isinstance(body, dict) else None
        req = req if isinstance(req, dict) else {}
        with Session(state.engine) as session:
            try:
                p = principal(session, state, request)
            except CompatAuthError as e:
                return _ok(views.failed(views.ERR_TOKEN, e.message))
            try:
                if isinstance(req.get("ReceiptId"), str):
                    made = compat.by_uuid(session, p, req["ReceiptId"])
                elif isinstance(req.get("InvoiceId"), str):
                    made = compat.by_external_id(
                        session, state.clock, p, Peer.FERMA, req["InvoiceId"]
                    )
                else:
                    return _ok(
                        views.failed(views.ERR_VALIDATION, "Укажите ReceiptId или InvoiceId")
                    )
            except (CompatNotFoundError, PermissionDeniedError) as e:
                return _ok(views.failed(views.ERR_NOT_FOUND, e.message))
            return _ok(views.success(views.status_data(made)))

    @router.post("/kkt/cloud/status")
    async def post_status(request: Request) -> JSONResponse:
        """A receipt's status by ReceiptId or by InvoiceId."""
        body = await _body(request)
        return await run_in_threadpool(status, state_of(request), request, body)

    def registry(state: AppState, request: Request, body: Any) -> JSONResponse:
        req = body.get("Request") if isinstance(body, dict) else None
        req = req if isinstance(req, dict) else {}
        since = _when(req.get("StartDateUtc"), True) or _when(req.get("StartDate"), False)
        until = _when(req.get("EndDateUtc"), True) or _when(req.get("EndDate"), False)
        with Session(state.engine) as session:
            try:
                p = principal(session, state, request)
            except CompatAuthError as e:
                return _ok(views.failed(views.ERR_TOKEN, e.message))
            if since is None or until is None or until <= since:
                return _ok(
                    views.failed(
                        views.ERR_VALIDATION,
                        "Укажите период: StartDate и EndDate (гггг-мм-ддTчч:мм:сс), начало "
                        "раньше конца",
                    )
                )
            try:
                rows = compat.listed(session, p, since, until)
            except PermissionDeniedError as e:
                return _ok(views.failed(views.ERR_TOKEN, e.message))
            return _ok(views.success([views.status_data(m) for m in rows]))

    @router.post("/kkt/cloud/list")
    async def post_list(request: Request) -> JSONResponse:
        """The registry: receipts made through this API in [StartDate, EndDate)."""
        body = await _body(request)
        return await run_in_threadpool(registry, state_of(request), request, body)

    return router


production_router = make_router(sandbox=False)
sandbox_router = make_router(sandbox=True)
