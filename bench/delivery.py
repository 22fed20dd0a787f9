"""`oblako bench delivery`: e-receipts through the durable cascade at a steady rate.

A throwaway database (a SQLite file, or a database made on the PostgreSQL server
``database_url`` names and dropped at the end) gets a company, a register and its 1117 sender;
a local SMTP sink (bench/smtp_sink.py: ``sinks`` processes sharing one port by SO_REUSEPORT)
takes the mail. Measured in one run, in this order:

* **sink** — what the sink takes from pipelined clients: its ceiling, so a reader can see
  neither side below measured the sink;
* **bare SMTP** — the same letter (rendered once) sent through the e-mail provider (MIME built
  per letter, kept connections, PIPELINING as the sink offers it, ``bare_batch`` letters a
  `send_many` call pipelined one behind another as the worker sends them) by ``workers``
  processes of ``bare_concurrency`` threads each, ``bare_factor`` × ``burst`` letters as fast
  as it goes: letters/s and the senders' CPU µs per letter; measured before the database is
  made and again after the burst below, the mean of the two is the baseline (the shared
  machine's load moves within a run);
* **steady** — a producer process marks ``rate`` receipts a second fiscalised (each naming a
  buyer's e-mail) for ``seconds``; ``workers`` processes each run the worker
  (`fleet.delivery.worker.DeliveryWorker`, ``loops`` passes in flight, ``concurrency`` sending
  threads) as the app's delivery thread does. Per receipt: fiscalisation → first send attempt
  (p50, p99);
* **throughput** — after an ``ANALYZE`` (the statistics a live database has), ``burst``
  receipts fiscalised at once, drained by the same processes (from the commit that made them
  to the record of the last one's send): receipts/s against the bare SMTP rate,
  and the workers' CPU µs per receipt (their claims, renders, MIME, sends and
  records; the database server's own CPU is not in it).

Targets (issue 10): p99 under 5 s at 200 receipts/s, throughput at least 70 % of bare SMTP.
Both sides and the sink share the machine's cores, so when all are busy the ratio tends to
(bare + sink CPU per letter) / (cascade + sink CPU per receipt): printed as the CPU bound.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
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

from sqlalchemy import func, insert, text
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, SQLModel, col, select

import fleet.models  # noqa: F401  (registers every table)
from bench.smtp_sink import capacity, serve
from fleet.accounts.models import Company
from fleet.core.clock import SystemClock
from fleet.core.db import make_engine
from fleet.delivery.channels import Channel
from fleet.delivery.compose import PartView, ReceiptView, compose
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
    workers: int  # processes on each side (bare senders, cascade workers)
    sinks: int  # sink processes
    sink_rate: float  # letters/s the sink took from pipelined clients
    rate: int
    seconds: float
    steady_receipts: int
    latencies: list[float]  # fiscalisation → first send attempt, seconds
    achieved_rate: float  # receipts/s the producer managed
    bare_rate: float  # letters/s straight through the provider
    bare_cpu_us: float  # the senders' CPU per letter
    burst: int
    cascade_rate: float  # receipts/s through the worker
    cascade_cpu_us: float  # the workers' CPU per receipt
    sink_cpu_us: float  # the sink's CPU per letter (over the whole run)
    mails: int  # what the sink received in all
    load: tuple[float, float, float]  # the machine's load average at the end

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
    def cpu_bound(self) -> float:
        """The ratio the CPU per unit allows when the cores are the limit (see the module)."""
        cascade = self.cascade_cpu_us + self.sink_cpu_us
        return (self.bare_cpu_us + self.sink_cpu_us) / cascade if cascade else 0.0

    @property
    def ok(self) -> bool:
        return self.p99 < P99_TARGET_S and self.ratio >= RATIO_TARGET


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


def _provider(port: int) -> SmtpEmailProvider:
    return SmtpEmailProvider("127.0.0.1", port, sender="cheki@bench.example.ru")


def _letter() -> Outgoing:
    """The letter the cascade renders for a bench receipt (bare SMTP sends this one). Not
    ``prepared``: bare SMTP builds its MIME per letter from the text and HTML, as always
    (the cascade's composer prepares each receipt's body from kept line encodings)."""
    view = ReceiptView.build(
        company_name="ООО «Бенч»",
        company_inn="7707083893",
        body={
            "operation": "sale",
            "items": [{"name": "Кофе", "price": 25000, "quantity": "1", "sum": 25000}],
            "payments": {"electronic": 25000},
        },
        total=25000,
        profile={"sender_email": "cheki@bench.example.ru", "address": "Москва"},
        parts=[PartView("7380440700076549", 1, "1234567890", None, None, None, None)],
        link="https://oblako.example.ru/r/" + "x" * 43,
    )
    return compose(Channel.EMAIL, view)


def _bare_process(
    port: int, first: int, n: int, concurrency: int, batch: int, go: Any, out: Any, idx: int
) -> None:
    """``n`` letters through the provider over ``concurrency`` threads, ``batch`` letters a
    `send_many` call (pipelined across letters, as the worker sends); (seconds, CPU s)."""
    provider = _provider(port)
    message = _letter()
    gc.freeze()  # as the workers: the start-up heap out of the collector's way
    chunks = [range(i, min(i + batch, first + n)) for i in range(first, first + n, batch)]

    def send(chunk: range) -> None:
        items = [(f"bare{i}@example.ru", message, f"0:{i}:email") for i in chunk]
        if any(not isinstance(r, str) for r in provider.send_many(items)):
            raise RuntimeError("приёмник отказал в письме")

    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(lambda i: provider._connect(), range(concurrency)))  # connections up
        go.wait()
        t0, c0 = time.monotonic(), time.process_time()
        list(pool.map(send, chunks))
        out[2 * idx] = time.monotonic() - t0
        out[2 * idx + 1] = time.process_time() - c0
    provider.close()


def _worker_process(
    url: str, port: int, loops: int, batch: int, concurrency: int, stop: Any, cpu: Any, idx: int
) -> None:
    """The app's delivery worker in a process of its own (the GIL: rendering and MIME are CPU),
    ``loops`` passes in flight (one claims and records while another's letters are on the
    wire; claims are compare-and-set, so loops and processes never share a receipt)."""
    engine = make_engine(url)
    provider = _provider(port)
    worker = DeliveryWorker(
        engine,
        SystemClock(),
        {Channel.EMAIL: provider},
        "https://oblako.example.ru",
        "bench-secret",
        batch=batch,
        concurrency=concurrency,
    )

    def loop() -> None:
        while not stop.is_set():
            if not worker.run_once():
                stop.wait(0.05)

    # a long-running sender's start-up heap (SQLAlchemy, the models) kept out of the cyclic
    # collector's full passes: ~15 % of a receipt's CPU in a profile (bare senders too)
    gc.freeze()
    threads = [threading.Thread(target=loop, daemon=True) for _ in range(loops)]
    for t in threads:
        t.start()
    while not stop.wait(0.05):
        cpu[idx] = time.process_time()
    for t in threads:
        t.join(30)
    cpu[idx] = time.process_time()
    worker.close()
    provider.close()
    engine.dispose()


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
    workers: int = 2,
    sinks: int = 2,
    loops: int = 1,  # 2 in flight contended on the database (SQLite's one writer, PG's conflicts)
    batch: int = 500,  # the app's worker default
    # the workers' sending connections: with letters pipelined across, one in each pass's own
    # thread (no pool) cost the least CPU; more only added GIL hand-offs
    concurrency: int = 1,
    bare_concurrency: int = 2,  # bare SMTP's threads: as many as the worker's passes in flight
    bare_factor: int = 3,  # bare SMTP sends this many times ``burst`` letters
    bare_batch: int = 500,  # letters a send_many call (pipelined across letters): a pass's batch
    progress: Callable[[str], None] = lambda _: None,
) -> DeliveryResult:
    """The measurements on a fresh database and SMTP sink."""
    ctx = multiprocessing.get_context("spawn")
    count, sink_cpu = ctx.Value("i", 0), ctx.Value("d", 0.0)
    sink_stop = ctx.Event()
    ready = ctx.Semaphore(0)
    port = _free_port()
    sink_procs = [
        ctx.Process(target=serve, args=(port, count, sink_cpu, ready, sink_stop), daemon=True)
        for _ in range(sinks)
    ]
    for p in sink_procs:
        p.start()
    for _ in sink_procs:
        ready.acquire(timeout=30)
    stop = ctx.Event()
    procs: list[Any] = []
    try:
        progress("ёмкость SMTP-приёмника…")
        letter, _ = _provider(port).letter("bare@example.ru", _letter(), "0:0:email")
        sink_rate = capacity(port, letter)

        progress("письма напрямую через SMTP…")
        # bare SMTP is several times faster: more letters, so its timing spans about as long
        # as the cascade's burst (a 0.2 s window moved by ±50 % with the others' load)
        bare_n = bare_factor * burst
        bare_before = _bare(ctx, port, bare_n, workers, bare_concurrency, bare_batch)

        with _database(database_url) as (engine, kind, url):
            company_id, register_id = _seed(engine, time.time())
            cpu = ctx.Array("d", workers)
            procs = [
                ctx.Process(
                    target=_worker_process,
                    args=(url, port, loops, batch, concurrency, stop, cpu, i),
                    daemon=True,
                )
                for i in range(workers)
            ]
            for p in procs:
                p.start()

            progress(f"поток {rate} чеков/с…")
            took = ctx.Value("d", 0.0)
            producer = ctx.Process(
                target=_produce, args=(url, company_id, register_id, rate, seconds, took)
            )
            producer.start()
            producer.join()
            made = _receipts(engine)
            achieved = made / max(seconds, float(took.value))
            _wait_for(lambda: _first_attempts(engine) >= made, 180)
            latencies = _latencies(engine)

            # the statistics autovacuum keeps on a live database (its first ANALYZE comes a
            # minute or more after a fresh one fills): without them PostgreSQL read the parts
            # of 500 receipts by a sequential scan, 20 ms a pass instead of 0.6
            with engine.begin() as conn:
                conn.execute(text("ANALYZE"))
            progress(f"{burst} чеков разом…")
            before = _first_attempts(engine)
            _fiscalise(engine, company_id, register_id, burst)
            c0, t0 = sum(cpu[:]), time.time()
            _wait_for(lambda: _first_attempts(engine) >= before + burst, 300)
            # the end is when the last of them was recorded (the record's ``updated_at``, the
            # workers' wall clock on this machine), not when the 50 ms poll above saw it: the
            # poll's step was up to a tenth of a 0.5 s burst
            cascade_rate = burst / (_last_recorded(engine) - t0)
            cascade_cpu = (sum(cpu[:]) - c0) / burst
            stop.set()
            for p in procs:
                p.join(60)
        # bare SMTP again once the workers are gone: the two bracket the cascade in time (the
        # shared machine's load moves within a run), their mean is the baseline
        progress("письма напрямую через SMTP, снова…")
        bare_after = _bare(ctx, port, bare_n, workers, bare_concurrency, bare_batch)
        bare_rate = (bare_before[0] + bare_after[0]) / 2
        bare_cpu = (bare_before[1] + bare_after[1]) / 2
    finally:
        stop.set()
        for p in procs:
            if p.is_alive():
                p.terminate()
        sink_stop.set()
        for p in sink_procs:
            p.join(15)
    mails = int(count.value)
    return DeliveryResult(
        database=kind,
        workers=workers,
        sinks=sinks,
        sink_rate=sink_rate,
        rate=rate,
        seconds=seconds,
        steady_receipts=made,
        latencies=latencies,
        achieved_rate=achieved,
        bare_rate=bare_rate,
        bare_cpu_us=bare_cpu * 1e6,
        burst=burst,
        cascade_rate=cascade_rate,
        cascade_cpu_us=cascade_cpu * 1e6,
        sink_cpu_us=float(sink_cpu.value) / max(mails, 1) * 1e6,
        mails=mails,
        load=os.getloadavg(),
    )


def _bare(
    ctx: Any, port: int, n: int, workers: int, concurrency: int, batch: int
) -> tuple[float, float]:
    """Letters/s and CPU seconds per letter of ``workers`` sending processes (as many as the
    cascade has)."""
    go, out = ctx.Event(), ctx.Array("d", 2 * workers)
    share = n // workers
    procs = [
        ctx.Process(
            target=_bare_process, args=(port, i * share, share, concurrency, batch, go, out, i)
        )
        for i in range(workers)
    ]
    for p in procs:
        p.start()
    time.sleep(2.0)  # every process up with its connections open
    go.set()
    for p in procs:
        p.join(300)
    took = max(out[2 * i] for i in range(workers))
    return share * workers / took, sum(out[2 * i + 1] for i in range(workers)) / (share * workers)


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


def _last_recorded(engine: Engine) -> float:
    """When the last first send was recorded (the burst's end)."""
    with Session(engine) as s:
        last = s.exec(
            select(func.max(Delivery.updated_at)).where(col(Delivery.first_attempt_at).is_not(None))
        ).one()
        return float(last or 0.0)


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

    t = Table(title=f"oblako bench delivery ({r.database})")
    t.add_column("что")
    t.add_column("значение", justify="right")
    t.add_column("цель", justify="right")
    t.add_row(f"SMTP-приёмник ({r.sinks} проц.), конвейером", f"{r.sink_rate:.0f} писем/с", "")
    t.add_row(
        f"поток: {r.steady_receipts} чеков за {r.seconds:.0f} с",
        f"{r.achieved_rate:.0f} чеков/с",
        f"{r.rate} чеков/с",
    )
    t.add_row("фискализация → первая попытка, p50", f"{r.p50 * 1000:.0f} мс", "")
    t.add_row(
        "фискализация → первая попытка, p99", f"{r.p99 * 1000:.0f} мс", f"< {P99_TARGET_S:.0f} с"
    )
    t.add_row(
        f"SMTP напрямую ({r.workers} проц., среднее до и после)", f"{r.bare_rate:.0f} писем/с", ""
    )
    t.add_row(
        f"каскад, {r.burst} чеков разом ({r.workers} проц.)", f"{r.cascade_rate:.0f} чеков/с", ""
    )
    t.add_row("каскад / SMTP напрямую", f"{r.ratio:.0%}", f"≥ {RATIO_TARGET:.0%}")
    t.add_row("предел по ЦП: (SMTP + приёмник) / (каскад + приёмник)", f"{r.cpu_bound:.0%}", "")
    t.add_row("ЦП на письмо, SMTP напрямую", f"{r.bare_cpu_us:.0f} мкс", "")
    t.add_row("ЦП на чек, каскад (без сервера БД)", f"{r.cascade_cpu_us:.0f} мкс", "")
    t.add_row("ЦП приёмника на письмо", f"{r.sink_cpu_us:.0f} мкс", "")
    t.add_row("писем принято приёмником", f"{r.mails}", "")
    t.add_row("средняя загрузка машины (1/5/15 мин)", " / ".join(f"{x:.1f}" for x in r.load), "")
    Console().print(t)
    Console().print("[green]цели выполнены[/green]" if r.ok else "[red]цели не выполнены[/red]")
