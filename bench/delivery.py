"""`oblako bench delivery`: e-receipts through the durable cascade at a steady rate.

A throwaway database (a SQLite file, or a database made on the PostgreSQL server
``database_url`` names and dropped at the end) gets a company, a register and its 1117 sender;
a local SMTP sink (aiosmtpd) takes the mail. Measured in one run:

* **bare SMTP** — the same messages (rendered once) sent straight through the e-mail provider
  (one kept-open connection), as fast as it goes: the ceiling;
* **steady** — a producer marks ``rate`` receipts a second fiscalised (each naming a buyer's
  e-mail) for ``seconds``; the worker (`fleet.delivery.worker.DeliveryWorker`, its own thread,
  as in the app) picks them up. Per receipt: fiscalisation → first send attempt (p50, p99);
* **throughput** — ``burst`` receipts fiscalised at once, drained by the worker: receipts/s
  against the bare SMTP rate.

Targets (issue 10): p99 under 5 s at 200 receipts/s, throughput at least 70 % of bare SMTP.
"""

from __future__ import annotations

import multiprocessing
import socket
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from aiosmtpd.controller import Controller
from sqlalchemy import insert, text
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, SQLModel, col, select

import fleet.models  # noqa: F401  (registers every table)
from fleet.accounts.models import Company
from fleet.core.clock import SystemClock
from fleet.core.db import make_engine
from fleet.delivery.channels import Channel
from fleet.delivery.email import SmtpEmailProvider
from fleet.delivery.message import Outgoing
from fleet.delivery.models import Delivery
from fleet.delivery.worker import DeliveryWorker
from fleet.receipts.models import Receipt, ReceiptPart, RoutingProfile
from fleet.registers.models import Register, RegisterState

__all__ = ["DeliveryResult", "print_table", "run"]

P99_TARGET_S: Final = 5.0
RATIO_TARGET: Final = 0.70


@dataclass(frozen=True)
class DeliveryResult:
    """What one run measured."""

    database: str
    rate: int
    seconds: float
    steady_receipts: int
    latencies: list[float]  # fiscalisation → first send attempt, seconds
    achieved_rate: float  # receipts/s the producer managed
    bare_rate: float  # messages/s straight through SMTP
    burst: int
    cascade_rate: float  # receipts/s through the worker
    mails: int  # what the sink received in all

    @property
    def p50(self) -> float:
        return statistics.median(self.latencies) if self.latencies else float("nan")

    @property
    def p99(self) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]

    @property
    def ratio(self) -> float:
        return self.cascade_rate / self.bare_rate if self.bare_rate else 0.0

    @property
    def ok(self) -> bool:
        return self.p99 < P99_TARGET_S and self.ratio >= RATIO_TARGET


class _Sink:
    """Counts what arrives (the message is read in full by aiosmtpd first)."""

    def __init__(self, count: Any) -> None:
        self.count = count

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        with self.count.get_lock():
            self.count.value += 1
        return "250 OK"


def _serve_sink(port: int, count: Any, stop: Any) -> None:
    """The SMTP sink in a process of its own (a relay is not in the fleet's process)."""
    controller = Controller(_Sink(count), hostname="127.0.0.1", port=port)
    controller.start()
    stop.wait()
    controller.stop()


def _produce(
    url: str, company_id: int, register_id: int, rate: int, seconds: float, took: Any
) -> None:
    """The ingest's part in a process of its own: ``rate`` receipts a second made fiscalised."""
    engine = make_engine(url)
    started = time.monotonic()
    made = 0
    while (elapsed := time.monotonic() - started) < seconds:
        due = int(rate * elapsed) - made
        if due > 0:
            _fiscalise(engine, company_id, register_id, due, offset=10**9)
            made += due
        time.sleep(0.05)
    took.value = time.monotonic() - started
    engine.dispose()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def _database(database_url: str | None) -> Iterator[tuple[Engine, str, str]]:
    if database_url is None or database_url.startswith("sqlite"):
        with tempfile.TemporaryDirectory() as tmp:
            url = database_url or f"sqlite:///{Path(tmp) / 'delivery.db'}"
            engine = make_engine(url)
            try:
                yield engine, "SQLite", url
            finally:
                engine.dispose()
        return
    name = f"bench_delivery_{uuid.uuid4().hex[:8]}"
    admin = make_engine(database_url)
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(database_url).set(database=name).render_as_string(False)
    engine = make_engine(url)
    try:
        yield engine, "PostgreSQL", url
    finally:
        engine.dispose()
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _seed(engine: Engine, now: float) -> tuple[int, int]:
    SQLModel.metadata.create_all(engine)
    with Session(engine) as s:
        co = Company(name="ООО «Бенч»", inn="7707083893", ogrn="1027700132195", created_at=now)
        s.add(co)
        s.flush()
        assert co.id is not None
        reg = Register(
            serial="BENCH-1",
            model="Облако-Ф",
            rack_slot="R1-S01",
            firmware_version="1.0.0",
            state=RegisterState.PAID.value,
            company_id=co.id,
            created_at=now,
        )
        s.add(reg)
        s.flush()
        assert reg.id is not None
        s.add(
            RoutingProfile(
                register_id=reg.id,
                inn="7707083893",
                profile={"sender_email": "cheki@bench.example.ru", "address": "Москва"},
                updated_at=now,
            )
        )
        s.commit()
        return co.id, reg.id


