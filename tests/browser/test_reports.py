"""Reports in the browser: build a custom report, schedule it, receive it by e-mail."""

from __future__ import annotations

import datetime as dt
import io
import re
import time
import uuid
from decimal import Decimal

from openpyxl import load_workbook
from playwright.sync_api import Page, expect
from sqlmodel import Session, select

from fleet.accounts.models import Company, User
from fleet.core.clock import SettableClock
from fleet.documents.models import FiscalDocument
from fleet.registers.models import Register, RegisterState
from fleet.reports import schedules
from fleet.reports.table import MSK
from fleet.stores.models import Store
from tests.browser.conftest import Stack
from tests.browser.flow import signed_up_and_in
from tests.reports.smtp import smtp_sink

SALES = (12000, 30050, 7000)


def _seed(stack: Stack, email: str) -> None:
    """A register of the user's company with three sales a minute ago."""
    now = time.time()
    with Session(stack.engine) as s:
        company = s.exec(select(User).where(User.email == email)).one().company_id
        reg = Register(
            serial=uuid.uuid4().hex[:12],
            name="Касса в зале",
            company_id=company,
            state=RegisterState.ACTIVE.value,
            created_at=now,
        )
        s.add(reg)
        s.flush()
        assert reg.id is not None
        for fd, total in enumerate(SALES, 1):
            s.add(
                FiscalDocument(
                    register_id=reg.id,
                    company_id=company,
                    fn_number="9999078900007777",
                    fd_number=fd,
                    doc_type=3,
                    operation=1,
                    total=total,
                    tax_system=1,
                    fiscal_sign=str(2_100_000_000 + fd),
                    issued_at=now - 60 - fd,
                    received_at=now - 60,
                    ofd_status="accepted",
                )
            )
        s.commit()


def test_build_a_custom_report_schedule_it_and_receive_it(page: Page, stack: Stack) -> None:
    account = signed_up_and_in(page, stack)
    _seed(stack, account.email)
    page.get_by_role("link", name="Свой отчёт").first.click()
    expect(page.get_by_role("heading", name="Свой отчёт")).to_be_visible()
    page.get_by_label("Название").fill("Выручка кассы для директора")
    for column in ("РНМ", "Заводской номер", "Магазин", "Чеков возврата", "Возвраты, ₽"):
        page.get_by_label(column, exact=True).uncheck()
    page.get_by_label("Сортировка").select_option("-net")
    page.get_by_role("button", name="Сохранить").click()
    expect(page.get_by_role("heading", name="Выручка кассы для директора")).to_be_visible()
    table = page.get_by_test_id("report-table")
    expect(table).to_contain_text("Касса в зале")
    expect(table).to_contain_text("490,50")  # 120 + 300,50 + 70
    expect(table).not_to_contain_text("РНМ")
    expect(page.get_by_test_id("report-chart")).to_be_visible()

    page.get_by_role("link", name="Автоотчёт", exact=True).click()
    expect(page.get_by_role("heading", name="Автоотчёты")).to_be_visible()
    expect(page.locator("#s-report")).to_have_value(re.compile(r"^t\d+$"))  # preselected
    page.get_by_label("Частота").select_option("daily")
    page.get_by_label("Период").select_option("month")
    page.get_by_label("Формат").select_option("xlsx")
    page.get_by_label("E-mail").fill("director@browser.example.ru")
    page.get_by_role("button", name="Сохранить автоотчёт").click()
    rows = page.get_by_test_id("schedule-table")
    expect(rows).to_contain_text("Выручка кассы для директора")
    expect(rows).to_contain_text("director@browser.example.ru")

    # the `report-schedules` job runs it when its time comes, as the app's job loop would, and
    # mails it over real SMTP: on the 1st of next month at 07:30 Moscow «last month» is this one
    today = dt.datetime.now(MSK)
    first = (today.replace(day=28) + dt.timedelta(days=4)).replace(day=1, hour=7, minute=30)
    with smtp_sink() as sink, Session(stack.engine) as s:
        clock = SettableClock(first.timestamp())
        assert schedules.schedule_job(sink.sender()).run(s, clock) >= 1
        s.commit()
    (letter,) = sink.to("director@browser.example.ru")
    assert "Выручка кассы для директора" in letter["Subject"]
    (attachment,) = list(letter.iter_attachments())
    assert str(attachment.get_filename()).endswith(".xlsx")
    ws = load_workbook(io.BytesIO(attachment.get_content())).active
    assert ws is not None and ws["A1"].value == "Выручка кассы для директора"
    sheet = list(ws.iter_rows(values_only=True))
    head = list(sheet[2])
    assert "РНМ" not in head  # the columns the user kept
    (row,) = [r for r in sheet[3:] if r[0] == "Касса в зале"]
    assert Decimal(str(row[head.index("Выручка, ₽")])) == Decimal(sum(SALES)) / 100

    # «Отправить сейчас» sends this month's report at once and keeps it in the history
    page.get_by_role("button", name="Отправить сейчас").click()
    expect(page.get_by_role("heading", name="Готовые отчёты")).to_be_visible()
    history = page.get_by_test_id("history-table")
    expect(history).to_contain_text("director@browser.example.ru")
    with page.expect_download() as download:
        page.get_by_test_id("history-table").get_by_role("link").first.click()
    assert download.value.suggested_filename.endswith(".xlsx")
    assert len([m for m in stack.mailer.outbox if m.to == "director@browser.example.ru"]) == 1


def test_an_operator_picks_another_company_in_the_filters(page: Page, stack: Stack) -> None:
    account = signed_up_and_in(page, stack)
    now = time.time()
    with Session(stack.engine) as s:
        user = s.exec(select(User).where(User.email == account.email)).one()
        user.is_operator = True
        s.add(user)
        client = Company(name=f"ООО «Клиент {uuid.uuid4().hex[:6]}»", ogrn="1027700132195",
                         inn=str(uuid.uuid4().int % 10**10).zfill(10), created_at=now)  # fmt: skip
        s.add(client)
        s.flush()
        assert client.id is not None
        store = Store(company_id=client.id, name="Склад на Невском", created_at=now)
        s.add(store)
        s.flush()
        reg = Register(
            serial=uuid.uuid4().hex[:12],
            name="Касса клиента",
            company_id=client.id,
            store_id=store.id,
            state=RegisterState.ACTIVE.value,
            created_at=now,
        )
        s.add(reg)
        s.flush()
        assert reg.id is not None
        s.add(FiscalDocument(register_id=reg.id, company_id=client.id, fn_number="9999078900008888",
                             fd_number=1, doc_type=3, operation=1, total=432100, tax_system=1,
                             fiscal_sign="2100000001", issued_at=now - 60, received_at=now - 60,
                             ofd_status="accepted"))  # fmt: skip
        s.commit()
        name, company = client.name, client.id
    page.goto("/reports/show?code=revenue_store")
    expect(page.get_by_label("Магазин")).not_to_contain_text("Склад на Невском")
    page.get_by_label("Компания").select_option(label=name)
    expect(page).to_have_url(re.compile(rf"company_id={company}\b"))
    expect(page.get_by_label("Компания")).to_have_value(str(company))
    expect(page.get_by_label("Магазин")).to_contain_text("Склад на Невском")
    expect(page.get_by_test_id("report-table")).to_contain_text("4\u00a0321,00")
