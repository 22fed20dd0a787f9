"""Receipts from a bank registry: the 1CClientBankExchange and CSV parsers, the plan, and the
upload → preview → send flow through create_receipt (once per payment)."""

from __future__ import annotations

import base64
import datetime as dt
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from fleet.accounts.mail import MemoryMailSender
from fleet.receipts.models import Receipt
from fleet.receipts_import import acquiring, onec, plan
from fleet.receipts_import.exceptions import RegistryFieldError, RegistryFormatError
from fleet.receipts_import.models import ImportedPayment
from tests.fleet.test_billing_kit import signed_in, use_cookie

DATA = Path(__file__).parent / "data"
STATEMENT = (DATA / "statement_1c.txt").read_bytes()
REGISTRY = (DATA / "acquiring_registry.csv").read_bytes()
ACCOUNT = "40702810900000012345"


# ---- the 1C parser --------------------------------------------------------------------------


def test_golden_statement_is_read_whole() -> None:
    st_ = onec.parse(STATEMENT)
    assert st_.accounts == (ACCOUNT,)
    assert st_.date_from == st_.date_to == dt.date(2026, 1, 15)
    assert st_.sections[0].opening == 1_000_000 and st_.sections[0].closing == 2_550_050
    assert [d.number for d in st_.documents] == ["512", "38", "77"]
    first = st_.documents[0]
    assert first.amount == 1_500_000 and first.payer_inn == "7736207543"
    assert first.received == dt.date(2026, 1, 15) and first.line == 21
    assert ("Очередность", "5") in first.extra
    assert st_.documents[1].payer_inn == ""  # "0": a person without an ИНН
    # the outgoing rent payment is not a sale
    assert [d.number for d in st_.incoming()] == ["512", "38"]


def test_dos_encoding_is_honoured() -> None:
    text = STATEMENT.decode("cp1251").replace("Кодировка=Windows", "Кодировка=DOS")
    text = text.replace("—", "-").replace("«", '"').replace("»", '"')  # not in cp866
    assert onec.parse(text.encode("cp866")).documents[1].payer == "Иванов Иван Иванович"


@pytest.mark.parametrize(
    ("change", "error", "line", "field"),
    [
        (("Сумма=15000.00", "Сумма=15 000"), RegistryFieldError, 24, "Сумма"),
        (("Сумма=2500.50", "Сумма=0.00"), RegistryFieldError, 50, "Сумма"),
        (("Дата=14.01.2026", "Дата=31.02.2026"), RegistryFieldError, 23, "Дата"),
        (
            ("ПлательщикИНН=7736207543", "ПлательщикИНН=77362"),
            RegistryFieldError,
            28,
            "ПлательщикИНН",
        ),
        (("Номер=38\r\n", ""), RegistryFieldError, 47, "Номер"),
        (("КонецФайла\r\n", ""), RegistryFormatError, 73, None),
        (("Очередность=5", "Очередность 5"), RegistryFormatError, 44, None),
        (("1CClientBankExchange", "1CClientBank"), RegistryFormatError, 1, None),
        (
            (
                "КонецДокумента\r\nСекцияДокумент=Платежное поручение\r\nНомер=38",
                "СекцияДокумент=Платежное поручение\r\nНомер=38",
            ),
            RegistryFormatError,
            46,
            "СекцияДокумент",
        ),
    ],
)
def test_a_bad_file_names_the_line_and_field(
    change: tuple[str, str], error: type[Exception], line: int, field: str | None
) -> None:
    text = STATEMENT.decode("cp1251")
    assert change[0] in text
    with pytest.raises(error) as caught:
        onec.parse(text.replace(change[0], change[1], 1).encode("cp1251"))
    e = caught.value
    assert isinstance(e, RegistryFormatError | RegistryFieldError)
    assert (e.line, e.field) == (line, field), e.message
    assert e.message.startswith(f"Файл не прочитан. Строка {line}")


def test_a_utf8_file_without_bom_is_refused_with_the_line() -> None:
    bad = STATEMENT.replace("Иванов".encode("cp1251"), b"\x98")  # 0x98 is a hole in cp1251
    with pytest.raises(RegistryFormatError) as caught:
        onec.parse(bad)
    assert caught.value.line == 52


