"""`oblako bench ingest`: the fleet's MQTT ingest against a do-nothing subscriber, same stream.

A pre-generated stream of `doc` events of ``registers`` simulated registers (valid payloads,
``documents`` in all, round-robin like a live fleet) is published at QoS 1 by a paho publisher
in its own process, over Mosquitto (a private one with the shipped deploy/mosquitto config, or
``mqtt_url``), twice under two roots:

  raw     a paho subscriber at QoS 1 that does nothing (its own process);
  ingest  ``workers`` ingest processes (`python -m fleet.link.ingest`, shared subscription),
          storing every document and acknowledging after the commit, sending `stored`.

The raw subscriber runs before and after the ingest and its rate is the mean of the two (the
machine's load drifts). Rates are documents / (last one received or committed - publishing
start); CPU µs per document is the consumer processes' own CPU time (process_time) during the
run. Afterwards the
database must hold exactly the unique (fn, fd) published and every watermark be complete.
"""

from __future__ import annotations

import base64
import json
import multiprocessing as mp
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
import psycopg
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from sqlmodel import Session, SQLModel

import fleet.models  # noqa: F401  (registers the tables)
from fleet.core.db import make_engine, normalise_url
from fleet.documents.models import FiscalDocument
from fleet.link.credentials import mosquitto_hash
from fleet.link.ingest import broker_url
from fleet.link.ingest_models import StoredWatermark
from fleet.registers.models import Register

__all__ = ["IngestBench", "run"]

REPO = Path(__file__).resolve().parents[1]


def _receipt_tlv() -> bytes:
    """A receipt's archive TLVs as a register sends them (~330 bytes, two items, 1055 = ОСН)."""

    def f(tag: int, value: bytes) -> bytes:
        return struct.pack("<HH", tag, len(value)) + value

    def item(name: str, price: int) -> bytes:
        return f(
            1059,
            f(1030, name.encode("cp866")) + f(1079, price.to_bytes(3, "little"))
            + f(1023, b"\x00\x01") + f(1043, price.to_bytes(3, "little"))
            + f(1199, b"\x0b") + f(1212, b"\x01") + f(1214, b"\x04") + f(2108, b"\x00"),
        )  # fmt: skip

    return (
        f(1041, b"9999078900012345") + f(1040, struct.pack("<I", 183))
        + f(1012, struct.pack("<I", 1_764_316_800)) + f(1054, b"\x01") + f(1055, b"\x01")
        + f(1018, b"7702203276  ") + f(1037, b"0000000005008570    ")
        + f(1048, "ООО Облако-тест".encode("cp866"))
        + f(1009, "г. Москва, ул. Тестовая, д. 1".encode("cp866"))
        + f(1187, "Облачная касса".encode("cp866")) + f(1021, "Кассир Иванова".encode("cp866"))
        + item("Молоко 3,2% 1 л", 8990) + item("Хлеб пшеничный", 5450)
        + f(1020, (14440).to_bytes(2, "little")) + f(1031, (14440).to_bytes(2, "little"))
        + f(1209, b"\x04") + f(1077, b"\x00\x00\x12\x34\x56\x78")
    )  # fmt: skip


_TLV = base64.b64encode(_receipt_tlv()).decode()


@dataclass
class IngestBench:
    """The figures of one run."""

    registers: int
    documents: int
    workers: int
    database: str
    raw_rate: float  # documents/s into the do-nothing subscriber (mean of raw_rates)
    raw_cpu_us: float  # its CPU µs per document
    ingest_rate: float  # documents/s committed by the ingest
    ingest_cpu_us: float  # the workers' CPU µs per document
    stored: int  # rows in fiscaldocument afterwards
    unique_published: int
    watermarks_complete: bool
    raw_rates: tuple[float, float] = (0.0, 0.0)  # measured before and after the ingest
    # PostgreSQL's CPU µs per document in the workers' backends (a server on this machine:
    # read from /proc; None on SQLite, whose work is the workers' own CPU, or a remote server)
    server_cpu_us: float | None = None

    @property
    def ratio(self) -> float:
        """ingest rate / raw rate"""
        return self.ingest_rate / self.raw_rate if self.raw_rate else 0.0

    @property
    def lossless(self) -> bool:
        """Zero loss and zero duplicates."""
        return self.stored == self.unique_published and self.watermarks_complete


