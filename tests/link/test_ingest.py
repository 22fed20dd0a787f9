"""The fleet's MQTT ingest on real brokers: registers on simulated drives feed the database.

Brokers: the embedded amqtt broker (plain subscription, one worker), a private Mosquitto with
the shipped configuration and per-register accounts (tests/link/mosquitto.py), and the
Mosquitto at MQTT_URL when set. Database: SQLite, or a throwaway PostgreSQL database when
DATABASE_URL names one (tests/fleet/conftest.py's fixtures). The helpers here serve
test_durability.py too.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel

from fleet.core.clock import SettableClock
from fleet.core.db import make_engine
from fleet.documents.models import FiscalDocument
from fleet.link import credentials
from fleet.link.deadletter import unknown_serial_reason
from fleet.link.ingest import STORED_EVERY_S, Ingest, Stats, gaps, run_ingest
from fleet.link.ingest_models import DeadLetter, DeviceShadow, LinkCommand, StoredWatermark
from fleet.registers.models import Register
from oblako.mqtt_paho import parse_broker_url
from oblako.register_mqtt import run_mqtt
from protocol.fn.commands import parse_archive
from protocol.mqtt import codec
from simulator.broker import EmbeddedBroker
from simulator.clock import SystemClock
from simulator.fn import DriveModel, serve_pty
from tests.firmware.test_register import drive_config, registration_request, sale
from tests.fleet.conftest import PgServer, fixture_pg_server
from tests.link.mosquitto import Mosquitto

__all__ = ["fixture_engine", "fixture_pg_server"]

HAVE_MOSQUITTO = shutil.which("mosquitto") is not None or Path("/usr/sbin/mosquitto").exists()
needs_mosquitto = pytest.mark.skipif(not HAVE_MOSQUITTO, reason="mosquitto is not installed")


def wait_for(pred: Callable[[], bool], timeout: float = 20.0, step: float = 0.05) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(step)
    return pred()


def with_auth(url: str, user: str, password: str) -> str:
    b = parse_broker_url(url)
    return f"mqtt://{user}:{password}@{b.host}:{b.port}"


class Broker:
    """Where registers and the fleet meet: URLs per account (private Mosquitto has ACLs)."""

    def __init__(self, url: str, shared: bool, mosquitto: Mosquitto | None = None) -> None:
        self.url = url
        self.shared = shared
        self.mosquitto = mosquitto
        self.accounts: dict[str, str] = {}

    def account_url(self, user: str) -> str:
        pw = self.accounts.get(user)
        return with_auth(self.url, user, pw) if pw is not None else self.url


class SimRegister:
    """A simulated drive on a pty and `oblako register run --mqtt` on it (restartable)."""

    def __init__(
        self, tmp: Path, serial: str, broker: Broker, root: str, client_kind: str = "paho"
    ) -> None:
        self.serial = serial
        self.client_kind = client_kind
        self.dir = tmp / serial
        self.dir.mkdir(parents=True, exist_ok=True)
        self.broker = broker
        self.root = root
        self.model = DriveModel(
            # every drive its own FN number: (fn, fd) is unique across the fleet
            drive_config(fn_number=f"9999{uuid.uuid4().int % 10**12:012d}"),
            clock=SystemClock(),
            state_file=str(self.dir / "fn.json"),
        )
        self.server = serve_pty(self.model)
        self.server.__enter__()
        self.stop = threading.Event()
        self.thread: threading.Thread | None = None
        self.errors: list[BaseException] = []

    def start(self) -> None:
        self.stop = threading.Event()

        def serve() -> None:
            try:
                run_mqtt(
                    self.server.path,
                    None,
                    self.dir / "journal",
                    self.broker.account_url(self.serial),
                    self.serial,
                    root=self.root,
                    client_kind=self.client_kind,
                    stop=self.stop,
                )
            except BaseException as e:  # reported by the test
                self.errors.append(e)

        self.thread = threading.Thread(target=serve, daemon=True)
        self.thread.start()

    def halt(self) -> None:
        self.stop.set()
        if self.thread is not None:
            self.thread.join(15)

    def close(self) -> None:
        self.halt()
        self.server.__exit__(None, None, None)

    def expected(self) -> set[tuple[str, int, str, int, int | None]]:
        """(fn, fd, fs, type, total) of every document in the drive's archive."""
        fn = self.model.state.fn_number
        out = set()
        for doc in self.model.state.archive:
            rec = parse_archive(doc.doc_type, doc.record)
            out.add((fn, doc.fd, str(rec.fp), doc.doc_type & 0x7F, rec.get("total_kop")))
        return out


