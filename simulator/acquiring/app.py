"""The simulated acquirer as an ASGI app (FastAPI): what a bank's payment page does, locally.

    app = create_app("secret")                      # run_acquiring("127.0.0.1", 8100, "secret")
    GET  /pay?payment_id=&amount=&callback=&return_url=&signature=   the card form (Russian)
    POST /pay                                        charge: callback, then redirect to return_url
    GET/POST /control                                faults: {"delay_s": 2.0, "duplicates": 3}

The order is signed by the merchant: ``signature`` is the hex HMAC-SHA256 (shared secret) of the
other parameters as ``key=value`` joined by ``&`` in key order, so an altered amount is refused.
Test cards: 4111 1111 1111 1111 pays, 4000 0000 0000 0002 is declined by the issuer; any other
card that passes the Luhn check is declined as "not a test card". The number (Luhn), the expiry
(MM/YY, not past) and the CVC are checked first, with Russian messages on the form.

The result goes to ``callback`` as JSON ``{"payment_id", "status": "succeeded"|"failed",
"amount", "operation_id", "reason"}`` with header ``X-Acquiring-Signature`` (hex HMAC-SHA256 of
the raw body), retried on a network error or a 5xx. Faults for tests: ``delay_s`` sends the
callback that many seconds after the browser is redirected (the merchant sees "pending" first);
``duplicates`` sends it that many times. A payment id is charged once: a second submit of the
same order only redirects.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import hmac
import json
import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Final
from urllib.parse import urlencode

import httpx
import uvicorn
from fastapi import FastAPI, Form
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, select_autoescape
from pydantic import BaseModel, Field

from simulator.acquiring.cards import APPROVED, DECLINED, check_card
from simulator.clock import Clock, SystemClock

__all__ = [
    "SIGNATURE_HEADER",
    "Acquirer",
    "Faults",
    "create_app",
    "order_signature",
    "order_url",
    "run_acquiring",
]

log = logging.getLogger(__name__)

SIGNATURE_HEADER: Final = "X-Acquiring-Signature"
ORDER_FIELDS: Final = ("payment_id", "amount", "callback", "return_url")

Sleep = Callable[[float], Awaitable[None]]


def _sign(secret: str, data: bytes) -> str:
    return hmac.new(secret.encode(), data, hashlib.sha256).hexdigest()


def order_signature(secret: str, params: Mapping[str, str]) -> str:
    """The merchant's signature of an order (every parameter except ``signature``, key order)."""
    canonical = "&".join(f"{k}={params[k]}" for k in sorted(params) if k != "signature")
    return _sign(secret, canonical.encode())


def order_url(base: str, secret: str, **params: str) -> str:
    """A signed ``/pay`` URL (what a merchant builds; handy in tests and demos)."""
    params["signature"] = order_signature(secret, params)
    return f"{base.rstrip('/')}/pay?{urlencode(params)}"


class Faults(BaseModel):
    """How the acquirer misbehaves (change at run time through ``/control``)."""

    delay_s: float = Field(default=0.0, ge=0.0, le=3600.0)
    duplicates: int = Field(default=1, ge=1, le=10)


@dataclass
class Delivery:
    """One callback attempt and what the merchant answered."""

    payment_id: str
    status: str
    http_status: int | None
    error: str | None = None


@dataclass
class Acquirer:
    """The acquirer's state: its faults, the payments it charged, the callbacks it sent."""

    secret: str
    faults: Faults
    clock: Clock
    retries: int = 3
    retry_s: float = 0.2
    charged: dict[str, str] = field(default_factory=dict)  # payment id -> status
    deliveries: list[Delivery] = field(default_factory=list)
    tasks: set[asyncio.Task[None]] = field(default_factory=set)

    async def drain(self) -> None:
        """Wait for delayed callbacks still on their way (tests)."""
        while self.tasks:
            await asyncio.gather(*list(self.tasks), return_exceptions=True)


