"""`oblako demo --one-register`: one cloud register at work, on embedded defaults.

A simulated fiscal drive (simulator/fn) and a simulated OFD (simulator/ofd, on a local TCP
port) stand in for the hardware and the operator; the register runtime (firmware/register.py,
the code that runs on the board) registers the drive, sells receipts from the shared request
schema, returns one, rolls the shift over when the day passes (the clock is simulated, so a
day takes no time), closes the shift with its totals, and delivers every document to the OFD,
which checks its fiscal sign and format. The whole service (fleet, MQTT, cabinet) is
`oblako demo` (oblako/demo_fleet.py). State lives under var/demo/ and is made anew each run.
"""

from __future__ import annotations

import json
import random
import shutil
import time
from importlib import resources
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.panel import Panel
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from bench.codec import to_firmware
from firmware import net
from firmware import tlv as fw
from firmware.drive import FiscalDrive
from firmware.journal import Journal
from firmware.ofd import OfdClient
from firmware.register import Register
from firmware.storage import FileStorage
from hil.scenarios import INN, KKT_SERIAL, OFD_INN, RNM
from protocol.ofd import parse_container
from protocol.tlv import decode as decode_tlv
from simulator.clock import SimClock
from simulator.fn import DriveConfig, DriveModel, inproc_pair
from simulator.ofd import OfdServer
from simulator.ofd.service import OfdConfig

DEMO_DIR = Path("var/demo")
FN_NUMBER = "9999078900001001"
CASHIER = {"name": "Кассир Петрова", "inn": "500100732259"}
CATALOGUE = [
    ("Хлеб Бородинский, 400 г", 6490, "1"),
    ("Молоко 3,2%, 1 л", 8990, "2"),
    ("Сыр Российский, кг", 79900, "0.350"),
    ("Кофе молотый, 250 г", 45900, "1"),
    ("Яблоки Голден, кг", 14990, "1.240"),
    ("Вода питьевая, 1,5 л", 5990, "6"),
]
OPERATIONS = {1: "приход", 2: "возврат прихода", 3: "расход", 4: "возврат расхода"}
DOC_NAMES = {1: "Отчёт о регистрации", 2: "Открытие смены", 3: "Кассовый чек",
             5: "Закрытие смены", 21: "Отчёт о расчётах", 31: "Чек коррекции"}  # fmt: skip


def _vector(name: str) -> str:
    return resources.files("protocol").joinpath("vectors", name).read_text()


def _sale(rid: str, rng: random.Random) -> dict[str, Any]:
    items: list[dict[str, Any]] = []
    for name, price, qty in rng.sample(CATALOGUE, rng.randint(1, 4)):
        whole, _, frac = qty.partition(".")
        milli = int(whole) * 1000 + int((frac + "000")[:3])
        total = (price * milli + 500) // 1000  # half up, as the schema's rule
        item = {"name": name, "price": price, "quantity": qty, "measure": 0, "sum": total}
        items.append({**item, "vat": "vat22", "type": 1, "method": "full_payment"})
    total = sum(int(i["sum"]) for i in items)
    cash = 0  # an internet register (1290 bit 5) takes no cash: see the refused request
    return {
        "id": rid,
        "operation": "sale",
        "tax_system": "osn",
        "items": items,
        "payments": {"cash": cash, "electronic": total - cash},
        "total": total,
        "cashier": CASHIER,
        "buyer_contact": "buyer@example.ru",
    }


def run_demo(receipts: int = 24) -> None:
    """Run one register on simulated hardware and show what happened."""
    console = Console()
    console.print(
        Panel(
            "Облачная касса Oblako на встроенных настройках: симулятор фискального накопителя "
            "и симулятор ОФД вместо железа и оператора, а на кассе — тот же код, что на плате "
            "(firmware/register.py). Здесь — одна касса без парка, от регистрации до передачи "
            "чеков в ОФД; парк касс, MQTT и кабинет показывает `oblako demo` без ключей.",
            title="oblako demo --one-register",
        )
    )
    shutil.rmtree(DEMO_DIR, ignore_errors=True)
    (DEMO_DIR / "flash").mkdir(parents=True)
    clock = SimClock(start=time.time())
    model = DriveModel(
        DriveConfig(fn_number=FN_NUMBER), clock=clock, state_file=DEMO_DIR / "fn.json"
    )
    port, _ = inproc_pair(model, timeout=0.01)
    drive = FiscalDrive(port, clock)
    server = OfdServer(OfdConfig(), clock=clock)
    ofd_port = server.start()
    client = OfdClient(drive, net.connector(0.05), "127.0.0.1", ofd_port, clock)
    storage = FileStorage(str(DEMO_DIR / "flash"))
    register = Register(drive, Journal(storage), clock, None, storage=storage, ofd=client)
    try:
        results = _work(console, clock, register, client, receipts)
        _show(console, model, server, register, results, storage)
    finally:
        client.close()
        server.stop()
        storage.close()
    _show_vectors(console)


