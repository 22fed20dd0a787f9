"""Users of a company: invitations, acceptance, roles, blocking, owner protection."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlparse

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from fleet.accounts.mail import MemoryMailSender
from fleet.accounts.models import AuthSession
from fleet.accounts.users import INVITE_TTL_S
from fleet.audit import AuditLog
from fleet.core.clock import SettableClock
from tests.fleet.test_access_roles import owner_headers, roles_by_name

NEW_PASSWORD = "новый-пароль-456"


def invite_token(mailer: MemoryMailSender) -> str:
    link = next(line for line in mailer.outbox[-1].body.splitlines() if "/invite?" in line)
    return parse_qs(urlparse(link).query)["token"][0]


def invite_and_accept(
    client: TestClient, mailer: MemoryMailSender, h: dict[str, str], email: str, role: str
) -> tuple[int, dict[str, str]]:
    """Invite with a role by name, accept, sign in; the user id and their bearer headers."""
    role_id = roles_by_name(client, h)[role]["id"]
    invited = client.post("/api/users", json={"email": email, "role_id": role_id}, headers=h)
    assert invited.status_code == 201, invited.text
    accepted = client.post(
        "/api/auth/accept-invite", json={"token": invite_token(mailer), "password": NEW_PASSWORD}
    )
    assert accepted.status_code == 200, accepted.text
    signed = client.post("/api/auth/signin", json={"email": email, "password": NEW_PASSWORD})
    assert signed.status_code == 200, signed.text
    return invited.json()["id"], {"Authorization": f"Bearer {signed.json()['token']}"}


def test_invite_accept_and_act_with_the_role(
    client: TestClient, mailer: MemoryMailSender, engine: Engine
) -> None:
    h = owner_headers(client, mailer, 1)
    role_id = roles_by_name(client, h)["Бухгалтер"]["id"]
    invited = client.post(
        "/api/users", json={"email": " Buh@Example.RU ", "role_id": role_id}, headers=h
    )
    assert invited.status_code == 201
    assert invited.json()["status"] == "invited" and invited.json()["role"] == "Бухгалтер"
    letter = mailer.outbox[-1]
    assert letter.to == "buh@example.ru" and "«Бухгалтер»" in letter.body
    # no password yet: sign-in fails like a wrong password
    assert (
        client.post(
            "/api/auth/signin", json={"email": "buh@example.ru", "password": ""}
        ).status_code
        == 401
    )
    token = invite_token(mailer)
    # an invitation is not a confirmation token
    assert client.post("/api/auth/confirm", json={"token": token}).status_code == 422
    short = client.post("/api/auth/accept-invite", json={"token": token, "password": "123"})
    assert short.status_code == 422 and "password" in short.json()["fields"]
    ok = client.post("/api/auth/accept-invite", json={"token": token, "password": NEW_PASSWORD})
    assert ok.status_code == 200 and ok.json()["email_confirmed"] is True
    again = client.post("/api/auth/accept-invite", json={"token": token, "password": NEW_PASSWORD})
    assert again.status_code == 422
    signed = client.post(
        "/api/auth/signin", json={"email": "buh@example.ru", "password": NEW_PASSWORD}
    ).json()
    buh = {"Authorization": f"Bearer {signed['token']}"}
    me = client.get("/api/me", headers=buh).json()
    assert "billing.pay" in me["permissions"] and "users.view" not in me["permissions"]
    assert client.get("/api/users", headers=buh).status_code == 403
    assert client.get("/api/audit", headers=buh).status_code == 200
    listed = {u["email"]: u for u in client.get("/api/users", headers=h).json()}
    assert listed["buh@example.ru"]["status"] == "active"
    with Session(engine) as session:
        actions = [a.action for a in session.exec(select(AuditLog)).all()]
    assert "user.invite" in actions and "user.accept_invite" in actions


def test_invite_refusals(
    client: TestClient, mailer: MemoryMailSender, clock: SettableClock
) -> None:
    h = owner_headers(client, mailer, 1)
    role_id = roles_by_name(client, h)["Интегратор"]["id"]
    bad = client.post("/api/users", json={"email": "not-an-email", "role_id": role_id}, headers=h)
    assert bad.status_code == 422 and "email" in bad.json()["fields"]
    taken = client.post(
        "/api/users", json={"email": "owner1@example.ru", "role_id": role_id}, headers=h
    )
    assert taken.status_code == 409
    sent = len(mailer.outbox)
    assert (
        client.post(
            "/api/users", json={"email": "late@example.ru", "role_id": role_id}, headers=h
        ).status_code
        == 201
    )
    assert len(mailer.outbox) == sent + 1
    clock.advance(INVITE_TTL_S + 1)
    late = client.post(
        "/api/auth/accept-invite", json={"token": invite_token(mailer), "password": NEW_PASSWORD}
    )
    assert late.status_code == 422 and "истёк" in late.json()["message"]


def test_block_ends_sessions_and_refuses_sign_in(
    client: TestClient, mailer: MemoryMailSender, engine: Engine
) -> None:
    h = owner_headers(client, mailer, 1)
    uid, kassir = invite_and_accept(client, mailer, h, "kassa@example.ru", "Менеджер касс")
    assert client.get("/api/me", headers=kassir).status_code == 200
    blocked = client.post(f"/api/users/{uid}/block", headers=h)
    assert blocked.status_code == 200 and blocked.json()["status"] == "blocked"
    assert client.get("/api/me", headers=kassir).status_code == 401
    with Session(engine) as session:
        assert session.exec(select(AuthSession).where(AuthSession.user_id == uid)).all() == []
    refused = client.post(
        "/api/auth/signin", json={"email": "kassa@example.ru", "password": NEW_PASSWORD}
    )
    assert refused.status_code == 401 and "заблокирована" in refused.json()["message"]
    assert client.post(f"/api/users/{uid}/block", headers=h).status_code == 200  # idempotent
    assert client.post(f"/api/users/{uid}/unblock", headers=h).json()["status"] == "active"
    back = client.post(
        "/api/auth/signin", json={"email": "kassa@example.ru", "password": NEW_PASSWORD}
    )
    assert back.status_code == 200


def test_owner_protection(client: TestClient, mailer: MemoryMailSender) -> None:
    h = owner_headers(client, mailer, 1)
    me = client.get("/api/me", headers=h).json()["user"]["id"]
    roles = roles_by_name(client, h)
    admin_id, admin = invite_and_accept(client, mailer, h, "admin@example.ru", "Администратор")
    # the last owner is never demoted or blocked, not even by themselves
    demote = client.put(
        f"/api/users/{me}/role", json={"role_id": roles["Администратор"]["id"]}, headers=h
    )
    assert demote.status_code == 409 and "последний владелец" in demote.json()["message"]
    assert client.post(f"/api/users/{me}/block", headers=h).status_code == 409  # oneself
    # an administrator cannot touch the owner, nor appoint an owner
    assert client.post(f"/api/users/{me}/block", headers=admin).status_code == 403
    assert (
        client.put(
            f"/api/users/{me}/role", json={"role_id": roles["Бухгалтер"]["id"]}, headers=admin
        ).status_code
        == 403
    )
    promote = client.put(
        f"/api/users/{admin_id}/role", json={"role_id": roles["Владелец"]["id"]}, headers=admin
    )
    assert promote.status_code == 403
    # the owner appoints a second owner; then either may demote the other, the last one stays
    promoted = client.put(
        f"/api/users/{admin_id}/role", json={"role_id": roles["Владелец"]["id"]}, headers=h
    )
    assert promoted.status_code == 200 and promoted.json()["owner"] is True
    second = admin
    blocked = client.post(f"/api/users/{me}/block", headers=second)
    assert blocked.status_code == 200
    assert client.post(f"/api/users/{me}/unblock", headers=second).status_code == 200
    assert (
        client.put(
            f"/api/users/{me}/role", json={"role_id": roles["Бухгалтер"]["id"]}, headers=second
        ).status_code
        == 200
    )
    last = client.put(
        f"/api/users/{admin_id}/role", json={"role_id": roles["Бухгалтер"]["id"]}, headers=second
    )
    assert last.status_code == 409


def test_users_of_another_company_are_not_found(
    client: TestClient, mailer: MemoryMailSender
) -> None:
    a, b = owner_headers(client, mailer, 1), owner_headers(client, mailer, 2)
    b_user = client.get("/api/me", headers=b).json()["user"]["id"]
    assert client.get(f"/api/users/{b_user}", headers=a).status_code == 404
    assert client.post(f"/api/users/{b_user}/block", headers=a).status_code == 404
    assert [u["email"] for u in client.get("/api/users", headers=a).json()] == ["owner1@example.ru"]


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match
    return match.group(1)


def _page_sign_in(client: TestClient, email: str, password: str) -> None:
    form = client.get("/signin")
    done = client.post(
        "/signin",
        data={"email": email, "password": password, "csrf_token": _csrf(form.text)},
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text


def test_invitation_pages(client: TestClient, mailer: MemoryMailSender) -> None:
    h = owner_headers(client, mailer, 1)
    _page_sign_in(client, "owner1@example.ru", "верный-пароль-123")
    page = client.get("/settings/users")
    assert page.status_code == 200 and "owner1@example.ru" in page.text
    role_id = roles_by_name(client, h)["Менеджер касс"]["id"]
    sent = client.post(
        "/settings/users",
        data={"email": "shop@example.ru", "role_id": str(role_id), "csrf_token": _csrf(page.text)},
    )
    assert sent.status_code == 200 and "Приглашение отправлено на shop@example.ru" in sent.text
    refused = client.post(
        "/settings/users",
        data={"email": "shop@example.ru", "role_id": str(role_id), "csrf_token": _csrf(page.text)},
    )
    assert refused.status_code == 409 and "уже зарегистрирован" in refused.text
    token = invite_token(mailer)
    client.cookies.clear()
    form = client.get(f"/invite?token={token}")
    assert (
        form.status_code == 200
        and "«Менеджер касс»" in form.text
        and "shop@example.ru" in form.text
    )
    mismatch = client.post(
        "/invite",
        data={
            "token": token,
            "password": NEW_PASSWORD,
            "password2": "другой-пароль-1",
            "csrf_token": _csrf(form.text),
        },
    )
    assert mismatch.status_code == 422 and "не совпадают" in mismatch.text
    done = client.post(
        "/invite",
        data={
            "token": token,
            "password": NEW_PASSWORD,
            "password2": NEW_PASSWORD,
            "csrf_token": _csrf(form.text),
        },
    )
    assert done.status_code == 200 and "Пароль задан" in done.text
    used = client.get(f"/invite?token={token}")
    assert used.status_code == 404 and "недействительна" in used.text
    _page_sign_in(client, "shop@example.ru", NEW_PASSWORD)
    # the cashier manager may not open the users page
    assert client.get("/settings/users", follow_redirects=False).status_code == 403


def test_block_from_the_page_with_htmx(client: TestClient, mailer: MemoryMailSender) -> None:
    h = owner_headers(client, mailer, 1)
    uid, _ = invite_and_accept(client, mailer, h, "kassa@example.ru", "Менеджер касс")
    _page_sign_in(client, "owner1@example.ru", "верный-пароль-123")
    page = client.get("/settings/users")
    partial = client.post(
        f"/settings/users/{uid}/block",
        data={"csrf_token": _csrf(page.text)},
        headers={"HX-Request": "true"},
    )
    assert partial.status_code == 200
    assert "<html" not in partial.text and "Заблокирован" in partial.text
    assert "Пользователь kassa@example.ru заблокирован" in partial.text
    plain = client.post(
        f"/settings/users/{uid}/unblock",
        data={"csrf_token": _csrf(page.text)},
        follow_redirects=False,
    )
    assert plain.status_code == 303 and plain.headers["location"] == "/settings/users"
    no_csrf = client.post(f"/settings/users/{uid}/block", data={}, follow_redirects=False)
    assert no_csrf.status_code == 403
