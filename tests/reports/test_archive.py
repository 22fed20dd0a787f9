"""Report figures against totals read independently from simulated drives' archives.

Two registers on simulated drives (the firmware register over the drive simulator, as in
tests/firmware/test_register.py) make random sales and returns. The fleet's documents are
filed from what each drive's archive holds (the document TLV, as the link's `doc` event
carries it); the expected figures come from the drives' 40h archive records (operation and
total, protocol/fn/commands.py `parse_archive`) and from the requests' item lines — not from the
fleet's tables. The ready reports and the General's report (totals, days, stores, regions,
months) are checked against them.
"""

from __future__ import annotations

import datetime as dt
import random
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session

from firmware.tlv import decode
from fleet.core.clock import SettableClock
from fleet.documents.models import FiscalDocument
from fleet.general import figures as general
from fleet.reports import rollup, service
from fleet.stores.models import Store
from protocol.fn.commands import parse_archive
from tests.firmware.test_register import Rig, sale
from tests.reports.test_reports import MARCH
from tests.reports.world import MSK, T0, World

RECEIPTS_PER_REGISTER = 14


def _file(engine: Engine, w: World, rig: Rig, register: int, at: float) -> None:
    """File every settlement document of the drive's archive as the ingest would."""
    with Session(engine) as s:
        fn = f"9999{uuid.uuid4().int % 10**12:012d}"
        for doc in rig.docs():
            top = {f[0]: f[1] for f in decode(doc.stlv[4:])}
            s.add(
                FiscalDocument(
                    register_id=w.registers[register],
                    company_id=w.company,
                    fn_number=fn,
                    fd_number=doc.fd,
                    doc_type=doc.doc_type & 0x7F,
                    operation=top.get(1054),
                    total=top.get(1020),
                    tax_system=top.get(1055),
                    shift_number=top.get(1038),
                    fiscal_sign=str(doc.fp),
                    issued_at=at + doc.fd * 60,
                    received_at=at,
                    tlv=doc.stlv[4:],
                )
            )
        s.commit()


@dataclass
class Sold:
    """What two registers on simulated drives sold, read from the drives and the requests
    (never from the fleet's tables)."""

    world: World
    #: per register index: sales, returns (kopecks) and sale receipts, from the 40h records
    archive: dict[int, dict[str, int]] = field(default_factory=dict)
    #: per Moscow day: the same, over both registers
    days: dict[dt.date, dict[str, int]] = field(default_factory=dict)
    pays: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    vat20: int = 0
    #: item name → [revenue, quantity in thousandths], from the requests' lines
    lines: dict[str, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))

    @property
    def net(self) -> int:
        """Sales minus returns of both registers."""
        return sum(g["sales"] - g["returns"] for g in self.archive.values())


def sell(engine: Engine, clock: SettableClock, tmp_path: Path) -> Sold:
    """Random sales and returns on two firmware registers over drive simulators, filed as the
    ingest would (the first register's documents folded into the rollup, the second's read
    raw past its watermark)."""
    w = World(engine, clock)
    clock.advance(max(0.0, T0 + 60 * 86400 - clock.wall()))
    rnd = random.Random(12)
    sold = Sold(w)
    for register in (0, 1):
        (tmp_path / f"r{register}").mkdir()
        rig = Rig(tmp_path / f"r{register}")
        rig.start()
        for i in range(RECEIPTS_PER_REGISTER):
            op = "sale_return" if rnd.random() < 0.25 else "sale"
            total = rnd.randrange(3000, 90000)
            n = rnd.randrange(1, 4)
            req = sale(f"{register}-{i}", total, items=n, operation=op,
                       pay=rnd.choice(["cash", "electronic"]))  # fmt: skip
            r = rig.reg.handle(req)
            assert r["status"] == "made", r
            rig.reg.ack(req["id"])
            sign = 1 if op == "sale" else -1
            for form, amount in req["payments"].items():
                sold.pays[form] += sign * amount
            made = rig.docs()[-1]
            # the VAT the drive's document carries, read by the firmware's own codec
            sold.vat20 += sign * next(f[1] for f in decode(made.stlv[4:]) if f[0] == 1102)
            for item in req["items"]:
                sold.lines[item["name"]][0] += sign * item["sum"]
                sold.lines[item["name"]][1] += sign * 1000
        # independent figures: the drive's own archive records
        at = T0 + register * 3 * 3600
        got = {"sales": 0, "returns": 0, "sales_n": 0}
        for doc in rig.docs():
            if doc.doc_type & 0x7F != 3:
                continue
            rec = parse_archive(doc.doc_type, doc.record)
            day = dt.datetime.fromtimestamp(at + doc.fd * 60, MSK).date()
            per_day = sold.days.setdefault(day, {"sales": 0, "returns": 0, "sales_n": 0})
            if rec.operation == 1:
                for into in (got, per_day):
                    into["sales"] += rec.total_kop
                    into["sales_n"] += 1
            elif rec.operation == 2:
                for into in (got, per_day):
                    into["returns"] += rec.total_kop
        sold.archive[register] = got
        _file(engine, w, rig, register, at)
        if register == 0:
            with Session(engine) as s:
                rollup.refresh(s, clock)
                s.commit()
    return sold