_seq = iter(range(10**12))


def _fiscalise(
    engine: Engine, company_id: int, register_id: int, n: int, *, offset: int = 0
) -> None:
    """``n`` receipts made fiscalised now (what the ingest does when the drive answers)."""
    now = time.time()
    receipts: list[dict[str, Any]] = []
    for _ in range(n):
        i = next(_seq) + offset
        body = {
            "id": f"b-{i}",
            "operation": "sale",
            "items": [{"name": "Кофе", "price": 25000, "quantity": "1", "sum": 25000}],
            "payments": {"electronic": 25000},
            "buyer_contact": f"buyer{i}@example.ru",
        }
        receipts.append(
            {
                "company_id": company_id,
                "external_id": body["id"],
                "body_hash": f"h{i}",
                "body": body,
                "kind": "sale",
                "total": 25000,
                "parts": 1,
                "status": "fiscalised",
                "created_at": now,
                "updated_at": now,
                "fiscalised_at": now,
            }
        )
    with Session(engine) as s:
        s.connection().execute(insert(Receipt), receipts)
        ids = s.exec(
            select(Receipt.id, Receipt.external_id).where(
                col(Receipt.external_id).in_([r["external_id"] for r in receipts])
            )
        ).all()
        s.connection().execute(
            insert(ReceiptPart),
            [
                {
                    "receipt_id": rid,
                    "company_id": company_id,
                    "part_no": 1,
                    "request_id": f"req-{ext}",
                    "action": "receipt",
                    "request": {},
                    "total": 25000,
                    "status": "fiscalised",
                    "register_id": register_id,
                    "tried": [],
                    "fn_number": "7380440700076549",
                    "fd_number": 1,
                    "fiscal_sign": "1234567890",
                    "created_at": now,
                    "updated_at": now,
                }
                for rid, ext in ids
            ],
        )
        s.commit()


def _worker_threads(
    worker: DeliveryWorker, stop: threading.Event, loops: int
) -> list[threading.Thread]:
    """``loops`` passes in flight at once: one claims and records while another's messages
    are on the wire (claims are compare-and-set, so loops never share a receipt)."""

    def loop() -> None:
        while not stop.is_set():
            if not worker.run_once():
                stop.wait(0.05)

    threads = [
        threading.Thread(target=loop, name=f"delivery-bench-{i}", daemon=True) for i in range(loops)
    ]
    for t in threads:
        t.start()
    return threads


def _wait_for(pred: Callable[[], bool], timeout: float) -> None:
    end = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > end:
            raise TimeoutError("доставка не закончилась за отведённое время")
        time.sleep(0.05)