def _stream(root: str, registers: int, documents: int) -> list[tuple[str, bytes]]:
    """(topic, payload) of every document event, round-robin over the registers."""
    per = documents // registers
    out: list[tuple[str, bytes]] = []
    for fd in range(1, per + 1):
        for r in range(registers):
            doc = {
                "v": 1, "fn": f"99990789{r:08d}", "fd": fd, "fs": str(1_000_000 + fd),
                "type": 3, "at": 1_764_316_800 + fd, "shift": 1, "operation": 1,
                "total": 100 * fd + r, "request_id": f"bench-{r}-{fd}", "tlv": _TLV,
            }  # fmt: skip
            topic = f"{root}/v1/reg/{_serial(r)}/doc"
            out.append((topic, json.dumps(doc, separators=(",", ":")).encode()))
    return out


def _serial(r: int) -> str:
    return f"bench{r:08d}"


def _client(url: dict[str, Any], client_id: str, clean: bool = True) -> paho.Client:
    c = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=clean)
    c.username_pw_set(url["user"], url["password"])
    return c


def _publish(url: dict[str, Any], stream: list[tuple[str, bytes]], out: Any) -> None:
    """The publisher process: everything at QoS 1, then the time it started."""
    c = _client(url, f"bench-pub-{uuid.uuid4().hex[:6]}")
    c.connect(url["host"], url["port"])
    c.loop_start()
    start = time.time()
    infos = [c.publish(t, p, qos=1) for t, p in stream]
    for info in infos:
        info.wait_for_publish(60)
    out.put(start)
    c.loop_stop()
    c.disconnect()


def _raw(url: dict[str, Any], root: str, n: int, ready: Any, out: Any) -> None:
    """The do-nothing subscriber process: counts to n at QoS 1."""
    state = {"n": 0, "last": 0.0}
    done = mp.Event()

    def on_message(_c: object, _u: object, _m: paho.MQTTMessage) -> None:
        state["n"] += 1
        if state["n"] >= n:
            state["last"] = time.time()
            done.set()

    c = _client(url, f"bench-raw-{uuid.uuid4().hex[:6]}")
    c.on_message = on_message
    c.on_subscribe = lambda *_a: ready.set()
    c.connect(url["host"], url["port"])
    c.subscribe(f"{root}/v1/reg/+/doc", qos=1)
    c.loop_start()
    ready.wait(10)
    cpu0 = time.process_time()
    done.wait(600)
    out.put((state["last"], time.process_time() - cpu0))
    c.loop_stop()
    c.disconnect()


def _raw_run(
    ctx: Any, url: dict[str, Any], root: str, registers: int, documents: int
) -> tuple[float, float]:
    """The do-nothing subscriber's rate (documents/s) and CPU seconds over the stream."""
    ready, out, pub_out = ctx.Event(), ctx.Queue(), ctx.Queue()
    sub = ctx.Process(target=_raw, args=(url, root, documents, ready, out))
    sub.start()
    ready.wait(10)
    stream = _stream(root, registers, documents)
    pub = ctx.Process(target=_publish, args=(url, stream, pub_out))
    pub.start()
    start = pub_out.get(timeout=600)
    last, cpu = out.get(timeout=600)
    pub.join()
    sub.join()
    return documents / (last - start), float(cpu)


