"""Roles: built-in sets at sign-up, custom roles, no escalation, folder scope, principals."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from fleet.access.models import Role, RoleFolder
from fleet.access.permissions import CLIENT_PERMISSIONS, Permission
from fleet.access.resolve import principal_for_user
from fleet.accounts.mail import MemoryMailSender
from fleet.accounts.models import AuthSession, User
from fleet.accounts.service import hash_token
from fleet.core.clock import SettableClock
from tests.fleet.helpers import PASSWORD, token_from
from tests.fleet.oracle import company_requisites


def owner_headers(client: TestClient, mailer: MemoryMailSender, n: int) -> dict[str, str]:
    """Sign up company n through the API and sign its owner in."""
    inn, ogrn = company_requisites(n)
    email = f"owner{n}@example.ru"
    body = {"email": email, "password": PASSWORD, "company_name": f"ООО «Р{n}»", "inn": inn}
    assert client.post("/api/auth/signup", json={**body, "ogrn": ogrn}).status_code == 201
    assert client.post("/api/auth/confirm", json={"token": token_from(mailer)}).status_code == 200
    answer = client.post("/api/auth/signin", json={"email": email, "password": PASSWORD})
    return {"Authorization": f"Bearer {answer.json()['token']}"}


def session_for(engine: Engine, clock: SettableClock, user_id: int) -> dict[str, str]:
    """A bearer session for a user made directly in the database."""
    secret = f"test-session-{user_id}-{clock.wall()}"
    with Session(engine) as session:
        session.add(
            AuthSession(
                token_hash=hash_token(secret),
                user_id=user_id,
                created_at=clock.wall(),
                expires_at=clock.wall() + 3600,
            )
        )
        session.commit()
    return {"Authorization": f"Bearer {secret}"}


def user_with_role(engine: Engine, clock: SettableClock, company_id: int, role_id: int) -> int:
    with Session(engine) as session:
        user = User(
            email=f"u{role_id}-{clock.wall()}@example.ru",
            password_hash="",
            company_id=company_id,
            email_confirmed=True,
            created_at=clock.wall(),
            role_id=role_id,
        )
        session.add(user)
        session.commit()
        assert user.id is not None
        return user.id


def roles_by_name(client: TestClient, headers: dict[str, str]) -> dict[str, dict[str, object]]:
    answer = client.get("/api/roles", headers=headers)
    assert answer.status_code == 200, answer.text
    return {r["name"]: r for r in answer.json()}


def test_sign_up_gives_builtin_roles_and_the_owner_role(
    client: TestClient, mailer: MemoryMailSender
) -> None:
    h = owner_headers(client, mailer, 1)
    roles = roles_by_name(client, h)
    assert list(roles) == ["Владелец", "Администратор", "Бухгалтер", "Менеджер касс", "Интегратор"]
    assert set(roles["Владелец"]["permissions"]) == set(CLIENT_PERMISSIONS)  # type: ignore[arg-type]
    assert roles["Владелец"]["users"] == 1 and roles["Владелец"]["editable"] is False
    assert set(roles["Интегратор"]["permissions"]) == {  # type: ignore[arg-type]
        "receipts.create",
        "receipts.view",
        "registers.view",
    }
    assert "billing.pay" in roles["Бухгалтер"]["permissions"]  # type: ignore[operator]
    me = client.get("/api/me", headers=h).json()
    assert set(me["permissions"]) == set(CLIENT_PERMISSIONS) and me["folder_ids"] is None
    users = client.get("/api/users", headers=h).json()
    assert users[0]["role"] == "Владелец" and users[0]["owner"] is True


def test_custom_role_crud_and_refusals(client: TestClient, mailer: MemoryMailSender) -> None:
    h = owner_headers(client, mailer, 1)
    made = client.post(
        "/api/roles",
        json={"name": "  Старший   кассир ", "permissions": ["registers.view", "receipts.view"]},
        headers=h,
    )
    assert made.status_code == 201, made.text
    role = made.json()
    assert role["name"] == "Старший кассир" and role["builtin"] is False
    assert role["permissions"] == ["receipts.view", "registers.view"]
    operator = client.post(
        "/api/roles", json={"name": "Хакер", "permissions": ["operator.staff"]}, headers=h
    )
    assert (
        operator.status_code == 422 and "operator.staff" in operator.json()["fields"]["permissions"]
    )
    unknown = client.post("/api/roles", json={"name": "X", "permissions": ["root"]}, headers=h)
    assert unknown.status_code == 422 and "root" in unknown.json()["fields"]["permissions"]
    empty = client.post("/api/roles", json={"name": "  ", "permissions": []}, headers=h)
    assert empty.status_code == 422 and "name" in empty.json()["fields"]
    dup = client.post("/api/roles", json={"name": "старший кассир"}, headers=h)
    assert dup.status_code == 422
    before = len(roles_by_name(client, h))
    assert before == 6  # refusals changed nothing
    changed = client.patch(
        f"/api/roles/{role['id']}", json={"permissions": ["registers.view"]}, headers=h
    )
    assert changed.status_code == 200 and changed.json()["permissions"] == ["registers.view"]
    renamed = client.patch(f"/api/roles/{role['id']}", json={"name": "Кассир"}, headers=h)
    assert renamed.json()["name"] == "Кассир" and renamed.json()["permissions"] == [
        "registers.view"
    ]
    assert client.delete(f"/api/roles/{role['id']}", headers=h).status_code == 204
    assert client.get(f"/api/roles/{role['id']}", headers=h).status_code == 404


def test_builtin_roles_are_protected(client: TestClient, mailer: MemoryMailSender) -> None:
    h = owner_headers(client, mailer, 1)
    roles = roles_by_name(client, h)
    owner_id, admin_id = roles["Владелец"]["id"], roles["Администратор"]["id"]
    fixed = client.patch(f"/api/roles/{owner_id}", json={"permissions": []}, headers=h)
    assert fixed.status_code == 409
    assert client.delete(f"/api/roles/{admin_id}", headers=h).status_code == 409
    rename = client.patch(f"/api/roles/{admin_id}", json={"name": "Босс"}, headers=h)
    assert rename.status_code == 422
    # a built-in role other than the owner's may change its permissions
    cut = client.patch(
        f"/api/roles/{roles['Бухгалтер']['id']}", json={"permissions": ["billing.view"]}, headers=h
    )
    assert cut.status_code == 200 and cut.json()["permissions"] == ["billing.view"]


def test_role_in_use_cannot_be_deleted_and_names_the_holders(
    client: TestClient, mailer: MemoryMailSender
) -> None:
    h = owner_headers(client, mailer, 1)
    role = client.post("/api/roles", json={"name": "Склад", "permissions": []}, headers=h).json()
    invited = client.post(
        "/api/users", json={"email": "sklad@example.ru", "role_id": role["id"]}, headers=h
    )
    assert invited.status_code == 201, invited.text
    token = client.post("/api/tokens", json={"name": "1С", "role_id": role["id"]}, headers=h)
    assert token.status_code == 201
    refused = client.delete(f"/api/roles/{role['id']}", headers=h)
    assert refused.status_code == 409
    assert "sklad@example.ru" in refused.json()["message"] and "1С" in refused.json()["message"]
    admin = roles_by_name(client, h)["Администратор"]["id"]
    moved = client.put(
        f"/api/users/{invited.json()['id']}/role", json={"role_id": admin}, headers=h
    )
    assert moved.status_code == 200
    assert client.delete(f"/api/tokens/{token.json()['id']}", headers=h).status_code == 200
    # a revoked token no longer holds the role
    assert client.delete(f"/api/roles/{role['id']}", headers=h).status_code == 204


def test_no_escalation(
    client: TestClient, mailer: MemoryMailSender, engine: Engine, clock: SettableClock
) -> None:
    h = owner_headers(client, mailer, 1)
    company_id = client.get("/api/me", headers=h).json()["company"]["id"]
    limited = client.post(
        "/api/roles",
        json={"name": "Кадровик", "permissions": ["users.view", "users.manage", "registers.view"]},
        headers=h,
    ).json()
    hr = session_for(engine, clock, user_with_role(engine, clock, company_id, limited["id"]))
    more = client.post(
        "/api/roles", json={"name": "Плательщик", "permissions": ["billing.pay"]}, headers=hr
    )
    assert more.status_code == 403 and "Баланс и платежи: оплата" in more.json()["message"]
    same = client.post(
        "/api/roles", json={"name": "Смотритель", "permissions": ["registers.view"]}, headers=hr
    )
    assert same.status_code == 201
    roles = roles_by_name(client, h)
    # the HR role may not hand out the accountant's role (it holds billing), nor invite with it
    assert (
        client.post(
            "/api/users",
            json={"email": "buh@example.ru", "role_id": roles["Бухгалтер"]["id"]},
            headers=hr,
        ).status_code
        == 403
    )
    # nor touch a user who holds more than it does (the owner included)
    owner_id = client.get("/api/me", headers=h).json()["user"]["id"]
    assert client.post(f"/api/users/{owner_id}/block", headers=hr).status_code == 403
    # nor widen a role it did not make beyond its own rights
    widen = client.patch(
        f"/api/roles/{same.json()['id']}",
        json={"permissions": ["registers.view", "tokens.manage"]},
        headers=hr,
    )
    assert widen.status_code == 403


def test_folder_scope_comes_from_the_role(
    client: TestClient, mailer: MemoryMailSender, engine: Engine, clock: SettableClock
) -> None:
    h = owner_headers(client, mailer, 1)
    company_id = client.get("/api/me", headers=h).json()["company"]["id"]
    folder = client.post("/api/folders", json={"name": "Север"}, headers=h).json()
    other = client.post("/api/folders", json={"name": "Юг"}, headers=h).json()
    role = client.post(
        "/api/roles",
        json={"name": "Север", "permissions": ["registers.view"], "folder_ids": [folder["id"]]},
        headers=h,
    ).json()
    assert role["folder_ids"] == [folder["id"]]
    north = session_for(engine, clock, user_with_role(engine, clock, company_id, role["id"]))
    me = client.get("/api/me", headers=north).json()
    assert me["folder_ids"] == [folder["id"]] and me["permissions"] == ["registers.view"]
    listed = client.get("/api/folders", headers=north).json()
    assert [f["name"] for f in listed] == ["Север"]
    assert client.get(f"/api/folders/{other['id']}", headers=north).status_code == 404
    # a role limited to a folder cannot lose it silently
    assert client.delete(f"/api/folders/{folder['id']}", headers=h).status_code == 409
    # an empty list means every folder again
    cleared = client.patch(f"/api/roles/{role['id']}", json={"folder_ids": []}, headers=h)
    assert cleared.json()["folder_ids"] is None
    with Session(engine) as session:
        assert session.exec(select(RoleFolder)).all() == []


def test_other_companys_role_is_not_found(client: TestClient, mailer: MemoryMailSender) -> None:
    a, b = owner_headers(client, mailer, 1), owner_headers(client, mailer, 2)
    role_b = roles_by_name(client, b)["Интегратор"]["id"]
    assert client.get(f"/api/roles/{role_b}", headers=a).status_code == 404
    assert client.patch(f"/api/roles/{role_b}", json={"name": "x"}, headers=a).status_code == 404
    assert client.delete(f"/api/roles/{role_b}", headers=a).status_code == 404
    # a role id of another company in a body is refused by field, not used
    invite = client.post("/api/users", json={"email": "x@example.ru", "role_id": role_b}, headers=a)
    assert invite.status_code == 422 and "role_id" in invite.json()["fields"]


def test_principal_resolution_for_legacy_users_and_operators(
    engine: Engine, clock: SettableClock, client: TestClient, mailer: MemoryMailSender
) -> None:
    h = owner_headers(client, mailer, 1)
    company_id = client.get("/api/me", headers=h).json()["company"]["id"]
    with Session(engine) as session:
        legacy = User(
            email="old@example.ru",
            password_hash="",
            company_id=company_id,
            email_confirmed=True,
            created_at=0.0,
        )
        operator = User(
            email="op@example.ru",
            password_hash="",
            company_id=company_id,
            email_confirmed=True,
            created_at=0.0,
            is_operator=True,
            role_id=session.exec(select(Role.id).where(Role.name == "Интегратор")).first(),
        )
        session.add(legacy)
        session.add(operator)
        session.commit()
        assert principal_for_user(session, legacy).permissions == CLIENT_PERMISSIONS
        op = principal_for_user(session, operator)
        assert op.permissions == frozenset(Permission) and op.is_operator
        assert op.folder_ids is None
