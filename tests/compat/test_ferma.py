"""The Ferma-compatible API against fixtures written from Ferma's documents and its clients:
the token, every receipt type mapped onto the right receipt, status by ReceiptId and by
InvoiceId, the registry, idempotency (1019 with the existing ReceiptId), errors, the callback;
every answer in Ferma's envelope (JSON Schemas in fixtures/)."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from fleet.accounts.mail import MemoryMailSender
from fleet.compat.callbacks import deliver_due
from fleet.compat.models import CompatReceipt
from fleet.core.clock import SettableClock
from fleet.receipts.models import Receipt
from fleet.receipts.routing import route
from fleet.sandbox.jobs import settle
from tests.compat.helpers import (
    Client,
    check_schema,
    client_company,
    fixture_names,
    load,
    sandbox_key,
    subset,
)

BASE = "/ferma/api"
SANDBOX = "/sandbox/ferma/api"


def envelope(answer: httpx.Response, data_schema: str | None = None) -> dict[str, Any]:
    """Ferma answers 200 whatever happens, in its envelope."""
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    check_schema("ferma_envelope", body)
    if data_schema is not None and body["Status"] == "Success":
        check_schema(data_schema, body["Data"])
    return body


def token(client: TestClient, login: str, key: str, base: str = BASE) -> str:
    body = envelope(
        client.post(
            f"{base}/Authorization/CreateAuthToken", json={"Login": login, "Password": key}
        ),
        "ferma_token",
    )
    assert body["Status"] == "Success", body
    value: str = body["Data"]["AuthToken"]
    return value


@pytest.fixture(name="company")
def fixture_company(client: TestClient, mailer: MemoryMailSender) -> Client:
    return client_company(client, mailer)


def test_create_auth_token_and_its_refusals(client: TestClient, company: Client) -> None:
    assert token(client, company.login, company.key)
    for body in ({"Login": company.login, "Password": "obl_x"}, {}, {"Login": 1, "Password": 2}):
        got = envelope(client.post(f"{BASE}/Authorization/CreateAuthToken", json=body))
        assert got["Status"] == "Failed" and got["Error"]["Code"] == 1001
    sandbox = sandbox_key(client, company)
    prod_in_sandbox = client.post(
        f"{SANDBOX}/Authorization/CreateAuthToken",
        json={"Login": company.login, "Password": company.key},
    )
    assert envelope(prod_in_sandbox)["Error"]["Code"] == 1001
    assert token(client, sandbox[:12], sandbox, SANDBOX)


def test_every_fixture_is_accepted_and_becomes_the_right_receipt(
    client: TestClient, company: Client, engine: Engine
) -> None:
    t = token(client, company.login, company.key)
    for name in fixture_names("ferma"):
        fx = load("ferma", name, company.inn)
        body = envelope(
            client.post(f"{BASE}/kkt/cloud/receipt", params={"AuthToken": t}, json=fx["request"]),
            "ferma_receipt",
        )
        assert body["Status"] == "Success", (name, body)
        receipt_id = body["Data"]["ReceiptId"]
        with Session(engine) as s:
            row = s.exec(select(CompatReceipt).where(CompatReceipt.uuid == receipt_id)).one()
            rec = s.get(Receipt, row.receipt_id)
            assert rec is not None
        expect = dict(fx["expect"])
        assert rec.kind == expect.pop("kind"), name
        assert rec.total == expect.pop("total"), name
        assert rec.external_id == fx["request"]["Request"]["InvoiceId"]
        subset(expect, rec.body)
        assert row.operation == fx["request"]["Request"]["Type"]
        # its status, by ReceiptId and by InvoiceId: NEW until a register makes it
        for ask in ({"ReceiptId": receipt_id}, {"InvoiceId": rec.external_id}):
            status = envelope(
                client.post(
                    f"{BASE}/kkt/cloud/status", params={"AuthToken": t}, json={"Request": ask}
                ),
                "ferma_status",
            )
            assert (
                status["Data"]["StatusName"] == "NEW" and status["Data"]["ReceiptId"] == receipt_id
            )


def test_a_repeated_invoice_id_is_1019_with_the_existing_receipt_id(
    client: TestClient, company: Client, engine: Engine
) -> None:
    t = token(client, company.login, company.key)
    fx = load("ferma", "income", company.inn)
    url = f"{BASE}/kkt/cloud/receipt"
    first = envelope(client.post(url, params={"AuthToken": t}, json=fx["request"]))["Data"]
    again = envelope(client.post(url, params={"AuthToken": t}, json=fx["request"]))
    assert again["Status"] == "Failed" and again["Error"]["Code"] == 1019
    # in a structured field, and between -- -- as Ferma's clients parse it
    assert again["Data"]["ReceiptId"] == first["ReceiptId"]
    found = re.search(r"--([a-f0-9-]+)--", again["Error"]["Message"])
    assert found is not None and found.group(1) == first["ReceiptId"]
    other = json.loads(json.dumps(fx["request"]))
    other["Request"]["CustomerReceipt"]["Items"].pop()
    other["Request"]["CustomerReceipt"]["PaymentItems"][0]["Sum"] = 344.66
    changed = envelope(client.post(url, params={"AuthToken": t}, json=other))
    assert changed["Error"]["Code"] == 1019 and changed["Data"] == first
    with Session(engine) as s:
        assert len(s.exec(select(Receipt)).all()) == 1


def test_errors_in_the_envelope_change_nothing(
    client: TestClient, company: Client, engine: Engine, clock: SettableClock
) -> None:
    t = token(client, company.login, company.key)
    fx = load("ferma", "income", company.inn)
    url = f"{BASE}/kkt/cloud/receipt"
    assert envelope(client.post(url, json=fx["request"]))["Error"]["Code"] == 1002
    bad = json.loads(json.dumps(fx["request"]))
    bad["Request"]["Inn"] = "7707083893"
    bad["Request"]["CustomerReceipt"]["Items"][0]["Vat"] = "Vat99"
    bad["Request"]["CustomerReceipt"]["Items"][1]["Price"] = "5.001"
    got = envelope(client.post(url, params={"AuthToken": t}, json=bad))
    assert got["Error"]["Code"] == 1003
    for field in ("Request.Inn", "Items[0].Vat", "Items[1].Price"):
        assert field in got["Error"]["Message"]
    wrong_type = json.loads(json.dumps(fx["request"]))
    wrong_type["Request"]["Type"] = "Gift"
    assert (
        envelope(client.post(url, params={"AuthToken": t}, json=wrong_type))["Status"] == "Failed"
    )
    status = client.post(
        f"{BASE}/kkt/cloud/status", params={"AuthToken": t}, json={"Request": {"InvoiceId": "no"}}
    )
    assert envelope(status)["Error"]["Code"] == 1004
    with Session(engine) as s:
        assert s.exec(select(Receipt)).all() == []
    clock.advance(24 * 3600 + 1)
    assert (
        envelope(client.post(url, params={"AuthToken": t}, json=fx["request"]))["Error"]["Code"]
        == 1002
    )


def test_the_registry_lists_a_period(
    client: TestClient, company: Client, clock: SettableClock
) -> None:
    t = token(client, company.login, company.key)
    url = f"{BASE}/kkt/cloud/receipt"
    for name in ("income", "expense"):
        fx = load("ferma", name, company.inn)
        envelope(client.post(url, params={"AuthToken": t}, json=fx["request"]))
        clock.advance(3600)
    listed = envelope(
        client.post(
            f"{BASE}/kkt/cloud/list",
            params={"AuthToken": t},
            json={
                "Request": {"StartDate": "2026-02-10T00:00:00", "EndDate": "2026-02-10T12:30:00"}
            },
        )
    )
    assert [r["InvoiceId"] for r in listed["Data"]] == ["ferma-income-1"]
    for row in listed["Data"]:
        check_schema("ferma_status", row)
    everything = envelope(
        client.post(
            f"{BASE}/kkt/cloud/list",
            params={"AuthToken": t},
            json={"Request": {"StartDateUtc": "2026-02-10T00:00:00",
                              "EndDateUtc": "2026-02-11T00:00:00"}},
        )
    )  # fmt: skip
    assert [r["InvoiceId"] for r in everything["Data"]] == ["ferma-income-1", "ferma-expense-1"]
    no_period = client.post(f"{BASE}/kkt/cloud/list", params={"AuthToken": t}, json={})
    assert envelope(no_period)["Error"]["Code"] == 1003


def test_fiscalised_in_the_sandbox_status_and_callback(
    client: TestClient, company: Client, engine: Engine, clock: SettableClock
) -> None:
    key = sandbox_key(client, company)
    t = token(client, key[:12], key, SANDBOX)
    fx = load("ferma", "income", company.inn)
    made = envelope(
        client.post(f"{SANDBOX}/kkt/cloud/receipt", params={"AuthToken": t}, json=fx["request"])
    )
    receipt_id = made["Data"]["ReceiptId"]
    settle(engine, clock)
    status = envelope(
        client.post(
            f"{SANDBOX}/kkt/cloud/status",
            params={"AuthToken": t},
            json={"Request": {"ReceiptId": receipt_id}},
        ),
        "ferma_status",
    )["Data"]
    assert (status["StatusCode"], status["StatusName"]) == (1, "PROCESSED")
    device = status["Device"]
    assert device["FN"].startswith("9999") and int(device["FDN"]) >= 1 and int(device["FPD"]) > 0
    # the production contour knows nothing of it
    prod = token(client, company.login, company.key)
    other = client.post(
        f"{BASE}/kkt/cloud/status",
        params={"AuthToken": prod},
        json={"Request": {"ReceiptId": receipt_id}},
    )
    assert envelope(other)["Error"]["Code"] == 1004
    seen: list[httpx.Request] = []

    def receiver(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200)

    with Session(engine) as s, httpx.Client(transport=httpx.MockTransport(receiver)) as http:
        assert deliver_due(s, clock, http) == 1
    (req,) = seen
    assert str(req.url) == "https://shop.example.ru/ferma/callback"
    sent = json.loads(req.content)
    check_schema("ferma_envelope", sent)
    check_schema("ferma_status", sent["Data"])
    assert sent["Data"]["ReceiptId"] == receipt_id and sent["Data"]["Device"] == device


def test_a_receipt_no_register_can_make_is_kkt_error(
    client: TestClient, company: Client, clock: SettableClock, engine: Engine
) -> None:
    t = token(client, company.login, company.key)
    fx = load("ferma", "expense", company.inn)
    made = envelope(
        client.post(f"{BASE}/kkt/cloud/receipt", params={"AuthToken": t}, json=fx["request"])
    )
    route(engine, clock)  # the company has no register: the part fails at once
    data = envelope(
        client.post(
            f"{BASE}/kkt/cloud/status",
            params={"AuthToken": t},
            json={"Request": {"ReceiptId": made["Data"]["ReceiptId"]}},
        ),
        "ferma_status",
    )["Data"]
    assert (data["StatusCode"], data["StatusName"], data["Device"]) == (3, "KKT_ERROR", None)
    assert "Нет подходящей кассы" in data["StatusMessage"]


def test_fields_oblako_does_not_model_are_refused_by_name(
    client: TestClient, company: Client, engine: Engine
) -> None:
    """Whatever a Ferma client may send that Oblako cannot put on an FFD 1.2 receipt is named
    in the refusal, never dropped: FFD 1.1 marking forms, sectoral and user requisites,
    fractional marking, a planned status that is no 2003 value."""
    t = token(client, company.login, company.key)
    fx = load("ferma", "income_sdk_ts_v284", company.inn)
    bad = json.loads(json.dumps(fx["request"]))
    receipt = bad["Request"]["CustomerReceipt"]
    receipt["CustomUserProperty"] = {"Name": "Заказ", "Value": "7781"}
    receipt["IndustryRequisite"] = {"FoivId": "001", "DocDate": "01.01.2026", "DocNumber": "1",
                                    "Value": "x"}  # fmt: skip
    receipt["Items"][0]["MarkingCodeData"]["PlannedStatus"] = "SOLD_TWICE"
    receipt["Items"][0]["MarkingCodeData"]["Fractional"] = {"Numerator": 1, "Denominator": 2}
    receipt["Items"][1]["MarkingCode"] = "444D00000000000000000000"
    got = envelope(client.post(f"{BASE}/kkt/cloud/receipt", params={"AuthToken": t}, json=bad))
    assert got["Error"]["Code"] == 1003
    for field in (
        "CustomerReceipt.CustomUserProperty",
        "CustomerReceipt.IndustryRequisite",
        "Items[0].MarkingCodeData.PlannedStatus",
        "Items[0].MarkingCodeData.Fractional",
        "Items[1].MarkingCode",
    ):
        assert field in got["Error"]["Message"], field
    with Session(engine) as s:
        assert s.exec(select(Receipt)).all() == []
