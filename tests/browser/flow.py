"""Steps a person takes in the browser, shared by the browser tests."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

from playwright.sync_api import Page, expect

from tests.browser.conftest import Stack
from tests.fleet.oracle import company_requisites

PASSWORD = "браузерный-пароль-42"
_numbers = itertools.count(1)


@dataclass(frozen=True)
class Account:
    """A signed-up company's first user."""

    email: str
    company: str


def confirmation_link(stack: Stack, email: str) -> str:
    """The link in the last confirmation letter sent to ``email``."""
    letters = [m for m in stack.mailer.outbox if m.to == email]
    assert letters, f"no letter to {email}"
    match = re.search(r"https?://\S+/confirm\?token=\S+", letters[-1].body)
    assert match, letters[-1].body
    return match.group(0)


def sign_up(page: Page, stack: Stack) -> Account:
    """Fill the sign-up form, open the link from the letter and confirm the address."""
    n = next(_numbers)
    inn, ogrn = company_requisites(n)
    account = Account(email=f"buh{n}@browser.example.ru", company=f"ООО «Браузер {n}»")
    page.goto("/")
    page.get_by_test_id("pitch-signup").click()
    expect(page.get_by_role("heading", name="Регистрация компании")).to_be_visible()
    page.get_by_label("Электронная почта").fill(account.email)
    page.get_by_label("Пароль").fill(PASSWORD)
    page.get_by_label("Название организации или ФИО предпринимателя").fill(account.company)
    page.get_by_label("ИНН").fill(inn)
    page.get_by_label("ОГРН или ОГРНИП").fill(ogrn)
    page.get_by_role("button", name="Зарегистрироваться").click()
    expect(page.get_by_test_id("signup-done")).to_contain_text(account.email)
    page.goto(confirmation_link(stack, account.email))
    page.get_by_role("button", name="Подтвердить адрес").click()
    expect(page.get_by_test_id("confirmed")).to_contain_text(account.email)
    return account


def sign_in(page: Page, account: Account) -> None:
    """Sign in from the sign-in page the browser is on (or open it)."""
    if "/signin" not in page.url:
        page.goto("/signin")
    page.get_by_label("Электронная почта").fill(account.email)
    page.get_by_label("Пароль").fill(PASSWORD)
    page.get_by_role("button", name="Войти").click()


def signed_up_and_in(page: Page, stack: Stack) -> Account:
    """A new confirmed company, signed in on the main page."""
    account = sign_up(page, stack)
    page.goto("/signin")
    sign_in(page, account)
    expect(page.get_by_test_id("user-email")).to_have_text(account.email)
    return account
