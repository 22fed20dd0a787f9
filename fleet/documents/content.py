"""What a document's TLV says, read once into a `ReceiptContent` row (issue 11).

`extract(tlv)` walks the top-level TLVs once by their lengths (as fleet/link/doctlv.py does)
and descends only into the items (1059) and the grouped VAT totals (1115 → 1119): the money
columns, the VAT sums, the item count and sum and a bitmask of facts (`Flag`) the compliance
checks read with SQL instead of decoding millions of TLVs. Registration reports (1, 11) fill
the registration columns instead: 1062 (tax systems), 1290 (usage conditions), 1057 (agent),
1002 / 1001 / 1036 (autonomous, automatic, automat number) as `Flag` bits.

`index_content` is the `receipt-content` job: documents past its watermark in id order, stopping
before any received in the last `LAG_S` seconds (ids are taken at insert, not commit: see
fleet/receipts_cabinet/facts.py). `fresh_content` computes rows for documents past the
watermark without storing them, so a real-time reader sees a receipt that just arrived.

Money is in kopecks. A broken TLV (the ingest refuses those, so only rows written otherwise)
yields what was read before the break and the `BROKEN` flag.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import IntFlag
from struct import Struct
from typing import Any, Final

from sqlalchemy import Table, delete, insert, select
from sqlmodel import Session, col

from fleet.core.clock import Clock
from fleet.documents.models import DocType, FiscalDocument, ReceiptContent
from fleet.receipts_cabinet.models import ReceiptFactsMark

__all__ = [
    "BATCH",
    "LAG_S",
    "MARK_NAME",
    "Content",
    "Flag",
    "content_rows",
    "extract",
    "fresh_content",
    "index_content",
    "watermark",
]


class Flag(IntFlag):
    """`receiptcontent.flags` bits (stable: SQL reads them as numbers)."""

    EXCISE = 1 << 0  # an item 1212 ∈ {2, 30, 31} or with excise duty 1229
    AGENT = 1 << 1  # an item with 1222, or 1057 in the receipt
    MARKED = 1 << 2  # an item with a marking code 2000 (or 1212 ∈ {31, 33})
    GAMBLING = 1 << 3  # 1212 ∈ {5, 6}
    LOTTERY = 1 << 4  # 1212 ∈ {7, 8}
    PREPAY_ITEMS = 1 << 5  # 1214 ∈ {1, 2, 3}: prepayment, partial prepayment, advance
    CREDIT_ITEMS = 1 << 6  # 1214 ∈ {5, 6}: partial settlement and credit, handed over on credit
    FULL_PREPAY = 1 << 7  # 1214 = 1 (ПРЕДОПЛАТА 100%)
    MARK_NEGATIVE = 1 << 8  # 2106 checked and not positive, or 2107 ≠ 0
    MARK_UNCODED = 1 << 9  # 1212 ∈ {30, 32}: a good subject to marking sold without its code
    SERVICE = 1 << 10  # 1212 = 4
    AUTOMAT = 1 << 11  # 1036 «номер автомата» present
    TIMEZONE = 1 << 12  # 1011 present
    VAT_MISMATCH = 1 << 13  # the VAT totals disagree with the items' VAT (1200) and sums (1043)
    BROKEN = 1 << 15  # the TLV breaks off (read up to the break)
    # registration reports (1, 11)
    REG_AUTONOMOUS = 1 << 16  # 1002 ≠ 0
    REG_AUTOMATIC = 1 << 17  # 1001 ≠ 0


#: 1290 «признаки условий применения ККТ» bits (simulator/fn/documents.py, [2nd] S4).
USAGE_INTERNET: Final = 1 << 5
USAGE_EXCISE: Final = 1 << 6
USAGE_MARKING: Final = 1 << 8
USAGE_SERVICES: Final = 1 << 9
USAGE_GAMBLING: Final = 1 << 10
USAGE_LOTTERY: Final = 1 << 11
USAGE_AUTOMAT: Final = 1 << 14

LAG_S: Final = 60.0
BATCH: Final = 5000
MAX_BATCHES: Final = 40
MARK_NAME: Final = "receipt-content"
_HEADER: Final = Struct("<HH")
_DOCS: Table = FiscalDocument.__table__  # type: ignore[attr-defined]
_CONTENT: Table = ReceiptContent.__table__  # type: ignore[attr-defined]
_REGISTRATIONS: Final = (int(DocType.REGISTRATION), int(DocType.REREGISTRATION))
_SETTLEMENTS: Final = (
    int(DocType.RECEIPT),
    int(DocType.BSO),
    int(DocType.CORRECTION_RECEIPT),
    int(DocType.CORRECTION_BSO),
)
_MONEY: Final = {
    1020: "total",
    1031: "cash",
    1081: "electronic",
    1215: "prepaid",
    1216: "credit",
    1217: "consideration",
    1102: "vat1102",
    1103: "vat1103",
    1104: "vat1104",
    1105: "vat1105",
    1106: "vat1106",
    1107: "vat1107",
}
# item VAT code (1199) → the top-level tag its total goes to and whether it sums VAT (1200)
# or the item sums (1043) (FFD 1.2; firmware/shared/vat.py TOTAL_TAGS)
_VAT_TOTAL: Final = {1: 1102, 2: 1103, 3: 1106, 4: 1107, 5: 1104, 6: 1105}
_BY_SUM: Final = frozenset({5, 6})
_EXCISE_TYPES: Final = frozenset({2, 30, 31})
_MARKED_TYPES: Final = frozenset({31, 33})
_UNCODED_TYPES: Final = frozenset({30, 32})


@dataclass
class Content:
    """One document's content (the `receiptcontent` columns past the document's own)."""

    total: int | None = None
    cash: int | None = None
    electronic: int | None = None
    prepaid: int | None = None
    credit: int | None = None
    consideration: int | None = None
    vat1102: int | None = None
    vat1103: int | None = None
    vat1104: int | None = None
    vat1105: int | None = None
    vat1106: int | None = None
    vat1107: int | None = None
    vat1120: int | None = None  # Σ 1120 in 1115 {1119}: VAT at the 2025-2026 rates (codes 7-12)
    vat_codes: int = 0  # bit n set: some item or 1119 carries VAT code n (1199)
    items: int = 0
    items_sum: int = 0
    internet: bool = False
    buyer_contact: bool = False
    place: str | None = None
    flags: int = 0
    tax_system: int | None = None  # 1055
    reg_tax: int | None = None  # 1062, registration reports
    reg_usage: int | None = None  # 1290, registration reports
    reg_agent: int | None = None  # 1057, registration reports


def _vln(b: bytes) -> int:
    return int.from_bytes(b, "little")


def extract(data: bytes) -> Content:
    """The content of one document's top-level TLVs (see the module docstring)."""
    unpack = _HEADER.unpack_from
    n = len(data)
    c = Content()
    flags = 0
    money: dict[int, int] = {}
    item_vat: dict[int, int] = {}  # code → Σ 1200 (or Σ 1043 for codes 5, 6)
    grouped: dict[int, int] = {}  # code → 1120 from 1115
    i = 0
    while i < n:
        if n - i < 4:
            flags |= Flag.BROKEN
            break
        tag, length = unpack(data, i)
        v0 = i + 4
        j = v0 + length
        if j > n:
            flags |= Flag.BROKEN
            break
        if tag in _MONEY:
            money[tag] = _vln(data[v0:j])
        elif tag == 1059:
            c.items += 1
            k = v0
            vat_code = 0
            vat_sum = 0
            item_sum = 0
            while k + 4 <= j:
                t, ln = unpack(data, k)
                e = k + 4 + ln
                if e > j:
                    flags |= Flag.BROKEN
                    break
                if t == 1043:
                    item_sum = _vln(data[k + 4 : e])
                elif t == 1199 and ln == 1:
                    vat_code = data[k + 4]
                elif t == 1200:
                    vat_sum = _vln(data[k + 4 : e])
                elif t == 1212 and ln == 1:
                    pt = data[k + 4]
                    if pt in _EXCISE_TYPES:
                        flags |= Flag.EXCISE
                    if pt in _MARKED_TYPES:
                        flags |= Flag.MARKED
                    if pt in _UNCODED_TYPES:
                        flags |= Flag.MARK_UNCODED
                    if pt in (5, 6):
                        flags |= Flag.GAMBLING
                    if pt in (7, 8):
                        flags |= Flag.LOTTERY
                    if pt == 4:
                        flags |= Flag.SERVICE
                elif t == 1214 and ln == 1:
                    m = data[k + 4]
                    if m in (1, 2, 3):
                        flags |= Flag.PREPAY_ITEMS
                    if m == 1:
                        flags |= Flag.FULL_PREPAY
                    if m in (5, 6):
                        flags |= Flag.CREDIT_ITEMS
                elif t == 1222:
                    flags |= Flag.AGENT
                elif t == 1229:
                    flags |= Flag.EXCISE
                elif t == 2000:
                    flags |= Flag.MARKED
                elif t == 2106 and ln == 1:
                    r = data[k + 4]
                    if r & 0x01 and not r & 0x02:
                        flags |= Flag.MARK_NEGATIVE
                k = e
            c.items_sum += item_sum
            if vat_code:
                c.vat_codes |= 1 << vat_code
                item_vat[vat_code] = item_vat.get(vat_code, 0) + (
                    item_sum if vat_code in _BY_SUM else vat_sum
                )
        elif tag == 1115:
            k = v0
            while k + 4 <= j:
                t, ln = unpack(data, k)
                e = k + 4 + ln
                if e > j:
                    flags |= Flag.BROKEN
                    break
                if t == 1119:
                    code = 0
                    amount = 0
                    m = k + 4
                    while m + 4 <= e:
                        t2, ln2 = unpack(data, m)
                        f = m + 4 + ln2
                        if f > e:
                            break
                        if t2 == 1199 and ln2 == 1:
                            code = data[m + 4]
                        elif t2 == 1120:
                            amount = _vln(data[m + 4 : f])
                        m = f
                    if code:
                        c.vat_codes |= 1 << code
                        grouped[code] = grouped.get(code, 0) + amount
                k = e
        elif tag == 1125:
            c.internet = length == 1 and data[v0] & 1 == 1
        elif tag == 1008:
            c.buyer_contact = length > 0
        elif tag == 1187:
            c.place = data[v0:j].decode("cp866", "replace").strip()[:256] or None
        elif tag == 1057 and length == 1:
            c.reg_agent = data[v0]
            if data[v0]:
                flags |= Flag.AGENT
        elif tag == 1036:
            flags |= Flag.AUTOMAT
        elif tag == 1011:
            flags |= Flag.TIMEZONE
        elif tag == 2107 and length == 1 and data[v0] != 0:
            flags |= Flag.MARK_NEGATIVE
        elif tag == 1055 and length == 1:
            c.tax_system = data[v0]
        elif tag == 1062 and length == 1:
            c.reg_tax = data[v0]
        elif tag == 1290:
            c.reg_usage = _vln(data[v0:j])
        elif tag == 1002 and length == 1 and data[v0]:
            flags |= Flag.REG_AUTONOMOUS
        elif tag == 1001 and length == 1 and data[v0]:
            flags |= Flag.REG_AUTOMATIC
        i = j
    for tag, name in _MONEY.items():
        if tag in money:
            setattr(c, name, money[tag])
    if grouped:
        c.vat1120 = sum(grouped.values())
    if c.items and not flags & Flag.BROKEN and _vat_mismatch(money, item_vat, grouped):
        flags |= Flag.VAT_MISMATCH
    c.flags = flags
    return c


