"""Real Chromium: open «Как подключиться к облачной кассе» from the menu, follow a guide that
shows the company's own values, press «Отправить тестовый чек» and watch it fiscalised in the
sandbox (the block polls with HTMX while the receipt worker's passes run)."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import Session, select

from fleet.accounts.models import Company
from fleet.core.clock import SystemClock
from fleet.sandbox.jobs import settle
from tests.browser.conftest import Stack
from tests.browser.flow import signed_up_and_in


@pytest.fixture(name="worker")
def fixture_worker(stack: Stack) -> Iterator[None]:
    """The receipt worker's and the sandbox job's passes (the browser stack runs no jobs)."""
    stop = threading.Event()

    def loop() -> None:
        clock = SystemClock()
        while not stop.wait(0.3):
            settle(stack.engine, clock)

    thread = threading.Thread(target=loop, name="sandbox-settle", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=10)


def test_follow_a_guide_and_send_a_test_receipt(page: Page, stack: Stack, worker: None) -> None:
    account = signed_up_and_in(page, stack)
    with Session(stack.engine) as session:
        inn = session.exec(select(Company.inn).where(Company.name == account.company)).one()
    page.get_by_role("link", name="Как подключиться к облачной кассе").click()
    expect(page.get_by_role("heading", name="Как подключиться к облачной кассе")).to_be_visible()
    page.get_by_test_id("guide-bitrix").click()
    expect(page.get_by_role("heading", name="1С-Битрикс: Управление сайтом")).to_be_visible()
    production = page.get_by_test_id("guide-production")
    expect(production).to_contain_text(inn)
    expect(production).to_contain_text(f"{inn}-main")
    expect(production).to_contain_text(f"{stack.fleet_url}/atol/possystem")
    expect(page.get_by_test_id("guide-no-keys")).to_be_visible()
    expect(page.get_by_test_id("guide-sandbox")).to_contain_text(
        f"{stack.fleet_url}/sandbox/atol/possystem"
    )
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    production.get_by_role("button", name="Копировать: ИНН организации").click()
    expect(production.get_by_role("button", name="Копировать: ИНН организации")).to_have_text(
        "Скопировано"
    )
    assert page.evaluate("navigator.clipboard.readText()") == inn
    page.get_by_test_id("send-test-receipt").click()
    status = page.get_by_test_id("test-receipt-status")
    expect(status).to_have_text("Фискализирован", timeout=20_000)
    expect(page.get_by_test_id("test-receipt-fd")).to_have_text(re.compile(r"^\d+$"))
    assert page.get_by_test_id("test-receipt-fd").inner_text().isdigit()
    assert page.get_by_test_id("test-receipt-fp").inner_text().isdigit()
    assert page.url.endswith("/guides/bitrix")  # HTMX: the guide stays on screen