class Commander:
    """A fleet client that sends commands (and watches what the fleet sends back)."""

    def __init__(self, broker: Broker, root: str) -> None:
        b = parse_broker_url(broker.account_url("fleet-ingest"))
        self.root = root
        self.seen: list[tuple[str, dict[str, Any]]] = []
        self.c = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"cmd-{uuid.uuid4().hex[:8]}")
        if b.username:
            self.c.username_pw_set(b.username, b.password)
        self.c.on_message = lambda _c, _u, m: self.seen.append(
            (m.topic, json.loads(m.payload) if m.payload else {})
        )
        self.c.connect(b.host, b.port)
        self.c.subscribe(f"{root}/v1/reg/+/stored", qos=1)
        self.c.loop_start()

    def command(self, serial: str, rid: str, action: str, request: dict[str, Any]) -> None:
        body = {
            "v": 1,
            "id": rid,
            "ttl": 600,
            "issued_at": int(time.time()),
            "action": action,
            "request": request,
        }
        topic = f"{self.root}/v1/reg/{serial}/cmd"
        self.c.publish(topic, codec.encode("cmd", body), qos=1).wait_for_publish(5)

    def publish(self, topic: str, payload: bytes) -> None:
        self.c.publish(topic, payload, qos=1).wait_for_publish(5)

    def close(self) -> None:
        self.c.loop_stop()
        self.c.disconnect()


class IngestThread:
    """run_ingest in a thread of the test process."""

    def __init__(self, engine: Engine, broker: Broker, root: str, client_id: str) -> None:
        self.stop = threading.Event()
        self.ready = threading.Event()
        self.stats: Stats | None = None
        self.error: BaseException | None = None

        def work() -> None:
            try:
                self.stats = run_ingest(
                    engine,
                    broker.account_url("fleet-ingest"),
                    root,
                    shared=broker.shared,
                    stop=self.stop,
                    client_id=client_id,
                    ready=self.ready,
                )
            except BaseException as e:
                self.error = e

        self.thread = threading.Thread(target=work, daemon=True)
        self.thread.start()
        assert self.ready.wait(15), self.error

    def close(self) -> None:
        self.stop.set()
        self.thread.join(15)
        assert self.error is None, self.error


def add_registers(engine: Engine, serials: list[str]) -> None:
    with Session(engine) as s:
        for serial in serials:
            s.add(Register(serial=serial, created_at=time.time()))
        s.commit()


def provision(engine: Engine, broker: Broker, serials: list[str], root: str, tmp: Path) -> None:
    """Accounts on the private Mosquitto: one per register, one for the fleet; ACL files."""
    assert broker.mosquitto is not None
    clock = SettableClock()
    with Session(engine) as s:
        for serial in serials:
            broker.accounts[serial] = credentials.provision_register(
                s, clock, serial, root
            ).password
        broker.accounts["fleet-ingest"] = credentials.ensure_fleet_account(s, clock, "ingest")
        credentials.write_auth_files(s, tmp / "passwd", tmp / "acl", root)


def stored_docs(engine: Engine) -> list[tuple[str, int, str, int, int | None]]:
    with Session(engine) as s:
        rows = s.execute(
            select(
                FiscalDocument.fn_number,  # type: ignore[arg-type]
                FiscalDocument.fd_number,
                FiscalDocument.fiscal_sign,
                FiscalDocument.doc_type,
                FiscalDocument.total,
            )
        ).all()
    return [tuple(r) for r in rows]  # type: ignore[misc]