def _vat_mismatch(money: dict[int, int], item_vat: dict[int, int], grouped: dict[int, int]) -> bool:
    """Whether a VAT total differs from what the items add up to (absent total = 0)."""
    for code, tag in _VAT_TOTAL.items():
        if item_vat.get(code, 0) != money.get(tag, 0):
            return True
    return any(item_vat.get(code, 0) != grouped.get(code, 0) for code in range(7, 13))


def _row(
    doc_id: int,
    company_id: int | None,
    register_id: int,
    issued_at: float,
    doc_type: int,
    operation: int | None,
    tlv: bytes,
) -> dict[str, Any]:
    c = extract(tlv)
    row = asdict(c)
    row.update(
        document_id=doc_id,
        company_id=company_id,
        register_id=register_id,
        issued_at=issued_at,
        doc_type=doc_type,
        operation=operation,
    )
    return row


_WANTED: Final = (*_SETTLEMENTS, *_REGISTRATIONS)


def content_rows(rows: list[Any]) -> list[dict[str, Any]]:
    """`receiptcontent` rows of (id, company, register, issued_at, type, operation, tlv) rows
    (documents without a TLV or of other types give none)."""
    return [
        _row(d, co, r, at, t, op, bytes(tlv))
        for d, co, r, at, t, op, tlv in rows
        if tlv is not None and t in _WANTED
    ]