_PAGE: Final = """<!doctype html>
<html lang="ru"><head><meta charset="utf-8"><title>Оплата картой — тестовый эквайер</title>
<style>body{font-family:system-ui,sans-serif;max-width:28rem;margin:2rem auto;padding:0 1rem}
label{display:block;margin-top:.8rem}input{width:100%;padding:.4rem;box-sizing:border-box}
.error{color:#b00020}.hint{color:#555;font-size:.9rem}button{margin-top:1rem;padding:.5rem 1.2rem}
</style></head><body>
<h1>Оплата картой</h1>
{% if refusal %}<p class="error">{{ refusal }}</p>{% else %}
<p>Сумма к оплате: <b>{{ amount_text }}</b> (платёж № {{ order.payment_id }}).</p>
{% if message %}<p class="error">{{ message }}</p>{% endif %}
<form method="post" action="/pay">
{% for k, v in order.items() %}<input type="hidden" name="{{ k }}" value="{{ v }}">{% endfor %}
<label>Номер карты <input name="number" value="{{ form.number }}" inputmode="numeric"
 autocomplete="cc-number" placeholder="4111 1111 1111 1111"></label>
{% if errors.number %}<p class="error">{{ errors.number }}</p>{% endif %}
<label>Срок действия (ММ/ГГ) <input name="expiry" value="{{ form.expiry }}" placeholder="12/29"
 autocomplete="cc-exp"></label>
{% if errors.expiry %}<p class="error">{{ errors.expiry }}</p>{% endif %}
<label>CVC <input name="cvc" value="" inputmode="numeric" autocomplete="cc-csc"></label>
{% if errors.cvc %}<p class="error">{{ errors.cvc }}</p>{% endif %}
<button type="submit">Оплатить {{ amount_text }}</button>
</form>
<p class="hint">Это тестовый эквайер Облака: деньги не списываются. Карта 4111 1111 1111 1111
— оплата проходит; 4000 0000 0000 0002 — банк отказывает. Срок — любой будущий, CVC — любые
три цифры.</p>{% endif %}
</body></html>"""

_TEMPLATES = Environment(autoescape=select_autoescape(default_for_string=True))
_FORM = _TEMPLATES.from_string(_PAGE)


def _rubles(kopecks: int) -> str:
    whole, kop = divmod(kopecks, 100)
    return f"{whole:,}".replace(",", " ") + f",{kop:02d} ₽"


def _order_problem(secret: str, order: Mapping[str, str], signature: str) -> str | None:
    if any(not order.get(k) for k in ORDER_FIELDS):
        return "Неполный заказ: нужны payment_id, amount, callback и return_url"
    if not hmac.compare_digest(order_signature(secret, order), signature.strip().lower()):
        return "Неверная подпись заказа: магазин должен подписать параметры платежа"
    if not order["amount"].isdigit() or int(order["amount"]) <= 0:
        return "Неверная сумма заказа"
    return None


