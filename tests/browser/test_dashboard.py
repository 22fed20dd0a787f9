"""The General's report and the main page's widgets in a real browser: an administrator issues
a link, anyone opens it signed out (on a desktop and on a phone), a new version refuses the old
link, a non-administrator cannot issue; the widgets are rearranged and the layout survives
signing out and in again."""

from __future__ import annotations

import re
import time
import uuid

from playwright.sync_api import Browser, Page, expect
from sqlmodel import Session, select

from fleet.access.models import RoleKind
from fleet.access.roles import ensure_builtin_roles
from fleet.accounts.models import User
from fleet.accounts.passwords import Passwords
from fleet.core.clock import SystemClock
from fleet.documents.service import DocumentIn, record_document
from fleet.registers.models import Register, RegisterState
from fleet.stores.models import Store
from tests.browser.conftest import Stack
from tests.browser.flow import PASSWORD, Account, sign_in, signed_up_and_in

PHONE_CHARTS = (
    "general-trend-phone",
    "general-stores-chart",
    "general-regions-chart",
    "general-months",
    "general-weekdays",
    "general-heat",
)


def _company_of(stack: Stack, email: str) -> int:
    with Session(stack.engine) as s:
        return s.exec(select(User).where(User.email == email)).one().company_id


def _sales(stack: Stack, company_id: int, totals: list[int]) -> None:
    """A store with a register that sold ``totals`` (kopecks) an hour ago, filed as a
    register's documents are."""
    clock = SystemClock()
    with Session(stack.engine) as s:
        store = Store(
            company_id=company_id,
            name="Магазин на Ленина",
            region_code="66",
            city="Екатеринбург",
            created_at=time.time(),
        )
        s.add(store)
        s.flush()
        register = Register(
            serial=uuid.uuid4().hex[:12],
            state=RegisterState.ACTIVE.value,
            company_id=company_id,
            store_id=store.id,
            created_at=time.time(),
        )
        s.add(register)
        s.flush()
        assert register.id is not None
        fn = str(uuid.uuid4().int % 10**16).zfill(16)
        for n, total in enumerate(totals, start=1):
            record_document(
                session=s,
                clock=clock,
                doc=DocumentIn(
                    register_id=register.id,
                    fn_number=fn,
                    fd_number=n,
                    doc_type=3,
                    issued_at=time.time() - 3600,
                    fiscal_sign=str(n),
                    operation=1,
                    total=total,
                    tax_system=1,
                    shift_number=1,
                ),
            )
        s.commit()


def _accountant(stack: Stack, company_id: int) -> Account:
    """A second user of the company with the accountant role (no administration)."""
    email = f"buh-{uuid.uuid4().hex[:6]}@browser.example.ru"
    with Session(stack.engine) as s:
        roles = ensure_builtin_roles(s, SystemClock(), company_id)
        s.add(
            User(
                email=email,
                password_hash=Passwords(time_cost=1, memory_kib=8).hash(PASSWORD),
                company_id=company_id,
                email_confirmed=True,
                created_at=time.time(),
                role_id=roles[RoleKind.ACCOUNTANT].id,
            )
        )
        s.commit()
    return Account(email=email, company="")


def _issue(page: Page) -> str:
    page.goto("/general")
    page.get_by_label("Период").select_option("30")
    page.get_by_test_id("general-issue").click()
    url = page.get_by_test_id("general-url").input_value()
    assert "/g/" in url
    return url


