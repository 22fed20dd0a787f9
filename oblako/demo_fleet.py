"""`make demo`: the cloud cash register at work, on embedded defaults.

Starts every service (oblako/demo_stack.py), seeds a demo client whose registers are booked,
paid and registered with the simulated tax service (oblako/demo_seed.py; each register makes
its registration report on its simulated drive, on a command sent over MQTT), then plays an
online shop: receipts go to the integrator API at a steady rate, are routed to the registers,
fiscalised on their drives, stored by the fleet's ingest and confirmed by the simulated OFD,
while the console shows live data. Ctrl-C stops everything; `--receipts N` stops after N
receipts are confirmed (what the tests run).
"""

from __future__ import annotations

import os
import random
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.live import Live
from rich.panel import Panel
from rich.table import Table
from sqlalchemy import func, select
from sqlmodel import Session, col

from fleet.core.clock import SystemClock
from fleet.delivery.models import Delivery
from fleet.link.ingest_models import DeviceShadow, LinkCommand
from fleet.receipts.models import Receipt
from fleet.registration import report
from fleet.registration.models import RegistrationApplication
from oblako import demo_seed
from oblako.demo_stack import DEMO_DB, DemoStack, StartError

__all__ = ["DemoError", "prepare", "run_fleet_demo", "sale_body"]

CATALOGUE = [
    ('Чай улун "Молочный", 100 г', 49000),
    ("Кофе в зёрнах, 1 кг", 189000),
    ("Кружка керамическая", 59000),
    ("Френч-пресс 600 мл", 149000),
    ("Печенье миндальное, 200 г", 29000),
    ("Мёд липовый, 500 г", 69000),
]
STATUS_RU = {
    "accepted": "принят",
    "queued": "в очереди кассы",
    "fiscalised": "фискализирован",
    "confirmed": "подтверждён ОФД",
    "failed": "ошибка",
}


class DemoError(RuntimeError):
    """The demo could not do what it shows (the message says what)."""


def sale_body(external_id: str, rng: random.Random) -> dict[str, Any]:
    """An online shop's sale: 1–3 items, paid by card, the buyer's e-mail or, one in five, phone
    (1008: the phone's receipt goes by SMS through the demo's SMSC simulator)."""
    items: list[dict[str, Any]] = []
    for name, price in rng.sample(CATALOGUE, rng.randint(1, 3)):
        qty = rng.randint(1, 3)
        items.append(
            {
                "name": name,
                "price": price,
                "quantity": str(qty),
                "measure": 0,
                "sum": price * qty,
                "vat": "vat22",
                "type": 1,
                "method": "full_payment",
            }
        )
    total = sum(int(i["sum"]) for i in items)
    return {
        "id": external_id,
        "operation": "sale",
        "tax_system": "osn",
        "items": items,
        "payments": {"electronic": total},
        "total": total,
        "buyer_contact": (
            f"+7916{rng.randint(0, 9_999_999):07d}"
            if rng.random() < 0.2
            else f"buyer{rng.randint(1, 999)}@example.ru"
        ),
        "cashier": demo_seed.CASHIER,
    }


def _wait(pred: Any, timeout: float, what: str) -> None:
    end = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > end:
            raise DemoError(what)
        time.sleep(0.1)


def _online(stack: DemoStack, register_ids: list[int]) -> bool:
    assert stack.engine is not None
    with Session(stack.engine) as s:
        n = s.execute(
            select(func.count())
            .select_from(DeviceShadow)
            .where(
                DeviceShadow.register_id.in_(register_ids),  # type: ignore[attr-defined]
                DeviceShadow.online.is_(True),  # type: ignore[attr-defined]
            )
        ).scalar_one()
    return int(n) == len(register_ids)


def _result(stack: DemoStack, register_id: int, request_id: str) -> dict[str, Any] | None:
    assert stack.engine is not None
    with Session(stack.engine) as s:
        row = s.execute(
            select(LinkCommand.result_status, LinkCommand.result).where(  # type: ignore[call-overload]
                LinkCommand.register_id == register_id, LinkCommand.request_id == request_id
            )
        ).first()
    if row is None or row[0] is None:
        return None
    return {"status": row[0], **(row[1] or {})}


