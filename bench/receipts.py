"""`oblako bench receipts`: receipts end to end, from the integrator API to the OFD.

The service under test is the demo's (oblako/demo_stack.py, wired by the CLI): the fleet app
under uvicorn, the ingest, the receipts worker (routing, commands, tracking), N registers (the
board's runtime, `run_mqtt`) on simulated drives with no wire-time emulation and HMAC-SHA-256
fiscal signs, the simulated OFD; PostgreSQL when given, and by default a private Mosquitto with
the project's deploy/mosquitto/mosquitto.conf (a broker on Mosquitto's default 1000-message
queue drops the ingest's messages in the bench's bursts, and an OFD answer lost so is never
sent again: its receipts stay "fiscalised"). The registers and their
drives run in `--register-processes` child processes (as on real boards, each its own CPU: by
default 2), the API in `--api-processes` children sharing its port (oblako/api_pool.py; by
default 2, as `oblako fleet serve --workers N` in production; 0: a thread of this process),
on PostgreSQL the ingest and the receipts worker each in a child process too (`--fleet-processes`,
as `oblako fleet ingest run` and `oblako fleet receipts run` beside `fleet serve`: in one
process with the rest, each of the worker's statements waited 5–7 ms for the interpreter lock
under load and its passes took ~170 ms), the rest in this process, so each thread's CPU clock
(`time.pthread_getcpuclockid`) tells what each fleet hop costs; the child processes' come from
/proc.

Phases, each measured from the database's own timestamps (`receipt.created_at`,
`fiscalised_at`, `confirmed_at`):
  api        the worker paused: receipts/s the API accepts (the baseline: the front door alone)
             from `senders` concurrent HTTP clients; then the worker drains them.
  saturate   the worker running, the same clients for `seconds`: the receipts accepted over
             the time until the last of them was fiscalised (confirmed), and CPU µs per
             receipt in each hop over the phase and its drain (idle loops included).
  half       paced at half the fiscalised rate for `seconds`: accept → fiscalised and accept →
             confirmed latency p50/p95/p99.
Targets (issue 8): ≥ 500 receipts/s end to end on this 2-core machine, p99 accept → fiscalised
under 1 s at half load. Search p95 over 10M receipts is `oblako bench receipt-search`.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Protocol

import httpx
from sqlalchemy import text
from sqlalchemy.engine import Engine

from bench.cabinet import percentile

__all__ = ["HOPS", "Figures", "Service", "measure", "report"]

TARGET_RATE: Final = 500.0
TARGET_P99_S: Final = 1.0
#: the registers' child processes: runtime, drive simulator and their MQTT clients together
POOLS: Final = "кассы и симуляторы ФН (свои процессы)"
#: the API's child processes (`--api-processes`): uvicorn, FastAPI, create_receipt
API_POOL: Final = "API (свои процессы)"
#: the receipts worker's and the ingest's own processes (`--fleet-processes`), MQTT clients in
WORKER_PROC: Final = "маршрутизация, команды, статусы (свой процесс)"
INGEST_PROC: Final = "приём (ingest, свой процесс)"

#: thread name prefix → hop (the names the services give their threads)
HOPS: Final = (
    ("Облако (кабинет и API)", "API (uvicorn, FastAPI)"),
    ("AnyIO worker", "API (uvicorn, FastAPI)"),
    ("receipts", "маршрутизация, команды, статусы"),
    ("paho-mqtt-client-fleet-cmd", "MQTT: клиент команд парка"),
    ("ingest", "приём (ingest)"),
    ("paho-mqtt-client-demo-ingest", "MQTT: клиент приёма"),
    ("register-", "касса (runtime)"),
    ("paho-mqtt-client-", "MQTT: клиенты касс"),
    ("fn-sim-tcp", "симулятор ФН"),
    ("ofd-simulator", "симулятор ОФД"),
    ("amqtt", "брокер MQTT"),
    ("fleet-jobs", "задания по расписанию"),
)


class Service(Protocol):
    """What the bench drives (built by `oblako bench receipts`)."""

    url: str
    token: str
    engine: Engine
    company_id: int
    registers: int
    broker_pid: int | None  # an external broker process (Mosquitto), for its CPU
    register_pids: list[int]  # the registers' own processes (drives and runtimes), if any
    api_pids: list[int]  # the API's own processes (oblako/api_pool.py), if any
    ingest_pids: list[int]  # the ingest's own process, if any

    @property
    def worker_pids(self) -> list[int]:
        """The receipts worker's own process, if any (a new one after each resume)."""
        ...

    def body(self, external_id: str) -> dict[str, Any]: ...

    def pause_worker(self) -> None: ...

    def resume_worker(self) -> None: ...


