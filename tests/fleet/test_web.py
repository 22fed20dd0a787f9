"""The console layout: the menu from permissions, sign-in with `next`, error pages, CSRF header,
static files, the main page's summary."""

from __future__ import annotations

import re
from urllib.parse import quote

from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from fleet.access.permissions import CLIENT_PERMISSIONS, Permission
from fleet.access.principal import Principal
from fleet.accounts.mail import MemoryMailSender
from fleet.accounts.models import User
from fleet.accounts.service import AccountsContext
from fleet.core.csrf import HEADER
from fleet.registers.models import Register, RegisterState
from fleet.web.local_path import local_path
from fleet.web.nav import MENU, menu_for
from tests.fleet.helpers import PASSWORD, confirmed_user

ALL_PATHS = frozenset(item.path for section in MENU for item in section.items)


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match
    return match.group(1)


def _sign_in(client: TestClient, email: str, next_path: str = "") -> str:
    """Sign in through the form; return where the browser is sent."""
    token = _csrf(client.get("/signin").text)
    data = {"email": email, "password": PASSWORD, "csrf_token": token}
    if next_path:
        data["next"] = next_path
    signed = client.post("/signin", data=data, follow_redirects=False)
    assert signed.status_code == 303
    return str(signed.headers["location"])


def _user(
    engine: Engine, ctx: AccountsContext, mailer: MemoryMailSender, n: int
) -> tuple[str, int]:
    with Session(engine) as session:
        user, company = confirmed_user(session, ctx, mailer, n)
        session.commit()
        assert company.id is not None
        return user.email, company.id


def _labels(principal: Principal | None, paths: frozenset[str] = ALL_PATHS) -> list[str]:
    return [item.label for section in menu_for(principal, paths) for item in section.items]


# ---------- the menu ----------


def test_menu_shows_only_what_the_principal_holds() -> None:
    viewer = Principal(company_id=1, permissions=frozenset({Permission.REGISTERS_VIEW}), user_id=1)
    assert _labels(viewer) == [
        "Главная",
        "Кассы",
        "Магазины",
        "Бронирование",
        "Контроль штрафов",
        "График замены ФН",
        "Покупка ФН",
        "Уведомления",
    ]
    client = Principal(company_id=1, permissions=frozenset(CLIENT_PERMISSIONS), user_id=1)
    labels = _labels(client)
    assert "Пользователи" in labels and "API-токены" in labels and "Журнал действий" in labels
    assert "Парк касс" not in labels and "Склад" not in labels
    sections = [s.label for s in menu_for(client, ALL_PATHS)]
    assert "Настройки" in sections and "Оператор" not in sections
    operator = Principal(company_id=1, permissions=frozenset(Permission), user_id=1)
    assert {"Парк касс", "Склад", "Платежи"} <= set(_labels(operator))
    assert _labels(None) == []  # a guest has no menu


def test_menu_hides_pages_that_do_not_exist_and_marks_the_current_one() -> None:
    operator = Principal(company_id=1, permissions=frozenset(Permission), user_id=1)
    assert _labels(operator, frozenset({"/", "/registers"})) == ["Главная", "Кассы"]
    shown = menu_for(operator, frozenset({"/", "/registers"}), "/registers/5")
    current = [item.label for section in shown for item in section.items if item.current]
    assert current == ["Кассы"]
    home = menu_for(operator, frozenset({"/", "/registers"}), "/")
    assert [i.label for s in home for i in s.items if i.current] == ["Главная"]
    # Two links to one page: the one whose query matches is current, not both.
    fleet = frozenset({"/operator/registers", "/operator/registers?state=free"})
    shelf = menu_for(operator, fleet, "/operator/registers", "state=free&page=2")
    assert [i.label for s in shelf for i in s.items if i.current] == ["Склад"]
    whole = menu_for(operator, fleet, "/operator/registers", "")
    assert [i.label for s in whole for i in s.items if i.current] == ["Парк касс"]
    assert not any(i.current for s in menu_for(operator, fleet, "/elsewhere") for i in s.items)