def _both(ch: str) -> bool:
    try:
        ch.encode("cp1251")
        ch.encode("cp866")
    except UnicodeEncodeError:
        return False
    return True


_text = st.text(
    alphabet=st.characters(
        whitelist_categories=("Lu", "Ll", "Nd"), whitelist_characters=' .,-№"«»'
    ),
    max_size=40,
).filter(lambda s: s == s.strip() and all(_both(ch) for ch in s))
_account = st.from_regex(r"\A[0-9]{20}\Z")
_date = st.dates(dt.date(2000, 1, 1), dt.date(2099, 12, 31))
_inn = st.one_of(st.just(""), st.from_regex(r"\A[0-9]{10}\Z"), st.from_regex(r"\A[0-9]{12}\Z"))


@st.composite
def statements(draw: st.DrawFn) -> onec.Statement:
    accounts = tuple(draw(st.lists(_account, min_size=1, max_size=3, unique=True)))
    docs = draw(
        st.lists(
            st.builds(
                onec.Document,
                kind=st.sampled_from([onec.PAYMENT_ORDER, "Банковский ордер"]),
                number=st.from_regex(r"\A[0-9]{1,6}\Z"),
                date=_date,
                amount=st.integers(1, 10**13),
                payer_account=_account,
                payer=_text,
                payer_inn=_inn,
                payee_account=st.sampled_from(accounts),
                payee=_text,
                payee_inn=_inn,
                purpose=_text,
                received=st.one_of(st.none(), _date),
                written_off=st.one_of(st.none(), _date),
                extra=st.lists(
                    st.tuples(st.sampled_from(["ВидОплаты", "Очередность", "Код"]), _text),
                    max_size=2,
                    unique_by=lambda kv: kv[0],
                ).map(tuple),
            ),
            max_size=5,
        )
    )
    sections = tuple(
        onec.AccountSection(
            account=a,
            date_from=draw(_date),
            date_to=draw(st.one_of(st.none(), _date)),
            opening=draw(st.one_of(st.none(), st.integers(0, 10**12))),
            closing=draw(st.one_of(st.none(), st.integers(0, 10**12))),
        )
        for a in accounts
    )
    return onec.Statement(
        accounts=accounts,
        date_from=draw(_date),
        date_to=draw(_date),
        encoding=draw(st.sampled_from(["Windows", "DOS"])),
        sender=draw(_text),
        sections=sections,
        documents=tuple(docs),
    )


@settings(max_examples=150, deadline=None)
@given(statements())
def test_round_trip_through_the_code_page(st_: onec.Statement) -> None:
    assert onec.parse(onec.encode(st_)) == st_


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_garbage_is_refused_with_a_line_never_a_crash(data: bytes) -> None:
    try:
        onec.parse(onec.HEADER.encode() + b"\r\n" + data)
    except (RegistryFormatError, RegistryFieldError) as e:
        assert e.line >= 1


# ---- the CSV registry and the plan ---------------------------------------------------------


def test_acquiring_registry_sample() -> None:
    ops = acquiring.parse(REGISTRY)
    assert [(o.amount, o.kind, o.line) for o in ops] == [
        (150_000, "sale", 2),
        (99_050, "sale", 3),
        (150_000, "sale_return", 4),
    ]
    assert ops[1].contact == "+79161234567"
    cp1251 = REGISTRY.decode().encode("cp1251")  # as Excel saves it
    assert acquiring.parse(cp1251) == ops
    commas = 'Дата,Номер операции,Сумма\n15.01.2026,1,"990,50"\n'.encode()
    assert acquiring.parse(commas)[0].amount == 99_050