class _Mosquitto:
    """A private Mosquitto with deploy/mosquitto/mosquitto.conf and one fleet account."""

    def __init__(self, workdir: Path, user: str, password: str) -> None:
        exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        conf = (REPO / "deploy" / "mosquitto" / "mosquitto.conf").read_text(encoding="utf-8")
        conf = conf.replace("@PORT@", str(self.port)).replace("@DIR@", str(workdir))
        if os.geteuid() == 0:
            conf += "\nuser root\n"
        (workdir / "mosquitto.conf").write_text(conf, encoding="utf-8")
        (workdir / "passwd").write_text(f"{user}:{mosquitto_hash(password)}\n")
        (workdir / "acl").write_text(f"user {user}\ntopic readwrite #\n")
        log = (workdir / "mosquitto.log").open("ab")
        self.proc = subprocess.Popen(
            [exe, "-c", str(workdir / "mosquitto.conf")], stdout=log, stderr=log
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("mosquitto did not start")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


@contextmanager
def _database(database_url: str | None, tmp: Path) -> Iterator[str]:
    if database_url is None or not database_url.startswith(("postgresql", "postgres:")):
        yield database_url or f"sqlite:///{tmp / 'bench.db'}"
        return
    admin = make_url(normalise_url(database_url))
    conninfo = admin.set(drivername="postgresql").render_as_string(hide_password=False)
    name = f"oblako_bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _backends_cpu(conn: Any) -> dict[int, float] | None:
    """CPU seconds of the other client backends of this database, if the server is local."""
    if conn.dialect.name != "postgresql":
        return None
    pids = conn.execute(
        text(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
            " AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
        )
    ).scalars()
    conn.rollback()
    tick = os.sysconf("SC_CLK_TCK")
    out: dict[int, float] = {}
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return None  # not this machine's (or gone): no figure rather than a wrong one
        fields = stat[stat.rfind(")") + 2 :].split()
        out[pid] = (int(fields[11]) + int(fields[12])) / tick  # utime + stime
    return out


def _worker(db: str, mqtt_url: str, root: str, i: int, batch: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            sys.executable, "-m", "fleet.link.ingest", "--database-url", db,
            "--mqtt-url", mqtt_url, "--root", root, "--client-id", f"fleet-bench-{i}",
            "--batch-size", str(batch),
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )  # fmt: skip


def run(
    mqtt_url: str | None = None,
    registers: int = 100,
    documents: int = 20_000,
    workers: int = 1,
    database_url: str | None = None,
    batch_size: int = 1000,
) -> IngestBench:
    """One measured run (see the module comment); a private Mosquitto when mqtt_url is None."""
    tmp = Path(tempfile.mkdtemp(prefix="oblako-bench-ingest-"))
    broker: _Mosquitto | None = None
    if mqtt_url is None:
        password = uuid.uuid4().hex
        broker = _Mosquitto(tmp, "fleet-bench", password)
        mqtt_url = f"mqtt://fleet-bench:{password}@127.0.0.1:{broker.port}"
    b = broker_url(mqtt_url)
    url = {"host": b.host, "port": b.port, "user": b.username, "password": b.password}
    tag = uuid.uuid4().hex[:8]
    documents = documents // registers * registers
    ctx = mp.get_context("fork")
    try:
        with _database(database_url, tmp) as db:
            engine = make_engine(db)
            SQLModel.metadata.create_all(engine)
            with Session(engine) as s:
                for r in range(registers):
                    s.add(Register(serial=_serial(r), created_at=time.time()))
                s.commit()

            # raw: the same stream into a do-nothing QoS 1 subscriber, before and after the
            # ingest (the mean: the machine's load drifts between the two measurements)
            raw_before = _raw_run(ctx, url, f"bench-raw/{tag}", registers, documents)
            # ingest: the same stream (another root) into the workers
            root = f"bench-ingest/{tag}"
            procs = [_worker(db, mqtt_url, root, i, batch_size) for i in range(workers)]
            cpu0 = 0.0
            for p in procs:
                assert p.stdout is not None
                cpu0 += float(json.loads(p.stdout.readline())["cpu_s"])
            with engine.connect() as conn:
                server0 = _backends_cpu(conn)
            stream = _stream(root, registers, documents)
            pub_out = ctx.Queue()
            pub = ctx.Process(target=_publish, args=(url, stream, pub_out))
            pub.start()
            start = pub_out.get(timeout=600)
            # done when every drive's watermark reaches its last FD: the watermarks move in the
            # transaction that stores, and summing 100 rows every 50 ms costs the server next
            # to nothing (a count(*) over the growing table cost it ~10 µs a document, taken
            # from the ingest it measures); loss and duplicates are counted afterwards. The
            # end of the stream is the workers' own time of their last commit, as the raw
            # subscriber's is its own time of its last message (not this poll's, ~25 ms later)
            stored_through = 0
            with engine.connect() as conn:
                while stored_through < documents:
                    time.sleep(0.05)
                    stored_through = conn.execute(
                        select(func.coalesce(func.sum(StoredWatermark.through), 0))
                    ).one()[0]
                    conn.rollback()
                done = time.time()
                server1 = _backends_cpu(conn)  # before the workers (and their backends) go
            server_cpu_us = None
            if server0 is not None and server1 is not None:
                spent = sum(cpu - server0.get(pid, 0.0) for pid, cpu in server1.items())
                server_cpu_us = spent / documents * 1e6
            pub.join()
            cpu1 = 0.0
            last_commit = 0.0
            for p in procs:
                p.terminate()
                line = p.communicate(timeout=30)[0].decode().strip().splitlines()[-1]
                final = json.loads(line)
                cpu1 += float(final["cpu_s"])
                last_commit = max(last_commit, float(final["last_commit_at"]))
            done = min(done, last_commit) if last_commit > start else done
            with Session(engine) as s:
                stored = s.execute(select(func.count()).select_from(FiscalDocument)).one()[0]
                distinct = s.execute(
                    text(
                        "SELECT COUNT(*) FROM"
                        " (SELECT DISTINCT fn_number, fd_number FROM fiscaldocument) d"
                    )
                ).one()[0]
                marks = s.execute(select(StoredWatermark.through)).scalars().all()  # type: ignore[call-overload]
            engine.dispose()
            raw_after = _raw_run(ctx, url, f"bench-raw2/{tag}", registers, documents)
            raw_rate = (raw_before[0] + raw_after[0]) / 2
            raw_cpu = (raw_before[1] + raw_after[1]) / 2
            per = documents // registers
            return IngestBench(
                registers=registers,
                documents=documents,
                workers=workers,
                database=make_url(db).get_backend_name(),
                raw_rate=raw_rate,
                raw_cpu_us=raw_cpu / documents * 1e6,
                raw_rates=(raw_before[0], raw_after[0]),
                ingest_rate=documents / (done - start),
                ingest_cpu_us=(cpu1 - cpu0) / documents * 1e6,
                server_cpu_us=server_cpu_us,
                stored=stored if stored == distinct else -1,
                unique_published=documents,
                watermarks_complete=len(marks) == registers and all(t == per for t in marks),
            )
    finally:
        if broker is not None:
            broker.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def print_table(results: list[IngestBench]) -> None:
    """A rich table of the runs, with the ratio to the raw rate."""
    from rich.console import Console
    from rich.table import Table

    t = Table(title="MQTT ingest vs a do-nothing QoS 1 subscriber (same stream, same run)")
    for col in (
        "database", "workers", "registers", "documents", "raw docs/s (before/after)",
        "raw CPU µs/doc", "ingest docs/s", "ingest CPU µs/doc", "server CPU µs/doc", "ratio",
        "loss/dup",
    ):  # fmt: skip
        t.add_column(col, justify="right")
    for r in results:
        t.add_row(
            r.database,
            str(r.workers),
            str(r.registers),
            f"{r.documents:,}",
            f"{r.raw_rate:,.0f} ({r.raw_rates[0]:,.0f}/{r.raw_rates[1]:,.0f})",
            f"{r.raw_cpu_us:,.0f}",
            f"{r.ingest_rate:,.0f}",
            f"{r.ingest_cpu_us:,.0f}",
            "—" if r.server_cpu_us is None else f"{r.server_cpu_us:,.0f}",
            f"{r.ratio:.0%}",
            "none" if r.lossless else f"STORED {r.stored} OF {r.unique_published}",
        )
    Console().print(t)


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser(prog="python -m bench.ingest")
    ap.add_argument("--mqtt-url")
    ap.add_argument("--database-url")
    ap.add_argument("--registers", type=int, default=100)
    ap.add_argument("--documents", type=int, default=20_000)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--batch-size", type=int, default=1000)
    a = ap.parse_args()
    print_table(
        [
            run(a.mqtt_url, a.registers, a.documents, w, a.database_url, a.batch_size)
            for w in a.workers
        ]
    )
