"""«Чеки покупателям» in the browser: the stats and chart show what the cascade did, and a
resend of an undelivered receipt goes out with its progress bar filling to the end."""

from __future__ import annotations

import time

from playwright.sync_api import Page, expect
from sqlmodel import Session, select

from fleet.accounts.models import User
from fleet.core.clock import SettableClock
from simulator.channels import Outcome
from tests.browser.conftest import Stack
from tests.browser.flow import signed_up_and_in
from tests.delivery.world import make_world


def test_section_shows_stats_and_a_resend_works(page: Page, stack: Stack) -> None:
    account = signed_up_and_in(page, stack)
    with Session(stack.engine) as s:
        user = s.exec(select(User).where(User.email == account.email)).one()
    clock = SettableClock(time.time())
    world = make_world(stack.engine, clock, company_id=user.company_id)
    worker = world.worker()
    world.receipt("+79161234567")
    worker.run_once()
    clock.advance(60)
    worker.run_once()  # the SMS delivery report came
    world.receipt("+79167654321")
    for ch in ("sms", "vk", "ok"):
        world.fake.script[ch] = [Outcome.FAIL]
    for _ in range(5):
        worker.run_once()

    page.get_by_test_id("sidebar").get_by_role("link", name="Чеки покупателям").click()
    expect(page.get_by_role("heading", name="Чеки покупателям", exact=True)).to_be_visible()
    sms = page.get_by_test_id("delivery-stats").locator('tr[data-channel="sms"]')
    expect(sms.get_by_role("cell").nth(2)).to_have_text("1")  # delivered
    expect(sms.get_by_role("cell").nth(3)).to_have_text("1")  # failed
    expect(page.get_by_test_id("delivery-chart")).to_be_visible()
    expect(page.get_by_test_id("attempts")).to_contain_text("+7********21")
    expect(page.get_by_test_id("attempts")).not_to_contain_text("9167654321")

    page.get_by_test_id("resend-one").click()
    progress = page.get_by_test_id("resend-progress")
    expect(progress).to_contain_text("0 из 1")
    world.fake.script.clear()
    worker.run_once()
    clock.advance(60)
    worker.run_once()
    expect(progress).to_contain_text("Готово: 1 из 1", timeout=10_000)
    expect(progress).to_contain_text("доставлено 1")