def test_general_report_link_open_signed_out_and_rotate(
    page: Page, browser: Browser, stack: Stack
) -> None:
    account = signed_up_and_in(page, stack)
    company = _company_of(stack, account.email)
    _sales(stack, company, [1000_00, 2500_50])
    page.get_by_test_id("general-admin").click()
    expect(page.get_by_role("heading", name="Отчёт генерала")).to_be_visible()
    first = _issue(page)

    guest = browser.new_context(locale="ru-RU", viewport={"width": 1280, "height": 800})
    try:
        g = guest.new_page()
        g.goto(first)
        expect(g.get_by_test_id("general-revenue")).to_have_text("3 500,50 ₽")
        expect(g.get_by_test_id("general-receipts")).to_have_text("2")
        expect(g.get_by_test_id("general-stores")).to_contain_text("Магазин на Ленина")
        expect(g.get_by_test_id("general-trend")).to_be_visible()
        expect(g.get_by_test_id("sidebar")).to_have_count(0)  # nobody is signed in
    finally:
        guest.close()

    phone = browser.new_context(
        locale="ru-RU", viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    try:
        m = phone.new_page()
        m.goto(first)
        expect(m.get_by_test_id("general-revenue")).to_have_text("3 500,50 ₽")
        expect(m.get_by_test_id("general-trend")).to_be_hidden()  # the phone's own drawing
        # every chart is drawn (bars present, a real size) inside the phone's width
        for chart in PHONE_CHARTS:
            svg = m.get_by_test_id(chart)
            svg.scroll_into_view_if_needed()
            expect(svg).to_be_visible()
            box = svg.bounding_box()
            assert box is not None and box["height"] > 20, chart
            assert box["x"] >= 0 and box["x"] + box["width"] <= 390 + 1, (chart, box)
        expect(m.get_by_test_id("general-stores-chart").locator("rect")).to_have_count(1)
        expect(m.get_by_test_id("general-regions-chart").locator("rect")).to_have_count(1)
        expect(m.get_by_test_id("general-regions")).to_contain_text("66")
        # the page itself does not scroll sideways on a phone (wide tables scroll inside)
        assert m.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    finally:
        phone.close()

    second = _issue(page)
    assert second != first
    expect(page.get_by_test_id("general-views")).to_contain_text("Mozilla")

    later = browser.new_context(locale="ru-RU")
    try:
        g = later.new_page()
        answer = g.goto(first)
        assert answer is not None and answer.status == 410
        expect(g.get_by_test_id("error-message")).to_contain_text("больше не действует")
        answer = g.goto(second)
        assert answer is not None and answer.status == 200
        expect(g.get_by_test_id("general-revenue")).to_have_text("3 500,50 ₽")
    finally:
        later.close()


def test_a_non_administrator_cannot_issue(page: Page, browser: Browser, stack: Stack) -> None:
    owner = signed_up_and_in(page, stack)
    accountant = _accountant(stack, _company_of(stack, owner.email))
    other = browser.new_context(locale="ru-RU", base_url=stack.fleet_url)
    try:
        p = other.new_page()
        p.goto("/signin")
        sign_in(p, accountant)
        expect(p.get_by_test_id("user-email")).to_have_text(accountant.email)
        expect(p.get_by_test_id("general-admin")).to_have_count(0)
        expect(p.get_by_test_id("sidebar").get_by_text("Отчёт генерала")).to_have_count(0)
        answer = p.goto("/general")
        assert answer is not None and answer.status == 403
        expect(p.get_by_test_id("error-message")).to_contain_text("Недостаточно прав")
    finally:
        other.close()


def _order(page: Page) -> list[str]:
    ids = page.locator("#dashboard [data-widget]").evaluate_all(
        "els => els.map(e => e.dataset.widget)"
    )
    return [str(i) for i in ids]


def test_widgets_rearranged_survive_signing_in_again(page: Page, stack: Stack) -> None:
    account = signed_up_and_in(page, stack)
    start = _order(page)
    assert start[:3] == ["registers", "balance", "sales"]
    # keyboard: focus the button and press Enter; focus stays on the moved widget's control
    page.get_by_role("button", name="Поднять виджет «Продажи»").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#dashboard [data-widget]").nth(1)).to_have_attribute(
        "data-widget", "sales"
    )
    expect(page.get_by_role("button", name="Поднять виджет «Продажи»")).to_be_focused()
    page.get_by_role("button", name="Убрать виджет «Замена ФН» с главной").click()
    expect(page.get_by_test_id("widget-drives")).to_have_count(0)
    # drag: the messages widget onto the top (a tall window: both widgets in view, no
    # scrolling between pressing and releasing the mouse)
    page.set_viewport_size({"width": 1280, "height": 2400})
    before = page.locator("#dashboard").element_handle()
    with page.expect_response("**/dashboard/widgets/order"):
        page.get_by_test_id("widget-messages").drag_to(
            page.get_by_test_id("widget-registers"), target_position={"x": 20, "y": 5}
        )
    # the answer replaces #dashboard: wait for that swap, or the period's change below may
    # land on the old form as it leaves the page (CI lost that request once)
    page.wait_for_function("el => !el.isConnected", arg=before)
    expect(page.locator("#dashboard [data-widget]").first).to_have_attribute(
        "data-widget", "messages"
    )
    with page.expect_response("**/dashboard/sales-period"):
        page.get_by_test_id("sales-period").select_option("30d")
    expect(page.get_by_test_id("sales-period")).to_have_value("30d")
    arranged = _order(page)
    assert arranged[:3] == ["messages", "registers", "sales"] and "drives" not in arranged

    page.get_by_role("button", name="Выйти").click()
    expect(page.get_by_test_id("pitch-signin")).to_be_visible()
    sign_in(page, account)
    expect(page.get_by_test_id("user-email")).to_have_text(account.email)
    assert _order(page) == arranged
    expect(page.get_by_test_id("sales-period")).to_have_value("30d")
    page.get_by_test_id("widget-add").select_option("drives")
    page.get_by_test_id("widget-add-button").click()
    expect(page.locator("#dashboard [data-widget]").last).to_have_attribute("data-widget", "drives")
    # a widget's title leads to its section
    page.get_by_test_id("widget-link-sales").click()
    expect(page).to_have_url(re.compile(r"/reports/show\?code=revenue_day$"))
    expect(page.get_by_role("heading", name="Выручка по дням")).to_be_visible()
