"""The operator console in Chromium, against a register on a simulated drive over MQTT:

- the operator sees the register in its rack slot, online; the register's link dies (its
  socket cut, so the broker publishes its last will) and the alarm appears on the alarms page
  without a reload;
- the operator sends an X-report and follows it to done on the register's page, and sets its
  desired state, which the register applies and reports ("ожидает применения" -> "применено");
- the operator declares a register dead: its unmade receipts move to another register, the
  one the archive shows made stays, and no receipt is given to two registers.

The fleet runs as in the other browser tests (uvicorn, SQLite, no job loop); this test runs
the ingest, the receipts worker (routing, the command sender, tracking) and the alarm job in
threads. The alarm job's clock is the system clock 150 s ahead (DESIGN decision 6: every rule
reads an injected clock), so the 120 s offline time-out has passed when the will arrives.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import Session, col, select

from firmware.agent import Agent, will
from firmware.clock import SystemClock as FirmwareClock
from firmware.drive import FiscalDrive
from firmware.journal import Journal
from firmware.outbox import Outbox
from firmware.register import Register as FirmwareRegister
from firmware.storage import FileStorage
from fleet.accounts.models import Company, User
from fleet.console.alarms import evaluate
from fleet.core.clock import SystemClock
from fleet.documents.models import FiscalDocument
from fleet.link.command_models import SentCommand
from fleet.link.ingest_models import DeviceShadow, LinkCommand, StoredWatermark
from fleet.receipts.models import ReceiptPart
from fleet.receipts.routing import route
from fleet.receipts.runner import PahoPublisher, ReceiptWorker
from fleet.receipts.service import create_receipt
from fleet.registers.models import Register, RegisterState
from hil.transport import SerialTransport
from oblako.mqtt_paho import PahoClient
from simulator.broker import EmbeddedBroker
from simulator.clock import SystemClock as SimClock
from simulator.fn import DriveModel, serve_pty
from tests.browser.conftest import Stack
from tests.browser.flow import signed_up_and_in
from tests.firmware.test_register import drive_config
from tests.link.test_ingest import Broker, IngestThread, wait_for
from tests.receipts.builders import add_register, sale


class AheadClock(SystemClock):
    """The system clock `ahead_s` in the future (for the alarm job only)."""

    def __init__(self, ahead_s: float) -> None:
        self.ahead_s = ahead_s

    def wall(self) -> float:
        return super().wall() + self.ahead_s


class LiveRegister:
    """The register runtime on a simulated drive (pty) over MQTT, wired as `run_mqtt` does,
    whose link can be cut without a DISCONNECT (so the broker sends the last will)."""

    def __init__(self, tmp: Path, serial: str, broker: Broker, root: str) -> None:
        self.serial, self.root, self.broker = serial, root, broker
        self.dir = tmp / serial
        self.dir.mkdir(parents=True)
        fn = f"9999{uuid.uuid4().int % 10**12:012d}"
        self.model = DriveModel(
            drive_config(fn_number=fn), clock=SimClock(), state_file=str(self.dir / "fn.json")
        )
        self.server = serve_pty(self.model)
        self.server.__enter__()
        self.stop = threading.Event()
        self.errors: list[BaseException] = []
        self.client: PahoClient | None = None
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        try:
            client = PahoClient(
                self.broker.url, self.serial, will=will(self.root, self.serial), keepalive_s=30
            )
            self.client = client
            storage = FileStorage(str(self.dir / "journal"))
            clock = FirmwareClock()
            port = SerialTransport(self.server.path)
            try:
                drive = FiscalDrive(port, clock)
                drive.idle = client.tick
                reg = FirmwareRegister(drive, Journal(storage), clock, None, storage=storage)
                reg.trust_time("host")
                agent = Agent(
                    reg,
                    client,
                    Outbox(storage, clock),
                    self.root,
                    self.serial,
                    "1.0.0",
                    state_every_s=1.0,
                )
                agent.run(self.stop.is_set)
            finally:
                port.close()
                storage.close()
        except BaseException as e:  # reported by the test
            self.errors.append(e)

    def cut_link(self) -> None:
        """Drop the register's TCP connection without DISCONNECT (the broker then sends its
        last will) and stop the runtime before it reconnects."""
        assert self.client is not None
        sock = self.client._c.socket()  # the paho client's own socket: the test cuts the wire
        assert isinstance(sock, socket.socket)
        self.stop.set()
        sock.shutdown(socket.SHUT_RDWR)
        self.thread.join(15)

    def close(self) -> None:
        self.stop.set()
        self.thread.join(15)
        self.server.__exit__(None, None, None)


@pytest.fixture(name="fleet_side")
def fixture_fleet_side(stack: Stack) -> Iterator[tuple[Broker, str]]:
    """A broker, the ingest, the receipts worker and the alarm job, for this test's root."""
    root = f"test/console/{uuid.uuid4().hex[:8]}"
    url = os.environ.get("MQTT_URL")
    embedded = None if url else EmbeddedBroker()
    if embedded is not None:
        embedded.__enter__()
        broker = Broker(embedded.url, shared=False)
    else:
        assert url is not None
        broker = Broker(url, shared=True)
    ingest = IngestThread(stack.engine, broker, root, f"console-ingest-{uuid.uuid4().hex[:6]}")
    publisher = PahoPublisher(broker.url)
    worker = ReceiptWorker(stack.engine, publisher, root=root, command_timeout_s=1.0)
    stop = threading.Event()
    ahead = AheadClock(150.0)

    def alarm_job() -> None:
        while not stop.is_set():
            with Session(stack.engine) as s:
                evaluate(s, ahead)
                s.commit()
            stop.wait(0.5)

    threads = [
        threading.Thread(target=worker.run, args=(stop, 0.1), daemon=True),
        threading.Thread(target=alarm_job, daemon=True),
    ]
    for t in threads:
        t.start()
    try:
        yield broker, root
    finally:
        stop.set()
        for t in threads:
            t.join(10)
        publisher.close()
        ingest.stop.set()
        ingest.thread.join(10)
        if embedded is not None:
            embedded.__exit__(None, None, None)