def dead_letters(engine: Engine) -> list[tuple[str, str]]:
    with Session(engine) as s:
        return [(d.topic, d.reason) for d in s.execute(select(DeadLetter)).scalars().all()]


def outbox_of(engine: Engine, serial: str) -> tuple[int | None, int | None]:
    """(reported outbox depth, reported last FD) of the register's shadow."""
    with Session(engine) as s:
        row = s.execute(
            select(DeviceShadow.reported)  # type: ignore[call-overload]
            .join(Register, Register.id == DeviceShadow.register_id)  # type: ignore[arg-type]
            .where(Register.serial == serial)
        ).first()
    if row is None or row[0] is None:
        return None, None
    return row[0].get("outbox"), row[0]["drive"]["last_fd"]


def serials(n: int) -> list[str]:
    tag = uuid.uuid4().hex[:8]
    return [f"{tag}{i:08d}" for i in range(n)]


def online(engine: Engine, serial: str) -> bool:
    with Session(engine) as s:
        row = s.execute(
            select(DeviceShadow.online)  # type: ignore[call-overload]
            .join(Register, Register.id == DeviceShadow.register_id)  # type: ignore[arg-type]
            .where(Register.serial == serial)
        ).first()
    return bool(row and row[0])


def drive_sales(
    cmd: Commander, regs: list[SimRegister], receipts: int, engine: Engine | None = None
) -> None:
    if engine is not None:  # commands reach a register once it has subscribed (online)
        assert wait_for(lambda: all(online(engine, r.serial) for r in regs), 15)
    for r in regs:
        cmd.command(r.serial, "reg-1", "registration", registration_request())
    for i in range(receipts):
        for r in regs:
            cmd.command(r.serial, f"s-{i}", "receipt", sale(f"s-{i}", 1000 + 7 * i, vat="vat22"))


def settled(engine: Engine, regs: list[SimRegister], docs_each: int) -> Callable[[], bool]:
    def check() -> bool:
        for r in regs:
            if len(r.model.state.archive) < docs_each:
                return False
            if outbox_of(engine, r.serial) != (0, len(r.model.state.archive)):
                return False
        return True

    return check


def assert_exactly_once(engine: Engine, regs: list[SimRegister]) -> None:
    got = stored_docs(engine)
    expected: set[tuple[str, int, str, int, int | None]] = set()
    for r in regs:
        expected |= r.expected()
    assert len(got) == len(set(got)) == len(expected)
    assert set(got) == expected
    # and each document's TLV is the drive archive's (without the outer document tag)
    with Session(engine) as s:
        tlvs = {
            (fn, fd): tlv
            for fn, fd, tlv in s.execute(
                select(FiscalDocument.fn_number, FiscalDocument.fd_number, FiscalDocument.tlv)  # type: ignore[call-overload]
            ).all()
        }
    for r in regs:
        fn = r.model.state.fn_number
        for doc in r.model.state.archive:
            assert tlvs[(fn, doc.fd)] == doc.stlv[4:], (fn, doc.fd)


# ---- fixtures -------------------------------------------------------------------------------


@pytest.fixture(name="engine")
def fixture_engine(pg_server: PgServer | None, tmp_path: Path) -> Iterator[Engine]:
    """A new database per test: PostgreSQL when DATABASE_URL names one, else SQLite.

    `create_all` rather than the migrations: the ingest's tables get their migration from the
    lead (tests/fleet/test_migrations.py checks models and migrations agree).
    """
    url = pg_server.create() if pg_server is not None else f"sqlite:///{tmp_path / 'fleet.db'}"
    engine = make_engine(url)
    SQLModel.metadata.create_all(engine)
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture(params=["amqtt", "mosquitto-private", "mosquitto-env"])
def broker(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Broker]:
    if request.param == "amqtt":
        with EmbeddedBroker() as b:
            yield Broker(b.url, shared=False)
    elif request.param == "mosquitto-private":
        if not HAVE_MOSQUITTO:
            pytest.skip("mosquitto is not installed")
        (tmp_path / "passwd").write_text("")
        (tmp_path / "acl").write_text("")
        m = Mosquitto(tmp_path)
        yield Broker(m.url, shared=True, mosquitto=m)
        m.stop()
    else:
        url = os.environ.get("MQTT_URL")
        if not url:
            pytest.skip("MQTT_URL is not set: no Mosquitto to test against")
        yield Broker(url, shared=True)


