"""The console's pages through HTTP: operators only, the shadow's differences highlighted,
a command sent from the form, a refused form showing why, a register declared dead."""

from __future__ import annotations

import re
import secrets

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from fleet.accounts.models import AuthSession, User
from fleet.accounts.service import hash_token
from fleet.console import alarms
from fleet.console.models import ConsoleCommand, DeadRegister
from fleet.core.clock import SettableClock
from fleet.deps import SESSION_COOKIE
from tests.console.world import company, operator, register, set_shadow


def sign_in(client: TestClient, engine: Engine, clock: SettableClock, user_id: int) -> None:
    secret = secrets.token_urlsafe(24)
    with Session(engine) as s:
        s.add(
            AuthSession(
                token_hash=hash_token(secret),
                user_id=user_id,
                created_at=clock.wall(),
                expires_at=clock.wall() + 3600,
            )
        )
        s.commit()
    client.cookies.set(SESSION_COOKIE, secret)


def csrf_of(html: str) -> str:
    m = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert m is not None
    return m.group(1)


def test_operators_see_racks_shadows_and_alarms_and_others_are_refused(
    client: TestClient, engine: Engine, clock: SettableClock
) -> None:
    with Session(engine, expire_on_commit=False) as s:
        c = company(s, clock, 1)
        user, _p = operator(s, clock, c.id or 0)
        client_user = User(
            email="client@example.ru",
            password_hash="",
            company_id=c.id or 0,
            email_confirmed=True,
            created_at=clock.wall(),
        )
        s.add(client_user)
        s.commit()
        reg = register(s, clock, c, "SER0000001", slot="R2-S05")
        register(s, clock, c, "SER0000002", slot="R1-S01")
        rep = {
            "clock": int(clock.wall()),
            "clock_trusted": True,
            "firmware": "0.9.0",
            "drive": {"fn": "9999078900000001", "phase": 3, "warnings": 128, "last_fd": 4},
        }
        set_shadow(s, reg.id or 0, reported=rep, firmware="0.9.0")
        alarms.evaluate(s, clock)
        s.commit()
    sign_in(client, engine, clock, client_user.id or 0)
    assert client.get("/console").status_code == 403
    sign_in(client, engine, clock, user.id or 0)
    racks = client.get("/console")
    assert racks.status_code == 200
    assert "Стойка R1" in racks.text and "Стойка R2" in racks.text
    assert racks.text.index("Стойка R1") < racks.text.index("Стойка R2")
    assert "SER0000002" not in client.get("/console", params={"q": "SER0000001"}).text
    assert "Неверный фильтр" not in client.get("/console", params={"online": "maybe"}).text
    assert "online" in client.get("/console", params={"online": "maybe"}).text
    only_alarmed = client.get("/console", params={"alarms": "1"}).text
    assert "SER0000001" in only_alarmed and "SER0000002" not in only_alarmed
    page = client.get(f"/console/registers/{reg.id}")
    assert page.status_code == 200
    differs = re.findall(r'<tr class="diff"[^>]*><td data-label="Поле">([^<]+)</td>', page.text)
    assert differs == ["Прошивка", "Критическая ошибка ФН"]
    listed = client.get("/console/alarms").text
    assert "Критическая ошибка ФН" in listed and "SER0000001" in listed


def test_send_a_command_from_the_form_and_a_refused_one_shows_why(
    client: TestClient, engine: Engine, clock: SettableClock
) -> None:
    with Session(engine, expire_on_commit=False) as s:
        c = company(s, clock, 1)
        user, _p = operator(s, clock, c.id or 0)
        reg = register(s, clock, c, "SER0000001")
    sign_in(client, engine, clock, user.id or 0)
    url = f"/console/registers/{reg.id}"
    token = csrf_of(client.get(url).text)
    done = client.post(
        f"{url}/commands", data={"action": "sync_time", "csrf_token": token}, follow_redirects=False
    )
    assert done.status_code == 303
    page = client.get(url).text
    assert "Синхронизировать время" in page and "В очереди" in page
    assert 'hx-trigger="every 1s"' in page  # the table follows the command while it runs
    refused = client.post(
        f"{url}/commands",
        data={
            "action": "close_fiscal_mode",
            "confirm": "SER0000002",
            "csrf_token": token,
        },
    )
    assert refused.status_code == 422 and "введите заводской номер" in refused.text
    with Session(engine) as s:
        assert [x.action for x in s.exec(select(ConsoleCommand)).all()] == ["sync_time"]


def test_declare_dead_from_the_page(
    client: TestClient, engine: Engine, clock: SettableClock
) -> None:
    with Session(engine, expire_on_commit=False) as s:
        c = company(s, clock, 1)
        user, _p = operator(s, clock, c.id or 0)
        reg = register(s, clock, c, "SER0000001")
    sign_in(client, engine, clock, user.id or 0)
    url = f"/console/registers/{reg.id}"
    token = csrf_of(client.get(url).text)
    empty = client.post(f"{url}/dead", data={"reason": " ", "csrf_token": token})
    assert empty.status_code == 409 and "Укажите причину" in empty.text
    done = client.post(
        f"{url}/dead",
        data={"reason": "сгорел блок питания", "csrf_token": token},
        follow_redirects=False,
    )
    assert done.status_code == 303
    page = client.get(url).text
    assert "Неисправна, выведена из работы" in page and "сгорел блок питания" in page
    with Session(engine) as s:
        [row] = s.exec(select(DeadRegister)).all()
        assert row.register_id == reg.id and row.replacement_id is not None
