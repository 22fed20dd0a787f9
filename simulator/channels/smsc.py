"""An HTTP simulator of an SMSC.ru-style SMS and messenger gateway, for tests and the demo.

The wire is the gateway's (the fleet's adapter is fleet/delivery/providers/smsc.py; the two share
no code): ``POST /sys/send.php`` and ``/sys/status.php``, form fields, ``fmt=3`` JSON answers,
``login``+``psw`` or ``apikey``. A channel is picked by a flag: ``viber=1``, ``soc=1`` (VK/OK),
else SMS. What happens to the next message on a channel is scripted (`Outcome`): delivered
after ``delay_s``, silent, bounced, refused with a gateway error code, rate-limited, answered
too slowly, or the server down. An outage or a rate limit can also last a while
(``down_until``, ``limited_until`` on the gateway's clock ``now``): every request, status
queries too, answers 503 or 429 until then. Delivered and bounced messages are reported to
``callback_url`` (the gateway's «обработчик Клиента»: a form POST of ``id``, ``phone``,
``status``, ``err``, ``time``) after ``delay_s``, and status.php answers the same. Like the real
gateway it refuses a second request with an id it already has (error 9), keeps a balance and
charges each message, so tests can see what was sent once and paid for.
"""

from __future__ import annotations

import asyncio
import enum
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import httpx
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

__all__ = ["Outcome", "SmscMessage", "SmscState", "create_app", "run_smsc"]


class Outcome(enum.StrEnum):
    """What the gateway does with the next message on a channel."""

    DELIVER = "deliver"  # accepted; delivered (status 1) after delay_s
    SILENT = "silent"  # accepted; stays "handed to the operator" (0), no report
    BOUNCE = "bounce"  # accepted; undeliverable (20) after delay_s
    BAD_NUMBER = "bad_number"  # refused at send: error 7 (number format)
    UNREACHABLE = "unreachable"  # refused at send: error 8 (cannot be delivered to the number)
    FORBIDDEN = "forbidden"  # refused at send: error 6 (text or sender forbidden)
    RATE_LIMIT = "rate_limit"  # refused at send: error 9, nothing kept
    HTTP_429 = "http_429"  # HTTP 429 Too Many Requests with Retry-After
    DOWN = "down"  # HTTP 503
    SLOW = "slow"  # accepted and kept, but answered after slow_s (the client times out)


_ERRORS = {
    Outcome.BAD_NUMBER: (7, "invalid number"),
    Outcome.UNREACHABLE: (8, "message to this number cannot be delivered"),
    Outcome.FORBIDDEN: (6, "message is denied"),
    Outcome.RATE_LIMIT: (9, "duplicate request, wait a minute"),
}


@dataclass
class SmscMessage:
    """One accepted message."""

    id: str
    phone: str
    text: str
    channel: str  # sms | viber | soc
    sender: str | None
    outcome: Outcome
    at: float
    cost_kop: int
    reported: bool = False