def _setup(
    engine: Engine, broker: Broker, n: int, root: str, tmp: Path
) -> tuple[list[str], Commander]:
    names = serials(n)
    add_registers(engine, names)
    if broker.mosquitto is not None:
        provision(engine, broker, names, root, tmp)
        broker.mosquitto.start()
    return names, Commander(broker, root)


# ---- tests ------------------------------------------------------------------------------------


def test_gaps_and_the_watermark() -> None:
    assert gaps(0, [1, 2, 3]) == (3, [])
    assert gaps(0, [2, 3]) == (0, [[1, 1]])
    assert gaps(3, [4, 6, 7, 10]) == (4, [[5, 5], [8, 9]])
    assert gaps(5, []) == (5, [])
    assert gaps(0, range(2, 200, 2), limit=32) == (0, [[i, i] for i in range(1, 64, 2)])


def test_a_drives_stored_goes_at_most_so_often_and_carries_its_newest_watermark() -> None:
    ingest = Ingest(make_engine("sqlite://"), "mqtt://127.0.0.1:1", "stored-test")
    sent: list[tuple[str, dict[str, Any]]] = []

    def publish(topic: str, data: bytes, qos: int) -> None:  # the broker's side of the client
        assert qos == 1
        payload = json.loads(data)
        codec.validate("stored", payload)  # what the ingest sends passes the contract
        sent.append((topic.split("/")[-2], payload))

    ingest.client.publish = publish  # type: ignore[assignment,method-assign]
    fn_a, fn_b = "9999078900000001", "9999078900000002"
    ingest._queue_stored([("A", {"v": 1, "fn": fn_a, "through": 5})])
    assert sent == [("A", {"v": 1, "fn": fn_a, "through": 5})]  # the first goes at once
    ingest._queue_stored(
        [("A", {"v": 1, "fn": fn_a, "through": 7}), ("B", {"v": 1, "fn": fn_b, "through": 1})]
    )
    missing = {"v": 1, "fn": fn_a, "through": 7, "missing": [[9, 9]]}
    ofd = {"v": 1, "fn": fn_b, "through": 1, "ofd": [1]}
    ingest._queue_stored([("A", missing), ("B", ofd)])
    assert sent[1:] == [("B", ofd)]  # an OFD answer's acknowledgement is not held back
    wait = ingest._stored_wait()
    assert wait is not None and 0 < wait <= STORED_EVERY_S
    ingest._flush_stored()
    assert len(sent) == 2  # not due yet
    time.sleep(wait)
    ingest._flush_stored()
    assert sent[2:] == [("A", missing), ("B", {"v": 1, "fn": fn_b, "through": 1})]
    assert ingest._stored_wait() is None
    ingest._queue_stored([("B", {"v": 1, "fn": fn_b, "through": 2})])
    ingest._flush_stored(force=True)  # stopping
    assert sent[4:] == [("B", {"v": 1, "fn": fn_b, "through": 2})]


