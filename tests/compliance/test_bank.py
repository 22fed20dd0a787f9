"""K23 — bank payments with no receipt, through the cabinet's import page and a register on a
simulated drive.

The payments come the way a merchant gives them: a 1CClientBankExchange statement and an
acquiring registry uploaded on «Чеки из банковской выписки» (the page files every payment,
fleet/receipts_import/received.py). The receipts that match them are made by the firmware
register on simulator/fn and arrive through the ingest (tests/compliance/world.py), or by the
import page's own «Пробить чеки».
"""

from __future__ import annotations

import base64
import datetime as dt
import re
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from fleet.accounts.mail import MemoryMailSender
from fleet.compliance.digest import digest_letters
from fleet.compliance.models import ComplianceFinding, FindingStatus
from fleet.core.clock import SettableClock
from fleet.receipts_import import onec, plan, received
from fleet.receipts_import.models import ReceivedPayment
from tests.compliance.world import START, World
from tests.firmware.test_register import sale as _sale
from tests.fleet.test_billing_kit import company_id, signed_in, use_cookie

DAY = 86400.0
ACCOUNT = "40702810900000012345"
PERSON = "40817810099910004312"
ENTREPRENEUR = "40802810400000000555"
ORGANISATION = "40702810500000000777"
FORM = {"tax_system": "usn_income", "vat": "none", "item_type": "4"}


def sale(rid: str, total: int, **kw: Any) -> dict[str, Any]:
    kw.setdefault("vat", "vat22")
    return _sale(rid, total, **kw)


def order(number: str, day: dt.date, amount: int, payer: str, inn: str, account: str) -> Any:
    return onec.Document(
        kind=onec.PAYMENT_ORDER, number=number, date=day, amount=amount,
        payer_account=account, payer=payer, payer_inn=inn, payee_account=ACCOUNT,
        payee="ООО «Облачный магазин»", payee_inn="7707083893", purpose=f"Оплата заказа {number}",
        received=day,
    )  # fmt: skip


def statement(day: dt.date) -> bytes:
    """One day's statement: a person's two transfers, an organisation's, an entrepreneur's."""
    docs = (
        order("38", day, 150_000, "Иванов Иван Иванович", "", PERSON),
        order("39", day, 250_050, "Петрова Анна Сергеевна", "", PERSON),
        order("512", day, 1_500_000, 'ООО "Ромашка"', "7736207543", ORGANISATION),
        order("7", day, 90_000, "ИП Сидоров Пётр Петрович", "500100732259", ENTREPRENEUR),
    )
    return onec.encode(onec.Statement(accounts=(ACCOUNT,), date_from=day, date_to=day,
                                      documents=docs))  # fmt: skip


def registry(day: dt.date) -> bytes:
    d = day.strftime("%d.%m.%Y")
    return (
        f"Дата;Номер операции;Сумма;Тип;Описание\n{d} 12:00;612345678901;700.00;Оплата;Книга\n"
    ).encode()


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found
    return str(found.group(1))


def upload(client: TestClient, data: bytes, name: str) -> str:
    token = _csrf(client.get("/receipts/import").text)
    page = client.post(
        "/receipts/import/preview",
        data={"csrf_token": token, **FORM},
        files={"file": (name, data, "text/plain")},
    )
    assert page.status_code == 200, page.text
    return page.text


def company_findings(engine: Engine, cid: int, status: str = "open") -> list[ComplianceFinding]:
    with Session(engine) as s:
        return list(
            s.exec(
                select(ComplianceFinding).where(
                    col(ComplianceFinding.company_id) == cid,
                    col(ComplianceFinding.check_code) == "K23",
                    col(ComplianceFinding.status) == status,
                )
            ).all()
        )


def setup(
    client: TestClient, mailer: MemoryMailSender, clock: SettableClock, engine: Engine, tmp: Path
) -> tuple[World, int, dt.date]:
    """A signed-in company with a registered register; the cabinet's clock is the register's."""
    clock.advance(START.timestamp() - clock.wall())
    headers, _inn = signed_in(client, mailer, 1)
    use_cookie(client, headers)
    cid = company_id(client, headers)
    w = World(engine, tmp, company_id=cid)
    w.register(tax_systems=["osn", "usn_income"])
    return w, cid, dt.datetime.fromtimestamp(w.clock.wall(), received.MSK).date()


