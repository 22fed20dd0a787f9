"""An ATOL and a Ferma receipt end to end: the compat APIs, routing, the command sender, a
register on a simulated drive over MQTT (embedded broker), the ingest and the tracker; the
fiscal data comes back in each peer's shape and matches the drive's archive."""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from fleet.accounts.mail import MemoryMailSender
from fleet.core.clock import SystemClock
from fleet.core.config import Settings
from fleet.link.commands import enqueue
from fleet.main import create_app
from fleet.receipts.models import RoutingProfile
from fleet.receipts.routing import candidates
from fleet.receipts.runner import PahoPublisher, ReceiptWorker
from fleet.registers.models import Register, RegisterState
from hil import scenarios
from simulator.broker import EmbeddedBroker
from tests.compat.helpers import check_schema, load
from tests.firmware.test_register import registration_request
from tests.link.test_ingest import Broker, IngestThread, SimRegister, serials, wait_for
from tests.receipts.test_end_to_end import integrator_for


def _without_place(fx: dict[str, Any]) -> dict[str, Any]:
    """The fixture's request for a register registered for another place (no 1187)."""
    req = fx["request"]
    if "receipt" in req:
        req["receipt"]["company"].pop("payment_address", None)
        req.pop("service", None)
        return dict(req)
    else:
        r = req["Request"]["CustomerReceipt"]
        r.pop("BillAddress", None)
        r.pop("IsInternet", None)
        req["Request"].pop("CallbackUrl", None)
    return dict(req)


def test_an_atol_and_a_ferma_receipt_fiscalised_and_reported(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    root = f"compat-test/{uuid.uuid4().hex[:10]}"
    clock = SystemClock()
    mailer = MemoryMailSender()
    app = create_app(settings, clock=clock, mailer=mailer, engine=engine)
    stop = threading.Event()
    with EmbeddedBroker() as embedded, TestClient(app) as client:
        broker = Broker(embedded.url, shared=False)
        h, company_id = integrator_for(client, mailer)
        key = h["Authorization"].removeprefix("Bearer ")
        (name,) = serials(1)
        with Session(engine, expire_on_commit=False) as s:
            row = Register(
                serial=name,
                state=RegisterState.ACTIVE.value,
                company_id=company_id,
                tariff_code="business",
                created_at=clock.wall(),
            )
            s.add(row)
            s.flush()
            assert row.id is not None
            s.add(
                RoutingProfile(
                    register_id=row.id,
                    inn=scenarios.INN,
                    profile={"ffd": "1.2", "tax_systems": ["osn", "usn_income"]},
                    updated_at=clock.wall(),
                )
            )
            enqueue(
                s, clock, register_id=row.id, serial=name, request_id="reg-1",
                action="registration", body=registration_request(),
            )  # fmt: skip
            s.commit()
        ingest = IngestThread(engine, broker, root, f"fleet-ingest-{uuid.uuid4().hex[:6]}")
        reg = SimRegister(tmp_path, name, broker, root)
        reg.start()
        publisher = PahoPublisher(broker.url)
        worker = ReceiptWorker(engine, publisher, clock, root=root, quiet_s=2.0)
        worker_thread = threading.Thread(target=worker.run, args=(stop,), daemon=True)
        worker_thread.start()
        try:

            def ready() -> bool:
                with engine.connect() as conn:
                    found = candidates(conn, {company_id}, clock.wall()).get(company_id, [])
                return any(c.ready for c in found)

            assert wait_for(ready, 30), reg.errors
            # ATOL v4: token, sell, report until done
            atol_token = client.post(
                "/atol/possystem/v4/getToken", json={"login": key[:12], "pass": key}
            ).json()["token"]
            group = f"{scenarios.INN}-main"
            sell = _without_place(load("atol", "v4_sell", scenarios.INN))
            made = client.post(
                f"/atol/possystem/v4/{group}/sell", json=sell, headers={"Token": atol_token}
            )
            assert made.status_code == 200, made.text
            atol_uuid = made.json()["uuid"]
            # Ferma: token, Income, status until PROCESSED
            ferma_token = client.post(
                "/ferma/api/Authorization/CreateAuthToken",
                json={"Login": key[:12], "Password": key},
            ).json()["Data"]["AuthToken"]
            income = _without_place(load("ferma", "income", scenarios.INN))
            answer = client.post(
                "/ferma/api/kkt/cloud/receipt", params={"AuthToken": ferma_token}, json=income
            )
            assert answer.json()["Status"] == "Success", answer.text
            ferma_id = answer.json()["Data"]["ReceiptId"]

            def report() -> dict[str, Any]:
                got: dict[str, Any] = client.get(
                    f"/atol/possystem/v4/{group}/report/{atol_uuid}", headers={"Token": atol_token}
                ).json()
                return got

            def status() -> dict[str, Any]:
                got: dict[str, Any] = client.post(
                    "/ferma/api/kkt/cloud/status",
                    params={"AuthToken": ferma_token},
                    json={"Request": {"ReceiptId": ferma_id}},
                ).json()
                return got

            assert wait_for(lambda: report()["status"] == "done", 60, 0.3), (
                report(),
                worker.stats,
                reg.errors,
            )
            assert wait_for(lambda: status()["Data"]["StatusCode"] == 1, 60, 0.3), status()
            atol_report, ferma_status = report(), status()
        finally:
            stop.set()
            worker_thread.join(15)
            publisher.close()
            reg.close()
            ingest.close()
            time.sleep(0)
    check_schema("atol_report", atol_report)
    check_schema("ferma_status", ferma_status["Data"])
    archive = {(fn, fd, fs, total) for fn, fd, fs, kind, total in reg.expected() if kind == 3}
    payload = atol_report["payload"]
    assert (
        payload["fn_number"],
        payload["fiscal_document_number"],
        str(payload["fiscal_document_attribute"]),
        130000,
    ) in archive
    assert payload["total"] == 1300.0
    device = ferma_status["Data"]["Device"]
    assert (device["FN"], int(device["FDN"]), device["FPD"], 34966) in archive
    assert not reg.errors