def run(
    database_url: str | None = None,
    *,
    rate: int = 200,
    seconds: float = 20.0,
    burst: int = 3000,
    loops: int = 2,
    batch: int = 200,
    progress: Callable[[str], None] = lambda _: None,
) -> DeliveryResult:
    """The three measurements on a fresh database and SMTP sink."""
    ctx = multiprocessing.get_context("spawn")
    count = ctx.Value("i", 0)
    sink_stop = ctx.Event()
    port = _free_port()
    sink = ctx.Process(target=_serve_sink, args=(port, count, sink_stop), daemon=True)
    sink.start()
    _wait_for(lambda: _listening(port), 30)
    try:
        with _database(database_url) as (engine, kind, url):
            company_id, register_id = _seed(engine, time.time())
            provider = SmtpEmailProvider("127.0.0.1", port, sender="cheki@bench.example.ru")
            worker = DeliveryWorker(
                engine,
                SystemClock(),
                {Channel.EMAIL: provider},
                "https://oblako.example.ru",
                "bench-secret",
                batch=batch,
            )
            progress("письма напрямую через SMTP…")
            bare_rate = _bare(worker, provider, burst)

            progress(f"поток {rate} чеков/с…")
            stop = threading.Event()
            threads = _worker_threads(worker, stop, loops)
            took = ctx.Value("d", 0.0)
            producer = ctx.Process(
                target=_produce, args=(url, company_id, register_id, rate, seconds, took)
            )
            producer.start()
            producer.join()
            made = _receipts(engine)
            achieved = made / max(seconds, float(took.value))
            _wait_for(lambda: _first_attempts(engine) >= made, 120)
            latencies = _latencies(engine)

            progress(f"{burst} чеков разом…")
            before = _first_attempts(engine)
            _fiscalise(engine, company_id, register_id, burst)
            t0 = time.monotonic()
            _wait_for(lambda: _first_attempts(engine) >= before + burst, 300)
            cascade_rate = burst / (time.monotonic() - t0)
            stop.set()
            for t in threads:
                t.join(30)
            worker.close()
            provider.close()
    finally:
        sink_stop.set()
        sink.join(15)
    return DeliveryResult(
        database=kind,
        rate=rate,
        seconds=seconds,
        steady_receipts=made,
        latencies=latencies,
        achieved_rate=achieved,
        bare_rate=bare_rate,
        burst=burst,
        cascade_rate=cascade_rate,
        mails=int(count.value),
    )


def _bare(worker: DeliveryWorker, provider: SmtpEmailProvider, n: int) -> float:
    """Messages/s straight through the provider: the same letter the cascade renders."""
    from fleet.delivery.compose import ReceiptView, compose

    view = ReceiptView.build(
        company_name="ООО «Бенч»",
        company_inn="7707083893",
        body={"items": [{"name": "Кофе", "price": 25000, "quantity": "1", "sum": 25000}]},
        total=25000,
        profile={"sender_email": "cheki@bench.example.ru"},
        parts=[],
        link="https://oblako.example.ru/r/x",
    )
    message: Outgoing = compose(worker.env, Channel.EMAIL, view)
    with ThreadPoolExecutor(worker.concurrency) as pool:  # as many connections as the worker
        t0 = time.monotonic()
        list(
            pool.map(
                lambda i: provider.send("email", f"bare{i}@example.ru", message, f"bare:{i}"),
                range(n),
            )
        )
        rate = n / (time.monotonic() - t0)
    provider.close()
    return rate


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _receipts(engine: Engine) -> int:
    with Session(engine) as s:
        return int(s.exec(select(text("count(*)")).select_from(Receipt)).one())


def _first_attempts(engine: Engine) -> int:
    with Session(engine) as s:
        n = s.exec(
            select(text("count(*)"))
            .select_from(Delivery)
            .where(col(Delivery.first_attempt_at).is_not(None))
        ).one()
        return int(n)


def _latencies(engine: Engine) -> list[float]:
    with Session(engine) as s:
        rows = s.exec(
            select(Delivery.fiscalised_at, Delivery.first_attempt_at).where(
                col(Delivery.first_attempt_at).is_not(None)
            )
        ).all()
    return [float(b) - float(a) for a, b in rows if b is not None]


def print_table(r: DeliveryResult) -> None:
    """The figures against the targets."""
    from rich.console import Console
    from rich.table import Table

    t = Table(title=f"oblako bench delivery ({r.database}, SMTP-приёмник aiosmtpd)")
    t.add_column("что")
    t.add_column("значение", justify="right")
    t.add_column("цель", justify="right")
    t.add_row(
        f"поток: {r.steady_receipts} чеков за {r.seconds:.0f} с",
        f"{r.achieved_rate:.0f} чеков/с",
        f"{r.rate} чеков/с",
    )
    t.add_row("фискализация → первая попытка, p50", f"{r.p50 * 1000:.0f} мс", "")
    t.add_row(
        "фискализация → первая попытка, p99", f"{r.p99 * 1000:.0f} мс", f"< {P99_TARGET_S:.0f} с"
    )
    t.add_row("SMTP напрямую", f"{r.bare_rate:.0f} писем/с", "")
    t.add_row(f"каскад, {r.burst} чеков разом", f"{r.cascade_rate:.0f} чеков/с", "")
    t.add_row("каскад / SMTP напрямую", f"{r.ratio:.0%}", f"≥ {RATIO_TARGET:.0%}")
    t.add_row("писем принято приёмником", f"{r.mails}", "")
    Console().print(t)
    Console().print("[green]цели выполнены[/green]" if r.ok else "[red]цели не выполнены[/red]")
