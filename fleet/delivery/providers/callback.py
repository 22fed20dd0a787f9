"""The delivery-report endpoint the SMS gateway calls back (SMSC's «обработчик Клиента»).

``POST /api/delivery/dlr/smsc/{token}`` with the gateway's form fields ``id`` (our client message
id), ``phone``, ``status``, ``err``. The URL is set once in the gateway's account; its last part
is ``FLEET_DELIVERY_SMSC_DLR_TOKEN`` (a random secret: without it the endpoint does not exist,
and a wrong one is 404 like any unknown page). A final status is kept (`reports.record_report`)
and the cascade settles the attempt on its next pass; other statuses are acknowledged and
dropped. The answer is 200 for anything well-formed so the gateway stops repeating it.
"""

from __future__ import annotations

import hmac
import logging
from urllib.parse import parse_qsl

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import PlainTextResponse, Response
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from fleet.delivery.providers.reports import record_report
from fleet.delivery.providers.smsc import client_id, describe, verdict
from fleet.deps import AppState, StateDep

__all__ = ["router"]

log = logging.getLogger(__name__)

router = APIRouter(prefix="/api/delivery/dlr", include_in_schema=False)


@router.post("/smsc/{token}", response_class=PlainTextResponse, response_model=None)
async def smsc_report(token: str, request: Request, state: StateDep) -> str | Response:
    """Keep one delivery report; 404 for a wrong token, 400 for a malformed report."""
    expected = state.settings.delivery_smsc_dlr_token
    if expected is None or not hmac.compare_digest(
        token.encode(), expected.get_secret_value().encode()
    ):
        raise HTTPException(status_code=404)
    try:
        body = await request.body()
    except ClientDisconnect:
        # The gateway gave up before its report arrived whole (its own time-out): nothing is
        # kept, and it repeats the report — not an error of ours worth a traceback.
        log.info("SMSC: отчёт о доставке оборван отправителем, не принят")
        return Response(status_code=400)
    fields = dict(parse_qsl(body.decode("utf-8", "replace")))
    message_id, status = fields.get("id", ""), fields.get("status", "").strip()
    if not message_id or client_id(message_id) != message_id or not status.lstrip("-").isdigit():
        raise HTTPException(status_code=400, detail="id и status обязательны")
    outcome = verdict(int(status))
    if outcome == "accepted":
        return "OK"
    err = fields.get("err", "").strip()
    detail = describe(int(status), int(err) if err.isdigit() else None)
    await run_in_threadpool(_record, state, f"smsc:{message_id}", outcome, detail)
    return "OK"


def _record(state: AppState, provider_id: str, outcome: str, detail: str) -> None:
    with Session(state.engine) as session:
        if record_report(session, state.clock, provider_id, outcome, detail):
            try:
                session.commit()
            except IntegrityError:  # defensive: a repeated report is already ignored
                session.rollback()
