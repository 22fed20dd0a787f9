"""The JSON API over HTTP: the account flow, errors, throttling, tenant isolation, OpenAPI."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from fleet.accounts.mail import MemoryMailSender
from fleet.core.clock import SettableClock
from tests.fleet.helpers import PASSWORD, token_from
from tests.fleet.oracle import SBER_INN, SBER_OGRN, company_requisites


def _signed_in(client: TestClient, mailer: MemoryMailSender, n: int) -> dict[str, str]:
    inn, ogrn = company_requisites(n)
    email = f"api{n}@example.ru"
    body = {
        "email": email,
        "password": PASSWORD,
        "company_name": f"ООО «API {n}»",
        "inn": inn,
        "ogrn": ogrn,
    }
    assert client.post("/api/auth/signup", json=body).status_code == 201
    assert client.post("/api/auth/confirm", json={"token": token_from(mailer)}).status_code == 200
    answer = client.post("/api/auth/signin", json={"email": email, "password": PASSWORD})
    assert answer.status_code == 200
    return {"Authorization": f"Bearer {answer.json()['token']}"}


def test_sign_up_confirm_sign_in_me_sign_out(client: TestClient, mailer: MemoryMailSender) -> None:
    body = {
        "email": "buh@romashka.ru",
        "password": PASSWORD,
        "company_name": "ООО «Ромашка»",
        "inn": SBER_INN,
        "ogrn": SBER_OGRN,
    }
    answer = client.post("/api/auth/signup", json=body)
    assert answer.status_code == 201, answer.text
    assert answer.json()["user"]["email_confirmed"] is False
    assert answer.json()["company"]["inn"] == SBER_INN
    refused = client.post("/api/auth/signin", json={"email": body["email"], "password": PASSWORD})
    assert refused.status_code == 401 and "не подтверждён" in refused.json()["message"]
    confirmed = client.post("/api/auth/confirm", json={"token": token_from(mailer)})
    assert confirmed.json()["email_confirmed"] is True
    token = client.post(
        "/api/auth/signin", json={"email": body["email"], "password": PASSWORD}
    ).json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    me = client.get("/api/me", headers=headers).json()
    assert me["user"]["email"] == "buh@romashka.ru"
    assert me["company"]["ogrn"] == SBER_OGRN
    assert me["user"]["created_at"].endswith("Z") or "+00:00" in me["user"]["created_at"]
    assert client.post("/api/auth/signout", headers=headers).status_code == 204
    assert client.get("/api/me", headers=headers).status_code == 401


def test_invalid_input_gives_fields_and_reasons(client: TestClient) -> None:
    body = {
        "email": "x",
        "password": PASSWORD,
        "company_name": "ООО",
        "inn": SBER_INN,
        "ogrn": "1027700132196",
    }
    answer = client.post("/api/auth/signup", json=body)
    assert answer.status_code == 422
    data: dict[str, Any] = answer.json()
    assert data["error"] == "invalid"
    assert set(data["fields"]) == {"email", "ogrn"}
    assert "Контрольная цифра ОГРН" in data["fields"]["ogrn"]


def test_no_token_is_401(client: TestClient) -> None:
    assert client.get("/api/me").status_code == 401
    bad = client.get("/api/bookings", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401 and bad.json()["error"] == "unauthenticated"


def test_throttling_answers_429_with_retry_after(
    client: TestClient, mailer: MemoryMailSender, clock: SettableClock
) -> None:
    _signed_in(client, mailer, 1)
    wrong = {"email": "api1@example.ru", "password": "неверный"}
    statuses = [client.post("/api/auth/signin", json=wrong).status_code for _ in range(6)]
    assert statuses == [401] * 5 + [429]
    locked = client.post(
        "/api/auth/signin", json={"email": "api1@example.ru", "password": PASSWORD}
    )
    assert locked.status_code == 429 and locked.headers["Retry-After"] == "900"
    clock.advance(900)
    right = {"email": "api1@example.ru", "password": PASSWORD}
    assert client.post("/api/auth/signin", json=right).status_code == 200


def test_tenant_isolation(client: TestClient, mailer: MemoryMailSender) -> None:
    a = _signed_in(client, mailer, 1)
    b = _signed_in(client, mailer, 2)
    booking_b = client.post("/api/bookings", json={"quantity": 3}, headers=b)
    assert booking_b.status_code == 201
    b_id = booking_b.json()["id"]
    company_b = client.get("/api/me", headers=b).json()["company"]["id"]
    assert client.get(f"/api/bookings/{b_id}", headers=b).status_code == 200
    denied = client.get(f"/api/bookings/{b_id}", headers=a)
    assert denied.status_code == 404 and denied.json()["message"] == f"Бронь № {b_id} не найдена"
    assert client.get(f"/api/companies/{company_b}", headers=a).status_code == 404
    assert client.get(f"/api/companies/{company_b}", headers=b).status_code == 200
    assert client.get("/api/bookings", headers=a).json() == []
    assert [x["id"] for x in client.get("/api/bookings", headers=b).json()] == [b_id]


def test_booking_api_shows_lapse_deadline(client: TestClient, mailer: MemoryMailSender) -> None:
    a = _signed_in(client, mailer, 1)
    created = client.post("/api/bookings", json={"quantity": 2}, headers=a).json()
    assert created["status"] == "active"
    assert created["lapses_at"] > created["created_at"]
    refused = client.post("/api/bookings", json={"quantity": 0}, headers=a)
    assert refused.status_code == 422 and "quantity" in refused.json()["fields"]


def test_openapi_lists_the_api(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    assert schema["info"]["title"].startswith("Облако")
    for path in ("/api/auth/signup", "/api/auth/signin", "/api/me", "/api/bookings/{booking_id}"):
        assert path in schema["paths"]
    assert "/signup" not in schema["paths"]  # pages are not API
