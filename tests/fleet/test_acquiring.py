"""Card payments: the signed order URL, the acquirer's callback (forged, duplicated,
contradicting), and a real run of the acquiring simulator posting to the fleet app."""

from __future__ import annotations

import json
import time
from urllib.parse import parse_qs, urlparse

import httpx
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from fleet.accounts.mail import MemoryMailSender
from fleet.audit import AuditLog
from fleet.billing.acquiring import SIGNATURE_HEADER, order_signature, sign
from fleet.billing.models import LedgerTransaction
from simulator.acquiring import create_app as create_acquirer
from tests.fleet.test_billing_kit import SECRET, balance, callback, signed_in, use_cookie


def _payment(client: TestClient, headers: dict[str, str], amount: int) -> dict[str, object]:
    answer = client.post("/api/billing/card-payments", json={"amount": amount}, headers=headers)
    assert answer.status_code == 201, answer.text
    data = answer.json()
    assert isinstance(data, dict)
    return data


def test_payment_url_is_a_signed_order(client: TestClient, mailer: MemoryMailSender) -> None:
    headers, _ = signed_in(client, mailer, 1)
    data = _payment(client, headers, 150_000)
    assert data["status"] == "pending"
    url = urlparse(str(data["payment_url"]))
    assert f"{url.scheme}://{url.netloc}" == "http://127.0.0.1:8100" and url.path == "/pay"
    params = {k: v[0] for k, v in parse_qs(url.query).items()}
    assert params["amount"] == "150000" and params["payment_id"] == str(data["id"])
    assert params["callback"] == "http://testserver/api/billing/acquiring/callback"
    assert params["return_url"] == f"http://testserver/billing?payment={data['id']}"
    assert params["signature"] == order_signature(SECRET, params)


def test_amount_limits(client: TestClient, mailer: MemoryMailSender) -> None:
    headers, _ = signed_in(client, mailer, 1)
    for amount in (0, 99, 100_000_001):
        answer = client.post("/api/billing/card-payments", json={"amount": amount}, headers=headers)
        assert answer.status_code == 422
        assert answer.json()["fields"]["amount"] == "Сумма от 1,00 ₽ до 1 000 000,00 ₽"


def test_forged_callbacks_change_nothing_and_duplicates_are_harmless(
    client: TestClient, mailer: MemoryMailSender, engine: Engine
) -> None:
    headers, _ = signed_in(client, mailer, 1)
    payment_id = int(str(_payment(client, headers, 150_000)["id"]))
    assert callback(client, payment_id, 150_000, secret="не тот секрет")[0] == 403
    assert callback(client, payment_id, 150_000, signature="")[0] == 403
    status, body = callback(client, payment_id, 150_000, signature="ab" * 32)
    assert status == 403 and body["message"] == "Неверная подпись уведомления эквайера"
    assert balance(client, headers) == 0
    assert callback(client, payment_id, 1, "succeeded")[0] == 422  # the amount was altered
    assert balance(client, headers) == 0
    assert callback(client, payment_id, 150_000) == (
        200,
        {"payment_id": payment_id, "status": "succeeded"},
    )
    assert callback(client, payment_id, 150_000)[0] == 200  # a duplicate
    assert balance(client, headers) == 150_000
    status, body = callback(client, payment_id, 150_000, "failed")
    assert status == 409 and "уже завершён" in str(body["message"])
    assert balance(client, headers) == 150_000
    got = client.get(f"/api/billing/card-payments/{payment_id}", headers=headers).json()
    assert got["status"] == "succeeded"
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(LedgerTransaction)).one() == 1
        audit = session.exec(select(AuditLog.action).where(AuditLog.entity == "card_payment")).all()
        assert audit == ["card_payment.create", "card_payment.succeeded"]
    history = client.get("/api/billing/balance", headers=headers).json()["history"]
    assert [(h["kind"], h["amount"]) for h in history] == [("card", 150_000)]


