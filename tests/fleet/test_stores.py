"""Stores: validation messages, CRUD through the API, tenant isolation, the page's form."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from fleet.accounts.mail import MemoryMailSender
from fleet.audit import AuditLog
from fleet.core import csrf
from fleet.deps import SESSION_COOKIE
from fleet.stores.models import Store
from fleet.stores.service import valid_timezone
from tests.fleet.test_registers import _signed_in

SHOP: dict[str, Any] = {
    "name": "Магазин на Ленина",
    "kind": "shop",
    "postal_code": "620014",
    "region_code": "66",
    "city": "Екатеринбург",
    "street": "ул. Ленина",
    "house": "24/8",
    "timezone": "Asia/Yekaterinburg",
}


def test_create_read_update_delete_a_shop(client: TestClient, mailer: MemoryMailSender) -> None:
    headers = _signed_in(client, mailer, 1)
    made = client.post("/api/stores", json=SHOP, headers=headers)
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["kind_label"] == "Магазин" and body["flat"] is None
    assert body["address"] == "620014, регион 66, Екатеринбург, ул. Ленина, д. 24/8"
    store_id = body["id"]
    assert client.get(f"/api/stores/{store_id}", headers=headers).json()["name"] == SHOP["name"]
    online = {"name": "Сайт", "kind": "online", "website": "https://shop.example.ru"}
    changed = client.put(f"/api/stores/{store_id}", json=online, headers=headers)
    assert changed.status_code == 200, changed.text
    assert changed.json()["city"] is None and changed.json()["timezone"] == "Europe/Moscow"
    assert [s["name"] for s in client.get("/api/stores", headers=headers).json()] == ["Сайт"]
    assert client.delete(f"/api/stores/{store_id}", headers=headers).status_code == 204
    assert client.get(f"/api/stores/{store_id}", headers=headers).status_code == 404


@pytest.mark.parametrize(
    ("change", "field", "reason"),
    [
        ({"name": "  "}, "name", "Укажите название магазина"),
        ({"postal_code": "62001"}, "postal_code", "Почтовый индекс — 6 цифр"),
        ({"postal_code": "62001а"}, "postal_code", "Почтовый индекс — 6 цифр"),
        ({"region_code": "00"}, "region_code", "Код региона — две цифры от 01 до 99"),
        ({"region_code": "7"}, "region_code", "Код региона — две цифры от 01 до 99"),
        ({"city": ""}, "city", "Укажите населённый пункт"),
        ({"street": ""}, "street", "Укажите улицу"),
        ({"house": ""}, "house", "Укажите дом"),
        ({"timezone": "Europe/Atlantis"}, "timezone", "Неизвестный часовой пояс"),
        ({"timezone": "../etc/passwd"}, "timezone", "Неизвестный часовой пояс"),
        ({"kind": "online"}, "website", "Укажите адрес сайта интернет-магазина"),
        (
            {"kind": "online", "website": "ftp://shop.example.ru"},
            "website",
            "Адрес сайта — вида https://shop.example.ru",
        ),
        (
            {"kind": "online", "website": "https://localhost"},
            "website",
            "Адрес сайта — вида https://shop.example.ru",
        ),
        ({"kind": "mobile", "postal_code": "1"}, "postal_code", "Почтовый индекс — 6 цифр"),
    ],
)
def test_invalid_store_gets_a_russian_reason_and_changes_nothing(
    client: TestClient,
    mailer: MemoryMailSender,
    engine: Engine,
    change: dict[str, str],
    field: str,
    reason: str,
) -> None:
    headers = _signed_in(client, mailer, 1)
    refused = client.post("/api/stores", json={**SHOP, **change}, headers=headers)
    assert refused.status_code == 422, refused.text
    assert refused.json()["fields"][field].startswith(reason)
    with Session(engine) as session:
        assert session.exec(select(Store)).all() == []
        assert not session.exec(select(AuditLog).where(AuditLog.action == "store.create")).all()


def test_mobile_trade_without_address_and_online_ignores_address(
    client: TestClient, mailer: MemoryMailSender
) -> None:
    headers = _signed_in(client, mailer, 1)
    mobile = client.post("/api/stores", json={"name": "Лоток", "kind": "mobile"}, headers=headers)
    assert mobile.status_code == 201 and mobile.json()["address"] == "—"
    online = client.post(
        "/api/stores",
        json={**SHOP, "kind": "online", "website": "https://магазин.рф/каталог"},
        headers=headers,
    )
    assert online.status_code == 201, online.text
    assert online.json()["postal_code"] is None and online.json()["address"].startswith("https")


def test_tenant_isolation_and_store_in_use(client: TestClient, mailer: MemoryMailSender) -> None:
    first = _signed_in(client, mailer, 1)
    second = _signed_in(client, mailer, 2)
    store_id = client.post("/api/stores", json=SHOP, headers=first).json()["id"]
    for method in ("get", "delete"):
        assert getattr(client, method)(f"/api/stores/{store_id}", headers=second).status_code == 404
    assert client.put(f"/api/stores/{store_id}", json=SHOP, headers=second).status_code == 404
    assert client.get("/api/stores", headers=second).json() == []
    # a register placed in the store keeps it from being deleted
    client.post("/api/bookings", json={"quantity": 1}, headers=first)
    [register] = client.get("/api/registers", headers=first).json()["items"]
    placed = client.put(
        f"/api/registers/{register['id']}/store", json={"store_id": store_id}, headers=first
    )
    assert placed.status_code == 200 and placed.json()["store_id"] == store_id
    busy = client.delete(f"/api/stores/{store_id}", headers=first)
    assert busy.status_code == 409 and "перенесите" in busy.json()["message"]
    # another company cannot place its register in this store, nor touch this register
    client.post("/api/bookings", json={"quantity": 1}, headers=second)
    [theirs] = client.get("/api/registers", headers=second).json()["items"]
    foreign = client.put(
        f"/api/registers/{theirs['id']}/store", json={"store_id": store_id}, headers=second
    )
    assert foreign.status_code == 404 and "Магазин" in foreign.json()["message"]
    assert (
        client.put(
            f"/api/registers/{register['id']}/store", json={"store_id": None}, headers=second
        ).status_code
        == 404
    )


def test_store_page_adds_a_store_and_shows_reasons(
    client: TestClient, mailer: MemoryMailSender
) -> None:
    headers = _signed_in(client, mailer, 1)
    client.cookies.set(SESSION_COOKIE, headers["Authorization"].removeprefix("Bearer "))
    page = client.get("/stores")
    assert page.status_code == 200 and "Добавить магазин" in page.text
    token = client.cookies.get(csrf.COOKIE)
    bad = client.post("/stores", data={**SHOP, "postal_code": "12", csrf.FIELD: token})
    assert bad.status_code == 422 and "Почтовый индекс — 6 цифр" in bad.text
    good = client.post("/stores", data={**SHOP, csrf.FIELD: token}, follow_redirects=False)
    assert good.status_code == 303
    assert "ул. Ленина" in client.get("/stores").text
    assert client.post("/stores", data=SHOP).status_code == 403  # no CSRF token


def test_valid_timezone() -> None:
    assert valid_timezone("Europe/Moscow") and valid_timezone("Asia/Vladivostok")
    assert not valid_timezone("") and not valid_timezone("Moscow") and not valid_timezone(" UTC")