def test_registers_feed_the_fleet_exactly_once(
    engine: Engine, broker: Broker, tmp_path: Path
) -> None:
    root = f"ingest-test/{uuid.uuid4().hex[:10]}"
    names, cmd = _setup(engine, broker, 3, root, tmp_path)
    worker = IngestThread(engine, broker, root, f"fleet-ingest-{uuid.uuid4().hex[:6]}")
    regs = [SimRegister(tmp_path, s, broker, root) for s in names]
    try:
        for r in regs:
            r.start()
        drive_sales(cmd, regs, receipts=3, engine=engine)
        # registration, shift open, three receipts each
        assert wait_for(settled(engine, regs, 5), 25), (
            stored_docs(engine),
            cmd.seen,
            [(outbox_of(engine, r.serial), r.errors) for r in regs],
        )
        assert_exactly_once(engine, regs)
        assert dead_letters(engine) == []
        assert cmd.seen and all(codec.validate("stored", p) for _t, p in cmd.seen)
        with Session(engine) as s:
            marks = s.execute(select(StoredWatermark.through)).scalars().all()  # type: ignore[call-overload]
            assert sorted(marks) == [5, 5, 5]
            made = s.execute(
                select(func.count()).where(LinkCommand.result_status == "made")  # type: ignore[arg-type]
            ).one()[0]
            assert made == 3 * 4
            shadows = s.execute(select(DeviceShadow)).scalars().all()
            assert len(shadows) == 3 and all(sh.online for sh in shadows)
    finally:
        for r in regs:
            r.close()
        worker.close()
        cmd.close()
    assert all(not r.errors for r in regs)


def test_bad_messages_become_dead_letters_and_the_stream_goes_on(
    engine: Engine, broker: Broker, tmp_path: Path
) -> None:
    root = f"ingest-test/{uuid.uuid4().hex[:10]}"
    names, cmd = _setup(engine, broker, 1, root, tmp_path)
    serial = names[0]
    worker = IngestThread(engine, broker, root, f"fleet-ingest-{uuid.uuid4().hex[:6]}")
    doc = {
        "v": 1, "fn": "9999078900012345", "fd": 1, "fs": "123", "type": 1, "at": 1764316800,
        "tlv": "EQQQADk5OTkwNzg5MDAwMTIzNDU=",  # 1041, the FN number
    }  # fmt: skip
    t = f"{root}/v1/reg/{serial}"
    bad = [
        (f"{t}/doc", b"{not json", "Не JSON"),
        (f"{t}/doc", json.dumps({**doc, "v": 2}).encode(), "Версия сообщения 2"),
        (f"{t}/doc", json.dumps({**doc, "fd": "1"}).encode(), "fd: нужно: целое число"),
        (f"{t}/doc", json.dumps({**doc, "extra": 1}).encode(), "неизвестное поле extra"),
        (f"{t}/doc", b"x" * (48 * 1024 + 1), "больше предела"),
        # valid JSON, but the TLV's first header is cut (3 bytes)
        (f"{t}/doc", json.dumps({**doc, "fd": 3, "tlv": "AAAA"}).encode(), "смещение 0"),
        (f"{root}/v1/reg/UNKNOWN1/doc", json.dumps(doc).encode(),
         unknown_serial_reason("UNKNOWN1")),
    ]  # fmt: skip
    try:
        # the fleet's account plays the register (the ACL lets it write the whole tree)
        for topic, payload, _why in bad:
            cmd.publish(topic, payload)
        cmd.publish(f"{t}/doc", json.dumps({**doc, "fd": 2}).encode())
        cmd.publish(f"{t}/doc", json.dumps(doc).encode())
        assert wait_for(lambda: len(stored_docs(engine)) == 2, 15), dead_letters(engine)
        got = dead_letters(engine)
        expected = [(tp, why) for tp, _p, why in bad]
        assert len(got) == len(expected), got
        left = list(got)
        for e_topic, e_why in expected:  # each expected reason matches its own dead letter
            hit = [g for g in left if g[0] == e_topic and e_why in g[1]]
            assert hit, (e_why, left)
            left.remove(hit[0])
        # the good documents went through, and the register heard "through 2"
        assert wait_for(lambda: any(p.get("through") == 2 for _t, p in cmd.seen), 10), cmd.seen
    finally:
        worker.close()
        cmd.close()


