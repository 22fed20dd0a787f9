"""The guides: every guide's fields are filled from the account, the page shows the client's
own values (INN, group codes, key logins, never a key's secret), and the test receipt goes
through the sandbox and comes back fiscalised with its FD number and fiscal sign."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from fleet.accounts.mail import MemoryMailSender
from fleet.accounts.service import AccountsContext
from fleet.core.clock import SettableClock
from fleet.guides.catalog import FAMILIES, GUIDES, Family
from fleet.guides.settings import client_settings
from fleet.receipts.models import Receipt
from fleet.sandbox.jobs import settle
from fleet.sandbox.models import SandboxCompany
from fleet.stores.models import Store
from tests.edo.builders import csrf_of, sign_in_pages
from tests.fleet.helpers import confirmed_user


def _company(
    engine: Engine, ctx: AccountsContext, mailer: MemoryMailSender, n: int
) -> tuple[int, str]:
    with Session(engine) as session:
        _user, company = confirmed_user(session, ctx, mailer, n)
        assert company.id is not None
        return company.id, company.inn


def test_the_catalogue_covers_every_family_and_names_only_known_settings(
    engine: Engine, ctx: AccountsContext, mailer: MemoryMailSender
) -> None:
    company_id, _inn = _company(engine, ctx, mailer, 21)
    with Session(engine) as session:
        mine = client_settings(session, company_id, "https://oblako.example")
    assert {g.family for g in GUIDES} == set(Family) == set(FAMILIES)
    assert len({g.slug for g in GUIDES}) == len(GUIDES)
    for guide in GUIDES:
        assert guide.steps and guide.fields
        for f in guide.fields:
            assert f.setting in mine.values and f.setting in mine.sandbox, (guide.slug, f)
    titles = {g.title for g in GUIDES}
    for wanted in ("1С-Битрикс", "WooCommerce", "InSales", "Tilda", "amoCRM", "RetailCRM"):
        assert any(wanted in t for t in titles), wanted


def test_a_guide_shows_the_clients_own_values_and_never_a_secret(
    client: TestClient, engine: Engine, ctx: AccountsContext, mailer: MemoryMailSender
) -> None:
    company_id, inn = _company(engine, ctx, mailer, 22)
    with Session(engine) as session:
        shop = Store(
            company_id=company_id,
            name="Интернет-магазин «Ромашка»",
            kind="online",
            website="https://romashka.example.ru",
            created_at=1.0,
        )
        session.add(shop)
        session.commit()
        shop_id = shop.id
    sign_in_pages(client, 22)
    tokens_page = client.get("/settings/tokens")
    role = re.search(r'<option value="(\d+)" selected>Интегратор', tokens_page.text)
    assert role, tokens_page.text
    issued = client.post(
        "/settings/tokens",
        data={"name": "Сайт", "role_id": role.group(1), "csrf_token": csrf_of(tokens_page.text)},
    )
    secret = re.search(r'data-testid="token-secret">([^<]+)<', issued.text)
    assert secret, issued.text
    index = client.get("/guides")
    assert index.status_code == 200 and 'href="/guides"' in index.text
    assert 'href="/guides/bitrix"' in index.text and "CRM и учётные системы" in index.text
    page = client.get("/guides/bitrix")
    assert page.status_code == 200
    text = page.text
    assert f'<code data-testid="value">{inn}</code>' in text
    assert f"{inn}-main" in text and f"{inn}-store{shop_id}" in text
    assert "Интернет-магазин «Ромашка»" in text.replace("&#34;", '"')
    assert "http://testserver/atol/possystem" in text
    assert "http://testserver/sandbox/atol/possystem" in text
    assert "https://romashka.example.ru" in text
    assert secret.group(1)[:12] in text  # the login: the key's visible prefix
    assert secret.group(1) not in text  # the secret itself is never shown again
    assert 'data-copy="' + inn + '"' in text
    ferma = client.get("/guides/moysklad").text
    assert "http://testserver/ferma" in ferma and "/atol/" not in ferma.split("guide-sandbox")[0]
    assert client.get("/guides/no-such-system").status_code == 404
    for guide in GUIDES:  # every guide renders with this account's values
        shown = client.get(f"/guides/{guide.slug}")
        assert shown.status_code == 200 and inn in shown.text, guide.slug


def test_test_receipt_goes_through_the_sandbox_and_comes_back_fiscalised(
    client: TestClient,
    engine: Engine,
    ctx: AccountsContext,
    mailer: MemoryMailSender,
    clock: SettableClock,
) -> None:
    company_id, _inn = _company(engine, ctx, mailer, 23)
    _company(engine, ctx, mailer, 24)
    sign_in_pages(client, 23)
    page = client.get("/guides/yookassa")
    sent = client.post(
        "/guides/test-receipt",
        data={"guide": "yookassa", "csrf_token": csrf_of(page.text)},
        headers={"HX-Request": "true"},
    )
    assert sent.status_code == 200, sent.text
    receipt_id = int(re.search(r"Тестовый чек № (\d+)", sent.text).group(1))  # type: ignore[union-attr]
    assert 'data-status="accepted"' in sent.text and "hx-get" in sent.text
    with Session(engine) as session:
        link = session.get(SandboxCompany, company_id)
        receipt = session.get(Receipt, receipt_id)
        assert link is not None and receipt is not None
        assert receipt.company_id == link.sandbox_company_id  # the twin's, not the client's
    settle(engine, clock)  # what the receipt worker and the sandbox job do
    done = client.get(f"/guides/test-receipt/{receipt_id}")
    assert 'data-status="fiscalised"' in done.text and "hx-get" not in done.text
    fd = re.search(r'data-testid="test-receipt-fd">(\d+)<', done.text)
    fp = re.search(r'data-testid="test-receipt-fp">(\d+)<', done.text)
    assert fd and fp and int(fd.group(1)) >= 1
    plain = client.post(
        "/guides/test-receipt",
        data={"guide": "yookassa", "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert plain.status_code == 303
    assert plain.headers["location"].startswith("/guides/yookassa?test_receipt=")
    sign_in_pages(client, 24)
    assert client.get(f"/guides/test-receipt/{receipt_id}").status_code == 404


def test_a_sandbox_key_is_shown_once(
    client: TestClient, engine: Engine, ctx: AccountsContext, mailer: MemoryMailSender
) -> None:
    _company(engine, ctx, mailer, 25)
    sign_in_pages(client, 25)
    page = client.get("/guides/woocommerce")
    issued = client.post(
        "/guides/sandbox-key", data={"guide": "woocommerce", "csrf_token": csrf_of(page.text)}
    )
    key = re.search(r'data-copy="(obt_[^"]+)"', issued.text)
    assert key, issued.text
    assert key.group(1) not in client.get("/guides/woocommerce").text
