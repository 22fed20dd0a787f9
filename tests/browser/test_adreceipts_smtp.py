"""Advertising receipts end to end over real SMTP (issue 10's Playwright proof): the fleet is
configured with an SMTP relay (``FLEET_SMTP_HOST``), which is an aiosmtpd sink here; a user
designs a template in Chromium, test-sends it, and the test opens the letter *the sink received*
— parsed from its bytes — as the buyer's mail client would.

Its own fleet server (the shared browser stack keeps its mail in memory): every letter,
the sign-up confirmation included, leaves through `SmtpMailSender` and arrives at the sink.
"""

from __future__ import annotations

import email
import re
import socket
from collections.abc import Iterator
from email.message import EmailMessage
from email.policy import default
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from playwright.sync_api import Browser, FilePayload, Page, expect
from sqlmodel import SQLModel

import fleet.models  # noqa: F401  (registers the tables)
from fleet.accounts.mail import MemoryMailSender, OutgoingMail
from fleet.adreceipts import markup
from fleet.core.config import Settings
from fleet.core.db import make_engine
from fleet.main import create_app
from tests.adreceipts.builders import png
from tests.browser.conftest import ServerThread, Stack
from tests.browser.flow import signed_up_and_in


class _Sink:
    """The SMTP relay: keeps each letter's bytes, and copies it into ``seen`` (the shared
    sign-up steps read their confirmation link from a MemoryMailSender's outbox)."""

    def __init__(self, seen: MemoryMailSender) -> None:
        self.raw: list[tuple[list[str], bytes]] = []
        self.seen = seen

    async def handle_DATA(  # noqa: N802  (aiosmtpd's hook name)
        self, server: Any, session: Any, envelope: Any
    ) -> str:
        data: bytes = envelope.original_content or envelope.content
        self.raw.append((list(envelope.rcpt_tos), data))
        msg = email.message_from_bytes(data, policy=default)
        assert isinstance(msg, EmailMessage)
        plain, html = msg.get_body(("plain",)), msg.get_body(("html",))
        self.seen.send(
            OutgoingMail(
                to=str(msg["To"]),
                subject=str(msg["Subject"]),
                body=plain.get_content() if plain is not None else "",
                html=html.get_content() if html is not None else None,
            )
        )
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(name="smtp_stack")
def fixture_smtp_stack(
    stack: Stack, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Stack, _Sink]]:
    seen = MemoryMailSender()
    sink = _Sink(seen)
    port = _free_port()
    relay = Controller(sink, hostname="127.0.0.1", port=port)
    relay.start()
    server = ServerThread(None, "fleet-smtp")
    db = tmp_path_factory.mktemp("browser-smtp") / "fleet.db"
    settings = Settings(
        environment="test",
        database_url=f"sqlite:///{db}",
        secret_key="browser-smtp-test-secret-key-0123456789ab",
        migrate_on_start=False,
        run_jobs=False,
        argon2_time_cost=1,
        argon2_memory_kib=8,
        base_url=server.url,
        smtp_host="127.0.0.1",
        smtp_port=port,
    )
    engine = make_engine(settings.database_url)
    SQLModel.metadata.create_all(engine)
    server.start(create_app(settings, engine=engine))  # no mailer given: SMTP from settings
    try:
        yield (
            Stack(
                fleet_url=server.url,
                acquiring_url=None,
                mailer=seen,
                settings=settings,
                engine=engine,
            ),
            sink,
        )
    finally:
        server.stop()
        relay.stop()
        engine.dispose()


@pytest.fixture(name="smtp_page")
def fixture_smtp_page(browser: Browser, smtp_stack: tuple[Stack, _Sink]) -> Iterator[Page]:
    context = browser.new_context(
        base_url=smtp_stack[0].fleet_url, locale="ru-RU", viewport={"width": 1280, "height": 800}
    )
    context.set_default_timeout(10_000)
    try:
        yield context.new_page()
    finally:
        context.close()


def test_design_test_send_and_read_the_letter_the_smtp_sink_received(
    smtp_page: Page, smtp_stack: tuple[Stack, _Sink]
) -> None:
    page = smtp_page
    stack, sink = smtp_stack
    account = signed_up_and_in(page, stack)  # the confirmation letter came through SMTP too
    page.get_by_role("link", name="Рекламные чеки").click()
    page.get_by_test_id("new-template").click()
    page.get_by_label("Название шаблона").fill("Осенняя акция")
    page.get_by_label("Название компании в письме").fill("Пекарня «Колос»")
    page.locator("#t-bg").fill("#e6f2ff")
    page.get_by_label("Приветствие").fill("Спасибо, что зашли!")
    page.get_by_label("Текст", exact=True).fill("Круассан к кофе — за полцены по средам.")
    page.get_by_label("Картинка баннера 1").set_input_files(
        files=[FilePayload(name="autumn.png", mimeType="image/png", buffer=png(60, 20))]
    )
    page.get_by_label("Ссылка баннера 1").fill("https://kolos.example.ru/autumn")
    page.get_by_label("Идентификатор рекламы (erid) баннера 1").fill("Kra23f4Wx")
    page.get_by_role("button", name="Сохранить шаблон").click()
    expect(page.get_by_test_id("notice")).to_have_text("Шаблон сохранён.")
    before = len(sink.raw)
    page.get_by_test_id("test-send").click()
    expect(page.get_by_test_id("notice")).to_contain_text(
        f"Тестовое письмо отправлено на {account.email}"
    )

    # the letter as it crossed the wire
    got = [data for rcpts, data in sink.raw[before:] if rcpts == [account.email]]
    assert len(got) == 1
    letter = email.message_from_bytes(got[0], policy=default)
    assert isinstance(letter, EmailMessage)
    assert letter["To"] == account.email
    assert str(letter["Subject"]) == "Тестовый рекламный чек: «Осенняя акция»"
    html_part, text_part = letter.get_body(("html",)), letter.get_body(("plain",))
    assert html_part is not None and text_part is not None
    html = html_part.get_content()
    assert "ОБРАЗЕЦ" in (markup.fiscal_of(html) or "")
    assert "Круассан к кофе" in text_part.get_content()

    page.set_content(html)  # the buyer's mail client; pictures load from the fleet
    expect(page.locator('[data-ad="greeting"]')).to_have_text("Спасибо, что зашли!")
    expect(page.locator('[data-ad="company"]')).to_have_text("Пекарня «Колос»")
    expect(page.locator('[data-ad="frame"]')).to_have_attribute(
        "style", re.compile("background:#e6f2ff")
    )
    banner = page.locator('[data-ad="banner"] a')
    expect(banner).to_have_attribute("href", "https://kolos.example.ru/autumn?erid=Kra23f4Wx")
    expect(page.locator('[data-ad="marking"]')).to_contain_text(f"Реклама. {account.company}")
    img = banner.locator("img")
    img.evaluate("i => i.decode()")  # rejects when the picture does not load
    assert img.evaluate("i => i.naturalWidth") > 0
