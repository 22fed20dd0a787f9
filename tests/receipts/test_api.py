"""The integrator API: validation by the shared schema, idempotency, splitting, lookups."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from fleet.accounts.mail import MemoryMailSender
from fleet.core.clock import SettableClock
from fleet.receipts.models import Receipt, ReceiptPart
from fleet.receipts.split import JSON_LIMIT, PART_LIMIT
from fleet.stores.models import Store
from protocol.portable import receipt as schema
from tests.fleet.test_access_roles import owner_headers, roles_by_name
from tests.receipts.builders import sale


def integrator(client: TestClient, mailer: MemoryMailSender, n: int = 1) -> dict[str, str]:
    """An API token with the built-in «Интегратор» role of company n."""
    h = owner_headers(client, mailer, n)
    role_id = roles_by_name(client, h)["Интегратор"]["id"]
    made = client.post("/api/tokens", json={"name": "Магазин", "role_id": role_id}, headers=h)
    assert made.status_code == 201, made.text
    return {"Authorization": f"Bearer {made.json()['token']}"}


def test_a_valid_receipt_is_accepted_and_found_by_id_and_external_id(
    client: TestClient, mailer: MemoryMailSender
) -> None:
    h = integrator(client, mailer)
    answer = client.post("/api/receipts", json=sale("order-1", 12345), headers=h)
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["status"] == "accepted" and body["status_label"] == "Принят"
    assert body["total"] == 12345 and body["kind"] == "sale" and len(body["parts"]) == 1
    assert body["parts"][0]["fd_number"] is None
    by_id = client.get(f"/api/receipts/{body['id']}", headers=h)
    assert by_id.status_code == 200 and by_id.json() == body
    by_ext = client.get("/api/receipts", params={"external_id": "order-1"}, headers=h).json()
    assert by_ext["items"] == [body]
    assert client.get("/api/receipts", params={"external_id": "nope"}, headers=h).status_code == 404
    # another company sees nothing of it
    other = integrator(client, mailer, 2)
    assert client.get(f"/api/receipts/{body['id']}", headers=other).status_code == 404


def test_every_problem_is_reported_by_field_in_russian(
    client: TestClient, mailer: MemoryMailSender, engine: Engine
) -> None:
    h = integrator(client, mailer)
    bad = sale("bad-1", 1000)
    bad["items"][0]["price"] = -5
    bad["items"][0]["vat"] = "vat99"
    bad["payments"] = {"electronic": 999}
    del bad["tax_system"]
    answer = client.post("/api/receipts", json=bad, headers=h)
    assert answer.status_code == 422, answer.text
    body = answer.json()
    fields = body["fields"]
    assert fields["items[0].price"] == "Цена не может быть отрицательной"
    assert "items[0].vat" in fields and fields["tax_system"] == "Обязательное поле"
    assert "Чек не прошёл проверку" in body["message"]
    # the same list the shared check gives, every one of them
    expected = schema.check(bad, None, "2024-01-15T10:30:00+03:00")[1]
    assert [(e["path"], e["code"]) for e in body["errors"]] == [(p, c) for p, c, _m in expected]
    # nothing was stored
    with Session(engine) as s:
        assert s.exec(select(Receipt)).all() == []
    # not JSON object at all
    assert client.post("/api/receipts", json=[1, 2], headers=h).status_code == 422


def test_permissions(client: TestClient, mailer: MemoryMailSender) -> None:
    assert client.post("/api/receipts", json=sale("x", 100)).status_code == 401
    h = owner_headers(client, mailer, 3)
    role_id = roles_by_name(client, h)["Бухгалтер"]["id"]
    made = client.post("/api/tokens", json={"name": "Бух", "role_id": role_id}, headers=h).json()
    bearer = {"Authorization": f"Bearer {made['token']}"}
    assert client.post("/api/receipts", json=sale("x", 100), headers=bearer).status_code == 403
    assert client.get("/api/receipts", headers=bearer).status_code == 200


_BASE = sale("same-1", 5000, items=2)


def _mutations() -> st.SearchStrategy[dict[str, Any]]:
    """Bodies under the same external id: equal to _BASE, or valid and different."""

    def change(total: int, items: int, pay: str, buyer: bool) -> dict[str, Any]:
        r = sale("same-1", total, items=items, payments={pay: total})
        if buyer:
            r["buyer_contact"] = "buyer@example.ru"
        return r

    return st.builds(
        change,
        st.integers(2000, 9000),
        st.integers(1, 2),
        st.sampled_from(["electronic", "cash"]),
        st.booleans(),
    )


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(body=_mutations())
def test_same_body_returns_the_receipt_and_another_body_is_409(
    client: TestClient, mailer: MemoryMailSender, body: dict[str, Any]
) -> None:
    key = str(id(client))  # hypothesis reuses the test's client across examples
    if key not in _STATE:
        _STATE[key] = integrator(client, mailer, 4)
    h = _STATE[key]
    first = client.post("/api/receipts", json=_BASE, headers=h)
    assert first.status_code in (200, 201), first.text
    rid = first.json()["id"]
    again = client.post("/api/receipts", json=copy.deepcopy(body), headers=h)
    if body == _BASE:
        assert again.status_code == 200 and again.json()["id"] == rid
    else:
        assert again.status_code == 409, again.text
        assert again.json()["receipt_id"] == rid
        assert again.json()["fields"]["receipt_id"] == str(rid)
        assert "same-1" in again.json()["message"]
    # key order never matters: the same body reversed is the same request
    reordered = dict(reversed(list(_BASE.items())))
    assert client.post("/api/receipts", json=reordered, headers=h).json()["id"] == rid


_STATE: dict[str, dict[str, str]] = {}


def test_idempotency_key_header(client: TestClient, mailer: MemoryMailSender) -> None:
    h = integrator(client, mailer, 5)
    k = {**h, "Idempotency-Key": "key-0001"}
    a = client.post("/api/receipts", json=sale("k-1", 700), headers=k)
    assert a.status_code == 201
    # the same key and body: the same receipt
    b = client.post("/api/receipts", json=sale("k-1", 700), headers=k)
    assert b.status_code == 200 and b.json()["id"] == a.json()["id"]
    # the same key with another request (even another external id): 409 naming the first
    c = client.post("/api/receipts", json=sale("k-2", 800), headers=k)
    assert c.status_code == 409 and c.json()["receipt_id"] == a.json()["id"]
    assert "Idempotency-Key" in c.json()["message"]
    bad = client.post("/api/receipts", json=sale("k-3", 800), headers={**h, "Idempotency-Key": " "})
    assert bad.status_code == 422 and "Idempotency-Key" in bad.json()["fields"]


def test_a_receipt_too_large_for_one_document_is_split_into_parts(
    client: TestClient, mailer: MemoryMailSender, engine: Engine
) -> None:
    h = integrator(client, mailer, 6)
    big = sale("big-1", 1000 * 300, items=300)
    for i, it in enumerate(big["items"]):
        it["name"] = f"Позиция номер {i:04d} с очень длинным названием для проверки деления чека"
    assert schema.check(big, None, "2024-01-15T10:30:00+03:00")[1][0][1] == "document_too_large"
    answer = client.post("/api/receipts", json=big, headers=h)
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert len(body["parts"]) >= 2 and body["total"] == 300_000
    assert sum(p["total"] for p in body["parts"]) == 300_000
    with Session(engine) as s:
        parts = s.exec(select(ReceiptPart).order_by(ReceiptPart.part_no)).all()  # type: ignore[arg-type]
    names = [it["name"] for p in parts for it in p.request["items"]]
    assert names == [it["name"] for it in big["items"]]  # every item once, in order
    for p in parts:
        norm, errs = schema.check(p.request, None, "2024-01-15T10:30:00+03:00")
        assert errs == [] and norm is not None
        assert schema.size(norm) <= PART_LIMIT
        assert sum(p.request["payments"].values()) == p.total
        assert len(str(p.request).encode()) < 2 * JSON_LIMIT
    assert len({p.request_id for p in parts}) == len(parts)


def test_list_by_period(client: TestClient, mailer: MemoryMailSender, clock: SettableClock) -> None:
    h = integrator(client, mailer, 7)
    start = clock.wall()
    for i in range(3):
        assert (
            client.post("/api/receipts", json=sale(f"p-{i}", 100 + i), headers=h).status_code == 201
        )
        clock.advance(3600)
    since = dt.datetime.fromtimestamp(start + 1800, dt.UTC).isoformat()
    until = dt.datetime.fromtimestamp(start + 2 * 3600 + 1, dt.UTC).isoformat()
    page = client.get("/api/receipts", params={"since": since, "until": until}, headers=h).json()
    assert [r["external_id"] for r in page["items"]] == ["p-2", "p-1"] and page["total"] == 2
    everything = client.get("/api/receipts", headers=h).json()
    assert [r["external_id"] for r in everything["items"]] == ["p-2", "p-1", "p-0"]
    queue = client.get("/api/receipts/queue", headers=h).json()
    assert queue == [
        {"group": "не назначены кассе", "waiting": 3, "queued": 0, "lag_s": 3 * 3600.0}
    ]


def test_callback_settings(client: TestClient, mailer: MemoryMailSender) -> None:
    owner = owner_headers(client, mailer, 8)
    assert client.get("/api/receipts/callback", headers=owner).json() is None
    bad = client.put(
        "/api/receipts/callback", json={"url": "ftp://x", "secret": "s" * 20}, headers=owner
    )
    assert bad.status_code == 422 and "url" in bad.json()["fields"]
    ok = client.put(
        "/api/receipts/callback",
        json={"url": "https://shop.example.ru/hook", "secret": "s" * 20},
        headers=owner,
    )
    assert ok.status_code == 200 and "secret" not in ok.json()
    assert client.get("/api/receipts/callback", headers=owner).json()["url"].endswith("/hook")


def test_every_kind_is_accepted_and_a_correction_becomes_a_correction_command(
    client: TestClient, mailer: MemoryMailSender, engine: Engine
) -> None:
    h = integrator(client, mailer, 9)
    kinds = ["sale", "sale_return", "expense", "expense_return"]
    for kind in kinds:
        answer = client.post(
            "/api/receipts", json=sale(f"kind-{kind}", 500, operation=kind), headers=h
        )
        assert answer.status_code == 201 and answer.json()["kind"] == kind, answer.text
    fix = sale("fix-1", 500, correction={"type": "order", "original_date": "2024-01-10"})
    no_order = client.post("/api/receipts", json=fix, headers=h)
    assert no_order.status_code == 422
    assert "номер предписания" in no_order.json()["fields"]["correction.order_number"]
    fix["correction"]["order_number"] = "ПР-7"
    answer = client.post("/api/receipts", json=fix, headers=h)
    assert answer.status_code == 201 and answer.json()["kind"] == "sale_correction"
    with Session(engine) as s:
        actions = {p.action for p in s.exec(select(ReceiptPart)).all()}
    assert actions == {"receipt", "correction"}


def test_a_receipt_may_name_one_of_the_companys_stores_and_no_other(
    client: TestClient, mailer: MemoryMailSender, engine: Engine
) -> None:
    h = integrator(client, mailer)
    other = integrator(client, mailer, 2)
    # the companies are found through a first receipt of each
    first = client.post("/api/receipts", json=sale("s-0", 100), headers=h).json()
    second = client.post("/api/receipts", json=sale("s-x", 100), headers=other).json()
    with Session(engine, expire_on_commit=False) as s:
        mine = s.get(Receipt, first["id"])
        theirs = s.get(Receipt, second["id"])
        assert mine is not None and theirs is not None
        shop = Store(company_id=mine.company_id, name="Моя точка", created_at=0.0)
        foreign = Store(company_id=theirs.company_id, name="Чужая точка", created_at=0.0)
        s.add(shop)
        s.add(foreign)
        s.commit()
    ok = client.post(
        "/api/receipts", json=sale("s-1", 200), params={"store_id": shop.id}, headers=h
    )
    assert ok.status_code == 201, ok.text
    refused = client.post(
        "/api/receipts", json=sale("s-2", 300), params={"store_id": foreign.id}, headers=h
    )
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["path"] == "store_id"
    with Session(engine) as s:
        parts = s.exec(select(ReceiptPart).where(ReceiptPart.receipt_id == ok.json()["id"])).all()
        assert [p.store_id for p in parts] == [shop.id]
        assert s.exec(select(Receipt).where(Receipt.external_id == "s-2")).first() is None
