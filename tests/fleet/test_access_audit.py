"""The audit view (API and page), operator staff, and folders of registers."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from fleet.access.exceptions import StaffNotFoundError
from fleet.access.staff import grant_operator
from fleet.accounts.mail import MemoryMailSender
from fleet.accounts.models import User
from fleet.audit import AuditLog
from fleet.core.clock import SettableClock
from fleet.registers.models import Register
from tests.fleet.objects import FACTORIES
from tests.fleet.test_access_roles import owner_headers, roles_by_name, session_for, user_with_role


def test_audit_is_tenant_scoped_newest_first_paged_and_filtered(
    client: TestClient, mailer: MemoryMailSender, clock: SettableClock
) -> None:
    a = owner_headers(client, mailer, 1)
    b = owner_headers(client, mailer, 2)
    start = clock.wall()
    clock.advance(3600)
    for n in range(3):
        client.post("/api/roles", json={"name": f"Роль {n}"}, headers=a)
        clock.advance(10)
    client.post("/api/roles", json={"name": "Чужая"}, headers=b)
    page = client.get("/api/audit", headers=a).json()
    actions = [i["action"] for i in page["items"]]
    assert actions[:3] == ["role.create"] * 3
    assert [i["detail"]["name"] for i in page["items"][:3]] == ["Роль 2", "Роль 1", "Роль 0"]
    assert all(i["detail"].get("name") != "Чужая" for i in page["items"])
    assert "company.create" in actions and page["total"] == len(actions)
    only = client.get("/api/audit", params={"action": "role.create", "limit": 2}, headers=a).json()
    assert only["total"] == 3 and len(only["items"]) == 2
    rest = client.get(
        "/api/audit", params={"action": "role.create", "limit": 2, "offset": 2}, headers=a
    ).json()
    assert [i["detail"]["name"] for i in rest["items"]] == ["Роль 0"]
    prefix = client.get("/api/audit", params={"action": "role."}, headers=a).json()
    assert prefix["total"] == 3
    before = client.get("/api/audit", params={"until": f"{start + 1800:.0f}"}, headers=a)
    assert before.status_code == 200
    assert all(i["action"] != "role.create" for i in before.json()["items"])
    assert client.get("/api/audit", params={"limit": 0}, headers=a).status_code == 422
    # the role that made it is recorded with the actor
    me = client.get("/api/me", headers=a).json()["user"]["id"]
    assert page["items"][0]["user_id"] == me


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match
    return match.group(1)


def test_audit_page_and_roles_grid(client: TestClient, mailer: MemoryMailSender) -> None:
    h = owner_headers(client, mailer, 1)
    form = client.get("/signin")
    client.post(
        "/signin",
        data={
            "email": "owner1@example.ru",
            "password": "верный-пароль-123",
            "csrf_token": _csrf(form.text),
        },
    )
    audit_page = client.get("/settings/audit")
    assert audit_page.status_code == 200 and "Компания зарегистрирована" in audit_page.text
    filtered = client.get("/settings/audit?action=user.sign_in", headers={"HX-Request": "true"})
    assert "<html" not in filtered.text and "Вход" in filtered.text
    assert "Компания зарегистрирована" not in filtered.text
    grid = client.get("/settings/roles")
    assert grid.status_code == 200 and "Кассы: просмотр" in grid.text and "Интегратор" in grid.text
    roles = roles_by_name(client, h)
    buh = roles["Бухгалтер"]["id"]
    # tick exactly billing.view for the accountant; the owner column is not editable
    saved = client.post(
        "/settings/roles",
        data={
            "role": [str(buh), str(roles["Владелец"]["id"])],
            "grant": [f"{buh}:billing.view", f"{roles['Владелец']['id']}:billing.view"],
            "csrf_token": _csrf(grid.text),
        },
    )
    assert saved.status_code == 200 and "Сохранены роли: Бухгалтер" in saved.text
    after = roles_by_name(client, h)
    assert after["Бухгалтер"]["permissions"] == ["billing.view"]
    assert len(after["Владелец"]["permissions"]) > 1  # type: ignore[arg-type]
    made = client.post(
        "/settings/roles/new",
        data={"name": "Ревизор", "permission": ["audit.view"], "csrf_token": _csrf(grid.text)},
    )
    assert made.status_code == 200 and "Роль «Ревизор» создана" in made.text
    bad = client.post(
        "/settings/roles/new",
        data={"name": "Злодей", "permission": ["operator.staff"], "csrf_token": _csrf(grid.text)},
    )
    assert bad.status_code == 422 and "нельзя выдать роли клиента" in bad.text
    folder = client.post(
        "/settings/folders", data={"name": "Склад", "csrf_token": _csrf(grid.text)}
    )
    assert folder.status_code == 200 and "Папка «Склад»" in folder.text
    revizor = roles_by_name(client, h)["Ревизор"]["id"]
    deleted = client.post(
        f"/settings/roles/{revizor}/delete", data={"csrf_token": _csrf(grid.text)}
    )
    assert deleted.status_code == 200 and "Роль «Ревизор» удалена" in deleted.text


def test_grant_operator_without_an_actor_and_staff_api(
    client: TestClient, mailer: MemoryMailSender, engine: Engine, clock: SettableClock
) -> None:
    client_h = owner_headers(client, mailer, 1)
    owner_headers(client, mailer, 2)
    assert client.get("/api/operator/staff", headers=client_h).status_code == 403
    with Session(engine) as session:
        user = grant_operator(session, clock, " Owner1@Example.ru ")
        assert user.is_operator
        assert grant_operator(session, clock, "owner1@example.ru").is_operator  # idempotent
        with pytest.raises(StaffNotFoundError):
            grant_operator(session, clock, "nobody@example.ru")
        rows = session.exec(select(AuditLog).where(AuditLog.action == "operator.grant")).all()
        assert len(rows) == 1 and rows[0].user_id is None
    op = client_h  # the same session now resolves to an operator
    assert client.get("/api/me", headers=op).json()["permissions"].count("operator.staff") == 1
    granted = client.post("/api/operator/staff", json={"email": "owner2@example.ru"}, headers=op)
    assert granted.status_code == 201
    listed = [s["email"] for s in client.get("/api/operator/staff", headers=op).json()]
    assert listed == ["owner1@example.ru", "owner2@example.ru"]
    unknown = client.post("/api/operator/staff", json={"email": "x@example.ru"}, headers=op)
    assert unknown.status_code == 404
    me = client.get("/api/me", headers=op).json()["user"]["id"]
    assert client.delete(f"/api/operator/staff/{me}", headers=op).status_code == 409
    other = granted.json()["user_id"]
    assert client.delete(f"/api/operator/staff/{other}", headers=op).status_code == 204
    with Session(engine) as session:
        assert session.get(User, other).is_operator is False  # type: ignore[union-attr]
        assert (
            session.exec(select(AuditLog).where(AuditLog.action == "operator.revoke")).one().user_id
            == me
        )


def test_folders_hold_registers_of_the_company_only(
    client: TestClient, mailer: MemoryMailSender, engine: Engine, clock: SettableClock
) -> None:
    a = owner_headers(client, mailer, 1)
    b = owner_headers(client, mailer, 2)
    ca = client.get("/api/me", headers=a).json()["company"]["id"]
    cb = client.get("/api/me", headers=b).json()["company"]["id"]
    with Session(engine) as session:
        mine = [FACTORIES["register_id"](session, clock, ca) for _ in range(3)]
        theirs = FACTORIES["register_id"](session, clock, cb)
        session.commit()
    north = client.post("/api/folders", json={"name": "Север"}, headers=a).json()
    south = client.post("/api/folders", json={"name": "Юг"}, headers=a).json()
    assert client.post("/api/folders", json={"name": "север"}, headers=a).status_code == 409
    assert client.post("/api/folders", json={"name": ""}, headers=a).status_code == 422
    put = client.put(
        f"/api/folders/{north['id']}/registers", json={"register_ids": mine[:2]}, headers=a
    )
    assert put.status_code == 200 and put.json() == sorted(mine[:2])
    foreign = client.put(
        f"/api/folders/{south['id']}/registers", json={"register_ids": [mine[2], theirs]}, headers=a
    )
    assert foreign.status_code == 422 and str(theirs) in foreign.json()["message"]
    moved = client.put(
        f"/api/folders/{south['id']}/registers",
        json={"register_ids": [mine[1], mine[2]]},
        headers=a,
    )
    assert moved.status_code == 200
    with Session(engine) as session:
        folder_of = {r.id: r.folder_id for r in session.exec(select(Register)).all()}
    assert folder_of[mine[0]] == north["id"] and folder_of[mine[1]] == south["id"]
    assert folder_of[mine[2]] == south["id"] and folder_of[theirs] is None
    counts = {f["name"]: f["registers"] for f in client.get("/api/folders", headers=a).json()}
    assert counts == {"Север": 1, "Юг": 2}
    renamed = client.patch(f"/api/folders/{north['id']}", json={"name": "Центр"}, headers=a)
    assert renamed.json()["name"] == "Центр"
    assert client.get(f"/api/folders/{north['id']}", headers=b).status_code == 404
    assert client.delete(f"/api/folders/{south['id']}", headers=a).status_code == 204
    with Session(engine) as session:
        assert session.get(Register, mine[2]).folder_id is None  # type: ignore[union-attr]
    # the cashier manager manages registers, so folders too; the accountant does not
    roles = roles_by_name(client, a)
    manager = session_for(
        engine, clock, user_with_role(engine, clock, ca, int(roles["Менеджер касс"]["id"]))
    )
    buh = session_for(
        engine, clock, user_with_role(engine, clock, ca, int(roles["Бухгалтер"]["id"]))
    )
    assert client.post("/api/folders", json={"name": "Касса 1"}, headers=manager).status_code == 201
    assert client.post("/api/folders", json={"name": "Касса 2"}, headers=buh).status_code == 403
