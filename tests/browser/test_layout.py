"""The layout in a real browser: sign-up to the main page, the menu on a phone, `next`."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.conftest import Stack
from tests.browser.flow import sign_in, sign_up, signed_up_and_in


def test_sign_up_confirm_sign_in_shows_the_cabinet(page: Page, stack: Stack) -> None:
    account = signed_up_and_in(page, stack)
    expect(page).to_have_url(stack.fleet_url + "/")
    expect(page.get_by_test_id("company-name")).to_have_text(account.company)
    sidebar = page.get_by_test_id("sidebar")
    expect(sidebar).to_be_visible()
    expect(sidebar.get_by_role("link", name="Главная")).to_have_attribute("aria-current", "page")
    expect(sidebar.get_by_role("link", name="Кассы")).to_be_visible()
    expect(page.get_by_test_id("menu-toggle")).to_be_hidden()  # desktop: no menu button
    # Operator sections are not offered to a client.
    expect(sidebar.get_by_text("Оператор")).to_have_count(0)
    expect(page.get_by_test_id("tile-total")).to_contain_text("0")
    page.get_by_role("button", name="Выйти").click()
    expect(page.get_by_test_id("pitch-signin")).to_be_visible()
    expect(page.get_by_test_id("sidebar")).to_have_count(0)


def test_guest_is_sent_to_sign_in_and_back(page: Page, stack: Stack) -> None:
    account = sign_up(page, stack)
    page.goto("/registers?page=1")
    expect(page).to_have_url(stack.fleet_url + "/signin?next=/registers%3Fpage%3D1")
    sign_in(page, account)
    expect(page).to_have_url(stack.fleet_url + "/registers?page=1")


def test_wrong_password_is_shown(page: Page, stack: Stack) -> None:
    page.goto("/signin")
    page.get_by_label("Электронная почта").fill("nobody@browser.example.ru")
    page.get_by_label("Пароль").fill("не-тот-пароль-123")
    page.get_by_role("button", name="Войти").click()
    expect(page.get_by_test_id("signin-error")).to_contain_text("Неверный адрес почты или пароль")


def test_phone_menu_collapses_and_the_register_list_fits(phone: Page, stack: Stack) -> None:
    signed_up_and_in(phone, stack)
    toggle = phone.get_by_test_id("menu-toggle")
    expect(toggle).to_be_visible()
    expect(phone.get_by_test_id("sidebar")).to_be_hidden()
    expect(toggle).to_have_attribute("aria-expanded", "false")
    toggle.click()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    sidebar = phone.get_by_test_id("sidebar")
    expect(sidebar).to_be_visible()
    assert _no_horizontal_scroll(phone)
    # Book three registers (virtual slots: no payment needed to see them listed).
    sidebar.get_by_role("link", name="Бронирование").click()
    expect(phone.get_by_test_id("sidebar")).to_be_hidden()  # a new page starts collapsed
    phone.get_by_label("Количество касс").fill("3")
    phone.get_by_role("button", name="Забронировать").click()
    expect(phone.locator("tbody tr").filter(has_text="ожидает оплаты")).to_have_count(1)
    assert _no_horizontal_scroll(phone)
    phone.get_by_test_id("menu-toggle").click()
    phone.get_by_test_id("sidebar").get_by_role("link", name="Кассы").click()
    expect(phone).to_have_url(stack.fleet_url + "/registers")
    rows = phone.locator("tbody tr")
    expect(rows).to_have_count(3)
    # Below 640px the table is stacked cards: no header row, each cell labelled.
    expect(phone.locator("thead")).to_be_hidden()
    expect(rows.first.locator("td[data-label='Состояние']")).to_be_visible()
    box = rows.first.bounding_box()
    assert box is not None and box["width"] <= 375
    assert _no_horizontal_scroll(phone)


def _no_horizontal_scroll(page: Page) -> bool:
    width = page.evaluate("document.documentElement.scrollWidth")
    return isinstance(width, int) and width <= 375


def test_htmx_posts_carry_the_csrf_token(page: Page, stack: Stack) -> None:
    signed_up_and_in(page, stack)
    assert page.evaluate("typeof htmx.ajax") == "function"  # the vendored htmx loaded
    # An HTMX post with no form field: only the layout's hx-headers token can pass the check.
    page.evaluate(
        "htmx.ajax('POST', '/signout', {source: document.body, target: '#main', swap: 'none'})"
    )
    page.wait_for_load_state("networkidle")
    page.goto("/")
    expect(page.get_by_test_id("pitch-signin")).to_be_visible()  # signed out


def test_no_menu_page_scrolls_sideways_on_a_phone(phone: Page, stack: Stack) -> None:
    signed_up_and_in(phone, stack)
    phone.get_by_test_id("menu-toggle").click()
    links = phone.get_by_test_id("sidebar").get_by_role("link")
    paths = [href for href in (a.get_attribute("href") for a in links.all()) if href]
    assert len(paths) >= 6, paths
    wide = []
    for path in paths:
        phone.goto(path)
        if not _no_horizontal_scroll(phone):
            wide.append(path)
    assert not wide, f"pages wider than the phone: {wide}"
