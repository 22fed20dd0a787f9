"""Invoices and bank statements: the 1C format (golden text), matching by invoice number and
ИНН, partial and over-payments, the operator's queue, re-upload idempotency, refusals."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from fleet.accounts.mail import MemoryMailSender
from fleet.billing.exceptions import InvalidStatementError
from fleet.billing.models import LedgerTransaction
from fleet.billing.statement import parse_statement
from tests.fleet.test_billing_kit import (
    balance,
    company_id,
    csrf_of,
    make_operator,
    order,
    signed_in,
    statement,
    use_cookie,
)

GOLDEN = """1CClientBankExchange
ВерсияФормата=1.03
Кодировка=Windows
Отправитель=Бухгалтерия предприятия, редакция 3.0
Получатель=
ДатаСоздания=16.01.2024
ВремяСоздания=09:00:00
ДатаНачала=15.01.2024
ДатаКонца=15.01.2024
РасчСчет=40702810900000000001
СекцияРасчСчет
ДатаНачала=15.01.2024
ДатаКонца=15.01.2024
РасчСчет=40702810900000000001
НачальныйОстаток=0.00
ВсегоПоступило=3500.50
ВсегоСписано=100.00
КонечныйОстаток=3400.50
КонецРасчСчет
СекцияДокумент=Платежное поручение
Номер=517
Дата=15.01.2024
Сумма=3500.50
ПлательщикСчет=40702810100000000777
ПлательщикИНН=7700000019
Плательщик1=ООО «Ромашка»
ПолучательСчет=40702810900000000001
ПолучательИНН=7701999993
Получатель1=ООО «Облако»
НазначениеПлатежа=Оплата по счёту СЧ-2024-000001 от 15.01.2024. Без НДС
КонецДокумента
СекцияДокумент=Банковский ордер
Номер=9
Дата=15.01.2024
Сумма=1.00
КонецДокумента
СекцияДокумент=Платёжное поручение
Номер=18
Дата=15.01.2024
Сумма=100
ПлательщикИНН=7701999993
ПолучательИНН=7707083893
НазначениеПлатежа=Аренда
КонецДокумента
КонецФайла
"""


def test_golden_statement_parses_in_both_encodings() -> None:
    for data in (GOLDEN.encode("cp1251"), GOLDEN.encode("utf-8"), GOLDEN.encode("utf-8-sig")):
        lines = parse_statement(data)
        assert [(x.number, x.date, x.amount, x.payer_inn) for x in lines] == [
            ("517", "15.01.2024", 350_050, "7700000019"),
            ("18", "15.01.2024", 10_000, "7701999993"),
        ]
        assert lines[0].payer_name == "ООО «Ромашка»"
        assert lines[0].purpose == "Оплата по счёту СЧ-2024-000001 от 15.01.2024. Без НДС"
        assert lines[0].line == 20 and lines[0].recipient_inn == "7701999993"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("Привет", "Строка 1: ожидается заголовок 1CClientBankExchange (формат обмена с 1С)"),
        ("", "Строка 1: файл пуст"),
        (GOLDEN.replace("Сумма=3500.50", "Сумма=3 500,5x"), "Строка 23: сумма «3 500,5x»"),
        (
            GOLDEN.replace("Дата=15.01.2024\nСумма=3500", "Дата=32.01.2024\nСумма=3500"),
            "Строка 22: дата «32.01.2024»",
        ),
        (
            GOLDEN.replace("ПлательщикИНН=7700000019", "ПлательщикИНН=77"),
            "Строка 25: ИНН плательщика «77»",
        ),
        (GOLDEN.replace("Номер=517\n", ""), "Строка 20: в документе нет поля Номер"),
        (
            GOLDEN.replace("Получатель1=ООО «Облако»", "просто текст"),
            "Строка 29: ожидается «Ключ=Значение»",
        ),
        (
            GOLDEN.replace("КонецДокумента\nКонецФайла", "КонецФайла"),
            "Строка 37: документ не закрыт",
        ),
    ],
)
def test_malformed_statement_names_the_line(text: str, reason: str) -> None:
    with pytest.raises(InvalidStatementError) as info:
        parse_statement(text.encode("cp1251"))
    assert info.value.fields["file"].startswith(reason), info.value.fields["file"]


def _setup(
    client: TestClient, mailer: MemoryMailSender, engine: Engine
) -> tuple[dict[str, str], str, dict[str, str]]:
    client_headers, inn = signed_in(client, mailer, 1)
    operator_headers, _ = signed_in(client, mailer, 9)
    make_operator(engine, "billing9@example.ru")
    return client_headers, inn, operator_headers


def _upload(
    client: TestClient, headers: dict[str, str], text: str, encoding: str = "cp1251"
) -> tuple[int, dict[str, object]]:
    answer = client.post(
        "/api/operator/bank-statements",
        files={"file": ("kl_to_1c.txt", text.encode(encoding), "text/plain")},
        headers=headers,
    )
    return answer.status_code, answer.json()


def test_invoice_number_and_printable_page(client: TestClient, mailer: MemoryMailSender) -> None:
    headers, inn = signed_in(client, mailer, 1)
    invoice = client.post(
        "/api/billing/invoices", json={"amount": 1_000_000}, headers=headers
    ).json()
    assert invoice["number"] == f"СЧ-2024-{invoice['id']:06d}"
    assert (
        invoice["status"] == "issued"
        and invoice["print_url"] == f"/billing/invoices/{invoice['id']}"
    )
    use_cookie(client, headers)
    page = client.get(invoice["print_url"])
    assert page.status_code == 200
    for text in (
        invoice["number"],
        "10 000,00 ₽",
        "40702810900000000001",
        "044525999",
        inn,
        "ООО «Облако»",
    ):
        assert text in page.text
    other, _ = signed_in(client, mailer, 2)
    assert client.get(f"/api/billing/invoices/{invoice['id']}", headers=other).status_code == 404


def test_matching_partial_over_payment_queue_and_reupload(
    client: TestClient, mailer: MemoryMailSender, engine: Engine
) -> None:
    headers, inn, operator = _setup(client, mailer, engine)
    first = client.post("/api/billing/invoices", json={"amount": 500_000}, headers=headers).json()
    second = client.post("/api/billing/invoices", json={"amount": 200_000}, headers=headers).json()
    text = statement(
        order("101", inn, "2000.00", f"Оплата по сч. {first['number']} за облачные кассы"),
        order("102", inn, "3000.00", f"Доплата по счёту {first['number'].lower()}"),
        order("103", inn, "2500.00", f"По счету СЧ – 2024 – {second['id']:06d}"),
        order("104", "7700000027", "700.00", f"Оплата {first['number']}"),  # another payer
        order("105", inn, "99.00", "Пополнение баланса"),  # no invoice number
    )
    assert (
        client.post(
            "/api/operator/bank-statements", files={"file": ("a.txt", b"x")}, headers=headers
        ).status_code
        == 403
    )
    status, result = _upload(client, operator, text)
    assert status == 200, result
    assert result == {"lines": 5, "matched": 3, "unmatched": 2, "duplicates": 0, "skipped": 0}
    assert balance(client, headers) == 200_000 + 300_000 + 250_000
    invoices = {i["id"]: i for i in client.get("/api/billing/invoices", headers=headers).json()}
    assert (
        invoices[first["id"]]["status"] == "paid"
        and invoices[first["id"]]["paid_amount"] == 500_000
    )
    assert (
        invoices[second["id"]]["status"] == "paid"
        and invoices[second["id"]]["paid_amount"] == 250_000
    )
    # The same statement again (UTF-8 this time): nothing is posted twice.
    status, again = _upload(client, operator, text, "utf-8")
    assert again == {"lines": 5, "matched": 0, "unmatched": 0, "duplicates": 5, "skipped": 0}
    assert balance(client, headers) == 750_000
    queue = client.get("/api/operator/bank-payments", headers=operator).json()
    assert [(q["doc_number"], q["reason"]) for q in queue] == [
        (
            "104",
            f"ИНН плательщика 7700000027 не совпадает с ИНН клиента по счёту {first['number']}",
        ),
        ("105", "В назначении платежа нет номера счёта"),
    ]
    cid = company_id(client, headers)
    match_url = f"/api/operator/bank-payments/{queue[1]['id']}/match"
    assert client.post(match_url, json={"company_id": cid}, headers=headers).status_code == 403
    assert client.post(match_url, json={"company_id": 999_999}, headers=operator).status_code == 422
    matched = client.post(match_url, json={"company_id": cid}, headers=operator)
    assert matched.status_code == 200 and matched.json()["status"] == "resolved"
    assert client.post(match_url, json={"company_id": cid}, headers=operator).status_code == 409
    assert balance(client, headers) == 750_000 + 9_900
    assert len(client.get("/api/operator/bank-payments", headers=operator).json()) == 1
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(LedgerTransaction)).one() == 4


def test_partial_payment_and_a_malformed_upload_changes_nothing(
    client: TestClient, mailer: MemoryMailSender, engine: Engine
) -> None:
    headers, inn, operator = _setup(client, mailer, engine)
    invoice = client.post("/api/billing/invoices", json={"amount": 500_000}, headers=headers).json()
    good = order("1", inn, "1000.00", f"Оплата {invoice['number']}")
    bad = order("2", inn, "сто рублей", f"Оплата {invoice['number']}")
    status, body = _upload(client, operator, statement(good, bad))
    assert status == 422 and "Строка 28: сумма «сто рублей»" in str(body["message"])
    assert balance(client, headers) == 0
    status, body = _upload(client, operator, statement(good))
    assert body["matched"] == 1
    got = client.get(f"/api/billing/invoices/{invoice['id']}", headers=headers).json()
    assert got["status"] == "partial" and got["paid_amount"] == 100_000


def test_operator_page_uploads_and_matches_by_hand(
    client: TestClient, mailer: MemoryMailSender, engine: Engine
) -> None:
    headers, inn, operator = _setup(client, mailer, engine)
    use_cookie(client, operator)
    page = client.get("/operator/billing")
    assert page.status_code == 200 and "Очередь пуста" in page.text
    text = statement(order("77", inn, "150.00", "Пополнение, без счёта"))
    shown = client.post(
        "/operator/billing/statement",
        data={"csrf_token": csrf_of(page.text)},
        files={"file": ("s.txt", text.encode("cp1251"), "text/plain")},
    )
    assert shown.status_code == 200 and "в очередь: 1" in shown.text
    assert "ООО «Биллинг 1»" in shown.text  # suggested by the payer's ИНН
    refused = client.post(
        "/operator/billing/statement",
        data={"csrf_token": csrf_of(page.text)},
        files={"file": ("s.txt", "не выписка".encode(), "text/plain")},
    )
    assert refused.status_code == 422 and "Строка 1" in refused.text
    queue = client.get("/api/operator/bank-payments", headers=operator).json()
    cid = company_id(client, headers)
    done = client.post(
        f"/operator/billing/bank-payments/{queue[0]['id']}/match",
        data={"csrf_token": csrf_of(page.text), "company_id": str(cid)},
    )
    assert done.status_code == 200 and "зачислен компании" in done.text
    assert balance(client, headers) == 15_000
    use_cookie(client, headers)
    assert client.get("/operator/billing").status_code == 403
