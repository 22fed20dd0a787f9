"""Receipts end to end: the API, routing, the command sender, registers on simulated drives over
MQTT, the ingest, the simulated OFD, statuses and the drives' archives.

Brokers: the embedded amqtt broker, and the Mosquitto at MQTT_URL when set (a unique topic
root). Database: SQLite, or a throwaway PostgreSQL database with DATABASE_URL.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from firmware.agent import Agent
from firmware.clock import SystemClock as FirmwareClock
from firmware.drive import FiscalDrive
from firmware.journal import Journal
from firmware.ofdanswers import OfdAnswers
from firmware.outbox import Outbox
from firmware.register import Register as FirmwareRegister
from firmware.storage import FileStorage
from fleet.accounts.mail import MemoryMailSender
from fleet.core.clock import SystemClock
from fleet.core.config import Settings
from fleet.link.commands import enqueue
from fleet.link.ingest_models import LinkCommand
from fleet.main import create_app
from fleet.receipts.models import ReceiptPart, RoutingProfile
from fleet.receipts.routing import candidates
from fleet.receipts.runner import PahoPublisher, ReceiptWorker
from fleet.receipts.service import MSK
from fleet.registers.models import Register, RegisterState
from hil import scenarios
from hil.transport import SerialTransport
from oblako.register_mqtt import make_client
from oblako.register_run import _ofd_client
from simulator.broker import EmbeddedBroker
from simulator.ofd import OfdConfig, OfdServer
from tests.firmware.test_register import registration_request
from tests.fleet.helpers import token_from
from tests.fleet.oracle import company_requisites
from tests.link.test_ingest import (
    Broker,
    IngestThread,
    SimRegister,
    assert_exactly_once,
    serials,
    wait_for,
)
from tests.receipts.builders import sale

QR = re.compile(r"^t=\d{8}T\d{4}&s=\d+\.\d{2}&fn=\d{16}&i=\d+&fp=\d+&n=[1-4]$")
KINDS = ("sale", "sale_return", "expense", "expense_return", "sale_correction")
OPERATION = {"sale": 1, "sale_return": 2, "expense": 3, "expense_return": 4}


def request_for(i: int) -> dict[str, Any]:
    """Receipt i of the run: every kind in turn; the last one too large for one document."""
    kind = KINDS[i % len(KINDS)]
    if i == 29:
        big = sale(f"e2e-{i}", 1000 * 300, items=300, vat="vat22")
        for n, it in enumerate(big["items"]):
            it["name"] = f"Позиция {n:04d}: длинное название, чтобы чек не поместился в один ФД"
        return big
    if kind == "sale_correction":
        today = dt.datetime.now(MSK).date().isoformat()
        return sale(
            f"e2e-{i}", 1000 + 13 * i, vat="vat22",
            correction={"type": "self", "original_date": today},
        )  # fmt: skip
    return sale(f"e2e-{i}", 1000 + 13 * i, vat="vat22", operation=kind)


class OfdRegister(SimRegister):
    """SimRegister whose runtime delivers its documents to a (simulated) OFD.

    Wired as `run_mqtt` does, but the agent runs its service duties (the OFD client's steps)
    every 20 ms instead of every second and its OFD client polls the drive every 0.5 s instead
    of every 60 s, so thirty receipts reach the OFD in seconds.
    """

    ofd = ""
    answers_resend_s = 30.0  # firmware/ofdanswers.py's default

    def start(self) -> None:
        self.stop = threading.Event()

        def serve() -> None:
            try:
                client = make_client(
                    "paho", self.broker.account_url(self.serial), self.root, self.serial
                )
                storage = FileStorage(str(self.dir / "journal"))
                clock = FirmwareClock()
                port = SerialTransport(self.server.path)
                try:
                    drive = FiscalDrive(port, clock)
                    drive.idle = client.tick
                    ofd = _ofd_client(drive, self.ofd, clock)
                    assert ofd is not None
                    ofd.idle_poll_s = 0.5  # poll the drive for unsent documents twice a second
                    reg = FirmwareRegister(
                        drive,
                        Journal(storage),
                        clock,
                        None,
                        storage=storage,
                        ofd=ofd,
                    )
                    reg.trust_time("host")
                    agent = Agent(
                        reg, client, Outbox(storage, clock), self.root, self.serial, "cpython",
                        service_every_s=0.02,
                        answers=OfdAnswers(storage, clock, resend_s=self.answers_resend_s),
                    )  # fmt: skip
                    agent.run(self.stop.is_set)
                finally:
                    port.close()
                    storage.close()
            except BaseException as e:  # reported by the test
                self.errors.append(e)

        self.thread = threading.Thread(target=serve, daemon=True)
        self.thread.start()


@pytest.fixture(params=["amqtt", "mosquitto-env"])
def broker(request: pytest.FixtureRequest) -> Iterator[Broker]:
    if request.param == "amqtt":
        with EmbeddedBroker() as b:
            yield Broker(b.url, shared=False)
    else:
        url = os.environ.get("MQTT_URL")
        if not url:
            pytest.skip("MQTT_URL is not set: no Mosquitto to test against")
        yield Broker(url, shared=True)


def _unconfirmed(engine: Engine) -> list[object]:
    """What the database says of parts not yet confirmed (for a failure's message)."""
    from fleet.documents.models import FiscalDocument
    from fleet.link.ingest_models import PendingOfdAnswer

    with Session(engine) as s:
        out: list[object] = []
        for p in s.execute(select(ReceiptPart).where(ReceiptPart.status != "confirmed")).scalars():  # type: ignore[arg-type]
            doc = s.execute(
                select(FiscalDocument.ofd_status).where(  # type: ignore[call-overload]
                    FiscalDocument.fn_number == p.fn_number, FiscalDocument.fd_number == p.fd_number
                )
            ).first()
            out.append((p.fn_number, p.fd_number, p.status, doc))
        out.append(s.execute(select(PendingOfdAnswer)).scalars().all())
        return out


def integrator_for(client: TestClient, mailer: MemoryMailSender) -> tuple[dict[str, str], int]:
    """Sign up the company the registers are registered to (its INN) and make an API token."""
    _inn, ogrn = company_requisites(1)
    body = {
        "email": "shop@example.ru",
        "password": "верный-пароль-123",
        "company_name": "ООО «Магазин»",
        "inn": scenarios.INN,
        "ogrn": ogrn,
    }
    assert client.post("/api/auth/signup", json=body).status_code == 201
    assert client.post("/api/auth/confirm", json={"token": token_from(mailer)}).status_code == 200
    signin = client.post(
        "/api/auth/signin", json={"email": body["email"], "password": body["password"]}
    )
    owner = {"Authorization": f"Bearer {signin.json()['token']}"}
    company_id = client.get("/api/me", headers=owner).json()["company"]["id"]
    roles = {r["name"]: r["id"] for r in client.get("/api/roles", headers=owner).json()}
    made = client.post(
        "/api/tokens", json={"name": "Магазин", "role_id": roles["Интегратор"]}, headers=owner
    ).json()
    return {"Authorization": f"Bearer {made['token']}"}, company_id


def test_thirty_receipts_fiscalised_exactly_once_and_confirmed(
    engine: Engine, broker: Broker, settings: Settings, tmp_path: Path
) -> None:
    root = f"receipts-test/{uuid.uuid4().hex[:10]}"
    clock = SystemClock()
    mailer = MemoryMailSender()
    app = create_app(settings, clock=clock, mailer=mailer, engine=engine)
    names = serials(3)
    ofd = OfdServer(OfdConfig(sign_algorithm="sha256"))
    ofd.start()
    stop = threading.Event()
    regs: list[OfdRegister] = []
    publisher: PahoPublisher | None = None
    worker_thread: threading.Thread | None = None
    ingest: IngestThread | None = None
    with TestClient(app) as client:
        h, company_id = integrator_for(client, mailer)
        with Session(engine, expire_on_commit=False) as s:
            rows = [
                Register(
                    serial=n,
                    state=RegisterState.ACTIVE.value,
                    company_id=company_id,
                    tariff_code="business",
                    created_at=clock.wall(),
                )
                for n in names
            ]
            s.add_all(rows)
            s.flush()
            for r in rows:
                assert r.id is not None
                s.add(
                    RoutingProfile(
                        register_id=r.id,
                        inn=scenarios.INN,
                        profile={"ffd": "1.2", "tax_systems": ["osn"]},
                        updated_at=clock.wall(),
                    )
                )
            s.commit()
        try:
            ingest = IngestThread(engine, broker, root, f"fleet-ingest-{uuid.uuid4().hex[:6]}")
            for n in names:
                reg = OfdRegister(tmp_path, n, broker, root)
                reg.ofd = f"{ofd.host}:{ofd.port}"
                regs.append(reg)
                reg.start()
            publisher = PahoPublisher(broker.url)
            worker = ReceiptWorker(engine, publisher, clock, root=root, quiet_s=2.0)
            worker_thread = threading.Thread(target=worker.run, args=(stop,), daemon=True)
            worker_thread.start()
            # the fleet registers each register with the tax service's data (the same sender)
            with Session(engine) as s:
                for r in rows:
                    assert r.id is not None and r.serial is not None
                    enqueue(
                        s, clock, register_id=r.id, serial=r.serial, request_id="reg-1",
                        action="registration", body=registration_request(),
                    )  # fmt: skip
                s.commit()

            def ready() -> int:
                with engine.connect() as conn:
                    found = candidates(conn, {company_id}, clock.wall()).get(company_id, [])
                return sum(c.ready for c in found)

            assert wait_for(lambda: ready() == 3, 30), (ready(), [r.errors for r in regs])
            # thirty receipts through the API
            ids = []
            for i in range(30):
                answer = client.post("/api/receipts", json=request_for(i), headers=h)
                assert answer.status_code == 201, answer.text
                assert answer.json()["kind"] == KINDS[i % len(KINDS)] or i == 29
                ids.append(answer.json()["id"])

            def statuses() -> Counter[str]:
                return Counter(
                    client.get(f"/api/receipts/{i}", headers=h).json()["status"] for i in ids
                )

            assert wait_for(lambda: statuses()["confirmed"] == 30, 90, 0.5), (
                statuses(),
                worker.stats,
                [r.errors for r in regs],
                _unconfirmed(engine),
            )
            # a repeat of a finished receipt is the same receipt, nothing new is sent
            again = client.post("/api/receipts", json=request_for(0), headers=h)
            assert again.status_code == 200 and again.json()["id"] == ids[0]
            receipts = [client.get(f"/api/receipts/{i}", headers=h).json() for i in ids]
        finally:
            stop.set()
            if worker_thread is not None:
                worker_thread.join(15)
            if publisher is not None:
                publisher.close()
            for r in regs:
                r.close()
            if ingest is not None:
                ingest.close()
            ofd.stop()
    # every receipt fiscalised exactly once: the parts' (FN, FD, ФП) are the drives' receipts
    made = set()
    for rec in receipts:
        assert len(rec["parts"]) == (2 if rec["external_id"] == "e2e-29" else 1)
        assert sum(p["total"] for p in rec["parts"]) == rec["total"]
        for part in rec["parts"]:
            assert part["status"] == "confirmed" and part["ofd_status"] == "accepted"
            assert QR.match(part["qr"]), part["qr"]
            fn, fd, fp = part["fn_number"], part["fd_number"], part["fiscal_sign"]
            assert f"fn={fn}&i={fd}&fp={fp}&n={OPERATION.get(rec['kind'], 1)}" in part["qr"]
            assert part["shift_number"] >= 1 and part["receipt_number"] >= 1
            made.add((fn, fd, fp, part["total"]))
    archive = {
        (fn, fd, fs, total)
        for r in regs
        for fn, fd, fs, kind, total in r.expected()
        if kind in (3, 31)  # receipts and correction receipts
    }
    assert len(made) == 31 and made == archive
    assert_exactly_once(engine, regs)
    # least loaded first: every register took a share
    with Session(engine) as s:
        per_register = Counter(s.execute(select(ReceiptPart.register_id)).scalars().all())  # type: ignore[call-overload]
        registrations = (
            s.execute(
                select(LinkCommand.result_status).where(LinkCommand.request_id == "reg-1")  # type: ignore[call-overload]
            )
            .scalars()
            .all()
        )
    assert len(per_register) == 3 and min(per_register.values()) >= 5, per_register
    assert sum(per_register.values()) == 31
    assert registrations == ["made"] * 3
    assert all(not r.errors for r in regs)