def create_app(
    secret: str,
    *,
    delay_s: float = 0.0,
    duplicates: int = 1,
    clock: Clock | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    sleep: Sleep = asyncio.sleep,
    retries: int = 3,
    retry_s: float = 0.2,
) -> FastAPI:
    """The acquirer app; ``transport`` lets tests deliver callbacks to an in-process app."""
    acquirer = Acquirer(
        secret=secret,
        faults=Faults(delay_s=delay_s, duplicates=duplicates),
        clock=clock or SystemClock(),
        retries=retries,
        retry_s=retry_s,
    )
    app = FastAPI(title="Тестовый эквайер Облака", version="0.1.0")
    app.state.acquirer = acquirer

    def page(
        *,
        status: int = 200,
        order: Mapping[str, str] | None = None,
        refusal: str | None = None,
        message: str | None = None,
        errors: Mapping[str, str] | None = None,
        form: Mapping[str, str] | None = None,
    ) -> HTMLResponse:
        order = dict(order or {})
        amount = order.get("amount", "0")
        html = _FORM.render(
            order=order,
            amount_text=_rubles(int(amount)) if amount.isdigit() else "",
            refusal=refusal,
            message=message,
            errors=errors or {},
            form=form or {"number": "", "expiry": ""},
        )
        return HTMLResponse(html, status_code=status)

    async def deliver(order: Mapping[str, str], status: str, reason: str | None) -> None:
        body = json.dumps(
            {
                "payment_id": order["payment_id"],
                "status": status,
                "amount": int(order["amount"]),
                "operation_id": uuid.uuid4().hex,
                "reason": reason,
            },
            ensure_ascii=False,
        ).encode()
        headers = {
            SIGNATURE_HEADER: _sign(acquirer.secret, body),
            "Content-Type": "application/json",
        }
        async with httpx.AsyncClient(transport=transport, timeout=10.0) as client:
            for _ in range(acquirer.faults.duplicates):
                for attempt in range(acquirer.retries):
                    try:
                        answer = await client.post(order["callback"], content=body, headers=headers)
                    except httpx.HTTPError as exc:
                        acquirer.deliveries.append(
                            Delivery(order["payment_id"], status, None, str(exc))
                        )
                    else:
                        acquirer.deliveries.append(
                            Delivery(order["payment_id"], status, answer.status_code)
                        )
                        if answer.status_code < 500:
                            break
                    if attempt + 1 < acquirer.retries:
                        await sleep(acquirer.retry_s)

    async def deliver_later(order: Mapping[str, str], status: str, reason: str | None) -> None:
        await sleep(acquirer.faults.delay_s)
        try:
            await deliver(order, status, reason)
        except Exception:  # a background task must not die silently
            log.exception("callback for payment %s failed", order.get("payment_id"))

    @app.get("/", response_class=HTMLResponse)
    def index() -> HTMLResponse:
        """What this is."""
        return HTMLResponse(
            "<!doctype html><html lang='ru'><meta charset='utf-8'><title>Тестовый эквайер</title>"
            "<h1>Тестовый эквайер Облака</h1><p>Форма оплаты открывается по ссылке магазина "
            "(/pay с подписанными параметрами заказа).</p></html>"
        )

    @app.get("/pay", response_class=HTMLResponse)
    def pay_form(
        payment_id: str = "",
        amount: str = "",
        callback: str = "",
        return_url: str = "",
        signature: str = "",
    ) -> HTMLResponse:
        """The card form for a signed order."""
        order = {
            "payment_id": payment_id,
            "amount": amount,
            "callback": callback,
            "return_url": return_url,
        }
        problem = _order_problem(acquirer.secret, order, signature)
        if problem:
            return page(status=403, refusal=problem)
        return page(order={**order, "signature": signature})

    @app.post("/pay", response_model=None)
    async def pay(
        payment_id: Annotated[str, Form()] = "",
        amount: Annotated[str, Form()] = "",
        callback: Annotated[str, Form()] = "",
        return_url: Annotated[str, Form()] = "",
        signature: Annotated[str, Form()] = "",
        number: Annotated[str, Form()] = "",
        expiry: Annotated[str, Form()] = "",
        cvc: Annotated[str, Form()] = "",
    ) -> Response:
        """Charge the card: send the signed callback and return the browser to the shop."""
        order = {
            "payment_id": payment_id,
            "amount": amount,
            "callback": callback,
            "return_url": return_url,
        }
        problem = _order_problem(acquirer.secret, order, signature)
        if problem:
            return page(status=403, refusal=problem)
        if payment_id in acquirer.charged:
            return RedirectResponse(return_url, status_code=303)
        today = dt.datetime.fromtimestamp(acquirer.clock.wall(), dt.UTC).date()
        errors = check_card(number, expiry, cvc, today=today)
        if errors:
            return page(
                status=422,
                order={**order, "signature": signature},
                message="Проверьте данные карты",
                errors=errors,
                form={"number": number, "expiry": expiry},
            )
        digits = "".join(ch for ch in number if ch.isdigit())
        if digits == APPROVED:
            status, reason = "succeeded", None
        elif digits == DECLINED:
            status, reason = "failed", "Банк-эмитент отклонил операцию"
        else:
            status, reason = "failed", "Карта не принимается: используйте тестовую карту"
        acquirer.charged[payment_id] = status
        if acquirer.faults.delay_s > 0:
            task = asyncio.create_task(deliver_later(order, status, reason))
            acquirer.tasks.add(task)
            task.add_done_callback(acquirer.tasks.discard)
        else:
            await deliver(order, status, reason)
        return RedirectResponse(return_url, status_code=303)

    @app.get("/control")
    def get_control() -> Faults:
        """The current faults."""
        return acquirer.faults

    @app.post("/control")
    def set_control(faults: Faults) -> Faults:
        """Replace the faults (``{"delay_s": 2, "duplicates": 3}``)."""
        acquirer.faults = faults
        return faults

    @app.get("/deliveries")
    def deliveries() -> list[dict[str, Any]]:
        """Every callback attempt and the merchant's answer (for tests and demos)."""
        return [d.__dict__ for d in acquirer.deliveries]

    return app


def run_acquiring(
    host: str = "127.0.0.1",
    port: int = 8100,
    secret: str = "acquiring-dev-secret",
    *,
    delay_s: float = 0.0,
    duplicates: int = 1,
) -> None:
    """Serve the acquirer with uvicorn until interrupted (``oblako sim acquiring``)."""
    uvicorn.run(
        create_app(secret, delay_s=delay_s, duplicates=duplicates),
        host=host,
        port=port,
        log_level="info",
    )