def test_a_failed_payment_shows_on_the_billing_page(
    client: TestClient, mailer: MemoryMailSender
) -> None:
    headers, _ = signed_in(client, mailer, 1)
    payment_id = int(str(_payment(client, headers, 50_000)["id"]))
    use_cookie(client, headers)
    pending = client.get(f"/billing?payment={payment_id}")
    assert pending.status_code == 200 and "ожидает подтверждения банка" in pending.text
    raw = json.dumps(
        {"payment_id": payment_id, "status": "failed", "amount": 50_000, "reason": "Отказ банка"}
    ).encode()
    answer = client.post(
        "/api/billing/acquiring/callback",
        content=raw,
        headers={SIGNATURE_HEADER: sign(SECRET, raw)},
    )
    assert answer.status_code == 200 and answer.json()["status"] == "failed"
    page = client.get(f"/billing?payment={payment_id}")
    assert "отклонён" in page.text and "Отказ банка" in page.text
    assert balance(client, headers) == 0


def test_another_company_cannot_see_a_payment(client: TestClient, mailer: MemoryMailSender) -> None:
    first, _ = signed_in(client, mailer, 1)
    second, _ = signed_in(client, mailer, 2)
    payment_id = _payment(client, first, 10_000)["id"]
    assert client.get(f"/api/billing/card-payments/{payment_id}", headers=second).status_code == 404


def test_real_acquirer_run_credits_the_balance_at_once(
    client: TestClient, mailer: MemoryMailSender
) -> None:
    """The browser goes from the billing page to the simulator's form and back; the simulator's
    signed callback reaches the fleet app before the redirect, so the page shows the money."""
    headers, _ = signed_in(client, mailer, 1)
    use_cookie(client, headers)
    fleet_app = client.app
    acquirer_app = create_acquirer(SECRET, transport=httpx.ASGITransport(app=fleet_app))
    page = client.get("/billing")
    token = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    to_bank = client.post(
        "/billing/topup", data={"amount": "2 500,50", "csrf_token": token}, follow_redirects=False
    )
    assert to_bank.status_code == 303
    pay_url = urlparse(to_bank.headers["location"])
    with TestClient(acquirer_app) as browser_at_bank:
        form = browser_at_bank.get(f"{pay_url.path}?{pay_url.query}")
        assert form.status_code == 200 and "2 500,50 ₽" in form.text
        fields = {k: v[0] for k, v in parse_qs(pay_url.query).items()}
        back = browser_at_bank.post(
            "/pay",
            data={**fields, "number": "4111 1111 1111 1111", "expiry": "12/99", "cvc": "123"},
            follow_redirects=False,
        )
        assert back.status_code == 303
        assert [d["http_status"] for d in browser_at_bank.get("/deliveries").json()] == [200]
    returned = urlparse(back.headers["location"])
    shown = client.get(f"{returned.path}?{returned.query}")
    assert "зачислен" in shown.text and "2 500,50 ₽" in shown.text
    assert balance(client, headers) == 250_050


def test_delayed_and_duplicated_callbacks_from_the_simulator(
    client: TestClient, mailer: MemoryMailSender
) -> None:
    headers, _ = signed_in(client, mailer, 1)
    data = _payment(client, headers, 70_000)
    acquirer_app = create_acquirer(
        SECRET, transport=httpx.ASGITransport(app=client.app), delay_s=0.3, duplicates=3
    )
    pay_url = urlparse(str(data["payment_url"]))
    fields = {k: v[0] for k, v in parse_qs(pay_url.query).items()}
    with TestClient(acquirer_app) as bank:
        back = bank.post(
            "/pay",
            data={**fields, "number": "4111111111111111", "expiry": "12/99", "cvc": "321"},
            follow_redirects=False,
        )
        assert back.status_code == 303
        status = client.get(f"/api/billing/card-payments/{data['id']}", headers=headers).json()
        assert status["status"] == "pending"  # the bank has not called yet
        deadline = time.monotonic() + 15
        while len(bank.get("/deliveries").json()) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert [d["http_status"] for d in bank.get("/deliveries").json()] == [200, 200, 200]
    assert balance(client, headers) == 70_000
