"""Report figures against totals read independently from simulated drives' archives.

Two registers on simulated drives (the firmware register over the drive simulator, as in
tests/firmware/test_register.py) make random sales and returns. The fleet's documents are
filed from what each drive's archive holds (the document TLV, as the link's `doc` event
carries it); the expected figures come from the drives' 40h archive records (operation and
total, protocol/fn/commands.py `parse_archive`) and from the requests' item lines — not from the
fleet's tables.
"""

from __future__ import annotations

import random
import uuid
from collections import defaultdict
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session

from firmware.tlv import decode
from fleet.core.clock import SettableClock
from fleet.documents.models import FiscalDocument
from fleet.reports import rollup, service
from protocol.fn.commands import parse_archive
from tests.firmware.test_register import Rig, sale
from tests.reports.test_reports import MARCH
from tests.reports.world import T0, World

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


def test_revenue_and_items_match_the_drives_archives(
    engine: Engine, clock: SettableClock, tmp_path: Path
) -> None:
    w = World(engine, clock)
    clock.advance(max(0.0, T0 + 60 * 86400 - clock.wall()))
    rnd = random.Random(12)
    lines: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    pays: dict[str, int] = defaultdict(int)
    vat20 = 0
    expected: dict[int, dict[str, int]] = {}
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
                pays[form] += sign * amount
            made = rig.docs()[-1]
            # the VAT the drive's document carries, read by the firmware's own codec
            vat20 += sign * next(f[1] for f in decode(made.stlv[4:]) if f[0] == 1102)
            for item in req["items"]:
                lines[item["name"]][0] += sign * item["sum"]
                lines[item["name"]][1] += sign * 1000
        # independent figures: the drive's own archive records
        got = {"sales": 0, "returns": 0, "sales_n": 0}
        for doc in rig.docs():
            if doc.doc_type & 0x7F != 3:
                continue
            rec = parse_archive(doc.doc_type, doc.record)
            if rec.operation == 1:
                got["sales"] += rec.total_kop
                got["sales_n"] += 1
            elif rec.operation == 2:
                got["returns"] += rec.total_kop
        expected[register] = got
        # half the documents in the rollup, the rest read raw past the watermark
        _file(engine, w, rig, register, T0 + register * 3 * 3600)
        if register == 0:
            with Session(engine) as s:
                rollup.refresh(s, clock)
                s.commit()
    with Session(engine) as s:
        by_register = {
            r["register"]: r for r in service.ready(s, w.principal, "revenue_register", MARCH).rows
        }
        check = service.ready(s, w.principal, "average_check", MARCH).rows[0]
        abc = {r["name"]: r for r in service.ready(s, w.principal, "items_abc", MARCH).rows}
        days = service.ready(s, w.principal, "revenue_day", MARCH).rows
        paid = {r["type"]: r["sum"] for r in service.ready(s, w.principal, "payments", MARCH).rows}
        vats = {r["rate"]: r["vat"] for r in service.ready(s, w.principal, "vat", MARCH).rows}
    for register, got in expected.items():
        row = by_register[f"Касса {register + 1}"]
        assert row["sales"] == got["sales"] and row["returns"] == got["returns"]
        assert row["receipts"] == got["sales_n"]
        assert row["net"] == got["sales"] - got["returns"]
    all_net = sum(g["sales"] - g["returns"] for g in expected.values())
    assert check["net"] == all_net == sum(d["net"] for d in days)
    assert check["receipts"] == sum(g["sales_n"] for g in expected.values())
    assert paid["Наличные"] == pays["cash"] and paid["Безналичные"] == pays["electronic"]
    assert paid["Наличные"] + paid["Безналичные"] == all_net
    assert vats["НДС 20 % (22 % с 2026 г.)"] == vat20 != 0
    assert {k: (v["revenue"], v["qty"]) for k, v in abc.items()} == {
        k: (v[0], v[1]) for k, v in lines.items()
    }
