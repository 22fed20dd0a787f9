"""The Russian pages: forms with CSRF, the sign-up -> confirm -> sign-in flow, the main page."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from fleet.accounts.mail import MemoryMailSender
from fleet.accounts.models import User
from fleet.core.csrf import COOKIE
from tests.fleet.helpers import PASSWORD, token_from
from tests.fleet.oracle import SBER_INN, SBER_OGRN


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match
    return match.group(1)


def _form(**extra: str) -> dict[str, str]:
    base = {
        "email": "buh@romashka.ru",
        "password": PASSWORD,
        "company_name": "ООО «Ромашка»",
        "inn": SBER_INN,
        "ogrn": SBER_OGRN,
    }
    base.update(extra)
    return base


def test_main_page_says_what_exists(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert "Облачные кассы" in page.text and 'href="/signup"' in page.text
    assert page.headers["content-type"].startswith("text/html")


def test_full_flow_through_the_pages(client: TestClient, mailer: MemoryMailSender) -> None:
    token = _csrf(client.get("/signup").text)
    done = client.post("/signup", data=_form(csrf_token=token))
    assert done.status_code == 200 and "Мы отправили письмо" in done.text
    confirm_page = client.get(f"/confirm?token={token_from(mailer)}")
    assert "Подтвердить адрес" in confirm_page.text
    confirmed = client.post(
        "/confirm", data={"token": token_from(mailer), "csrf_token": _csrf(confirm_page.text)}
    )
    assert confirmed.status_code == 200 and "Адрес подтверждён" in confirmed.text
    signin_page = client.get("/signin")
    signed = client.post(
        "/signin",
        data={
            "email": "buh@romashka.ru",
            "password": PASSWORD,
            "csrf_token": _csrf(signin_page.text),
        },
        follow_redirects=False,
    )
    assert signed.status_code == 303 and "oblako_session" in signed.cookies
    home = client.get("/")
    assert "buh@romashka.ru" in home.text and "ООО «Ромашка»" in home.text
    out = client.post("/signout", data={"csrf_token": _csrf(home.text)}, follow_redirects=False)
    assert out.status_code == 303
    assert "buh@romashka.ru" not in client.get("/").text


def test_form_errors_are_shown_in_russian(client: TestClient) -> None:
    token = _csrf(client.get("/signup").text)
    page = client.post("/signup", data=_form(inn="7707083894", csrf_token=token))
    assert page.status_code == 422
    assert "Контрольное число ИНН не сходится" in page.text
    assert 'value="ООО «Ромашка»"' in page.text  # the form keeps what was typed


def test_an_empty_form_gets_a_reason_for_every_field(client: TestClient) -> None:
    token = _csrf(client.get("/signup").text)
    page = client.post("/signup", data={"csrf_token": token})
    assert page.status_code == 422
    assert page.text.count('class="error"') >= 4, page.text  # one per empty field, in Russian
    assert "Field required" not in page.text


def test_wrong_password_page(client: TestClient) -> None:
    token = _csrf(client.get("/signin").text)
    page = client.post("/signin", data={"email": "a@b.ru", "password": "x", "csrf_token": token})
    assert page.status_code == 401 and "Неверный адрес почты или пароль" in page.text


def test_posts_without_valid_csrf_are_refused_and_change_nothing(
    client: TestClient, engine: Engine
) -> None:
    assert client.post("/signup", data=_form()).status_code == 403
    client.get("/signup")  # sets the cookie
    assert client.post("/signup", data=_form(csrf_token="forged.token")).status_code == 403
    # A cookie the attacker made up (not signed with our key) does not help either.
    client.cookies.set(COOKIE, "raw.deadbeef")
    refused = client.post("/signup", data=_form(csrf_token="raw.deadbeef"))
    assert refused.status_code == 403 and "другого сайта" in refused.text
    with Session(engine) as session:
        assert session.exec(select(func.count()).select_from(User)).one() == 0