def test_k23_payments_from_people_without_a_receipt_are_found_and_fixed(
    client: TestClient,
    mailer: MemoryMailSender,
    clock: SettableClock,
    engine: Engine,
    tmp_path: Path,
) -> None:
    w, cid, day = setup(client, mailer, clock, engine, tmp_path)
    upload(client, statement(day), "statement.txt")
    upload(client, registry(day), "registry.csv")
    with Session(engine) as s:
        filed = {p.number: p for p in s.exec(select(ReceivedPayment)).all()}
    assert {n for n, p in filed.items() if p.needs_receipt} == {"38", "39", "612345678901"}
    assert filed["512"].reason == "платёж организации"
    assert filed["7"].reason == "платёж индивидуального предпринимателя"
    # the register receipts Petrova's transfer (card/transfer: electronic) the same day
    w.receipt(sale("p39", 250_050, pay="electronic", tax_system="usn_income", vat="none"))
    w.advance(2 * DAY, step=False)
    w.run(["K23"])
    assert company_findings(engine, cid) == []  # within the term
    w.advance(2 * DAY, step=False)
    w.run(["K23"])
    (f,) = company_findings(engine, cid)
    assert f.register_id is None and f.severity == "high"
    assert f.detail.startswith("Поступлений без чека: 2 на 2 200,00 ₽; первое — ")
    # the list shows it for the whole company with the import page as its fix
    page = client.get("/compliance?check=K23")
    assert page.status_code == 200
    assert "Вся компания" in page.text and 'href="/receipts/import"' in page.text
    assert client.get("/receipts/import").status_code == 200
    with Session(engine) as s:  # the weekly digest names it for the company
        (letter,) = digest_letters(s, "https://oblako.test")
    assert "Вся компания: Банковские поступления без чека. Поступлений без чека: 2" in letter.body
    # a late receipt for the card payment (a buyer's card: electronic) …
    w.receipt(sale("late", 70_000, pay="electronic", tax_system="usn_income", vat="none"))
    w.run(["K23"])
    (f,) = company_findings(engine, cid)
    assert f.detail.startswith("Поступлений без чека: 1 на 1 500,00 ₽; первое — п/п № 38")
    # … and Ivanov's receipt through the import page's own «Пробить чеки» fix it
    data = statement(day)
    token = _csrf(client.get("/receipts/import").text)
    preview = client.post(
        "/receipts/import/preview",
        data={"csrf_token": token, **FORM},
        files={"file": ("statement.txt", data, "text/plain")},
    ).text
    key = plan.bank_key(ACCOUNT, order("38", day, 150_000, "", "", PERSON))
    assert f'value="{key}"' in preview
    sent = client.post(
        "/receipts/import/send",
        data={"csrf_token": token, **FORM, "data": base64.b64encode(data).decode(), "key": key},
    )
    assert "Пробито чеков: 1" in sent.text
    w.run(["K23"])
    assert company_findings(engine, cid) == []
    assert len(company_findings(engine, cid, FindingStatus.FIXED.value)) == 1


def test_k23_clean_a_receipted_day_and_payments_needing_none(
    client: TestClient,
    mailer: MemoryMailSender,
    clock: SettableClock,
    engine: Engine,
    tmp_path: Path,
) -> None:
    w, cid, day = setup(client, mailer, clock, engine, tmp_path)
    upload(client, statement(day), "statement.txt")
    upload(client, registry(day), "registry.csv")
    for rid, total in (("a", 150_000), ("b", 250_050), ("c", 70_000)):
        w.receipt(sale(rid, total, pay="electronic", tax_system="usn_income", vat="none"))
    w.advance(5 * DAY, step=False)
    w.run(["K23"])
    assert company_findings(engine, cid) == []
    # a cash receipt of the same sum is no receipt for a bank payment
    later = day + dt.timedelta(days=5)
    person = order("40", later, 123_400, "Иванов Иван Иванович", "", PERSON)
    one = onec.Statement(accounts=(ACCOUNT,), date_from=later, date_to=later, documents=(person,))
    upload(client, onec.encode(one), "s.txt")
    w.receipt(sale("cash", 123_400, tax_system="usn_income", vat="none"))
    w.advance(4 * DAY, step=False)
    w.run(["K23"])
    (f,) = company_findings(engine, cid)
    assert f.detail.startswith("Поступлений без чека: 1 на 1 234,00 ₽; первое — п/п № 40")


def test_k23_needs_receipt_rule() -> None:
    day = dt.date(2026, 2, 2)
    st_ = onec.parse(statement(day))
    payments = {p.number: p for p in plan.from_statement(st_, "7707083893")}
    assert received.needs_receipt(payments["38"]) == (True, "")
    assert received.needs_receipt(payments["512"]) == (False, "платёж организации")
    assert received.needs_receipt(payments["7"])[0] is False
    own = plan.from_statement(st_, "7736207543")  # the organisation's own statement
    assert received.needs_receipt(own[2]) == (False, "перевод между своими счетами")
    ip_by_name = plan.Payment("bank", "k", 1, day, "1", 100, "sale", payer="Индивидуальный "
                              "предприниматель Орлов", payer_inn="500100732259")  # fmt: skip
    assert received.needs_receipt(ip_by_name)[0] is False
    person_with_inn = plan.Payment("bank", "k", 1, day, "1", 100, "sale", payer="Орлов Олег",
                                   payer_inn="500100732259", payer_account=PERSON)  # fmt: skip
    assert received.needs_receipt(person_with_inn) == (True, "")
