"""API tokens: shown once, only a hash stored, role permissions, last use, revocation."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from fleet.access.models import ApiToken
from fleet.access.tokens import TOUCH_EVERY_S
from fleet.accounts.mail import MemoryMailSender
from fleet.audit import AuditLog
from fleet.core.clock import SettableClock
from fleet.deps import SESSION_COOKIE
from tests.fleet.test_access_roles import (
    owner_headers,
    roles_by_name,
    session_for,
    user_with_role,
)


def test_token_is_shown_once_and_only_its_hash_is_stored(
    client: TestClient, mailer: MemoryMailSender, engine: Engine
) -> None:
    h = owner_headers(client, mailer, 1)
    role_id = roles_by_name(client, h)["Интегратор"]["id"]
    made = client.post(
        "/api/tokens", json={"name": " Интернет-магазин ", "role_id": role_id}, headers=h
    )
    assert made.status_code == 201, made.text
    body = made.json()
    secret = body["token"]
    assert secret.startswith("obl_") and len(secret) >= 4 + 43
    assert body["prefix"] == secret[:12] and body["name"] == "Интернет-магазин"
    listed = client.get("/api/tokens", headers=h).json()
    assert [t["prefix"] for t in listed] == [secret[:12]] and "token" not in listed[0]
    with Session(engine) as session:
        row = session.exec(select(ApiToken)).one()
        stored = " ".join(str(v) for v in row.model_dump().values())
        audit_text = " ".join(a.detail for a in session.exec(select(AuditLog)).all())
    assert secret not in stored and secret not in audit_text
    assert len(row.token_hash) == 64 and row.prefix == secret[:12]


def test_token_acts_with_its_role_and_revocation_is_immediate(
    client: TestClient, mailer: MemoryMailSender, engine: Engine, clock: SettableClock
) -> None:
    h = owner_headers(client, mailer, 1)
    role_id = roles_by_name(client, h)["Интегратор"]["id"]
    made = client.post("/api/tokens", json={"name": "1С", "role_id": role_id}, headers=h).json()
    bearer = {"Authorization": f"Bearer {made['token']}"}
    me = client.get("/api/me", headers=bearer)
    assert me.status_code == 200, me.text
    assert me.json()["user"] is None and me.json()["token_id"] == made["id"]
    assert set(me.json()["permissions"]) == {"receipts.create", "receipts.view", "registers.view"}
    assert client.get("/api/registers", headers=bearer).status_code == 200
    assert client.get("/api/users", headers=bearer).status_code == 403
    assert client.get("/api/tokens", headers=bearer).status_code == 403
    first_use = client.get("/api/tokens", headers=h).json()[0]["last_used_at"]
    assert first_use is not None
    clock.advance(TOUCH_EVERY_S + 5)
    client.get("/api/me", headers=bearer)
    assert client.get("/api/tokens", headers=h).json()[0]["last_used_at"] > first_use
    # signing out with an API token does not end it (revoke it instead)
    assert client.post("/api/auth/signout", headers=bearer).status_code == 204
    assert client.get("/api/me", headers=bearer).status_code == 200
    revoked = client.delete(f"/api/tokens/{made['id']}", headers=h)
    assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
    gone = client.get("/api/me", headers=bearer)
    assert gone.status_code == 401 and "отозван" in gone.json()["message"]
    assert client.get("/api/me", headers={"Authorization": "Bearer obl_made-up"}).status_code == 401
    # an API token in the session cookie does not open pages
    client.cookies.set(SESSION_COOKIE, made["token"])
    assert client.get("/settings/users", follow_redirects=False).status_code != 200


def test_token_refusals(
    client: TestClient, mailer: MemoryMailSender, engine: Engine, clock: SettableClock
) -> None:
    h = owner_headers(client, mailer, 1)
    b = owner_headers(client, mailer, 2)
    roles = roles_by_name(client, h)
    nameless = client.post(
        "/api/tokens", json={"name": " ", "role_id": roles["Интегратор"]["id"]}, headers=h
    )
    assert nameless.status_code == 422 and "name" in nameless.json()["fields"]
    foreign = roles_by_name(client, b)["Интегратор"]["id"]
    other = client.post("/api/tokens", json={"name": "x", "role_id": foreign}, headers=h)
    assert other.status_code == 422 and "role_id" in other.json()["fields"]
    # a user who manages tokens may not issue one with more rights than their own
    company_id = client.get("/api/me", headers=h).json()["company"]["id"]
    limited = client.post(
        "/api/roles",
        json={"name": "Интегратор-админ", "permissions": ["tokens.manage", "receipts.view"]},
        headers=h,
    ).json()
    dev = session_for(engine, clock, user_with_role(engine, clock, company_id, limited["id"]))
    assert (
        client.post(
            "/api/tokens", json={"name": "x", "role_id": roles["Владелец"]["id"]}, headers=dev
        ).status_code
        == 403
    )
    assert (
        client.post(
            "/api/tokens", json={"name": "x", "role_id": limited["id"]}, headers=dev
        ).status_code
        == 201
    )
    # another company's token id is not found
    made = client.post("/api/tokens", json={"name": "b", "role_id": foreign}, headers=b).json()
    assert client.delete(f"/api/tokens/{made['id']}", headers=h).status_code == 404
    assert len(client.get("/api/tokens", headers=h).json()) == 1


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match
    return match.group(1)


def test_tokens_page_shows_the_new_token_once(client: TestClient, mailer: MemoryMailSender) -> None:
    h = owner_headers(client, mailer, 1)
    role_id = roles_by_name(client, h)["Интегратор"]["id"]
    form = client.get("/signin")
    client.post(
        "/signin",
        data={
            "email": "owner1@example.ru",
            "password": "верный-пароль-123",
            "csrf_token": _csrf(form.text),
        },
    )
    page = client.get("/settings/tokens")
    assert page.status_code == 200 and "Токенов пока нет" in page.text
    made = client.post(
        "/settings/tokens",
        data={"name": "Сайт", "role_id": str(role_id), "csrf_token": _csrf(page.text)},
    )
    assert made.status_code == 200
    match = re.search(r'data-testid="token-secret">(obl_[^<]+)<', made.text)
    assert match
    secret = match.group(1)
    again = client.get("/settings/tokens")
    assert secret not in again.text and secret[:12] in again.text
    token_id = client.get("/api/tokens", headers=h).json()[0]["id"]
    revoked = client.post(
        f"/settings/tokens/{token_id}/revoke", data={"csrf_token": _csrf(page.text)}
    )
    assert revoked.status_code == 200 and "Отозван" in revoked.text
    assert client.get("/api/me", headers={"Authorization": f"Bearer {secret}"}).status_code == 401
