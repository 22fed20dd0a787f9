"""The ATOL Online-compatible API against fixtures written from ATOL's documents and SDKs:
tokens, every operation mapped onto the right receipt, idempotency with the existing UUID,
errors by code, the report and the callback in ATOL's shape (JSON Schemas in fixtures/)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from fleet.accounts.mail import MemoryMailSender
from fleet.accounts.models import Company
from fleet.compat.auth import purge_expired
from fleet.compat.callbacks import deliver_due
from fleet.compat.models import CompatReceipt, CompatToken
from fleet.core.clock import SettableClock
from fleet.receipts.callbacks import SIGNATURE_HEADER, verify
from fleet.receipts.models import Receipt, ReceiptPart
from fleet.receipts.routing import route
from fleet.receipts.service import set_callback_settings
from fleet.sandbox.jobs import settle
from fleet.stores.models import Store
from tests.compat.helpers import (
    Client,
    check_schema,
    client_company,
    fixture_names,
    load,
    sandbox_key,
    subset,
)

BASE = "/atol/possystem"
SANDBOX = "/sandbox/atol/possystem"


def token(client: TestClient, login: str, key: str, base: str = BASE) -> str:
    answer = client.post(f"{base}/v4/getToken", json={"login": login, "pass": key})
    assert answer.status_code == 200, answer.text
    check_schema("atol_token", answer.json())
    value: str = answer.json()["token"]
    return value


@pytest.fixture(name="company")
def fixture_company(client: TestClient, mailer: MemoryMailSender) -> Client:
    return client_company(client, mailer)


def _receipt(engine: Engine, receipt_uuid: str) -> Receipt:
    with Session(engine) as s:
        row = s.exec(select(CompatReceipt).where(CompatReceipt.uuid == receipt_uuid)).one()
        rec = s.get(Receipt, row.receipt_id)
        assert rec is not None
        return rec


def test_get_token_takes_the_key_and_refuses_anything_else(
    client: TestClient, company: Client
) -> None:
    assert len(token(client, company.login, company.key)) == 64
    # ATOL v4 also takes the query form
    answer = client.get(f"{BASE}/v4/getToken", params={"login": company.login, "pass": company.key})
    assert answer.status_code == 200 and answer.json()["token"]
    for login, password in (
        (company.login, company.key + "x"),
        ("obl_wrongpref", company.key),
        (company.login, ""),
    ):
        bad = client.post(f"{BASE}/v4/getToken", json={"login": login, "pass": password})
        assert bad.status_code == 401
        check_schema("atol_token", bad.json())
        assert bad.json()["error"]["code"] == 12 and bad.json()["token"] is None
    # a production key has no token in the sandbox, a sandbox key none in production
    sandbox = sandbox_key(client, company)
    assert (
        client.post(
            f"{SANDBOX}/v4/getToken", json={"login": company.login, "pass": company.key}
        ).json()["error"]["code"]
        == 12
    )
    assert (
        client.post(f"{BASE}/v4/getToken", json={"login": sandbox[:12], "pass": sandbox}).json()[
            "error"
        ]["code"]
        == 12
    )
    assert token(client, sandbox[:12], sandbox, SANDBOX)


def test_every_fixture_is_accepted_and_becomes_the_right_receipt(
    client: TestClient, company: Client, engine: Engine
) -> None:
    t = token(client, company.login, company.key)
    names = fixture_names("atol")
    assert len(names) >= 10
    for name in names:
        fx = load("atol", name, company.inn)
        url = f"{BASE}/{fx['version']}/{company.inn}-main/{fx['operation']}"
        answer = client.post(url, json=fx["request"], headers={"Token": t})
        assert answer.status_code == 200, (name, answer.text)
        body = answer.json()
        check_schema("atol_accepted", body)
        assert body["status"] == "wait" and body["error"] is None
        rec = _receipt(engine, body["uuid"])
        expect = dict(fx["expect"])
        assert rec.kind == expect.pop("kind"), name
        assert rec.total == expect.pop("total"), name
        assert rec.external_id == fx["request"]["external_id"]
        subset(expect, rec.body)
        # and the report says so, in ATOL's shape
        report = client.get(
            f"{BASE}/v4/{company.inn}-main/report/{body['uuid']}", headers={"Token": t}
        )
        assert report.status_code == 200
        check_schema("atol_report", report.json())
        assert report.json()["status"] == "wait" and report.json()["payload"] is None
        assert report.json()["external_id"] == fx["request"]["external_id"]


def test_a_repeated_external_id_is_error_33_with_the_existing_uuid(
    client: TestClient, company: Client, engine: Engine
) -> None:
    fx = load("atol", "v4_sell", company.inn)
    h = {"Token": token(client, company.login, company.key)}
    url = f"{BASE}/v4/{company.inn}-main/sell"
    first = client.post(url, json=fx["request"], headers=h).json()
    again = client.post(url, json=fx["request"], headers=h)
    assert again.status_code == 400
    check_schema("atol_accepted", again.json())
    assert again.json()["uuid"] == first["uuid"] and again.json()["error"]["code"] == 33
    assert "atol-v4-sell-1" in again.json()["error"]["text"]
    # another body under the same external_id: the same answer, the same uuid, nothing new
    other = json.loads(json.dumps(fx["request"]))
    other["receipt"]["items"][1]["quantity"] = 11
    other["receipt"]["items"][1]["sum"] = 1100.0
    other["receipt"]["payments"][0]["sum"] = other["receipt"]["total"] = 1400.0
    changed = client.post(url, json=other, headers=h).json()
    assert changed["uuid"] == first["uuid"] and changed["error"]["code"] == 33
    assert "другим содержимым" in changed["error"]["text"]
    with Session(engine) as s:
        assert len(s.exec(select(Receipt)).all()) == 1
    # a receipt made through Oblako's own API is the same namespace: its uuid is made now
    native = client.post(
        "/api/receipts",
        json={**_native(), "id": "native-1"},
        headers={"Authorization": f"Bearer {company.key}"},
    )
    assert native.status_code == 201, native.text
    clash = {**fx["request"], "external_id": "native-1"}
    answer = client.post(url, json=clash, headers=h).json()
    assert answer["error"]["code"] == 33 and answer["uuid"]


def _native() -> dict[str, Any]:
    return {
        "operation": "sale",
        "tax_system": "osn",
        "items": [
            {"name": "Товар", "price": 100, "quantity": "1", "measure": 0, "sum": 100,
             "vat": "vat22", "type": 1, "method": "full_payment"}
        ],
        "payments": {"electronic": 100},
    }  # fmt: skip


def test_errors_answer_with_atol_codes_and_change_nothing(
    client: TestClient, company: Client, engine: Engine, clock: SettableClock
) -> None:
    fx = load("atol", "v4_sell", company.inn)
    url = f"{BASE}/v4/{company.inn}-main/sell"
    t = token(client, company.login, company.key)

    def call(body: Any, headers: dict[str, str], path: str = url) -> tuple[int, dict[str, Any]]:
        answer = client.post(path, json=body, headers=headers)
        check_schema("atol_accepted", answer.json())
        return answer.status_code, answer.json()["error"]

    assert call(fx["request"], {})[0] == 401 and call(fx["request"], {})[1]["code"] == 10
    assert call(fx["request"], {"Token": "nope"})[1]["code"] == 11
    status, err = call(fx["request"], {"Token": t}, f"{BASE}/v4/9999999999-main/sell")
    assert (status, err["code"]) == (401, 20)
    bad = json.loads(json.dumps(fx["request"]))
    bad["receipt"]["items"][0]["price"] = 1000.005  # a fraction of a kopeck
    bad["receipt"]["items"][0]["colour"] = "red"
    status, err = call(bad, {"Token": t})
    assert (status, err["code"]) == (400, 32)
    assert "items[0].price" in err["text"] and "items[0].colour" in err["text"]
    # the shared schema's rules: a sum that is not price × quantity
    wrong = json.loads(json.dumps(fx["request"]))
    wrong["receipt"]["items"][0]["sum"] = 301.0
    status, err = call(wrong, {"Token": t})
    assert (status, err["code"]) == (400, 32) and "items[0].sum" in err["text"]
    assert client.post(url, json=wrong, headers={"Token": t}).json()["status"] == "fail"
    # a v4 correction without items cannot be an FFD 1.2 correction
    corr = {
        "external_id": "c-1",
        "correction": {"company": fx["request"]["receipt"]["company"],
                       "correction_info": {"type": "self", "base_date": "09.02.2026"},
                       "payments": [{"type": 1, "sum": 10}],
                       "vats": [{"type": "vat22", "sum": 1.8}]},
    }  # fmt: skip
    status, err = call(corr, {"Token": t}, f"{BASE}/v4/{company.inn}-main/sell_correction")
    assert status == 400 and "items" in err["text"]
    with Session(engine) as s:
        assert s.exec(select(Receipt)).all() == []
    # report: malformed and unknown uuids are error 30
    rep = client.get(f"{BASE}/v4/{company.inn}-main/report/xyz", headers={"Token": t})
    assert rep.status_code == 400 and rep.json()["error"]["code"] == 30
    unknown = "0b6e4ae6-3f7c-4c8b-9b8a-2f9e0c7d5a11"
    rep = client.get(f"{BASE}/v4/{company.inn}-main/report/{unknown}", headers={"Token": t})
    assert rep.json()["error"]["code"] == 30
    # the token lives 24 hours
    clock.advance(24 * 3600 + 1)
    assert call(fx["request"], {"Token": t})[1]["code"] == 11


def test_a_revoked_key_ends_its_tokens(client: TestClient, company: Client) -> None:
    t = token(client, company.login, company.key)
    tokens = client.get("/api/tokens", headers=company.owner).json()
    answer = client.delete(f"/api/tokens/{tokens[0]['id']}", headers=company.owner)
    assert answer.status_code in (200, 204), answer.text
    fx = load("atol", "v4_sell", company.inn)
    got = client.post(
        f"{BASE}/v4/{company.inn}-main/sell", json=fx["request"], headers={"Token": t}
    )
    assert got.status_code == 401 and got.json()["error"]["code"] == 11


def test_another_company_sees_nothing(
    client: TestClient, company: Client, mailer: MemoryMailSender
) -> None:
    fx = load("atol", "v4_sell", company.inn)
    t = token(client, company.login, company.key)
    made = client.post(
        f"{BASE}/v4/{company.inn}-main/sell", json=fx["request"], headers={"Token": t}
    )
    other = client_company(client, mailer, 2)
    t2 = token(client, other.login, other.key)
    rep = client.get(
        f"{BASE}/v4/{other.inn}-main/report/{made.json()['uuid']}", headers={"Token": t2}
    )
    assert rep.json()["error"]["code"] == 30
    # nor may it use the first company's group
    got = client.post(
        f"{BASE}/v4/{company.inn}-main/sell", json=fx["request"], headers={"Token": t2}
    )
    assert got.json()["error"]["code"] == 20


def test_fiscalised_in_the_sandbox_reported_and_called_back_signed(
    client: TestClient, company: Client, engine: Engine, clock: SettableClock
) -> None:
    key = sandbox_key(client, company)
    t = token(client, key[:12], key, SANDBOX)
    secret = "callback-secret-0123456789"
    fx = load("atol", "v4_sell", company.inn)
    answer = client.post(
        f"{SANDBOX}/v4/{company.inn}-main/sell", json=fx["request"], headers={"Token": t}
    )
    assert answer.status_code == 200, answer.text
    uuid = answer.json()["uuid"]
    rec = _receipt(engine, uuid)
    # callbacks are signed with the receipt's company's secret: here the sandbox twin's
    with Session(engine) as s:
        set_callback_settings(s, rec.company_id, "https://shop.example.ru/events", secret, clock)
    settle(engine, clock)
    report = client.get(f"{SANDBOX}/v4/{company.inn}-main/report/{uuid}", headers={"Token": t})
    body = report.json()
    check_schema("atol_report", body)
    assert body["status"] == "done", body
    payload = body["payload"]
    assert payload["total"] == 1300.0 and payload["fns_site"] == "www.nalog.gov.ru"
    assert payload["fiscal_document_number"] >= 1 and payload["fiscal_document_attribute"] > 0
    assert dt.datetime.strptime(payload["receipt_datetime"], "%d.%m.%Y %H:%M:%S")
    # the callback: ATOL's report shape, at the request's callback_url, signed
    seen: list[httpx.Request] = []

    def receiver(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200)

    with Session(engine) as s, httpx.Client(transport=httpx.MockTransport(receiver)) as http:
        assert deliver_due(s, clock, http) == 1
        assert deliver_due(s, clock, http) == 0  # delivered once
    (req,) = seen
    assert str(req.url) == "https://shop.example.ru/atol/callback"
    sent = json.loads(req.content)
    check_schema("atol_report", sent)
    assert sent["uuid"] == uuid and sent["status"] == "done"
    assert sent["payload"]["fiscal_document_number"] == payload["fiscal_document_number"]
    assert verify(secret, req.headers[SIGNATURE_HEADER], req.content, clock.wall())


def test_a_failed_callback_is_retried_with_backoff(
    client: TestClient, company: Client, engine: Engine, clock: SettableClock
) -> None:
    key = sandbox_key(client, company)
    t = token(client, key[:12], key, SANDBOX)
    fx = load("atol", "v4_sell", company.inn)
    client.post(f"{SANDBOX}/v4/{company.inn}-main/sell", json=fx["request"], headers={"Token": t})
    settle(engine, clock)
    answers = [500, 200]

    def receiver(_request: httpx.Request) -> httpx.Response:
        return httpx.Response(answers.pop(0))

    with Session(engine) as s, httpx.Client(transport=httpx.MockTransport(receiver)) as http:
        assert deliver_due(s, clock, http) == 0
        assert deliver_due(s, clock, http) == 0  # not due yet
        clock.advance(11)
        assert deliver_due(s, clock, http) == 1
    assert answers == []


def test_a_receipt_no_register_can_make_reports_fail(
    client: TestClient, company: Client, engine: Engine, clock: SettableClock
) -> None:
    t = token(client, company.login, company.key)
    fx = load("atol", "v4_sell", company.inn)
    made = client.post(
        f"{BASE}/v4/{company.inn}-main/sell", json=fx["request"], headers={"Token": t}
    )
    route(engine, clock)  # the company has no register: the part fails at once
    body = client.get(
        f"{BASE}/v4/{company.inn}-main/report/{made.json()['uuid']}", headers={"Token": t}
    ).json()
    check_schema("atol_report", body)
    assert body["status"] == "fail" and body["payload"] is None
    assert body["error"]["code"] == 2 and "Нет подходящей кассы" in body["error"]["text"]


def test_a_store_group_pins_the_store(
    client: TestClient, company: Client, engine: Engine, clock: SettableClock
) -> None:
    with Session(engine) as s:
        rec_company = _company_id(s, company.inn)
        store = Store(company_id=rec_company, name="Магазин на Тверской", created_at=clock.wall())
        s.add(store)
        s.commit()
        store_id = store.id
        assert store_id is not None
    t = token(client, company.login, company.key)
    fx = load("atol", "v4_sell", company.inn)
    made = client.post(
        f"{BASE}/v4/{company.inn}-store{store_id}/sell", json=fx["request"], headers={"Token": t}
    )
    assert made.status_code == 200, made.text
    with Session(engine) as s:
        row = s.exec(select(CompatReceipt).where(CompatReceipt.uuid == made.json()["uuid"])).one()
        parts = s.exec(select(ReceiptPart).where(ReceiptPart.receipt_id == row.receipt_id)).all()
    assert row.group_code == f"{company.inn}-store{store_id}"
    assert [p.store_id for p in parts] == [store_id]
    other = client.post(
        f"{BASE}/v4/{company.inn}-store{store_id + 1}/sell",
        json=fx["request"],
        headers={"Token": t},
    )
    assert other.status_code == 401 and other.json()["error"]["code"] == 20


def _company_id(s: Session, inn: str) -> int:
    row = s.exec(select(Company).where(Company.inn == inn)).one()
    assert row.id is not None
    return row.id


def test_expired_tokens_are_forgotten_a_day_later(
    client: TestClient, company: Client, engine: Engine, clock: SettableClock
) -> None:
    token(client, company.login, company.key)
    clock.advance(24 * 3600 + 60)
    fresh = token(client, company.login, company.key)
    with Session(engine) as s:
        assert purge_expired(s, clock) == 0  # expired, but only just
        clock.advance(24 * 3600)
        assert purge_expired(s, clock) == 1
        assert len(s.exec(select(CompatToken)).all()) == 1
    fx = load("atol", "v4_sell", company.inn)
    got = client.post(
        f"{BASE}/v4/{company.inn}-main/sell", json=fx["request"], headers={"Token": fresh}
    )
    assert got.json()["error"]["code"] == 11  # 48 h after it was issued


def test_request_level_errors_follow_atols_table(
    client: TestClient, company: Client, engine: Engine
) -> None:
    """ATOL's §8.1 table (API_atol_online_v4.pdf 5.15, as SDKs reproduce it): 31 for an
    operation the version lacks, 40 for a body that is not JSON, 415/41 for a non-JSON
    Content-Type; ATOL's own texts; nothing is made."""
    fx = load("atol", "v4_sell", company.inn)
    h = {"Token": token(client, company.login, company.key)}
    group = f"{BASE}/v4/{company.inn}-main"
    for path in (f"{group}/sell_refund_correction", f"{group}/cancel"):
        answer = client.post(path, json=fx["request"], headers=h)
        check_schema("atol_accepted", answer.json())
        assert answer.status_code == 400 and answer.json()["error"]["code"] == 31
        assert answer.json()["status"] is None  # ATOL's table: no status for 31
        assert "не поддерживается" in answer.json()["error"]["text"]
    raw = client.post(
        f"{group}/sell", content=b"{not json", headers={**h, "Content-Type": "application/json"}
    )
    assert raw.status_code == 400 and raw.json()["error"]["code"] == 40
    form = client.post(
        f"{group}/sell",
        content=json.dumps(fx["request"]).encode(),
        headers={**h, "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert form.status_code == 415 and form.json()["error"]["code"] == 41
    assert "application/x-www-form-urlencoded" in form.json()["error"]["text"]
    # the texts are ATOL's
    assert client.post(f"{group}/sell", json=fx["request"]).json()["error"]["text"] == (
        "Не распознан токен запроса"
    )
    bad = client.post(f"{BASE}/v4/getToken", json={"login": company.login, "pass": "x"})
    assert bad.json()["error"]["text"] == "Неверный логин или пароль"
    # v5 buyer requisites (1227/1228) are named in the refusal, never dropped
    v5 = load("atol", "v5_sell_sdk_sushi_market", company.inn)["request"]
    v5["receipt"]["client"].update(name="ООО «Покупатель»", inn="7707083893")
    refused = client.post(f"{BASE}/v5/{company.inn}-main/sell", json=v5, headers=h).json()
    assert refused["error"]["code"] == 32 and refused["status"] == "fail"
    assert "receipt.client.name" in refused["error"]["text"]
    assert "receipt.client.inn" in refused["error"]["text"]
    with Session(engine) as s:
        assert s.exec(select(Receipt)).all() == []


def test_a_repeat_of_a_fiscalised_receipt_is_still_33_wait_with_its_uuid(
    client: TestClient, company: Client, engine: Engine, clock: SettableClock
) -> None:
    """ATOL documents 33 with status "wait" and the first UUID; the report has the result."""
    key = sandbox_key(client, company)
    h = {"Token": token(client, key[:12], key, SANDBOX)}
    group = f"{company.inn}-main"
    fx = load("atol", "v5_sell_sdk_sushi_market", company.inn)
    url = f"{SANDBOX}/v5/{group}/sell"
    first = client.post(url, json=fx["request"], headers=h).json()
    settle(engine, clock)
    again = client.post(url, json=fx["request"], headers=h)
    assert again.status_code == 400
    assert again.json()["error"]["code"] == 33 and again.json()["status"] == "wait"
    assert again.json()["uuid"] == first["uuid"]
    report = client.get(f"{SANDBOX}/v5/{group}/report/{first['uuid']}", headers=h).json()
    check_schema("atol_report", report)
    assert report["status"] == "done" and report["payload"]["total"] == 1248.0


def test_an_unexpected_failure_is_atols_500_50(
    client: TestClient, company: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fault inside an operation (here: the database layer raising) answers ATOL's 500/50
    in ATOL's shape, so an SDK reads `error.code` instead of choking on an HTML page."""
    import fleet.compat.atol.api as atol_api

    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("database went away")

    h = {"Token": token(client, company.login, company.key)}
    monkeypatch.setattr(atol_api.compat, "create", broken)
    fx = load("atol", "v4_sell", company.inn)
    answer = client.post(f"{BASE}/v4/{company.inn}-main/sell", json=fx["request"], headers=h)
    assert answer.status_code == 500
    check_schema("atol_accepted", answer.json())
    assert answer.json()["error"]["code"] == 50 and answer.json()["status"] is None