def _operator(page: Page, stack: Stack) -> int:
    """A new company's user, made an operator; its company id."""
    account = signed_up_and_in(page, stack)
    with Session(stack.engine) as s:
        user = s.exec(select(User).where(User.email == account.email)).one()
        user.is_operator = True
        s.add(user)
        s.commit()
        return user.company_id


def _online(stack: Stack, register_id: int) -> bool:
    with Session(stack.engine) as s:
        sh = s.get(DeviceShadow, register_id)
        return bool(sh and sh.online and sh.reported)


def test_offline_alarm_and_a_command_followed_to_done(
    page: Page, stack: Stack, fleet_side: tuple[Broker, str], tmp_path: Path
) -> None:
    broker, root = fleet_side
    company_id = _operator(page, stack)
    serial = f"CON{uuid.uuid4().hex[:10].upper()}"
    with Session(stack.engine) as s:
        reg = Register(
            serial=serial,
            model="Облако-Ф1",
            rack_slot="R7-S03",
            firmware_version="1.0.0",
            state=RegisterState.ACTIVE.value,
            company_id=company_id,
            created_at=time.time(),
        )
        s.add(reg)
        s.commit()
        rid = reg.id or 0
    live = LiveRegister(tmp_path, serial, broker, root)
    try:
        assert wait_for(lambda: _online(stack, rid), 20), live.errors
        page.goto("/console?rack=R7")
        row = page.locator(f'tr[data-serial="{serial}"]')
        expect(row).to_contain_text("S03")
        expect(row).to_contain_text("в сети")
        # a command, followed to done on the register's page
        row.get_by_role("link", name=serial).click()
        expect(page.get_by_test_id("online")).to_have_text("в сети")
        page.get_by_label("Команда").select_option("x_report")
        page.get_by_role("button", name="Отправить").click()
        command = page.get_by_test_id("commands").locator("tbody tr").first
        expect(command).to_contain_text("X-отчёт")
        expect(command.get_by_test_id("stage")).to_have_text("Выполнена", timeout=20_000)
        with Session(stack.engine) as s:
            [answer] = s.exec(select(LinkCommand).where(LinkCommand.register_id == rid)).all()
            assert answer.ack_status == "accepted" and answer.result_status == "done"
        # the desired state: saved, published (retained) by the worker, applied and reported
        page.get_by_label("Расхождение часов, с").fill("60")
        page.get_by_role("button", name="Сохранить желаемое").click()
        expect(page.get_by_test_id("desired-seq")).to_have_text("1")
        expect(page.get_by_test_id("desired")).to_contain_text("60")
        for _ in range(40):  # the page is not polled: reload until the register's state says so
            if page.get_by_test_id("desired-status").inner_text() == "применено":
                break
            time.sleep(0.5)
            page.reload()
        expect(page.get_by_test_id("desired-status")).to_have_text("применено")
        expect(page.get_by_test_id("desired-reported-seq")).to_have_text("1")
        # the link dies: the will, then the alarm, on the alarms page without a reload
        page.goto("/console/alarms")
        alarm = page.locator(f'tr[data-serial="{serial}"][data-rule="offline"]')
        expect(alarm).to_have_count(0)
        live.cut_link()
        assert wait_for(lambda: not _online(stack, rid), 20), "the last will did not arrive"
        expect(alarm).to_contain_text("Касса не в сети", timeout=20_000)
        expect(alarm).to_contain_text("Критическая")
        alarm.get_by_role("button", name="Принять").click()
        expect(page.locator(f'tr[data-serial="{serial}"][data-rule="offline"]')).to_contain_text(
            "Принята"
        )
    finally:
        live.close()
    assert not live.errors