def watermark(session: Session) -> int:
    """Every document with id ≤ this has its content filed."""
    row = session.get(ReceiptFactsMark, MARK_NAME)
    return row.through_id if row is not None else 0


def _select() -> Any:
    c = _DOCS.c
    return select(c.id, c.company_id, c.register_id, c.issued_at, c.doc_type, c.operation, c.tlv)


def index_content(session: Session, clock: Clock) -> int:
    """The job: file the content of documents past the watermark; returns rows filed."""
    mark = session.get(ReceiptFactsMark, MARK_NAME)
    if mark is None:
        mark = ReceiptFactsMark(name=MARK_NAME, through_id=0, updated_at=clock.wall())
        session.add(mark)
        session.flush()
    horizon = clock.wall() - LAG_S
    conn = session.connection()
    c = _DOCS.c
    filed = 0
    for _ in range(MAX_BATCHES):
        rows = conn.execute(
            _select()
            .add_columns(c.received_at)
            .where(c.id > mark.through_id)
            .order_by(c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            break
        taken = []
        stopped = False
        for r in rows:
            if r[7] > horizon:
                stopped = True
                break
            taken.append(r[:7])
        if taken:
            out = content_rows(taken)
            if out:
                # a rerun after a lost lease finds rows it filed: replace them
                ids = [r["document_id"] for r in out]
                conn.execute(delete(_CONTENT).where(col(_CONTENT.c.document_id).in_(ids)))
                conn.execute(insert(_CONTENT), out)
                filed += len(out)
            mark.through_id = taken[-1][0]
        if stopped or len(rows) < BATCH:
            break
    mark.updated_at = clock.wall()
    session.add(mark)
    session.flush()
    return filed


def fresh_content(
    session: Session, company_id: int | None = None, limit: int = 50_000
) -> list[dict[str, Any]]:
    """Content rows of documents past the watermark (newest first, at most `limit`), computed
    now and not stored: the real-time checks read these with the filed rows."""
    c = _DOCS.c
    stmt = _select().where(c.id > watermark(session), c.tlv.is_not(None))
    if company_id is not None:
        stmt = stmt.where(c.company_id == company_id)
    rows = session.connection().execute(stmt.order_by(c.id.desc()).limit(limit)).all()
    return content_rows(list(rows))
