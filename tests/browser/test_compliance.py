"""«Контроль штрафов» in the browser: a register's receipt from another place (made by a
register on a simulated drive, through the ingest) shows as a finding in the list, with its
explanation, fix steps and fix link, and in the register card's block."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page, expect
from sqlmodel import Session, select

from fleet.accounts.models import Company
from tests.browser.conftest import Stack
from tests.browser.flow import signed_up_and_in
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