def test_the_signed_in_layout_has_the_menu_company_and_email(
    client: TestClient, engine: Engine, ctx: AccountsContext, mailer: MemoryMailSender
) -> None:
    email, _ = _user(engine, ctx, mailer, 1)
    _sign_in(client, email)
    home = client.get("/")
    assert home.status_code == 200
    assert 'data-testid="sidebar"' in home.text
    assert email in home.text and "ООО «Компания 1»" in home.text
    assert 'href="/registers"' in home.text
    assert 'href="/operator/' not in home.text  # a client sees no operator section
    # The menu links only to pages this app serves.
    for link in re.findall(r'<li><a href="([^"]+)"', home.text):
        assert client.get(link).status_code == 200, link
    # HTMX posts carry the CSRF token in a header.
    assert f'hx-headers=\'{{"X-CSRF-Token": "{_csrf(home.text)}"}}\'' in home.text


def test_a_guest_sees_the_pitch_without_a_menu(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert 'href="/signup"' in page.text and 'href="/signin"' in page.text
    assert 'data-testid="sidebar"' not in page.text


def test_static_files_are_served(client: TestClient) -> None:
    css = client.get("/static/app.css")
    assert css.status_code == 200 and "data-label" in css.text
    js = client.get("/static/htmx.min.js")
    assert js.status_code == 200 and js.text.startswith("/* htmx 2.")


# ---------- the main page's summary ----------


def test_main_page_counts_registers_by_state_with_links(
    client: TestClient,
    engine: Engine,
    ctx: AccountsContext,
    mailer: MemoryMailSender,
) -> None:
    email, company_id = _user(engine, ctx, mailer, 1)
    _, other_id = _user(engine, ctx, mailer, 2)
    with Session(engine) as session:
        for state, company in [
            (RegisterState.BOOKED, company_id),
            (RegisterState.BOOKED, company_id),
            (RegisterState.PAID, company_id),
            (RegisterState.ACTIVE, other_id),  # another tenant's: never counted
        ]:
            session.add(Register(state=state.value, company_id=company, created_at=0.0))
        session.commit()
    _sign_in(client, email)
    home = client.get("/").text
    tile = re.search(r'data-testid="tile-booked">.*?tile-value">(\d+)<', home)
    assert tile and tile.group(1) == "2"
    assert 'href="/registers?state=booked"' in home and 'href="/registers?state=paid"' in home
    total = re.search(r'data-testid="tile-total">.*?tile-value">(\d+)<', home)
    assert total and total.group(1) == "3"
    assert "tile-active" not in home
    assert "Оплатите бронь в течение 7 дней" in home  # the next step of a booked register


# ---------- sign-in and `next` ----------


def test_a_guest_opening_a_page_is_sent_to_sign_in_and_back(
    client: TestClient, engine: Engine, ctx: AccountsContext, mailer: MemoryMailSender
) -> None:
    email, _ = _user(engine, ctx, mailer, 1)
    away = client.get("/registers?page=2", follow_redirects=False)
    assert away.status_code == 303
    assert away.headers["location"] == "/signin?next=" + quote("/registers?page=2", safe="/")
    form = client.get(away.headers["location"])
    assert 'name="next" value="/registers?page=2"' in form.text
    assert _sign_in(client, email, "/registers?page=2") == "/registers?page=2"


def test_htmx_request_of_a_guest_redirects_the_whole_page(client: TestClient) -> None:
    answer = client.get("/registers", headers={"HX-Request": "true"}, follow_redirects=False)
    assert answer.status_code == 200
    assert answer.headers["HX-Redirect"] == "/signin?next=/registers"


def test_next_never_leaves_the_site(
    client: TestClient, engine: Engine, ctx: AccountsContext, mailer: MemoryMailSender
) -> None:
    email, _ = _user(engine, ctx, mailer, 1)
    for bad in ["//evil.example/", "https://evil.example/", "/\\evil.example", "javascript:x"]:
        assert _sign_in(client, email, bad) == "/"
    assert 'name="next"' not in client.get("/signin?next=//evil.example").text


@given(st.text(max_size=40))
def test_local_path_is_a_local_path_or_the_default(value: str) -> None:
    result = local_path(value, "/fallback")
    assert result in (value, "/fallback")
    if result == value:
        assert value.startswith("/") and not value.startswith("//")
        assert "\\" not in value and all(ord(c) >= 0x20 for c in value)


def test_local_path_examples() -> None:
    assert local_path("/registers/5?tab=docs") == "/registers/5?tab=docs"
    assert local_path("") == "/"
    assert local_path("registers") == "/"
    assert local_path("/\t/evil.example") == "/"
    assert local_path("//evil.example") == "/"


# ---------- error pages ----------


def test_page_errors_are_russian_pages_with_the_menu(
    client: TestClient, engine: Engine, ctx: AccountsContext, mailer: MemoryMailSender
) -> None:
    email, _ = _user(engine, ctx, mailer, 1)
    missing = client.get("/no-such-page")
    assert missing.status_code == 404 and "Такой страницы нет" in missing.text
    assert 'data-testid="error"' in missing.text and 'data-testid="sidebar"' not in missing.text
    _sign_in(client, email)
    missing = client.get("/no-such-page")
    assert missing.status_code == 404 and 'data-testid="sidebar"' in missing.text
    # A form post missing its fields: the Russian page, not FastAPI's JSON.
    token = _csrf(client.get("/settings/users").text)
    broken = client.post("/settings/users", data={"csrf_token": token})
    assert broken.status_code == 422 and broken.headers["content-type"].startswith("text/html")
    assert "заполните все поля" in broken.text
    # The API keeps its JSON.
    api = client.get("/api/no-such-thing")
    assert api.status_code == 404 and api.json() == {"detail": "Not Found"}


def test_api_validation_errors_stay_json(client: TestClient) -> None:
    answer = client.post("/api/auth/signin", json={})
    assert answer.status_code == 422 and "detail" in answer.json()


# ---------- CSRF in a header (HTMX) ----------


def test_csrf_token_in_the_header_is_accepted_and_a_forged_one_refused(
    client: TestClient, engine: Engine, ctx: AccountsContext, mailer: MemoryMailSender
) -> None:
    email, _ = _user(engine, ctx, mailer, 1)
    _sign_in(client, email)
    token = _csrf(client.get("/").text)
    forged = client.post("/signout", headers={HEADER: "raw.deadbeef"}, follow_redirects=False)
    assert forged.status_code == 403
    assert email in client.get("/").text  # still signed in
    out = client.post("/signout", headers={HEADER: token}, follow_redirects=False)
    assert out.status_code == 303
    assert email not in client.get("/").text


def test_an_operator_sees_the_whole_fleet_on_the_main_page(
    client: TestClient, engine: Engine, ctx: AccountsContext, mailer: MemoryMailSender
) -> None:
    email, _ = _user(engine, ctx, mailer, 1)
    client_email, other_id = _user(engine, ctx, mailer, 2)
    with Session(engine) as session:
        session.add(Register(state=RegisterState.FREE.value, created_at=0.0))
        session.add(Register(state=RegisterState.FREE.value, created_at=0.0))
        session.add(Register(state=RegisterState.PAID.value, company_id=other_id, created_at=0.0))
        user = session.exec(select(User).where(User.email == email)).one()
        user.is_operator = True
        session.add(user)
        session.commit()
    _sign_in(client, email)
    home = client.get("/").text
    shelf = re.search(r'data-testid="fleet-free">.*?tile-value">(\d+)<', home)
    assert shelf and shelf.group(1) == "2"
    assert 'href="/operator/registers?state=paid"' in home
    assert 'href="/operator/registers"' in home  # the operator menu
    client.cookies.clear()
    _sign_in(client, client_email)
    assert 'data-testid="fleet-summary"' not in client.get("/").text