def _work(
    console: Console, clock: SimClock, register: Register, client: OfdClient, receipts: int
) -> list[dict[str, Any]]:
    register.recover()
    register.trust_time("fleet")
    rng = random.Random(54)
    registration = {
        "id": "demo-registration", "kind": "registration", "inn": INN, "rnm": RNM,
        "kkt_serial": KKT_SERIAL, "tax_systems": ["osn"], "modes": ["internet"],
        "ofd_inn": OFD_INN, "ofd_name": "ОФД-симулятор", "user_name": 'ООО "Облако-демо"',
        "address": "г. Москва, ул. Тестовая, д. 1", "place": "oblako.example.ru",
        "sender_email": "cheki@oblako.example.ru", "cashier": CASHIER,
    }  # fmt: skip
    results = [register.handle(registration)]
    bad = _sale("demo-bad-cash", rng)
    bad["payments"] = {"cash": bad["total"]}
    results.append(register.handle(bad))  # refused before the drive is touched
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), console=console
    ) as progress:
        task = progress.add_task("Пробиваем чеки", total=receipts + 2)
        sales = {}
        for n in range(receipts):
            if n == receipts // 2:
                clock.advance(24 * 3600)  # a day passes: the runtime rolls the shift over
            sale = _sale(f"demo-sale-{n + 1}", rng)
            sales[sale["id"]] = sale
            results.append(register.handle(sale))
            clock.advance(rng.randint(30, 900))
            progress.advance(task)
        first = next(r for r in results if r["id"] == "demo-sale-1")
        sold = sales["demo-sale-1"]
        refund = {**sold, "id": "demo-return-1", "operation": "sale_return"}
        results.append(register.handle({**refund, "original": {"fd": first["fd"]}}))
        progress.advance(task)
        close = {"id": "demo-close", "kind": "close_shift", "cashier": CASHIER}
        results.append(register.handle(close))
        progress.advance(task)
        sending = progress.add_task("Передаём в ОФД", total=None)
        for _ in range(2000):
            register.service()
            status = client.status()
            left = status.get("unsent") or 0
            progress.update(sending, description=f"Передаём в ОФД (осталось {left})")
            if left == 0 and status.get("delivered"):
                break
            clock.advance(1)
    return results


def _show(
    console: Console,
    model: DriveModel,
    server: OfdServer,
    register: Register,
    results: list[dict[str, Any]],
    storage: FileStorage,
) -> None:
    accepted = {d.fd_number for d in server.gateway.documents(FN_NUMBER, accepted=True)}
    rejected = {d.fd_number: d for d in server.gateway.rejections(FN_NUMBER)}
    table = Table(title=f"Документы ФН {FN_NUMBER} (по архиву накопителя)")
    for col in ("ФД", "документ", "сумма, ₽", "ФП", "ОФД"):
        table.add_column(col)
    for doc in model.state.archive:
        (top,) = decode_tlv(doc.stlv)
        sum_field = top.find(1020)
        kop = sum_field.value if sum_field is not None else None
        total = f"{kop / 100:,.2f}".replace(",", " ") if isinstance(kop, int) else ""
        op = top.find(1054)
        name = DOC_NAMES.get(doc.doc_type, str(doc.doc_type))
        if op is not None and isinstance(op.value, int):
            name += f", {OPERATIONS.get(op.value, str(op.value))}"
        ofd = "принят" if doc.fd in accepted else ("ошибка ФЛК" if doc.fd in rejected else "—")
        table.add_row(str(doc.fd), name, total, f"{doc.fp:010d}", ofd)
    console.print(table)
    made = [r for r in results if r.get("status") == "made"]
    failed = [r for r in results if r.get("status") != "made"]
    sale = next(r for r in made if r.get("kind") == "receipt")
    wear = register.journal.wear()
    console.print(
        f"Запросов: {len(results)}, документов сделано: {len(made)}, отказов: {len(failed)}. "
        f"Документов смены, сделанных кассой самой: "
        f"{sum(len(r.get('shift_documents', [])) for r in made)}.\n"
        f"QR первого чека: {sale['qr']}\n"
        f"ОФД принял {len(accepted)} документов, отклонил {len(rejected)}; "
        f"в накопителе не передано: {sum(d.unconfirmed for d in model.state.archive)}.\n"
        f"Журнал на флеше: {json.dumps(wear, ensure_ascii=False)}"
    )
    for r in failed:
        reasons = "; ".join(f"{e['path']}: {e['message']}" for e in r.get("errors", []))
        console.print(f"Отказ до касания накопителя, {r['id']}: {reasons}")


def _show_vectors(console: Console) -> None:
    raw = bytes.fromhex(_vector("v1_container_registration.hex").strip())
    c = parse_container(raw)
    body = raw[32 : len(raw) - len(c.trailer)]
    agree = to_firmware(c.document) == fw.decode(body) and fw.encode(fw.decode(body)) == body
    console.print(
        f"Настоящий контейнер ОФД из открытых векторов (ФН {c.fn_number}, ФД {c.fd_number}): "
        f"спецификация и кодек прошивки {'согласны до байта' if agree else 'РАСХОДЯТСЯ'}. "
        "Дальше: `oblako tlv decode`, `oblako fn parse`, `oblako hil run --port sim`, "
        "`oblako bench codec|drive` (см. README)."
    )
