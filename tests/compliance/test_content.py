"""Receipt content (fleet/documents/content.py) from documents real registers made."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from fleet.documents.content import Flag, extract, fresh_content, index_content, watermark
from fleet.documents.models import FiscalDocument, ReceiptContent
from tests.compliance.world import Ahead, World
from tests.firmware.test_register import sale


def test_a_receipt_content_matches_what_was_sold(engine: Engine, tmp_path: Path) -> None:
    w = World(engine, tmp_path)
    w.register()
    items = [
        {"name": "Хлеб", "price": 5000, "quantity": "2", "measure": 0, "sum": 10000,
         "vat": "vat10", "type": 1, "method": "full_payment"},
        {"name": "Услуга", "price": 12200, "quantity": "1", "measure": 0, "sum": 12200,
         "vat": "vat122", "type": 4, "method": "full_prepayment"},
    ]  # fmt: skip
    made = w.receipt(
        {**sale("r1", 22200), "items": items, "payments": {"cash": 2200, "electronic": 20000},
         "buyer_contact": "buyer@example.ru"}
    )  # fmt: skip
    with Session(engine) as s:
        doc = s.exec(
            select(FiscalDocument).where(col(FiscalDocument.fd_number) == made["fd"])
        ).one()
        assert doc.tlv is not None
        c = extract(doc.tlv)
        assert (c.total, c.cash, c.electronic, c.items, c.items_sum) == (
            22200,
            2200,
            20000,
            2,
            22200,
        )
        assert c.vat1103 == 909  # 10000 × 10/110, rounded
        assert c.vat_codes == (1 << 2) | (1 << 12) and c.vat1120 == 2200
        assert c.buyer_contact and not c.internet
        assert c.flags & Flag.SERVICE and c.flags & Flag.FULL_PREPAY and c.flags & Flag.PREPAY_ITEMS
        assert not c.flags & (Flag.VAT_MISMATCH | Flag.BROKEN | Flag.EXCISE)
        # the real-time reader sees it before the job files it
        fresh = {r["document_id"]: r for r in fresh_content(s)}
        assert fresh[doc.id]["total"] == 22200
        filed = index_content(s, _far(w))
        assert filed >= 2  # registration report and receipt (shift reports carry no content)
        row = s.get(ReceiptContent, doc.id)
        assert row is not None and row.total == 22200 and row.company_id == w.company_id
        assert watermark(s) >= (doc.id or 0)
        assert fresh_content(s) == []
        assert index_content(s, _far(w)) == 0  # nothing new


def test_the_registration_report_gives_the_registered_flags(engine: Engine, tmp_path: Path) -> None:
    w = World(engine, tmp_path)
    w.register(
        tax_systems=["usn_income", "osn"],
        modes=["internet", "excise"],
        agent_types=["paying_agent"],
    )
    with Session(engine) as s:
        index_content(s, _far(w))
        reg = s.exec(select(ReceiptContent).where(col(ReceiptContent.doc_type) == 1)).one()
    assert reg.reg_tax == 3 and reg.reg_agent == 4
    assert reg.reg_usage is not None and reg.reg_usage & (1 << 5) and reg.reg_usage & (1 << 6)


def test_a_broken_tlv_yields_what_came_before_the_break() -> None:
    good = (1020).to_bytes(2, "little") + (2).to_bytes(2, "little") + (500).to_bytes(2, "little")
    c = extract(good + b"\x59\x04\xff\x00\x01")
    assert c.total == 500 and c.flags & Flag.BROKEN


def _far(w: World) -> Ahead:
    return Ahead(w.clock)