def test_a_lost_document_is_reported_missing_and_sent_again(
    engine: Engine, broker: Broker, tmp_path: Path
) -> None:
    root = f"ingest-test/{uuid.uuid4().hex[:10]}"
    names, cmd = _setup(engine, broker, 1, root, tmp_path)
    worker = IngestThread(engine, broker, root, f"fleet-ingest-{uuid.uuid4().hex[:6]}")
    reg = SimRegister(tmp_path, names[0], broker, root)
    dropped: list[int] = []
    from oblako import mqtt_paho

    original = mqtt_paho.PahoClient.publish

    def lossy(self: Any, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> int:
        # the first event of FD 2 is lost on the way (as if the broker had dropped it)
        if topic.endswith("/doc") and json.loads(payload)["fd"] == 2 and not dropped:
            dropped.append(2)
            return 0
        return original(self, topic, payload, qos, retain)

    mqtt_paho.PahoClient.publish = lossy  # type: ignore[method-assign]
    try:
        reg.start()
        drive_sales(cmd, [reg], receipts=2, engine=engine)
        assert wait_for(settled(engine, [reg], 4), 25), outbox_of(engine, reg.serial)
        assert dropped == [2]
        gap_acks = [p for _t, p in cmd.seen if p.get("missing")]
        assert gap_acks and gap_acks[0]["through"] == 1
        assert gap_acks[0]["missing"][0][0] == 2
        assert_exactly_once(engine, [reg])
        assert dead_letters(engine) == []
    finally:
        mqtt_paho.PahoClient.publish = original  # type: ignore[method-assign]
        reg.close()
        worker.close()
        cmd.close()


def test_a_worker_that_cannot_commit_stops_and_its_successor_stores_everything(
    engine: Engine, broker: Broker, tmp_path: Path
) -> None:
    """A transaction refused for no fault of the messages (here: a table gone) stops the worker
    (on PostgreSQL from its committer thread) without acknowledging what it did not store; a
    worker taking over the session stores it once the database is back."""
    if broker.mosquitto is None:
        pytest.skip("needs a private broker with persistent sessions (shared subscription)")
    root = f"ingest-test/{uuid.uuid4().hex[:10]}"
    names, cmd = _setup(engine, broker, 1, root, tmp_path)
    client_id = f"fleet-ingest-{uuid.uuid4().hex[:6]}"
    doc = {
        "v": 1, "fn": "9999078900012345", "fd": 1, "fs": "123", "type": 1, "at": 1764316800,
        "tlv": "EQQQADk5OTkwNzg5MDAwMTIzNDU=",  # 1041, the FN number
    }  # fmt: skip
    topic = f"{root}/v1/reg/{names[0]}/doc"
    first = IngestThread(engine, broker, root, client_id)
    second: IngestThread | None = None
    try:
        cmd.publish(topic, json.dumps(doc).encode())
        assert wait_for(lambda: len(stored_docs(engine)) == 1, 15)
        with engine.begin() as conn:
            conn.exec_driver_sql("ALTER TABLE storedwatermark RENAME TO storedwatermark_away")
        for fd in (2, 3):
            cmd.publish(topic, json.dumps({**doc, "fd": fd}).encode())
        first.thread.join(20)
        assert not first.thread.is_alive() and first.error is not None
        assert "storedwatermark" in str(first.error)
        assert len(stored_docs(engine)) == 1  # the refused transaction stored nothing
        with engine.begin() as conn:
            conn.exec_driver_sql("ALTER TABLE storedwatermark_away RENAME TO storedwatermark")
        second = IngestThread(engine, broker, root, client_id)  # the same session
        assert wait_for(lambda: len(stored_docs(engine)) == 3, 20), stored_docs(engine)
        assert wait_for(lambda: any(p.get("through") == 3 for _t, p in cmd.seen), 10), cmd.seen
        assert dead_letters(engine) == []
    finally:
        first.stop.set()
        if second is not None:
            second.close()
        cmd.close()