def register_all(stack: DemoStack, account: demo_seed.DemoAccount, console: Console) -> None:
    """Each register makes the registration report the cabinet ordered when the RNM came; the
    FNS gets the report's requisites."""
    assert stack.engine is not None
    clock = SystemClock()
    ids = account.register_ids
    _wait(lambda: _online(stack, ids), 30, "Кассы не вышли на связь с брокером за 30 с")
    with Session(stack.engine) as s:
        rids = {
            row.register_id: report.request_id(row)
            for row in s.scalars(
                select(RegistrationApplication).where(
                    RegistrationApplication.register_id.in_(ids)  # type: ignore[attr-defined]
                )
            ).all()
        }
    for rid, serial in zip(ids, account.serials, strict=True):
        _wait(
            lambda rid=rid: _result(stack, rid, rids[rid]) is not None,
            60,
            f"Касса {serial} не ответила на команду регистрации за 60 с",
        )
        result = _result(stack, rid, rids[rid])
        assert result is not None
        if result["status"] != "made":
            raise DemoError(f"Касса {serial} не зарегистрировалась: {result}")
        with Session(stack.engine) as s:
            demo_seed.finish_registration(s, clock, account, rid, stack.settings.fns_url)
        console.print(
            f"  касса {serial}: РНМ {account.rnms[rid]}, отчёт о регистрации ФД {result['fd']}"
        )


def _counts(stack: DemoStack, company_id: int) -> Counter[str]:
    assert stack.engine is not None
    with Session(stack.engine) as s:
        rows = s.execute(
            select(Receipt.status, func.count())  # type: ignore[call-overload]
            .where(Receipt.company_id == company_id)
            .group_by(Receipt.status)
        ).all()
        sent = s.execute(
            select(func.count())
            .select_from(Delivery)
            # sent: an e-mail counts as delivered only when its 15-minute bounce window ends
            .where(
                col(Delivery.company_id) == company_id, col(Delivery.first_attempt_at).is_not(None)
            )
        ).scalar_one()
    return Counter({str(k): int(v) for k, v in rows}) + Counter({"e-receipts": int(sent)})


def _table(counts: Counter[str], sent: int, started: float) -> Table:
    t = Table(title=f"Чеки интернет-магазина · {time.monotonic() - started:,.0f} с")
    t.add_column("Статус")
    t.add_column("Чеков", justify="right")
    t.add_row("отправлено в API", str(sent))
    for key, label in STATUS_RU.items():
        t.add_row(label, str(counts.get(key, 0)))
    t.add_row("отправлено покупателям (e-mail, SMS)", str(counts.get("e-receipts", 0)))
    return t


def run_fleet_demo(
    *,
    registers: int = 5,
    rate: float = 2.0,
    receipts: int | None = None,
    port: int = 8000,
    base: Path = Path("var/demo"),
    console: Console | None = None,
    database_name: str = DEMO_DB,
) -> int:
    """Run the demo (see the module); the number of receipts confirmed when it stops."""
    console = console or Console()
    stack = DemoStack(
        base,
        registers=registers,
        port=port,
        database_url=os.environ.get("DATABASE_URL"),
        mqtt_url=os.environ.get("MQTT_URL"),
        database_name=database_name,
    )
    stop = threading.Event()
    try:
        with stack:
            return _run(stack, console, registers, rate, receipts, stop)
    except StartError as e:
        raise DemoError(str(e)) from e
    finally:
        stop.set()


def prepare(
    stack: DemoStack,
    console: Console,
    registers: int,
    *,
    instant: bool = False,
    processes: int = 0,
) -> demo_seed.DemoAccount:
    """Seed the client, start the ingest, the registers and the receipts worker, and
    register every register; the account made. `instant`: drives without wire time;
    `processes`: the registers in that many child processes (0: threads of this one)."""
    assert stack.engine is not None
    db = "PostgreSQL" if stack.engine.dialect.name == "postgresql" else "SQLite"
    broker = "Mosquitto" if stack.mqtt_url_env else "встроенный брокер MQTT"
    console.print(f"[bold]Облако[/]: {db}, {broker} ({stack.mqtt_url}), ОФД и ФНС — симуляторы")
    fns = [f"9999{random.randrange(10**12):012d}" for _ in range(registers)]
    with Session(stack.engine) as s:
        account = demo_seed.seed(
            s,
            stack.settings,
            SystemClock(),
            count=registers,
            fn_numbers=fns,
            fns_url=stack.settings.fns_url,
            ca=stack.ca,
        )
    stack.start_ingest()
    stack.start_registers(account.serials, account.fn_numbers, instant=instant, processes=processes)
    stack.start_receipts()
    stack.start_delivery()
    console.print(f"Регистрация {registers} касс в ФНС (симулятор):")
    register_all(stack, account, console)
    return account


