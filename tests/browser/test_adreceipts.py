"""Advertising receipts in real Chromium: design a template with a live preview, save it,
test-send it to oneself and open the letter the mail sink received as the buyer would."""

from __future__ import annotations

import re

from playwright.sync_api import FilePayload, Page, expect

from fleet.adreceipts import markup
from tests.adreceipts.builders import png
from tests.browser.conftest import Stack
from tests.browser.flow import signed_up_and_in


def test_design_preview_save_and_test_send(page: Page, stack: Stack) -> None:
    account = signed_up_and_in(page, stack)
    page.get_by_role("link", name="Рекламные чеки").click()
    expect(page.get_by_role("heading", name="Рекламные чеки")).to_be_visible()
    page.get_by_test_id("new-template").click()

    page.get_by_label("Название шаблона").fill("Весна в кофейне")
    page.get_by_label("Название компании в письме").fill("Кофейня «Зерно»")
    page.locator("#t-bg").fill("#ffe8cc")
    page.get_by_label("Файл PNG, JPEG, GIF или WebP до 512 КБ").set_input_files(
        files=[FilePayload(name="logo.png", mimeType="image/png", buffer=png(40, 20))]
    )
    page.get_by_label("Приветствие").fill("Спасибо за покупку, <b>друг</b>!")
    page.get_by_label("Текст", exact=True).fill("Второй кофе — в подарок до конца мая.")
    page.get_by_label("Картинка баннера 1").set_input_files(
        files=[
            FilePayload(name="spring.png", mimeType="image/png", buffer=png(60, 20, (20, 120, 60)))
        ]
    )
    page.get_by_label("Ссылка баннера 1").fill("https://zerno.example.ru/spring")

    # the live preview (HTMX) first says what is missing: the banner's erid
    preview = page.locator("#preview")
    expect(preview).to_contain_text("Баннер 1: укажите идентификатор рекламы erid")
    page.get_by_label("Идентификатор рекламы (erid) баннера 1").fill("LjN8Kaaxi")
    expect(preview.get_by_test_id("preview")).to_contain_text("Спасибо за покупку, <b>друг</b>!")
    expect(preview).to_contain_text("erid: LjN8Kaaxi")
    expect(preview).to_contain_text("ОБРАЗЕЦ: тестовая отправка")
    expect(preview.locator('[data-ad="frame"]')).to_have_attribute(
        "style", re.compile("background:#ffe8cc")
    )

    page.get_by_role("button", name="Сохранить шаблон").click()
    expect(page.get_by_test_id("notice")).to_have_text("Шаблон сохранён.")
    sent_before = len(stack.mailer.outbox)
    page.get_by_test_id("test-send").click()
    expect(page.get_by_test_id("notice")).to_contain_text(
        f"Тестовое письмо отправлено на {account.email}"
    )

    letters = [m for m in stack.mailer.outbox[sent_before:] if m.to == account.email]
    assert len(letters) == 1
    letter = letters[0]
    assert letter.html is not None and "ОБРАЗЕЦ" in (markup.fiscal_of(letter.html) or "")

    # open the letter as the buyer's mail client would: pictures load from the fleet
    page.set_content(letter.html)
    expect(page.locator('[data-ad="greeting"]')).to_have_text("Спасибо за покупку, <b>друг</b>!")
    expect(page.locator('[data-ad="company"]')).to_have_text("Кофейня «Зерно»")
    banner = page.locator('[data-ad="banner"] a')
    expect(banner).to_have_attribute("href", "https://zerno.example.ru/spring?erid=LjN8Kaaxi")
    expect(page.locator('[data-ad="marking"]')).to_contain_text(f"Реклама. {account.company}")
    for img in (page.locator('[data-ad="logo"]'), banner.locator("img")):
        img.evaluate("i => i.decode()")  # rejects when the picture does not load
        assert img.evaluate("i => i.naturalWidth") > 0