def test_revenue_and_items_match_the_drives_archives(
    engine: Engine, clock: SettableClock, tmp_path: Path
) -> None:
    sold = sell(engine, clock, tmp_path)
    w = sold.world
    with Session(engine) as s:
        by_register = {
            r["register"]: r for r in service.ready(s, w.principal, "revenue_register", MARCH).rows
        }
        check = service.ready(s, w.principal, "average_check", MARCH).rows[0]
        abc = {r["name"]: r for r in service.ready(s, w.principal, "items_abc", MARCH).rows}
        days = service.ready(s, w.principal, "revenue_day", MARCH).rows
        paid = {r["type"]: r["sum"] for r in service.ready(s, w.principal, "payments", MARCH).rows}
        vats = {r["rate"]: r["vat"] for r in service.ready(s, w.principal, "vat", MARCH).rows}
    for register, got in sold.archive.items():
        row = by_register[f"Касса {register + 1}"]
        assert row["sales"] == got["sales"] and row["returns"] == got["returns"]
        assert row["receipts"] == got["sales_n"]
        assert row["net"] == got["sales"] - got["returns"]
    assert check["net"] == sold.net == sum(d["net"] for d in days)
    assert {d["date"]: d["net"] for d in days} == {
        day: g["sales"] - g["returns"] for day, g in sold.days.items()
    }
    assert check["receipts"] == (n := sum(g["sales_n"] for g in sold.archive.values()))
    sales = sum(g["sales"] for g in sold.archive.values())
    assert check["average"] == int((Decimal(sales) / n).quantize(Decimal(1), ROUND_HALF_UP))
    assert paid["Наличные"] == sold.pays["cash"] and paid["Безналичные"] == sold.pays["electronic"]
    assert paid["Наличные"] + paid["Безналичные"] == sold.net
    assert vats["НДС 20 % (22 % с 2026 г.)"] == sold.vat20 != 0
    assert {k: (v["revenue"], v["qty"]) for k, v in abc.items()} == {
        k: (v[0], v[1]) for k, v in sold.lines.items()
    }


def test_the_generals_report_matches_the_drives_archives(
    engine: Engine, clock: SettableClock, tmp_path: Path
) -> None:
    sold = sell(engine, clock, tmp_path)
    w = sold.world
    with Session(engine) as s:
        for store_id, region in zip(w.stores, ("77", "50"), strict=True):
            store = s.get(Store, store_id)
            assert store is not None
            store.region_code = region
            s.add(store)
        s.commit()
        report = general.build(s, w.company, dt.date(2026, 3, 31), 30)
    total_sales = sum(g["sales"] for g in sold.archive.values())
    total_n = sum(g["sales_n"] for g in sold.archive.values())
    assert report.totals.revenue == sold.net
    assert report.totals.sales == total_n
    assert report.totals.average_check == int(
        (Decimal(total_sales) / total_n).quantize(Decimal(1), ROUND_HALF_UP)
    )
    assert {p.day: p.totals.revenue for p in report.by_day if p.totals.sales or p.totals.returns} \
        == {day: g["sales"] - g["returns"] for day, g in sold.days.items()}  # fmt: skip
    stores = {r.label: r.totals.revenue for r in report.stores}
    regions = {r.key: r.totals.revenue for r in report.regions}
    for register, name, region in (
        (0, "Магазин на Тверской", "77"),
        (1, "Магазин на Арбате", "50"),
    ):
        g = sold.archive[register]
        assert stores[name] == regions[region] == g["sales"] - g["returns"]
    assert dict(report.by_month) == {"2026-03": sold.net}