def _run(
    stack: DemoStack,
    console: Console,
    registers: int,
    rate: float,
    receipts: int | None,
    stop: threading.Event,
) -> int:
    account = prepare(stack, console, registers)
    console.print(
        Panel.fit(
            f"Кабинет: [bold]{stack.url}[/]\n"
            f"Клиент: {account.email} / {account.password}\n"
            f"Оператор: {account.operator_email} / {account.password}\n"
            f"API-токен интегратора: {account.token}\n"
            f"curl -H 'Authorization: Bearer {account.token}' {stack.url}/api/receipts",
            title="Облако работает — откройте кабинет",
        )
    )
    return _stream(stack, account, console, rate, receipts, stop)


def _stream(
    stack: DemoStack,
    account: demo_seed.DemoAccount,
    console: Console,
    rate: float,
    receipts: int | None,
    stop: threading.Event,
) -> int:
    rng = random.Random()
    sent = 0
    started = time.monotonic()
    headers = {"Authorization": f"Bearer {account.token}"}
    with (
        httpx.Client(base_url=stack.url, headers=headers, timeout=10) as http,
        Live(_table(Counter(), 0, started), console=console, refresh_per_second=2) as live,
    ):
        try:
            while not stop.is_set():
                if receipts is None or sent < receipts:
                    body = sale_body(f"order-{uuid.uuid4().hex[:12]}", rng)
                    r = http.post("/api/receipts", json=body)
                    if r.status_code not in (200, 201, 202):
                        raise DemoError(f"API ответил {r.status_code}: {r.text[:300]}")
                    sent += 1
                broken = [reg for reg in stack.registers if reg.errors]
                if broken:
                    raise DemoError(
                        f"Касса {broken[0].serial} остановилась: {broken[0].errors[0]!r}"
                    )
                counts = _counts(stack, account.company_id)
                live.update(_table(counts, sent, started))
                if receipts is not None and sent >= receipts:
                    if counts.get("failed"):
                        raise DemoError(f"Чеки с ошибкой: {counts['failed']}")
                    if counts.get("confirmed", 0) >= receipts:
                        return receipts
                    if time.monotonic() - started > 60 + receipts * 2:
                        raise DemoError(f"Не все чеки подтверждены ОФД: {dict(counts)}")
                time.sleep(1.0 / rate)
        except KeyboardInterrupt:
            console.print("Остановка…")
    return _counts(stack, account.company_id).get("confirmed", 0)


class BenchService:
    """The demo's stack as `bench.receipts.Service` (`oblako bench receipts`)."""

    def __init__(self, stack: DemoStack, account: demo_seed.DemoAccount) -> None:
        assert stack.engine is not None
        self.stack = stack
        self.url = stack.url
        self.token = account.token
        self.engine = stack.engine
        self.company_id = account.company_id
        self.registers = len(account.register_ids)
        self.broker_pid = _broker_pid(stack)
        self.register_pids = list(stack.register_pids)
        self.api_pids = list(stack.api_pids)
        self.ingest_pids = list(stack.ingest_pids)
        self._rng = random.Random(1)

    def body(self, external_id: str) -> dict[str, Any]:
        return sale_body(external_id, self._rng)

    def pause_worker(self) -> None:
        self.stack.stop_receipts()

    def resume_worker(self) -> None:
        self.stack.start_receipts()

    @property
    def worker_pids(self) -> list[int]:
        return list(self.stack.worker_pids)  # a new process each resume


def _broker_pid(stack: DemoStack) -> int | None:
    """Mosquitto's pid when the stack uses an external broker on this machine."""
    if not stack.mqtt_url_env:
        return None
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if (proc / "comm").read_text().strip() == "mosquitto":
                    return int(proc.name)
            except OSError:
                continue
    return None
