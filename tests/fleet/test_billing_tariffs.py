"""Tariffs: the defaults (idempotent), the client's list and page, operator edits."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from fleet.accounts.mail import MemoryMailSender
from fleet.billing.models import Tariff
from fleet.billing.tariffs import DEFAULT_TARIFFS, ensure_default_tariffs
from fleet.core.clock import SettableClock
from tests.fleet.test_billing_kit import make_operator, signed_in, use_cookie


def test_default_tariffs_are_inserted_once(engine: Engine, clock: SettableClock) -> None:
    with Session(engine) as session:
        assert ensure_default_tariffs(session, clock) == len(DEFAULT_TARIFFS)
        start = session.get(Tariff, "start")
        assert start is not None
        start.price_kop = 1  # an operator's change survives a second call
        session.add(start)
        session.commit()
        assert ensure_default_tariffs(session) == 0
        codes = session.exec(select(Tariff.code)).all()
        assert sorted(codes) == sorted(t.code for t in DEFAULT_TARIFFS)
        assert session.get(Tariff, "start").price_kop == 1  # type: ignore[union-attr]


def test_client_lists_tariffs_and_operator_edits_them(
    client: TestClient, mailer: MemoryMailSender, engine: Engine
) -> None:
    headers, _ = signed_in(client, mailer, 1)
    operator, _ = signed_in(client, mailer, 9)
    make_operator(engine, "billing9@example.ru")
    listed = client.get("/api/tariffs", headers=headers).json()
    assert [(t["code"], t["price_kop"], t["receipts_quota"], t["months"]) for t in listed] == [
        ("start", 150_000, 3_000, 1),
        ("year", 180_000, None, 12),
        ("business", 250_000, None, 1),
    ]
    new = {"code": "pro", "name": "Про", "price_kop": 300_000, "receipts_quota": 10_000}
    assert client.post("/api/operator/tariffs", json=new, headers=headers).status_code == 403
    created = client.post("/api/operator/tariffs", json=new, headers=operator)
    assert created.status_code == 201 and created.json()["active"] is True
    assert client.post("/api/operator/tariffs", json=new, headers=operator).status_code == 409
    bad = client.post(
        "/api/operator/tariffs",
        json={"code": "Плохой", "name": " ", "price_kop": -1, "receipts_quota": 0, "months": 0},
        headers=operator,
    )
    assert bad.status_code == 422
    assert set(bad.json()["fields"]) == {"code", "name", "price_kop", "receipts_quota", "months"}
    retired = client.put("/api/operator/tariffs", json={**new, "active": False}, headers=operator)
    assert retired.status_code == 200 and retired.json()["active"] is False
    missing = client.put("/api/operator/tariffs", json={**new, "code": "nope"}, headers=operator)
    assert missing.status_code == 404
    assert "pro" not in [t["code"] for t in client.get("/api/tariffs", headers=headers).json()]
    all_codes = [t["code"] for t in client.get("/api/operator/tariffs", headers=operator).json()]
    assert "pro" in all_codes
    refused = client.post(
        "/api/bookings", json={"quantity": 1, "tariff_code": "pro"}, headers=headers
    )
    assert refused.status_code == 422
    use_cookie(client, headers)
    page = client.get("/tariffs")
    assert page.status_code == 200
    for text in (
        "Старт",
        "1 500,00 ₽",
        "3 000",
        "без ограничений",
        "сразу за 12 мес.: 21 600,00 ₽",
    ):
        assert text in page.text, page.text[page.text.find("<main") :]
    assert "Про" not in page.text[page.text.find("<main") :]  # not the menu's «Пробить чек»
