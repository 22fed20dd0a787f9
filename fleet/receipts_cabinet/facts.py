"""Reading a document's buyer contact and marking facts from its TLV, and the job that files them.

`scan(tlv)` walks the top-level TLVs once by their lengths (as fleet/link/doctlv.py does) and
descends only into items (1059): 1008 «Телефон или электронный адрес покупателя» (CP866
string), 2107 «Результаты проверки маркированных товаров» at the top level, and in an item 1030
«Наименование предмета расчёта», 2000 «Код маркировки» and 2106 «Результат проверки сведений о
товаре». A mark check is negative when 2106 has bit 0 («проверен») set and bit 1
(«положительный») clear — the register refuses a sale on that unless told otherwise
(firmware/register.py `_check_marks`), so such a receipt is one to look at; 2107 ≠ 0 means that
not every marking code checked positive [2nd: FFD 1.2 table of 2107; no register writes it yet].

`index_facts` is the `receipt-facts` job: it reads documents past its watermark in id order and
files a `ReceiptFacts` row for each that has a contact or marked goods. It stops before any
document received in the last `LAG_S` seconds: ids are taken when a transaction inserts, not
when it commits, so a younger id may become visible before an older one; an ingest batch
commits within a second, and the lag keeps the watermark behind every open batch. Searches read
the documents past the watermark themselves (search.py), so a new receipt is found at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from struct import Struct
from typing import Final

from sqlalchemy import Table, select
from sqlmodel import Session, col

from fleet.core.clock import Clock
from fleet.documents.models import RECEIPT_TYPES, FiscalDocument
from fleet.receipts_cabinet.models import ReceiptFacts, ReceiptFactsMark

__all__ = ["BATCH", "LAG_S", "TAIL_MAX", "Facts", "index_facts", "scan", "unindexed", "watermark"]

BUYER_CONTACT: Final = 1008
ITEM: Final = 1059
ITEM_NAME: Final = 1030
MARK_CODE: Final = 2000
MARK_RESULT: Final = 2106
MARKS_RESULT: Final = 2107
_KM_CHECKED: Final = 0x01
_KM_POSITIVE: Final = 0x02
LAG_S: Final = 60.0
BATCH: Final = 5000
MAX_BATCHES: Final = 40  # one run files at most 200 000 documents, then commits
MARK_NAME: Final = "receipt-facts"
TAIL_MAX: Final = 5000
_HEADER: Final = Struct("<HH")
_DOCS: Table = FiscalDocument.__table__  # type: ignore[attr-defined]
_RECEIPT_TYPES: Final = tuple(int(t) for t in RECEIPT_TYPES)


@dataclass(frozen=True)
class Facts:
    """What a search and the marked-goods list need from one document."""

    buyer_contact: str | None = None
    marked_item: str | None = None
    marked_items: int = 0
    mark_error: bool = False

    @property
    def empty(self) -> bool:
        """Nothing worth a row."""
        return self.buyer_contact is None and self.marked_items == 0 and not self.mark_error


def scan(data: bytes) -> Facts:
    """The facts of one document's TLV; a broken TLV yields what was read before the break
    (the ingest refuses broken documents, so this only guards rows written otherwise)."""
    unpack = _HEADER.unpack_from
    n = len(data)
    i = 0
    contact: str | None = None
    first_name: str | None = None
    marked = 0
    error = False
    while i + 4 <= n:
        tag, length = unpack(data, i)
        j = i + 4 + length
        if j > n:
            break
        if tag == BUYER_CONTACT:
            contact = data[i + 4 : j].decode("cp866").strip().lower() or None
        elif tag == MARKS_RESULT and length == 1:
            error = error or data[i + 4] != 0
        elif tag == ITEM:
            k = i + 4
            name: str | None = None
            has_code = False
            while k + 4 <= j:
                t, ln = unpack(data, k)
                e = k + 4 + ln
                if e > j:
                    break
                if t == ITEM_NAME:
                    name = data[k + 4 : e].decode("cp866")
                elif t == MARK_CODE:
                    has_code = True
                elif t == MARK_RESULT and ln == 1:
                    r = data[k + 4]
                    if r & _KM_CHECKED and not r & _KM_POSITIVE:
                        error = True
                k = e
            if has_code:
                marked += 1
                if first_name is None:
                    first_name = name
        i = j
    return Facts(
        buyer_contact=contact[:64] if contact else None,
        marked_item=first_name[:128] if first_name else None,
        marked_items=marked,
        mark_error=error,
    )


def watermark(session: Session) -> int:
    """Every document with id ≤ this has its facts filed."""
    row = session.get(ReceiptFactsMark, MARK_NAME)
    return row.through_id if row is not None else 0


def index_facts(session: Session, clock: Clock) -> int:
    """The job: file the facts of documents past the watermark; returns rows filed."""
    mark = session.get(ReceiptFactsMark, MARK_NAME)
    if mark is None:
        mark = ReceiptFactsMark(name=MARK_NAME, through_id=0, updated_at=clock.wall())
        session.add(mark)
        session.flush()
    horizon = clock.wall() - LAG_S
    filed = 0
    c = _DOCS.c
    for _ in range(MAX_BATCHES):
        rows = (
            session.connection()
            .execute(
                select(
                    c.id,
                    c.company_id,
                    c.register_id,
                    c.doc_type,
                    c.issued_at,
                    c.received_at,
                    c.total,
                    c.tlv,
                )
                .where(c.id > mark.through_id)
                .order_by(c.id)
                .limit(BATCH)
            )
            .all()
        )
        if not rows:
            break
        through = mark.through_id
        stopped = False
        for doc_id, company_id, register_id, doc_type, issued_at, received_at, total, tlv in rows:
            if received_at > horizon:
                stopped = True
                break
            through = doc_id
            if tlv is None or doc_type not in _RECEIPT_TYPES:
                continue
            facts = scan(bytes(tlv))
            if facts.empty:
                continue
            session.add(
                ReceiptFacts(
                    document_id=doc_id,
                    company_id=company_id,
                    register_id=register_id,
                    issued_at=issued_at,
                    total=total,
                    buyer_contact=facts.buyer_contact,
                    marked_item=facts.marked_item,
                    marked_items=facts.marked_items,
                    mark_error=facts.mark_error,
                )
            )
            filed += 1
        mark.through_id = through
        if stopped or len(rows) < BATCH:
            break
    mark.updated_at = clock.wall()
    session.add(mark)
    session.flush()
    return filed


def unindexed(session: Session, company_id: int) -> list[tuple[int, Facts]]:
    """(document id, facts) of the company's newest settlement documents past the watermark
    (at most `TAIL_MAX`: a job far behind, as after the migration on a full database, must
    not turn a search into a scan; the job catches up at 200 000 documents a run)."""
    c = _DOCS.c
    stmt = (
        select(c.id, c.tlv)
        .where(
            c.id > watermark(session),
            c.company_id == company_id,
            col(c.doc_type).in_(_RECEIPT_TYPES),
            c.tlv.is_not(None),
        )
        .order_by(c.id.desc())
        .limit(TAIL_MAX)
    )
    rows = session.connection().execute(stmt).all()
    return [(doc_id, scan(bytes(tlv))) for doc_id, tlv in rows]
