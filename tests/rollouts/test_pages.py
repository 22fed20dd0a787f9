"""The firmware, capacity and stock pages through HTTP: operators only, forms that refuse
bad input with the reason and write nothing, the download the registers use."""

from __future__ import annotations

import hashlib

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from fleet.accounts.models import User
from fleet.core.clock import SettableClock
from fleet.rollouts.models import FirmwareBundle, Rollout
from oblako.firmware_build import bundle_bytes
from tests.console.test_pages import csrf_of, sign_in
from tests.console.world import company, operator, register

PAGES = ("/console/firmware", "/console/rollouts", "/console/capacity", "/console/stock")


def test_the_pages_are_for_operators_only(
    client: TestClient, engine: Engine, clock: SettableClock
) -> None:
    with Session(engine, expire_on_commit=False) as s:
        c = company(s, clock, 1)
        u = User(email="c@example.ru", password_hash="", company_id=c.id or 0,
                 email_confirmed=True, created_at=clock.wall())  # fmt: skip
        s.add(u)
        s.commit()
    sign_in(client, engine, clock, u.id or 0)
    for path in PAGES:
        assert client.get(path).status_code == 403, path


def test_upload_certify_start_and_download(
    client: TestClient, engine: Engine, clock: SettableClock
) -> None:
    with Session(engine, expire_on_commit=False) as s:
        c = company(s, clock, 1)
        user, _p = operator(s, clock, c.id or 0)
        register(s, clock, c, "PGS0000001", slot="R4-S01")
    sign_in(client, engine, clock, user.id or 0)
    for path in PAGES:
        r = client.get(path)
        assert r.status_code == 200, path
    token = csrf_of(client.get("/console/firmware").text)
    r = client.post("/console/firmware", data={"csrf_token": token},
                    files={"bundle": ("x.bin", b"junk", "application/octet-stream")})  # fmt: skip
    assert r.status_code == 422 and "Не пакет прошивки" in r.text
    data = bundle_bytes("3.0.0", [("firmware/a.mpy", b"M\x06a")], "test")
    r = client.post("/console/firmware", data={"csrf_token": token},
                    files={"bundle": ("x.bin", data, "application/octet-stream")})  # fmt: skip
    assert r.status_code == 200 and 'data-version="3.0.0"' in r.text
    with Session(engine) as s:
        b = s.exec(select(FirmwareBundle)).one()
    sha = hashlib.sha256(data).hexdigest()
    assert client.get(f"/firmware/bundles/{sha}.bin").content == data
    assert client.get(f"/firmware/bundles/{'0' * 64}.bin").status_code == 404
    # an uncertified version to registered registers: refused, nothing written
    token = csrf_of(client.get("/console/rollouts").text)
    form = {"csrf_token": token, "bundle_id": str(b.id), "target": "R4"}
    r = client.post("/console/rollouts", data=form)
    assert r.status_code == 409 and "не сертифицирована" in r.text
    r = client.post("/console/rollouts", data={**form, "phases": "100,50"})
    assert r.status_code == 422 and "возрастающие доли" in r.text
    with Session(engine) as s:
        assert s.exec(select(func.count()).select_from(Rollout)).one() == 0
    client.post(f"/console/firmware/{b.id}/certify", data={"csrf_token": token})
    r = client.post("/console/rollouts", data=form)
    assert r.status_code == 200 and "Выкатка" in r.text and "PGS0000001" in r.text
    assert "канарейка" in r.text
    with Session(engine) as s:
        ro = s.exec(select(Rollout)).one()
    r = client.get(f"/console/rollouts/{ro.id}/progress")
    assert 'hx-trigger="every 1s"' in r.text
    client.post(f"/console/rollouts/{ro.id}/abort", data={"csrf_token": token, "reason": "тест"})
    r = client.get(f"/console/rollouts/{ro.id}")
    assert "Остановлена оператором: тест" in r.text and "hx-trigger" not in r.text