def test_acquiring_registry_errors_name_line_and_column() -> None:
    with pytest.raises(RegistryFormatError) as caught:
        acquiring.parse("Дата;Сумма\n15.01.2026;1\n".encode())
    assert (caught.value.line, caught.value.field) == (1, "Номер операции")
    with pytest.raises(RegistryFieldError) as field_error:
        acquiring.parse(REGISTRY.replace(b"990,50", b"990,505"))
    assert (field_error.value.line, field_error.value.field) == (3, "Сумма")
    with pytest.raises(RegistryFieldError) as kind_error:
        acquiring.parse(REGISTRY.replace("Возврат".encode(), "Отмена".encode()))
    assert (kind_error.value.line, kind_error.value.field) == (4, "Тип")


def test_requests_pass_the_shared_schema() -> None:
    payments = plan.from_statement(onec.parse(STATEMENT), "7707083893")
    s = plan.ImportSettings(tax_system="usn_income", vat="none", item_type=4)
    for p in payments + plan.from_acquiring(acquiring.parse(REGISTRY)):
        body = plan.request_for(7, p, s)
        assert plan.validate(body, "2026-01-20T10:00:00+03:00") == [], body
        assert body["payments"] == {"electronic": p.amount}
    # the same payment, the same external id; another company, another one
    assert plan.request_for(7, payments[0], s)["id"] == plan.request_for(7, payments[0], s)["id"]
    assert plan.request_for(8, payments[0], s)["id"] != plan.request_for(7, payments[0], s)["id"]
    # «» and — are not CP866: the item name keeps what the register can print
    assert plan.item_name(payments[1], "") == 'Оплата заказа 1042 - книги "Кассы и фискализация"'


def test_own_transfers_are_skipped() -> None:
    payments = plan.from_statement(onec.parse(STATEMENT), "7736207543")
    assert payments[0].skip_reason == "перевод между своими счетами"


# ---- the pages: upload, preview, send once ------------------------------------------------


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found
    return found.group(1)


def test_upload_preview_send_and_never_twice(
    client: TestClient, mailer: MemoryMailSender, engine: Engine
) -> None:
    headers, _inn = signed_in(client, mailer, 1)
    use_cookie(client, headers)
    token = _csrf(client.get("/receipts/import").text)
    form = {"csrf_token": token, "tax_system": "usn_income", "vat": "none", "item_type": "4"}
    page = client.post(
        "/receipts/import/preview",
        data=form,
        files={"file": ("statement.txt", STATEMENT, "text/plain")},
    )
    assert page.status_code == 200, page.text
    assert page.text.count("будет пробит") == 2 and "15\u00a0000,00\u00a0₽" in page.text
    with Session(engine) as session:
        assert session.exec(select(Receipt)).all() == []  # a preview writes nothing
    data = base64.b64encode(STATEMENT).decode()
    keys = re.findall(r'name="key" value="([^"]+)"', page.text)
    sent = client.post("/receipts/import/send", data={**form, "data": data, "key": keys[:1]})
    assert sent.status_code == 200 and "Пробито чеков: 1" in sent.text
    again = client.post("/receipts/import/send", data={**form, "data": data, "key": keys})
    assert "Пробито чеков: 1; уже были пробиты раньше: 1" in again.text
    assert again.text.count("уже пробит") >= 2
    with Session(engine) as session:
        receipts = session.exec(select(Receipt)).all()
        assert sorted(r.total for r in receipts) == [250_050, 1_500_000]
        assert all(r.body["payments"] == {"electronic": r.total} for r in receipts)
        assert len(session.exec(select(ImportedPayment)).all()) == 2


def test_a_broken_file_is_shown_with_its_line_and_nothing_is_sent(
    client: TestClient, mailer: MemoryMailSender, engine: Engine
) -> None:
    headers, _inn = signed_in(client, mailer, 2)
    use_cookie(client, headers)
    token = _csrf(client.get("/receipts/import").text)
    bad = STATEMENT.replace(b"=2500.50", b"=25OO.50")
    page = client.post(
        "/receipts/import/preview",
        data={"csrf_token": token, "tax_system": "usn_income", "vat": "none", "item_type": "4"},
        files={"file": ("statement.txt", bad, "text/plain")},
    )
    assert page.status_code == 422
    assert "Строка 50, поле «Сумма»" in page.text
    with Session(engine) as session:
        assert session.exec(select(Receipt)).all() == []
