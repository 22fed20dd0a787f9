"""The sandbox: a client's twin with a simulated register and a test drive. Test receipts are
fiscalised there and only there; keys never cross contours; a sandbox costs nothing; and no
sandbox flow reaches the (simulated, counted) tax service."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from fleet.accounts.mail import MemoryMailSender
from fleet.accounts.models import Company
from fleet.billing.models import RegisterPeriod
from fleet.billing.subscriptions import charge_monthly
from fleet.core.clock import SettableClock
from fleet.jobs.schedule import SCHEDULE
from fleet.receipts.models import Receipt, ReceiptPart
from fleet.receipts.routing import route
from fleet.receipts.service import create_receipt
from fleet.registers.models import Register
from fleet.registration.gateway import HttpFnsGateway
from fleet.registration.jobs import report_job
from fleet.registration.models import RegistrationApplication
from fleet.sandbox.jobs import sandbox_billing, settle
from fleet.sandbox.models import SandboxCompany, SandboxRegister
from fleet.sandbox.service import send_test_receipt
from protocol.kep.testca import TestCa
from simulator.fns import create_app as create_fns
from tests.compat.helpers import Client, client_company, load, sandbox_key
from tests.receipts.builders import add_register, sale

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


@pytest.fixture(name="company")
def fixture_company(client: TestClient, mailer: MemoryMailSender) -> Client:
    return client_company(client, mailer)


def _company_id(engine: Engine, inn: str) -> int:
    with Session(engine) as s:
        row = s.exec(select(Company).where(Company.inn == inn)).one()
        assert row.id is not None
        return row.id


def test_a_test_receipt_is_fiscalised_in_the_twin_only(
    client: TestClient, company: Client, engine: Engine, clock: SettableClock
) -> None:
    cid = _company_id(engine, company.inn)
    with Session(engine, expire_on_commit=False) as s:
        rec = send_test_receipt(s, clock, cid)
        again = send_test_receipt(s, clock, cid)
        twin = s.get(SandboxCompany, cid)
        assert twin is not None
        assert rec.company_id == again.company_id == twin.sandbox_company_id != cid
        assert rec.id != again.id and rec.status == "accepted"
        # one twin, one simulated register, whatever the number of test receipts
        assert len(s.exec(select(SandboxCompany)).all()) == 1
        assert len(s.exec(select(SandboxRegister)).all()) == 1
    settle(engine, clock)
    with Session(engine) as s:
        done = s.get(Receipt, rec.id)
        assert done is not None and done.status == "fiscalised"
        (part,) = s.exec(select(ReceiptPart).where(ReceiptPart.receipt_id == rec.id)).all()
        sim = s.exec(select(SandboxRegister)).one()
        assert part.register_id == sim.register_id and part.fn_number == sim.fn_number
        assert part.qr is not None and f"fn={sim.fn_number}" in part.qr
        # the production company has no receipt at all
        assert s.exec(select(Receipt).where(Receipt.company_id == cid)).all() == []


def test_sandbox_and_production_receipts_never_cross_registers(
    client: TestClient, company: Client, engine: Engine, clock: SettableClock
) -> None:
    cid = _company_id(engine, company.inn)
    with Session(engine) as s:
        prod_company = s.get(Company, cid)
        assert prod_company is not None
        production = add_register(s, clock, prod_company, "PROD0001")
        test_id = send_test_receipt(s, clock, cid).id
        real_id = create_receipt(s, cid, sale("real-1", 1000, vat="vat22"), clock=clock)[0].id
        production_id = production.id
    stats = route(engine, clock)
    assert stats.routed == 2
    with Session(engine) as s:
        sim = s.exec(select(SandboxRegister)).one()
        placed = {p.receipt_id: p.register_id for p in s.exec(select(ReceiptPart)).all()}
    assert placed == {real_id: production_id, test_id: sim.register_id}
    # without a working production register a production receipt waits or fails: never the twin's
    with Session(engine) as s:
        reg = s.get(Register, production_id)
        assert reg is not None
        reg.state = "dead"
        s.add(reg)
        s.commit()
        lonely = create_receipt(s, cid, sale("real-2", 1000, vat="vat22"), clock=clock)[0].id
    settle(engine, clock)
    with Session(engine) as s:
        got = s.get(Receipt, lonely)
        assert got is not None and got.status == "failed"
        assert "нет работающей кассы" in (got.failure or "")


def test_keys_work_only_on_their_contour(
    client: TestClient, company: Client, engine: Engine, clock: SettableClock
) -> None:
    key = sandbox_key(client, company)
    sb = {"Authorization": f"Bearer {key}"}
    prod = {"Authorization": f"Bearer {company.key}"}
    body = sale("contour-1", 1000, vat="vat22")
    assert client.post("/api/receipts", json=body, headers=sb).status_code == 401
    refused = client.post("/sandbox/api/receipts", json=body, headers=prod)
    assert refused.status_code == 401 and "песочниц" in refused.json()["message"]
    made = client.post("/sandbox/api/receipts", json=body, headers=sb)
    assert made.status_code == 201, made.text
    assert made.json()["test"] is True
    rid = made.json()["id"]
    assert client.post("/sandbox/api/receipts", json=body, headers=sb).status_code == 200
    assert client.get(f"/sandbox/api/receipts/{rid}", headers=prod).status_code == 401
    assert client.get(f"/api/receipts/{rid}", headers=prod).status_code == 404
    settle(engine, clock)
    got = client.get("/sandbox/api/receipts", params={"external_id": "contour-1"}, headers=sb)
    assert got.status_code == 200 and got.json()["status"] == "fiscalised"
    info = client.get("/api/sandbox", headers=company.owner).json()
    assert info["group_codes"] == [f"{company.inn}-main"]
    assert info["atol_base"].endswith("/sandbox/atol/possystem")


def test_a_sandbox_costs_nothing_this_month_or_next(
    client: TestClient, company: Client, engine: Engine, clock: SettableClock
) -> None:
    cid = _company_id(engine, company.inn)
    with Session(engine) as s:
        send_test_receipt(s, clock, cid)
        sandbox_billing(s, clock)
        sim = s.exec(select(SandboxRegister)).one()
        charge_monthly(s, clock)
        s.commit()
        clock.advance(31 * 86400)  # next month: the job ran before the monthly charge
        charge_monthly(s, clock)
        s.commit()
        periods = s.exec(
            select(RegisterPeriod).where(RegisterPeriod.register_id == sim.register_id)
        ).all()
    assert [(p.period, p.status, p.amount) for p in periods] == [
        ("2026-02", "paid", 0),
        ("2026-03", "paid", 0),
    ]


class CountingFns:
    """The FNS simulator behind a counter of every HTTP request it receives."""

    def __init__(self) -> None:
        ca = TestCa()
        self.app = create_fns([ca.cert], ["Облако-Ф"], {"Облако-Ф": ["1.0.0"]})
        self.calls: list[str] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            self.calls.append(f"{scope['method']} {scope['path']}")
        await self.app(scope, receive, send)


def test_the_sandbox_never_reaches_the_tax_service(
    client: TestClient, company: Client, engine: Engine, clock: SettableClock
) -> None:
    fns = CountingFns()
    with TestClient(fns) as http:
        gateway = HttpFnsGateway("http://fns", client=http)
        # the counter counts: a direct call is seen
        gateway.poll("no-such-application")
        assert len(fns.calls) == 1
        fns.calls.clear()
        cid = _company_id(engine, company.inn)
        key = sandbox_key(client, company)
        client.post(
            "/sandbox/api/receipts",
            json=sale("fns-1", 1000, vat="vat22"),
            headers={"Authorization": f"Bearer {key}"},
        )
        with Session(engine) as s:
            send_test_receipt(s, clock, cid)
        # the same key through both compatible APIs' sandbox bases
        atol = client.post(
            "/sandbox/atol/possystem/v5/getToken", json={"login": key[:12], "pass": key}
        ).json()["token"]
        made = client.post(
            f"/sandbox/atol/possystem/v5/{company.inn}-main/sell",
            json=load("atol", "v5_sell_sdk_sushi_market", company.inn)["request"],
            headers={"Token": atol},
        )
        assert made.status_code == 200, made.text
        ferma = client.post(
            "/sandbox/ferma/api/Authorization/CreateAuthToken",
            json={"Login": key[:12], "Password": key},
        ).json()["Data"]["AuthToken"]
        made = client.post(
            "/sandbox/ferma/api/kkt/cloud/receipt",
            params={"AuthToken": ferma},
            json=load("ferma", "income_sdk_yii2_mirocow", company.inn)["request"],
        )
        assert made.json()["Status"] == "Success", made.text
        # the sandbox's jobs and the one job that talks to the tax service (the registration
        # reports), on the counted gateway; routing and tracking by `settle`
        jobs = [*(j for j in SCHEDULE if j.name.startswith("sandbox-")), report_job(gateway)]
        assert [j.name for j in jobs] == [
            "sandbox-registers",
            "sandbox-billing",
            "registration-reports",
        ]
        for _ in range(2):
            settle(engine, clock)
            for job in jobs:
                with Session(engine) as s:
                    job.run(s, clock)
                    s.commit()
            clock.advance(60)
        with Session(engine) as s:
            sims = s.exec(select(SandboxRegister)).all()
            regs = [s.get(Register, sim.register_id) for sim in sims]
            assert all(r is not None and r.rnm is None for r in regs)
            applications = s.exec(select(RegistrationApplication)).all()
            test_receipts = s.exec(select(Receipt)).all()
    assert fns.calls == []
    assert applications == []
    assert [r.status for r in test_receipts] == ["fiscalised"] * 4
