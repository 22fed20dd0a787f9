"""The client's path in a real browser: sign up, book two registers, top up by card through
the acquirer's page, pay the booking from the balance, see the paid registers and a card."""

from __future__ import annotations

import itertools
import re
import time

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import Session

from fleet.registers.models import Register, RegisterState
from tests.browser.conftest import Stack
from tests.browser.flow import signed_up_and_in

APPROVED_CARD = "4111 1111 1111 1111"
DECLINED_CARD = "4000 0000 0000 0002"
_serials = itertools.count(1)


def put_on_shelf(stack: Stack, n: int) -> list[str]:
    """An operator's n new registers in the free inventory (what a booking takes first)."""
    serials = [f"0099{next(_serials):012d}" for _ in range(n)]
    with Session(stack.engine) as session:
        for serial in serials:
            session.add(
                Register(
                    serial=serial,
                    model="Облако-Ф",
                    rack_slot="A1",
                    firmware_version="1.0.0",
                    state=RegisterState.FREE.value,
                    created_at=time.time(),
                )
            )
        session.commit()
    return serials


def pay_by_card(page: Page, rubles: str, card: str) -> None:
    """From the balance page: top up by card on the acquirer's form and come back."""
    page.goto("/billing")
    topup = page.locator("form[action='/billing/topup']")
    topup.get_by_label("Сумма, ₽").fill(rubles)
    topup.get_by_role("button", name="Перейти к оплате картой").click()
    expect(page.get_by_role("heading", name="Оплата картой")).to_be_visible()
    page.get_by_label("Номер карты").fill(card)
    page.get_by_label("Срок действия (ММ/ГГ)").fill("12/39")
    page.get_by_label("CVC").fill("123")
    page.get_by_role("button", name=re.compile(r"^Оплатить")).click()
    expect(page).to_have_url(re.compile(r"/billing"))


def _require_acquirer(stack: Stack) -> None:
    if stack.acquiring_url is None:
        pytest.fail("simulator.acquiring is missing: the card flow cannot run")


def test_book_two_registers_pay_by_card_and_see_them_paid(page: Page, stack: Stack) -> None:
    _require_acquirer(stack)
    serials = put_on_shelf(stack, 2)
    signed_up_and_in(page, stack)

    # Book two registers from the main page.
    page.get_by_test_id("book-registers").click()
    expect(page).to_have_url(stack.fleet_url + "/bookings")
    page.get_by_label("Количество касс").fill("2")
    page.get_by_role("button", name="Забронировать").click()
    booking = page.locator("tbody tr").filter(has_text="ожидает оплаты")
    expect(booking).to_have_count(1)
    price_text = booking.locator("td").nth(4).inner_text()
    price = re.sub(r"[^\d,]", "", price_text).split(",")[0]
    assert int(price) > 0, price_text

    # Paying needs the public offer: accept it, then the empty balance refuses with the shortfall.
    expect(page.locator("#offer-needed")).to_be_visible()
    booking.get_by_role("button", name="Оплатить с баланса").click()
    expect(page.locator("#message")).to_contain_text("договор-оферту")
    page.locator("#offer-needed").get_by_role("link", name="договор-оферту").click()
    expect(page.get_by_test_id("offer-pending")).to_be_visible()
    page.get_by_test_id("offer-accept").click()
    expect(page.get_by_test_id("offer-accepted")).to_contain_text("Договор принят")
    page.goto("/bookings")
    expect(page.locator("#offer-needed")).to_have_count(0)
    booking = page.locator("tbody tr").filter(has_text="ожидает оплаты")
    booking.get_by_role("button", name="Оплатить с баланса").click()
    expect(page.locator("#short")).to_contain_text("Пополнить баланс")

    # Top up by card through the acquirer, exactly the price.
    pay_by_card(page, price, APPROVED_CARD)
    expect(page.locator("#payment-status")).to_contain_text(
        re.compile("зачислен|прошёл|успеш", re.I)
    )
    expect(page.locator("#balance")).to_contain_text(price_text.strip())

    # Pay the booking from the balance.
    page.goto("/bookings")
    page.locator("tbody tr").filter(has_text="ожидает оплаты").get_by_role(
        "button", name="Оплатить с баланса"
    ).click()
    expect(page.locator("tbody tr").filter(has_text="Оплачена")).to_have_count(1)

    # The register list: two paid registers, the ones from the shelf.
    page.get_by_test_id("sidebar").get_by_role("link", name="Кассы").click()
    expect(page.get_by_test_id("register-total")).to_contain_text("2")
    rows = page.locator("tbody tr")
    expect(rows).to_have_count(2)
    for row in rows.all():
        expect(row.locator(".badge").first).to_have_text("Оплачена")
    for serial in serials:
        expect(page.get_by_text(serial)).to_be_visible()

    # The card of the first one shows its data.
    rows.first.get_by_role("link").first.click()
    expect(page.get_by_role("heading", name=re.compile(r"^Касса № \d+"))).to_be_visible()
    expect(page.locator("dd").filter(has_text=serials[0])).to_be_visible()
    expect(page.locator("dd").filter(has_text="Облако-Ф")).to_be_visible()
    expect(page.get_by_text("Оплачена").first).to_be_visible()

    # The main page now counts them.
    page.goto("/")
    expect(page.get_by_test_id("tile-paid")).to_contain_text("2")


def test_a_declined_card_shows_the_failure(page: Page, stack: Stack) -> None:
    _require_acquirer(stack)
    signed_up_and_in(page, stack)
    pay_by_card(page, "500", DECLINED_CARD)
    status = page.locator("#payment-status")
    expect(status).to_contain_text(re.compile("отклон|не прош|ошибк", re.I))
    expect(page.locator("#balance")).to_contain_text("0,00 ₽")
