"""The receipts cabinet: facts from the TLV, search, the receipt page with its QR code, marked
goods, «Пробить новый чек» and a return filled from an original."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from fleet.accounts.mail import MemoryMailSender
from fleet.core.clock import SettableClock
from fleet.documents.models import FiscalDocument
from fleet.receipts.models import Receipt
from fleet.receipts_cabinet import facts, view
from fleet.receipts_cabinet.models import ReceiptFacts
from fleet.registers.models import Register, RegisterState
from fleet.stores.models import Store
from protocol import tlv
from protocol.tree import Field
from tests.fleet.test_billing_kit import company_id, signed_in, use_cookie

#: 2026-01-15 10:30 Moscow
T0 = dt.datetime(2026, 1, 15, 10, 30, tzinfo=dt.timezone(dt.timedelta(hours=3))).timestamp()


def item(name: str, price: int, *, mark: str | None = None, check: int | None = None) -> Field:
    children = [
        Field(1030, name),
        Field(1079, price),
        Field(1023, Decimal("1")),
        Field(2108, 0),
        Field(1043, price),
        Field(1199, 6),
        Field(1212, 33 if mark else 1),
        Field(1214, 4),
    ]
    if mark is not None:
        children += [Field(2000, mark), Field(2100, 2), Field(2102, 0)]
        if check is not None:
            children.append(Field(2106, check))
    return Field(1059, tuple(children))


def receipt_tlv(
    items: list[Field], *, contact: str | None = None, top: list[Field] | None = None
) -> bytes:
    total = sum(int(f.find(1043).value) for f in items)  # type: ignore[union-attr,arg-type]
    fields = [Field(1012, int(T0) + 3 * 3600), Field(1055, 2), *items, Field(1081, total)]
    if contact is not None:
        fields.append(Field(1008, contact))
    return tlv.encode(fields + (top or []))


class World:
    """Two registers in two stores of one company, and a way to file documents."""

    def __init__(self, engine: Engine, clock: SettableClock, company: int) -> None:
        self.engine = engine
        self.clock = clock
        self.company = company
        self.fd = 0
        with Session(engine) as s:
            shop = Store(
                company_id=company,
                name="Магазин на Тверской",
                kind="online",
                website="https://shop.example.ru",
                created_at=clock.wall(),
            )
            s.add(shop)
            s.flush()
            assert shop.id is not None
            self.store = shop.id
            self.registers = []
            for n in range(2):
                reg = Register(
                    serial=uuid.uuid4().hex[:12],
                    name=f"Касса {n + 1}",
                    state=RegisterState.ACTIVE.value,
                    company_id=company,
                    store_id=shop.id if n == 0 else None,
                    created_at=clock.wall(),
                )
                s.add(reg)
                s.flush()
                assert reg.id is not None
                self.registers.append(reg.id)
            s.commit()

    def doc(
        self,
        data: bytes,
        *,
        register: int = 0,
        at: float = T0,
        ofd: str = "accepted",
        operation: int = 1,
    ) -> FiscalDocument:
        self.fd += 1
        fields = tlv.decode(data)
        total = next(int(f.value) for f in fields if f.tag == 1081)  # type: ignore[arg-type]
        row = FiscalDocument(
            register_id=self.registers[register],
            company_id=self.company,
            fn_number="9999078900001234",
            fd_number=self.fd,
            doc_type=3,
            operation=operation,
            total=total,
            tax_system=2,
            shift_number=1,
            fiscal_sign=str(3_000_000_000 + self.fd),
            has_marking=any(f.tag == 1059 and f.find(2000) for f in fields),
            issued_at=at,
            received_at=self.clock.wall(),
            ofd_status=ofd,
            tlv=data,
        )
        with Session(self.engine) as s:
            s.add(row)
            s.commit()
            s.refresh(row)
        return row


def _setup(
    client: TestClient, mailer: MemoryMailSender, engine: Engine, clock: SettableClock, n: int = 1
) -> World:
    headers, _inn = signed_in(client, mailer, n)
    use_cookie(client, headers)
    client.headers.update(headers)
    return World(engine, clock, company_id(client, headers))


def _index(engine: Engine, clock: SettableClock) -> int:
    clock.advance(facts.LAG_S + 1)
    with Session(engine) as s:
        filed = facts.index_facts(s, clock)
        s.commit()
    return filed


# ---- facts ---------------------------------------------------------------------------------


def test_scan_reads_contact_marking_and_negative_checks() -> None:
    data = receipt_tlv(
        [item("Хлеб", 5000), item("Туфли", 990_000, mark="010460", check=0x01)],
        contact="Buyer@Example.RU",
    )
    f = facts.scan(data)
    assert f == facts.Facts("buyer@example.ru", "Туфли", 1, True)
    ok = facts.scan(receipt_tlv([item("Туфли", 100, mark="0104", check=0x03)]))
    assert (ok.marked_items, ok.mark_error, ok.buyer_contact) == (1, False, None)
    top = facts.scan(receipt_tlv([item("Туфли", 100, mark="0104")], top=[Field(2107, 1)]))
    assert top.mark_error
    assert facts.scan(receipt_tlv([item("Хлеб", 100)])).empty


_names = st.text(alphabet="абвгдежзАБВГ xyz019", min_size=1, max_size=20)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(
            _names,
            st.integers(0, 10**8),
            st.one_of(st.none(), st.text("0123456789AB", min_size=1, max_size=30)),
            st.one_of(st.none(), st.integers(0, 15)),
        ),
        min_size=1,
        max_size=6,
    ),
    st.one_of(st.none(), st.emails().filter(lambda e: len(e) <= 64 and e.isascii())),
)
def test_scan_agrees_with_the_spec_decoder(
    rows: list[tuple[str, int, str | None, int | None]], contact: str | None
) -> None:
    items = [item(n, p, mark=m, check=c if m else None) for n, p, m, c in rows]
    data = receipt_tlv(items, contact=contact)
    # the oracle: the full decode (protocol/tlv.py)
    decoded = [f for f in tlv.decode(data) if f.tag == 1059]
    marked = [f for f in decoded if f.find(2000) is not None]
    negative = any(
        (c := f.find(2106)) is not None and int(c.value) & 1 and not int(c.value) & 2  # type: ignore[arg-type]
        for f in marked
    )
    got = facts.scan(data)
    assert got.marked_items == len(marked)
    assert got.marked_item == (marked[0].find(1030).value if marked else None)  # type: ignore[union-attr]
    assert got.mark_error == negative
    assert got.buyer_contact == (contact.lower() if contact else None)


def test_the_job_files_facts_behind_the_lag(
    client: TestClient, mailer: MemoryMailSender, engine: Engine, clock: SettableClock
) -> None:
    w = _setup(client, mailer, engine, clock)
    a = w.doc(receipt_tlv([item("Хлеб", 100)], contact="a@example.ru"))
    w.doc(receipt_tlv([item("Хлеб", 100)]))
    with Session(engine) as s:
        assert facts.index_facts(s, clock) == 0  # too young: an older id may still commit
        s.commit()
    assert _index(engine, clock) == 1
    with Session(engine) as s:
        row = s.get(ReceiptFacts, a.id)
        assert row is not None and row.buyer_contact == "a@example.ru"
        assert facts.watermark(s) == a.id + 1
    assert _index(engine, clock) == 0  # nothing twice


# ---- search ---------------------------------------------------------------------------------


def _found(client: TestClient, **params: Any) -> list[int]:
    r = client.get("/api/receipts/documents/search", params=params)
    assert r.status_code == 200, r.text
    return [row["fd_number"] for row in r.json()["items"]]


def test_search_by_every_field(
    client: TestClient, mailer: MemoryMailSender, engine: Engine, clock: SettableClock
) -> None:
    w = _setup(client, mailer, engine, clock)
    w.doc(receipt_tlv([item("Хлеб", 5000)], contact="ivan@example.ru"))  # 1
    w.doc(receipt_tlv([item("Сыр", 12345)], contact="+79161234567"), register=1)  # 2
    w.doc(receipt_tlv([item("Хлеб", 5000)]), at=T0 + 86400 * 3)  # 3
    _index(engine, clock)
    w.doc(receipt_tlv([item("Вино", 70000)], contact="ivan@example.ru"))  # 4: not indexed yet
    assert _found(client) == [3, 4, 2, 1]  # newest first, ties by id
    assert _found(client, fd=2) == [2]
    assert _found(client, fs=str(3_000_000_003)) == [3]
    assert _found(client, sum="50,00") == [3, 1]
    assert _found(client, date_from="2026-01-16") == [3]
    assert _found(client, date_to="2026-01-15") == [4, 2, 1]
    assert _found(client, register_id=w.registers[1]) == [2]
    assert _found(client, store_id=w.store) == [3, 4, 1]
    # an e-mail in any case; the fourth found before the job reads it
    assert _found(client, contact="IVAN@example.ru") == [4, 1]
    assert _found(client, contact="8 (916) 123-45-67") == [2]
    assert _found(client, contact="nobody@example.ru") == []
    bad = client.get("/api/receipts/documents/search", params={"fd": "abc", "sum": "1,234"})
    assert bad.status_code == 422 and set(bad.json()["fields"]) >= {"fd", "sum"}


def test_search_pages_without_counting(
    client: TestClient, mailer: MemoryMailSender, engine: Engine, clock: SettableClock
) -> None:
    w = _setup(client, mailer, engine, clock)
    for k in range(51):
        w.doc(receipt_tlv([item("Хлеб", 100 + k)]), at=T0 + k)
    first = client.get("/api/receipts/documents/search").json()
    assert len(first["items"]) == 50 and first["has_next"]
    second = client.get("/api/receipts/documents/search", params={"page": 2}).json()
    assert [r["fd_number"] for r in second["items"]] == [1] and not second["has_next"]
    page = client.get("/receipts/search", params={"page": 2})
    assert page.status_code == 200 and "← Назад" in page.text and "Дальше" not in page.text


def test_another_company_sees_nothing(
    client: TestClient, mailer: MemoryMailSender, engine: Engine, clock: SettableClock
) -> None:
    w = _setup(client, mailer, engine, clock)
    doc = w.doc(receipt_tlv([item("Хлеб", 100)], contact="x@example.ru"))
    _setup(client, mailer, engine, clock, n=2)
    assert _found(client) == [] and _found(client, contact="x@example.ru") == []
    assert client.get(f"/receipts/documents/{doc.id}").status_code == 404


# ---- the receipt page ------------------------------------------------------------------------


def test_receipt_page_shows_the_tlv_in_russian_and_the_qr(
    client: TestClient, mailer: MemoryMailSender, engine: Engine, clock: SettableClock
) -> None:
    w = _setup(client, mailer, engine, clock)
    doc = w.doc(receipt_tlv([item("Хлеб Бородинский", 4990)], contact="ivan@example.ru"))
    page = client.get(f"/receipts/documents/{doc.id}")
    assert page.status_code == 200, page.text
    text = page.text
    assert "Кассовый чек № 1 (приход)" in text
    assert "Наименование предмета расчёта" in text and "Хлеб Бородинский" in text
    assert "Телефон или электронный адрес покупателя" in text
    assert "49,90\u00a0₽" in text and "2 — УСН доход" in text
    assert "<svg" in text and 'data-testid="receipt-qr"' in text
    # the QR text: the document's local time (1012), sum, FN, FD, FP, operation
    qr = (
        "t=20260115T1030&amp;s=49.90&amp;fn=9999078900001234&amp;i=1"
        f"&amp;fp={doc.fiscal_sign}&amp;n=1"
    )
    assert qr in text


def test_qr_string_and_svg() -> None:
    doc = FiscalDocument(
        register_id=1,
        fn_number="9999078900001234",
        fd_number=7,
        doc_type=3,
        operation=2,
        total=123_456,
        fiscal_sign="42",
        issued_at=0.0,
        received_at=0.0,
    )
    when = dt.datetime(2026, 3, 1, 9, 5)
    assert view.qr_string(doc, when) == (
        "t=20260301T0905&s=1234.56&fn=9999078900001234&i=7&fp=42&n=2"
    )
    svg = view.qr_svg("t=20260301T0905&s=1234.56")
    assert svg.startswith("<svg") and "QR-код чека" in svg


# ---- marked goods ---------------------------------------------------------------------------


def test_marked_goods_sorted_with_errors(
    client: TestClient, mailer: MemoryMailSender, engine: Engine, clock: SettableClock
) -> None:
    w = _setup(client, mailer, engine, clock)
    w.doc(receipt_tlv([item("Хлеб", 100)]))  # 1: no marking
    w.doc(receipt_tlv([item("Туфли", 900_000, mark="0104601", check=3)]))  # 2 fine
    w.doc(receipt_tlv([item("Ботинки", 500_000, mark="0104602", check=1)]), at=T0 + 60)  # 3
    w.doc(receipt_tlv([item("Сапоги", 700_000, mark="0104603", check=3)]), ofd="rejected")  # 4
    _index(engine, clock)
    w.doc(receipt_tlv([item("Кеды", 100_000, mark="0104604")]), at=T0 + 120)  # 5: not indexed
    assert _found(client, marked="yes") == [5, 3, 4, 2]
    assert _found(client, marked="yes", sort="sum") == [5, 3, 4, 2]
    assert _found(client, marked="yes", sort="-sum") == [2, 4, 3, 5]
    # by item name (the fifth's is not read yet: last going up, first going down)
    assert _found(client, marked="yes", sort="item") == [3, 4, 2, 5]
    assert _found(client, marked="yes", sort="-item") == [5, 2, 4, 3]
    assert _found(client, marked="yes", errors="yes") == [3, 4]
    page = client.get("/receipts/marked", params={"errors": "yes"})
    assert page.status_code == 200
    assert "КМ не прошёл проверку" in page.text and "Отклонён ОФД" in page.text
    assert "Туфли" not in page.text


# ---- «Пробить новый чек» --------------------------------------------------------------------


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found
    return found.group(1)


def test_new_receipt_is_sent_through_create_receipt(
    client: TestClient, mailer: MemoryMailSender, engine: Engine, clock: SettableClock
) -> None:
    clock.advance(T0 - clock.wall())
    w = _setup(client, mailer, engine, clock)
    form = client.get("/receipts/new")
    assert form.status_code == 200 and "Добавить позицию" in form.text
    row = client.get("/receipts/new/row", headers={"HX-Request": "true"})
    assert row.status_code == 200 and row.text.lstrip().startswith('<tr class="item-row">')
    data = {
        "csrf_token": _csrf(form.text),
        "register_id": str(w.registers[0]),
        "operation": "sale",
        "tax_system": "usn_income",
        "item_name": ["Хлеб", "Сыр"],
        "item_price": ["49,90", "999"],
        "item_quantity": ["2", "0,345"],
        "item_measure": ["0", "11"],
        "item_vat": ["none", "none"],
        "item_type": ["1", "1"],
        "item_method": ["full_payment", "full_payment"],
        "item_marking": ["", ""],
        "cash": "100",
        "electronic": "",
        "buyer_contact": "ivan@example.ru",
    }
    bad = client.post("/receipts/new", data=data)
    assert bad.status_code == 422  # 99,80 + 344,66 ≠ 100,00 paid
    assert "Чек не отправлен" in bad.text
    with Session(engine) as s:
        assert s.exec(select(Receipt)).all() == []
    sent = client.post("/receipts/new", data={**data, "cash": "", "electronic": "444,46"})
    assert sent.status_code == 200, sent.text
    assert "принят" in sent.text and "444,46" in sent.text
    with Session(engine) as s:
        rec = s.exec(select(Receipt)).one()
    assert rec.total == 44_446
    assert [it["sum"] for it in rec.body["items"]] == [9980, 34466]
    assert rec.body["buyer_contact"] == "ivan@example.ru"


def test_a_bad_row_is_shown_by_its_field(
    client: TestClient, mailer: MemoryMailSender, engine: Engine, clock: SettableClock
) -> None:
    w = _setup(client, mailer, engine, clock)
    form = client.get("/receipts/new")
    bad = client.post(
        "/receipts/new",
        data={
            "csrf_token": _csrf(form.text),
            "register_id": str(w.registers[0]),
            "item_name": ["Хлеб", ""],
            "item_price": ["49,905", "1"],
        },
    )
    assert bad.status_code == 422
    assert "Цена в рублях" in bad.text and "Укажите наименование" in bad.text
    assert 'value="49,905"' in bad.text  # what was typed stays


def test_return_form_is_filled_from_the_original(
    client: TestClient, mailer: MemoryMailSender, engine: Engine, clock: SettableClock
) -> None:
    w = _setup(client, mailer, engine, clock)
    doc = w.doc(
        receipt_tlv(
            [item("Хлеб Бородинский", 4990), item("Туфли", 990_000, mark="0104601")],
            contact="ivan@example.ru",
        )
    )
    page = client.get("/receipts/new", params={"original": doc.id})
    assert page.status_code == 200, page.text
    text = page.text
    assert 'value="Хлеб Бородинский"' in text and 'value="49,90"' in text
    assert 'value="0104601"' in text and 'value="ivan@example.ru"' in text
    assert '<option value="sale_return" selected>' in text
    assert 'value="2026-01-15"' in text  # the original's day
    assert '<option value="usn_income" selected>' in text
    correction = client.get("/receipts/new", params={"original": doc.id, "kind": "correction"})
    assert '<option value="self" selected>' in correction.text
