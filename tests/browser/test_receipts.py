"""Receipts in the browser: search a receipt, open it and see its QR code; upload a bank
statement and see the receipts it will make."""

from __future__ import annotations

import uuid
from pathlib import Path

from playwright.sync_api import Page, expect
from sqlmodel import Session, select

from fleet.accounts.models import User
from fleet.documents.models import FiscalDocument
from fleet.registers.models import Register, RegisterState
from tests.browser.conftest import Stack
from tests.browser.flow import signed_up_and_in
from tests.fleet.test_receipts_cabinet import T0, item, receipt_tlv

STATEMENT = Path(__file__).parents[1] / "fleet" / "data" / "statement_1c.txt"


def _seed(stack: Stack, email: str) -> None:
    """A register of the user's company with three receipts (FD 41, 42, 43)."""
    with Session(stack.engine) as s:
        company = s.exec(select(User).where(User.email == email)).one().company_id
        reg = Register(
            serial=uuid.uuid4().hex[:12],
            name="Касса у входа",
            company_id=company,
            state=RegisterState.ACTIVE.value,
            created_at=T0,
        )
        s.add(reg)
        s.flush()
        assert reg.id is not None
        for fd, (name, price) in enumerate(
            [("Хлеб Бородинский", 4990), ("Сыр Российский", 34466), ("Молоко", 8900)], 41
        ):
            s.add(
                FiscalDocument(
                    register_id=reg.id,
                    company_id=company,
                    fn_number="9999078900005678",
                    fd_number=fd,
                    doc_type=3,
                    operation=1,
                    total=price,
                    tax_system=2,
                    fiscal_sign=str(2_000_000_000 + fd),
                    issued_at=T0 + fd,
                    received_at=T0 + fd,
                    ofd_status="accepted",
                    tlv=receipt_tlv([item(name, price)]),
                )
            )
        s.commit()


def test_search_open_and_see_the_qr(page: Page, stack: Stack) -> None:
    account = signed_up_and_in(page, stack)
    _seed(stack, account.email)
    page.get_by_role("link", name="Поиск чеков").click()
    expect(page.get_by_role("heading", name="Поиск чеков")).to_be_visible()
    page.get_by_label("Номер ФД").fill("42")
    page.get_by_role("button", name="Найти").click()
    table = page.get_by_test_id("receipt-table")
    expect(table.locator("tbody tr")).to_have_count(1)
    expect(table).to_contain_text("344,66")
    page.get_by_role("link", name="№ 42").click()
    expect(page.get_by_role("heading", name="Кассовый чек № 42 (приход)")).to_be_visible()
    expect(page.get_by_test_id("receipt-tlv")).to_contain_text("Сыр Российский")
    expect(page.get_by_test_id("receipt-tlv")).to_contain_text("Наименование предмета расчёта")
    qr = page.get_by_test_id("receipt-qr").locator("svg")
    expect(qr).to_be_visible()
    box = qr.bounding_box()
    assert box is not None and box["width"] > 80 and box["height"] > 80
    # a return based on it: the form is filled from the original
    page.get_by_role("link", name="Возврат по этому чеку").click()
    expect(page.get_by_label("Наименование").first).to_have_value("Сыр Российский")
    expect(page.get_by_label("Признак расчёта")).to_have_value("sale_return")


def test_upload_a_statement_and_see_the_preview(page: Page, stack: Stack) -> None:
    signed_up_and_in(page, stack)
    page.get_by_role("link", name="Чеки из выписки").click()
    page.get_by_label("Файл выписки").set_input_files(str(STATEMENT))
    page.get_by_role("button", name="Показать чеки").click()
    preview = page.get_by_test_id("import-preview")
    expect(preview.locator("tbody tr")).to_have_count(2)
    expect(preview).to_contain_text("будет пробит")
    expect(preview).to_contain_text("15\u00a0000,00\u00a0₽")
    expect(preview).to_contain_text("Иванов Иван Иванович")