@dataclass
class Figures:
    """What one run measured."""

    registers: int
    senders: int
    database: str
    api_rate: float = 0.0
    fiscalised_rate: float = 0.0
    confirmed_rate: float = 0.0
    half_rate: float = 0.0
    latency_fiscalised: tuple[float, float, float] = (0.0, 0.0, 0.0)
    latency_confirmed: tuple[float, float, float] = (0.0, 0.0, 0.0)
    cpu_us: dict[str, float] = field(default_factory=dict)
    failed: int = 0


def _hop(name: str) -> str:
    for prefix, hop in HOPS:
        if name.startswith(prefix):
            return hop
    return "прочее"


def _thread_cpu() -> dict[int, tuple[str, float]]:
    out = {}
    for t in threading.enumerate():
        if t.ident is None or t is threading.current_thread():
            continue
        try:
            cpu = time.clock_gettime(time.pthread_getcpuclockid(t.ident))
        except (OSError, ProcessLookupError):  # the thread ended meanwhile
            continue
        out[t.ident] = (t.name, cpu)
    return out


def _proc_cpu(pid: int | None) -> float:
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _cpu_by_hop(
    before: dict[int, tuple[str, float]], after: dict[int, tuple[str, float]]
) -> dict[str, float]:
    out: dict[str, float] = defaultdict(float)
    for ident, (name, cpu) in after.items():
        was_name, was = before.get(ident, (name, 0.0))
        # a thread that ended and whose id was reused (the API's worker threads) started anew
        out[_hop(name)] += cpu - was if was_name == name and cpu >= was else cpu
    return dict(out)


def _post_loop(
    svc: Service, until: float, pace: float | None, sent: list[int], errors: list[str]
) -> None:
    headers = {"Authorization": f"Bearer {svc.token}"}
    with httpx.Client(base_url=svc.url, headers=headers, timeout=30) as http:
        next_at = time.monotonic()
        while time.monotonic() < until:
            if pace is not None:
                now = time.monotonic()
                if now < next_at:
                    time.sleep(next_at - now)
                next_at += pace
            r = http.post("/api/receipts", json=svc.body(f"bench-{uuid.uuid4().hex[:16]}"))
            if r.status_code in (200, 201, 202):
                sent[0] += 1
            elif len(errors) < 5:
                errors.append(f"{r.status_code}: {r.text[:200]}")


