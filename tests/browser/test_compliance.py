"""«Контроль штрафов» in the browser: a register's receipt from another place (made by a
register on a simulated drive, through the ingest) shows as a finding in the list, with its
explanation, fix steps and fix link, and in the register card's block."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from playwright.sync_api import Page, expect
from sqlmodel import Session, select

from fleet.accounts.models import Company
from fleet.receipts_import import onec
from tests.browser.conftest import Stack
from tests.browser.flow import signed_up_and_in
from tests.compliance.test_bank import ACCOUNT, PERSON, order
from tests.compliance.world import World
from tests.firmware.test_register import sale


def test_a_finding_in_the_list_and_the_register_card(
    page: Page, stack: Stack, tmp_path: Path
) -> None:
    account = signed_up_and_in(page, stack)
    with Session(stack.engine) as s:
        company = s.exec(select(Company).where(Company.name == account.company)).one()
        company_id = company.id
    assert company_id is not None
    w = World(stack.engine, tmp_path, company_id=company_id)
    w.register()
    w.receipt({**sale("s1", 1000, vat="vat22"), "place": "Склад на Лесной"})
    w.run(["K20"])

    page.get_by_role("link", name="Контроль штрафов").first.click()
    expect(page.get_by_role("heading", name="Контроль штрафов", level=1)).to_be_visible()
    finding = page.locator('[data-check="K20"]')
    expect(finding).to_contain_text("Место расчётов не совпадает с регистрацией")
    expect(finding).to_contain_text("Высокий риск")
    finding.get_by_text("Как исправить").click()
    expect(finding).to_contain_text("Перерегистрируйте кассу")
    # a filter that leaves nothing, and back
    page.get_by_label("Важность").select_option("critical")
    page.get_by_role("button", name="Показать").click()
    expect(page.get_by_test_id("no-findings")).to_be_visible()
    page.get_by_label("Важность").select_option("")
    page.get_by_role("button", name="Показать").click()
    page.locator('[data-check="K20"]').get_by_role("link", name="Перерегистрация").click()
    expect(page).to_have_url(f"{stack.fleet_url}/registers/{w.register_id}/registration")
    # the register card loads its block
    page.goto(f"{stack.fleet_url}/registers/{w.register_id}")
    expect(page.get_by_test_id("compliance-block")).to_contain_text(
        "Место расчётов не совпадает с регистрацией"
    )


def test_bank_payments_with_no_receipt_for_the_whole_company(
    page: Page, stack: Stack, tmp_path: Path
) -> None:
    """K23: a statement uploaded on the import page, a person's payment nobody receipted: the
    finding is the company's (no register), its fix link opens the import page again, and the
    main page counts it."""
    account = signed_up_and_in(page, stack)
    with Session(stack.engine) as s:
        company_id = s.exec(select(Company).where(Company.name == account.company)).one().id
    assert company_id is not None
    w = World(stack.engine, tmp_path, company_id=company_id)
    w.register()
    day = dt.datetime.fromtimestamp(w.clock.wall(), dt.timezone(dt.timedelta(hours=3))).date()
    payment = order("38", day, 150_000, "Иванов Иван Иванович", "", PERSON)
    statement = tmp_path / "statement.txt"
    statement.write_bytes(
        onec.encode(onec.Statement(accounts=(ACCOUNT,), date_from=day, date_to=day,
                                   documents=(payment,)))
    )  # fmt: skip
    page.get_by_role("link", name="Чеки из выписки").click()
    page.get_by_label("Файл выписки").set_input_files(str(statement))
    page.get_by_role("button", name="Показать чеки").click()
    expect(page.get_by_test_id("import-preview")).to_contain_text("будет пробит")
    w.advance(4 * 86400, step=False)
    w.run(["K23"])

    page.get_by_role("link", name="Контроль штрафов").first.click()
    finding = page.locator('[data-check="K23"]')
    expect(finding).to_contain_text("Банковские поступления без чека")
    expect(finding).to_contain_text("Вся компания")
    expect(finding).to_contain_text("Поступлений без чека: 1 на 1 500,00 ₽")
    expect(finding).to_contain_text("ч. 2 ст. 14.5 КоАП РФ")
    finding.get_by_role("link", name="Пробить чеки по выписке").click()
    expect(page).to_have_url(f"{stack.fleet_url}/receipts/import")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Чеки из банковской выписки")