@dataclass
class SmscState:
    """The gateway's account, script and memory."""

    login: str = "oblako"
    password: str = "smsc-test-password"
    apikey: str | None = None
    balance_kop: int = 100_000
    prices_kop: dict[str, int] = field(
        default_factory=lambda: {"sms": 250, "viber": 150, "soc": 100}
    )
    delay_s: float = 2.0
    slow_s: float = 3.0
    callback_url: str | None = None
    now: Callable[[], float] = time.time
    down_until: float = 0.0  # every request answers HTTP 503 until ``now()`` reaches it
    limited_until: float = 0.0  # every request answers HTTP 429 until then
    retry_after_s: int = 0  # the Retry-After of those 429s
    bounce_err: int = 1  # the operator's reason of a bounce (err 1: no such subscriber)
    script: dict[str, list[Outcome]] = field(default_factory=dict)
    messages: dict[str, SmscMessage] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)  # (method, id)
    reports_sent: list[dict[str, str]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def plan(self, channel: str, *outcomes: Outcome) -> None:
        """Queue outcomes for the next sends on ``channel`` (sms, viber, soc; default DELIVER)."""
        with self._lock:
            self.script.setdefault(channel, []).extend(outcomes)

    def sent(self, phone: str | None = None) -> list[SmscMessage]:
        """Accepted messages (to ``phone``)."""
        with self._lock:
            return [m for m in self.messages.values() if phone is None or m.phone == phone]

    def status(self, message: SmscMessage) -> int:
        """The gateway's status code of ``message`` now."""
        if message.outcome is Outcome.SILENT or self.now() - message.at < self.delay_s:
            return 0  # handed to the operator
        return 1 if message.outcome in (Outcome.DELIVER, Outcome.SLOW) else 20

    def _next(self, channel: str) -> Outcome:
        queue = self.script.get(channel) or []
        return queue.pop(0) if queue else Outcome.DELIVER


def _unavailable(state: SmscState) -> Response | None:
    """The answer of a gateway in an outage or rate-limiting everyone, else None."""
    now = state.now()
    if now < state.down_until:
        return Response("Service Unavailable", status_code=503)
    if now < state.limited_until:
        headers = {"Retry-After": str(state.retry_after_s)}
        return Response("Too Many Requests", status_code=429, headers=headers)
    return None


def _phone(raw: str) -> str | None:
    digits = raw.strip().lstrip("+")
    return digits if re.fullmatch(r"[0-9]{11,15}", digits) else None


def _error(code: int, text: str) -> JSONResponse:
    return JSONResponse({"error": text, "error_code": code})


def create_app(state: SmscState) -> FastAPI:
    """The gateway over ``state``."""
    app = FastAPI(title="SMSC (симулятор)")

    async def form(request: Request) -> dict[str, str]:
        return dict(parse_qsl((await request.body()).decode("utf-8")))

    def authorised(f: dict[str, str]) -> bool:
        if state.apikey is not None and f.get("apikey") == state.apikey:
            return True
        return f.get("login") == state.login and f.get("psw") == state.password

    @app.post("/sys/send.php", response_model=None)
    async def send(request: Request) -> Response:
        f = await form(request)
        message_id = f.get("id", "")
        state.requests.append(("send", message_id))
        if (refusal := _unavailable(state)) is not None:
            return refusal
        if not authorised(f):
            return _error(2, "authorise error")
        channel = "viber" if f.get("viber") == "1" else "soc" if f.get("soc") == "1" else "sms"
        with state._lock:
            outcome = state._next(channel)
            if outcome is Outcome.DOWN:
                return Response("Service Unavailable", status_code=503)
            if outcome is Outcome.HTTP_429:
                return Response("Too Many Requests", status_code=429, headers={"Retry-After": "0"})
            if outcome in _ERRORS:
                return _error(*_ERRORS[outcome])
            phone = _phone(f.get("phones", ""))
            if phone is None:
                return _error(7, "invalid number")
            if not message_id or message_id in state.messages:
                return _error(9, "duplicate request, wait a minute")
            price = state.prices_kop.get(channel, 250)
            if state.balance_kop < price:
                return _error(3, "no money")
            state.balance_kop -= price
            message = SmscMessage(
                message_id, phone, f.get("mes", ""), channel, f.get("sender"), outcome,
                state.now(), price,
            )  # fmt: skip
            state.messages[message_id] = message
        if outcome in (Outcome.DELIVER, Outcome.BOUNCE, Outcome.SLOW) and state.callback_url:
            timer = threading.Timer(state.delay_s, _report, (state, message))
            timer.daemon = True
            timer.start()
        if outcome is Outcome.SLOW:
            await asyncio.sleep(state.slow_s)
        answer: dict[str, Any] = {"id": message_id, "cnt": 1}
        if f.get("cost") in ("2", "3"):
            answer |= {"cost": f"{price / 100:.2f}", "balance": f"{state.balance_kop / 100:.2f}"}
        return JSONResponse(answer)

    @app.post("/sys/status.php", response_model=None)
    async def status(request: Request) -> Response:
        f = await form(request)
        state.requests.append(("status", f.get("id", "")))
        if (refusal := _unavailable(state)) is not None:
            return refusal
        if not authorised(f):
            return _error(2, "authorise error")
        with state._lock:
            message = state.messages.get(f.get("id", ""))
            if message is None or message.phone != _phone(f.get("phone", "")):
                return JSONResponse({"status": -3, "err": 0})
            code = state.status(message)
        err = state.bounce_err if code == 20 else 0
        return JSONResponse({"status": code, "last_timestamp": int(message.at), "err": err})

    return app


def _report(state: SmscState, message: SmscMessage) -> None:
    """Post the delivery report to the client's handler (one try, as a test wants to see)."""
    if state.callback_url is None:
        return
    code = 1 if message.outcome in (Outcome.DELIVER, Outcome.SLOW) else 20
    body = {
        "id": message.id,
        "phone": message.phone,
        "status": str(code),
        "err": "0" if code == 1 else str(state.bounce_err),
        "time": str(int(state.now())),
    }
    try:
        httpx.post(state.callback_url, data=body, timeout=5.0)
    except httpx.HTTPError:
        return
    message.reported = True
    state.reports_sent.append(body)


def run_smsc(host: str = "127.0.0.1", port: int = 8400, state: SmscState | None = None) -> None:
    """Serve the gateway with uvicorn until interrupted (``oblako sim smsc``)."""
    uvicorn.run(create_app(state or SmscState()), host=host, port=port, log_level="info")