def test_declare_a_register_dead_and_its_receipts_move_once(
    page: Page, stack: Stack, fleet_side: tuple[Broker, str]
) -> None:
    company_id = _operator(page, stack)
    tag = uuid.uuid4().hex[:6].upper()
    fn = f"9999{uuid.uuid4().int % 10**12:012d}"
    with Session(stack.engine, expire_on_commit=False) as s:
        company = s.get(Company, company_id)
        assert company is not None
        dead = add_register(s, SystemClock(), company, f"DEAD{tag}")
        spare = add_register(s, SystemClock(), company, f"SPARE{tag}", online=False)
        for i, total in enumerate([1100, 2200, 3300]):
            create_receipt(
                s, company, sale(f"dead-{tag}-{i}", total, vat="vat22"), clock=SystemClock()
            )
    route(stack.engine, SystemClock())  # all three go to the only register that is online
    with Session(stack.engine, expire_on_commit=False) as s:
        parts = s.exec(
            select(ReceiptPart)
            .where(ReceiptPart.company_id == company_id)
            .order_by(col(ReceiptPart.id))
        ).all()
        assert [p.register_id for p in parts] == [dead.id] * 3
        # the register made the first one (its result and document are stored), then died
        s.add(
            LinkCommand(
                register_id=dead.id or 0,
                request_id=parts[0].request_id,
                ack_status="accepted",
                result_status="made",
                result={"fn": fn, "fd": 1, "fp": "77"},
                result_at=time.time(),
            )
        )
        s.add(
            FiscalDocument(
                register_id=dead.id or 0,
                company_id=company_id,
                fn_number=fn,
                fd_number=1,
                doc_type=3,
                operation=1,
                total=1100,
                tax_system=1,
                fiscal_sign="77",
                issued_at=time.time(),
                received_at=time.time(),
                tlv=b"",
            )
        )
        s.add(
            StoredWatermark(
                fn_number=fn, register_id=dead.id or 0, through=1, highest=1, updated_at=time.time()
            )
        )
        for rid, online in ((dead.id, False), (spare.id, True)):
            sh = s.get(DeviceShadow, rid)
            assert sh is not None
            sh.online = online
            if rid == dead.id:
                sh.drive_fn, sh.drive_last_fd = fn, 1
            s.add(sh)
        s.commit()
    page.goto(f"/console/registers/{dead.id}")
    expect(page.locator("#dead").locator("..")).to_contain_text("будут переданы — 2")
    page.get_by_label("Причина").fill("не включается после грозы")
    page.get_by_role("button", name="Вывести из работы").click()
    expect(page.get_by_test_id("register-state")).to_have_text("Неисправна, выведена из работы")
    expect(page.get_by_test_id("dead-summary")).to_contain_text("переданы другим кассам — 2")
    expect(page.get_by_test_id("dead-summary")).to_contain_text("оставлены для сверки — 0")

    def moved() -> bool:
        with Session(stack.engine) as s:
            ps = s.exec(
                select(ReceiptPart)
                .where(ReceiptPart.company_id == company_id)
                .order_by(col(ReceiptPart.id))
            ).all()
            return [p.register_id for p in ps] == [dead.id, spare.id, spare.id]

    assert wait_for(moved, 10)  # the receipts worker routed them to the spare register
    with Session(stack.engine) as s:
        live = s.exec(
            select(SentCommand).where(
                col(SentCommand.register_id).in_([dead.id or 0, spare.id or 0]),
                SentCommand.status != "expired",
            )
        ).all()
        ps = s.exec(select(ReceiptPart).where(ReceiptPart.company_id == company_id)).all()
    # the one the register made was fiscalised from its result (the tracker), not moved
    assert sorted(p.status for p in ps) == ["fiscalised", "queued", "queued"]
    # every part is asked of exactly one register, under one request id
    asked = sorted(c.request_id.split(".")[0] for c in live)
    assert asked == sorted(p.request_id.split(".")[0] for p in ps)
    assert {(c.register_id, c.request_id) for c in live if c.register_id == spare.id} == {
        (spare.id, p.request_id) for p in ps if p.register_id == spare.id
    }