def _send(svc: Service, senders: int, seconds: float, rate: float | None) -> int:
    until = time.monotonic() + seconds
    counts = [[0] for _ in range(senders)]
    errors: list[str] = []
    pace = senders / rate if rate else None
    threads = [
        threading.Thread(
            target=_post_loop, args=(svc, until, pace, c, errors), name="bench-client", daemon=True
        )
        for c in counts
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise RuntimeError(f"API отказал: {errors}")
    return sum(c[0] for c in counts)


def _scalar(engine: Engine, sql: str, **params: Any) -> Any:
    with engine.connect() as c:
        return c.execute(text(sql), params).scalar()


def _drain(svc: Service, timeout: float) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        left = _scalar(
            svc.engine,
            "SELECT count(*) FROM receipt WHERE company_id = :c"
            " AND status NOT IN ('confirmed', 'failed')",
            c=svc.company_id,
        )
        if not left:
            return
        time.sleep(0.5)
    raise RuntimeError(f"за {timeout:.0f} с не обработано {left} чеков")


def _rate(svc: Service, column: str, start: float, end: float) -> float:
    """Receipts accepted in [start, end) over the time until the last of them reached
    `column` (fiscalised, confirmed): the rate the whole chain sustained for that load."""
    with svc.engine.connect() as c:
        n, last = c.execute(
            text(
                f"SELECT count(*), max({column}) FROM receipt WHERE company_id = :c"
                " AND created_at >= :a AND created_at < :b"
            ),
            {"c": svc.company_id, "a": start, "b": end},
        ).one()
    if not n or last is None:
        return 0.0
    return float(n) / (max(float(last), end) - start)


def _percentiles(values: list[float]) -> tuple[float, float, float]:
    if not values:
        return (0.0, 0.0, 0.0)
    return (percentile(values, 0.50), percentile(values, 0.95), percentile(values, 0.99))


def _latencies(svc: Service, column: str, start: float, end: float) -> list[float]:
    with svc.engine.connect() as c:
        rows = c.execute(
            text(
                f"SELECT {column} - created_at FROM receipt WHERE company_id = :c"
                f" AND created_at >= :a AND created_at < :b AND {column} IS NOT NULL"
            ),
            {"c": svc.company_id, "a": start, "b": end},
        ).all()
    return [float(r[0]) for r in rows]


def measure(
    svc: Service,
    *,
    seconds: float = 20.0,
    senders: int = 8,
    progress: Callable[[str], None] = lambda _m: None,
) -> Figures:
    """The three phases (see the module); the figures."""
    fig = Figures(svc.registers, senders, svc.engine.dialect.name)
    progress("API без обработки (воркер остановлен)…")
    svc.pause_worker()
    t0 = time.time()
    _send(svc, senders, min(seconds, 10.0), None)
    fig.api_rate = _rate(svc, "created_at", t0, time.time())
    svc.resume_worker()
    progress("ждём, пока кассы пробьют принятое…")
    _drain(svc, 300)

    progress(f"насыщение: {seconds:.0f} с, {senders} клиентов API…")
    before, broker0 = _thread_cpu(), _proc_cpu(svc.broker_pid)
    pools0 = sum(_proc_cpu(pid) for pid in svc.register_pids)
    api0 = sum(_proc_cpu(pid) for pid in svc.api_pids)
    fleet_pids = {WORKER_PROC: svc.worker_pids, INGEST_PROC: svc.ingest_pids}
    fleet0 = {hop: sum(_proc_cpu(pid) for pid in pids) for hop, pids in fleet_pids.items()}
    t0 = time.time()
    _send(svc, senders, seconds, None)
    t1 = time.time()
    _drain(svc, 600)
    fig.fiscalised_rate = _rate(svc, "fiscalised_at", t0, t1)
    fig.confirmed_rate = _rate(svc, "confirmed_at", t0, t1)
    after, broker1 = _thread_cpu(), _proc_cpu(svc.broker_pid)
    pools1 = sum(_proc_cpu(pid) for pid in svc.register_pids)
    api1 = sum(_proc_cpu(pid) for pid in svc.api_pids)
    done = _scalar(
        svc.engine,
        "SELECT count(*) FROM receipt WHERE company_id = :c AND created_at >= :a",
        c=svc.company_id,
        a=t0,
    )
    cpu = _cpu_by_hop(before, after)
    if svc.broker_pid is not None:
        cpu["брокер MQTT"] = cpu.get("брокер MQTT", 0.0) + broker1 - broker0
    if svc.register_pids:
        cpu[POOLS] = pools1 - pools0
    if svc.api_pids:
        cpu[API_POOL] = api1 - api0
    for hop, pids in fleet_pids.items():
        if pids:
            cpu[hop] = sum(_proc_cpu(pid) for pid in pids) - fleet0[hop]
    cpu.pop("прочее", None)
    fig.cpu_us = {k: v / max(int(done or 0), 1) * 1e6 for k, v in cpu.items()}

    half = max(fig.fiscalised_rate / 2, 0.5)
    fig.half_rate = half
    progress(f"половинная нагрузка: {half:.1f} чеков/с, {seconds:.0f} с…")
    t0 = time.time()
    _send(svc, max(1, min(senders, int(half) or 1)), seconds, half)
    t1 = time.time()
    _drain(svc, 300)
    fig.latency_fiscalised = _percentiles(_latencies(svc, "fiscalised_at", t0, t1))
    fig.latency_confirmed = _percentiles(_latencies(svc, "confirmed_at", t0, t1))
    fig.failed = int(
        _scalar(
            svc.engine,
            "SELECT count(*) FROM receipt WHERE company_id = :c AND status = 'failed'",
            c=svc.company_id,
        )
        or 0
    )
    return fig


def report(fig: Figures) -> list[tuple[str, str, str]]:
    """(what, figure, against) rows for the table."""
    p = fig.latency_fiscalised
    c = fig.latency_confirmed
    rows = [
        ("API принимает (воркер остановлен), чеков/с", f"{fig.api_rate:,.0f}", "база"),
        (
            "API → фискализирован, чеков/с",
            f"{fig.fiscalised_rate:,.1f}",
            f"{fig.fiscalised_rate / max(fig.api_rate, 1e-9):.2f} базы;"
            f" {fig.fiscalised_rate / TARGET_RATE:.2f} цели {TARGET_RATE:.0f}",
        ),
        (
            "API → подтверждён ОФД, чеков/с",
            f"{fig.confirmed_rate:,.1f}",
            f"{fig.confirmed_rate / max(fig.api_rate, 1e-9):.2f} базы",
        ),
        (
            f"задержка до ФД при {fig.half_rate:.1f} чеков/с, p50/p95/p99",
            f"{p[0] * 1e3:,.0f} / {p[1] * 1e3:,.0f} / {p[2] * 1e3:,.0f} мс",
            f"p99 {'<' if p[2] < TARGET_P99_S else '≥'} 1 с",
        ),
        (
            "задержка до подтверждения ОФД, p50/p95/p99",
            f"{c[0] * 1e3:,.0f} / {c[1] * 1e3:,.0f} / {c[2] * 1e3:,.0f} мс",
            "",
        ),
    ]
    total = sum(fig.cpu_us.values())
    for hop, us in sorted(fig.cpu_us.items(), key=lambda kv: -kv[1]):
        rows.append((f"ЦП на чек: {hop}", f"{us:,.0f} мкс", f"{us / max(total, 1e-9):.0%}"))
    rows.append(("ЦП на чек, всего", f"{total:,.0f} мкс", f"ошибок: {fig.failed}"))
    return rows
