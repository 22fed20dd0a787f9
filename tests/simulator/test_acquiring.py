"""The simulated acquirer on its own: the signed order, the card checks, signed callbacks (with
delays, duplicates and retries) caught by a small in-process merchant."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import hmac
import json
import time
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.testclient import TestClient

from simulator.acquiring import create_app, order_url
from simulator.acquiring.app import SIGNATURE_HEADER
from simulator.acquiring.cards import check_card, luhn_ok
from simulator.clock import SimClock

SECRET = "shared-secret"
TODAY = dt.date(2024, 1, 15)


class Merchant:
    """A merchant that records the callbacks it gets (and can fail the first few)."""

    def __init__(self, fail_first: int = 0) -> None:
        self.received: list[tuple[dict[str, Any], bool]] = []
        self.fail_first = fail_first
        self.app = FastAPI()

        @self.app.post("/callback")
        async def callback(request: Request) -> JSONResponse:
            raw = await request.body()
            expected = hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
            valid = hmac.compare_digest(expected, request.headers.get(SIGNATURE_HEADER, ""))
            if self.fail_first > 0:
                self.fail_first -= 1
                return JSONResponse({"error": "busy"}, status_code=503)
            self.received.append((json.loads(raw), valid))
            return JSONResponse({"ok": True})


def _acquirer(merchant: Merchant, **kwargs: Any) -> TestClient:
    async def no_wait(_s: float) -> None:
        await asyncio.sleep(0)

    kwargs.setdefault("sleep", no_wait)
    app = create_app(
        SECRET,
        clock=SimClock(start=dt.datetime(2024, 1, 15, tzinfo=dt.UTC).timestamp()),
        transport=httpx.ASGITransport(app=merchant.app),
        **kwargs,
    )
    return TestClient(app)


def _order(payment_id: str = "7", amount: str = "150000") -> dict[str, str]:
    return {
        "payment_id": payment_id,
        "amount": amount,
        "callback": "http://merchant/callback",
        "return_url": f"http://merchant/billing?payment={payment_id}",
    }


def _submit(
    client: TestClient, number: str, expiry: str = "12/29", cvc: str = "123", **order: str
) -> httpx.Response:
    params = _order(**order)
    url = order_url("http://acq", SECRET, **params)
    form_page = client.get(url.removeprefix("http://acq"))
    assert form_page.status_code == 200, form_page.text
    signature = url.rsplit("signature=", 1)[1]
    data = {**params, "signature": signature, "number": number, "expiry": expiry, "cvc": cvc}
    return client.post("/pay", data=data, follow_redirects=False)


def test_luhn_and_card_messages() -> None:
    assert luhn_ok("4111111111111111") and luhn_ok("4000000000000002")
    assert not luhn_ok("4111111111111112")
    assert check_card("4111 1111 1111 1111", "12/29", "123", today=TODAY) == {}
    errors = check_card("4111 1111 1111 1112", "13/29", "12", today=TODAY)
    assert errors == {
        "number": "Номер карты набран с ошибкой: не сходится контрольная цифра",
        "expiry": "Месяц срока действия — от 01 до 12",
        "cvc": "CVC — три цифры с обратной стороны карты",
    }
    assert check_card("4111", "12/2029", "123", today=TODAY) == {
        "number": "Номер карты — от 13 до 19 цифр",
        "expiry": "Срок действия — в виде ММ/ГГ, например 12/29",
    }
    assert check_card("4111111111111111", "12/23", "123", today=TODAY) == {
        "expiry": "Срок действия карты истёк"
    }
    assert check_card("4111111111111111", "01/24", "123", today=TODAY) == {}


def test_the_form_refuses_an_altered_order() -> None:
    merchant = Merchant()
    with _acquirer(merchant) as client:
        url = order_url("http://acq", SECRET, **_order()).removeprefix("http://acq")
        page = client.get(url)
        assert page.status_code == 200
        assert "Оплата картой" in page.text and "1 500,00 ₽" in page.text
        tampered = client.get(url.replace("amount=150000", "amount=100"))
        assert tampered.status_code == 403 and "Неверная подпись заказа" in tampered.text
        posted = client.post(
            "/pay", data={**_order(), "signature": "0" * 64, "number": "4111111111111111"}
        )
        assert posted.status_code == 403
    assert merchant.received == []


def test_approved_card_sends_a_signed_success_and_redirects() -> None:
    merchant = Merchant()
    with _acquirer(merchant) as client:
        answer = _submit(client, "4111 1111 1111 1111")
        assert answer.status_code == 303
        assert answer.headers["location"] == "http://merchant/billing?payment=7"
        # A second submit of the same order charges nothing again.
        assert _submit(client, "4111 1111 1111 1111").status_code == 303
    [(body, valid)] = merchant.received
    assert valid
    assert body["payment_id"] == "7" and body["status"] == "succeeded" and body["amount"] == 150000


def test_declined_and_unknown_cards_fail_and_bad_input_is_shown_on_the_form() -> None:
    merchant = Merchant()
    with _acquirer(merchant) as client:
        wrong = _submit(client, "4111 1111 1111 1112", expiry="01/20", payment_id="1")
        assert wrong.status_code == 422
        assert "не сходится контрольная цифра" in wrong.text
        assert "Срок действия карты истёк" in wrong.text
        assert _submit(client, "4000 0000 0000 0002", payment_id="2").status_code == 303
        assert _submit(client, "5555 5555 5555 4444", payment_id="3").status_code == 303
    statuses = [(b["payment_id"], b["status"], b["reason"]) for b, _ in merchant.received]
    assert statuses == [
        ("2", "failed", "Банк-эмитент отклонил операцию"),
        ("3", "failed", "Карта не принимается: используйте тестовую карту"),
    ]


def test_duplicates_and_retries_on_a_failing_merchant() -> None:
    merchant = Merchant(fail_first=2)
    with _acquirer(merchant, duplicates=3, retries=3) as client:
        assert _submit(client, "4111111111111111").status_code == 303
        deliveries = client.get("/deliveries").json()
    # The first two attempts got 503 and were retried; then three copies arrived.
    assert [d["http_status"] for d in deliveries] == [503, 503, 200, 200, 200]
    assert len(merchant.received) == 3
    assert all(valid for _, valid in merchant.received)


def test_a_delayed_callback_arrives_after_the_redirect() -> None:
    merchant = Merchant()
    with _acquirer(merchant, sleep=asyncio.sleep) as client:
        assert client.post("/control", json={"delay_s": 0.3, "duplicates": 1}).status_code == 200
        assert client.get("/control").json() == {"delay_s": 0.3, "duplicates": 1}
        assert _submit(client, "4111111111111111").status_code == 303
        assert merchant.received == []  # the browser is back before the bank speaks
        deadline = time.monotonic() + 10
        while not merchant.received and time.monotonic() < deadline:
            time.sleep(0.05)
    assert [b["status"] for b, _ in merchant.received] == ["succeeded"]
