"""Registers: the operator's inventory, booking assignment, the lapse release, the client list."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from fleet.accounts.mail import MemoryMailSender
from fleet.accounts.models import User
from fleet.bookings import service as bookings
from fleet.bookings.models import Booking
from fleet.core.clock import SettableClock
from fleet.deps import SESSION_COOKIE
from fleet.jobs.runner import JobRunner
from fleet.jobs.schedule import SCHEDULE
from fleet.registers.models import NEXT_STEP, STATE_LABEL, Register, RegisterState
from tests.fleet.helpers import PASSWORD, token_from
from tests.fleet.oracle import company_requisites

DAY = 24 * 3600.0


def _signed_in(client: TestClient, mailer: MemoryMailSender, n: int) -> dict[str, str]:
    inn, ogrn = company_requisites(n)
    email = f"reg{n}@example.ru"
    body = {
        "email": email,
        "password": PASSWORD,
        "company_name": f"ООО «Кассы {n}»",
        "inn": inn,
        "ogrn": ogrn,
    }
    assert client.post("/api/auth/signup", json=body).status_code == 201
    assert client.post("/api/auth/confirm", json={"token": token_from(mailer)}).status_code == 200
    answer = client.post("/api/auth/signin", json={"email": email, "password": PASSWORD})
    assert answer.status_code == 200
    return {"Authorization": f"Bearer {answer.json()['token']}"}


def _make_operator(engine: Engine, n: int) -> None:
    with Session(engine) as session:
        user = session.exec(select(User).where(User.email == f"reg{n}@example.ru")).one()
        user.is_operator = True
        session.add(user)
        session.commit()


def _hardware(i: int, **extra: Any) -> dict[str, Any]:
    return {
        "serial": f"00012345{i:08d}",
        "model": "Облако-Ф",
        "rack_slot": f"R1-S{i:02d}",
        "firmware_version": "1.0.0",
        **extra,
    }


def _company_id(client: TestClient, headers: dict[str, str]) -> int:
    company_id = client.get("/api/me", headers=headers).json()["company"]["id"]
    assert isinstance(company_id, int)
    return company_id


def test_operator_adds_inventory_and_a_client_is_refused(
    client: TestClient, mailer: MemoryMailSender, engine: Engine
) -> None:
    operator = _signed_in(client, mailer, 1)
    _make_operator(engine, 1)
    client_headers = _signed_in(client, mailer, 2)
    added = client.post(
        "/api/operator/registers",
        json=_hardware(1, drive_number="9999078900001234"),
        headers=operator,
    )
    assert added.status_code == 201, added.text
    body = added.json()
    assert body["state"] == "free" and body["company_id"] is None and body["virtual"] is False
    assert body["drive_number"] == "9999078900001234"
    again = client.post("/api/operator/registers", json=_hardware(1), headers=operator)
    assert again.status_code == 409
    empty = client.post("/api/operator/registers", json=_hardware(2, model=" "), headers=operator)
    assert empty.status_code == 422 and "model" in empty.json()["fields"]
    refused = client.post("/api/operator/registers", json=_hardware(3), headers=client_headers)
    assert refused.status_code == 403 and "Оператор: склад касс" in refused.json()["message"]
    assert client.post("/api/operator/registers", json=_hardware(4)).status_code == 401
    with Session(engine) as session:
        assert len(session.exec(select(Register)).all()) == 1


def test_booking_n_assigns_n_and_lapse_releases_them(
    client: TestClient, mailer: MemoryMailSender, engine: Engine, clock: SettableClock
) -> None:
    operator = _signed_in(client, mailer, 1)
    _make_operator(engine, 1)
    for i in range(3):
        assert (
            client.post("/api/operator/registers", json=_hardware(i), headers=operator).status_code
            == 201
        )
    headers = _signed_in(client, mailer, 2)
    company_id = _company_id(client, headers)
    booked = client.post("/api/bookings", json={"quantity": 5}, headers=headers)
    assert booked.status_code == 201
    listed = client.get("/api/registers", headers=headers).json()
    assert listed["total"] == 5
    items = listed["items"]
    assert {r["state"] for r in items} == {"booked"}
    assert {r["company_id"] for r in items} == {company_id}
    assert {r["booking_id"] for r in items} == {booked.json()["id"]}
    assert all(r["next_step"] == NEXT_STEP[RegisterState.BOOKED] for r in items)
    # three from the inventory, two virtual slots awaiting hardware
    assert sorted(r["virtual"] for r in items) == [False, False, False, True, True]

    runner = JobRunner(engine, clock, SCHEDULE)
    clock.advance(7 * DAY + SCHEDULE[0].interval_s)
    lapse = [o for o in runner.run_due() if o.name == "booking-lapse"]
    assert [o.changed for o in lapse] == [1]
    assert client.get("/api/registers", headers=headers).json()["total"] == 0
    with Session(engine) as session:
        rows = session.exec(select(Register)).all()
        assert len(rows) == 3  # the virtual slots are gone, the hardware is back
        assert {(r.state, r.company_id, r.booking_id) for r in rows} == {("free", None, None)}
        booking = session.get(Booking, booked.json()["id"])
        assert booking is not None and booking.status == "lapsed"
    # the released hardware can be booked again
    again = client.post("/api/bookings", json={"quantity": 1}, headers=headers)
    assert again.status_code == 201
    [register] = client.get("/api/registers", headers=headers).json()["items"]
    assert register["virtual"] is False


def test_paid_booking_is_not_released(
    client: TestClient, mailer: MemoryMailSender, engine: Engine, clock: SettableClock
) -> None:
    headers = _signed_in(client, mailer, 1)
    company_id = _company_id(client, headers)
    booking_id = client.post("/api/bookings", json={"quantity": 2}, headers=headers).json()["id"]
    with Session(engine) as session:
        bookings.mark_paid(
            session=session,
            clock=clock,
            company_id=company_id,
            booking_id=booking_id,
            user_id=None,
        )
    clock.advance(8 * DAY)
    JobRunner(engine, clock, SCHEDULE).run_due()
    items = client.get("/api/registers", headers=headers).json()["items"]
    assert [r["state"] for r in items] == ["paid", "paid"]
    assert items[0]["state_label"] == STATE_LABEL[RegisterState.PAID]
    assert items[0]["paid_at"] is not None


def test_filters_and_pagination(
    client: TestClient, mailer: MemoryMailSender, engine: Engine
) -> None:
    headers = _signed_in(client, mailer, 1)
    company_id = _company_id(client, headers)
    assert client.post("/api/bookings", json={"quantity": 6}, headers=headers).status_code == 201
    base = dt.datetime(2027, 1, 1, tzinfo=dt.UTC).timestamp()
    with Session(engine) as session:
        rows = session.exec(select(Register).order_by(col(Register.id))).all()
        for i, row in enumerate(rows):
            row.state = [RegisterState.BOOKED, RegisterState.PAID, RegisterState.ACTIVE][i % 3]
            row.drive_expires_at = base + i * 30 * DAY
            session.add(row)
        session.commit()

    def get(**params: Any) -> dict[str, Any]:
        answer = client.get("/api/registers", params=params, headers=headers)
        assert answer.status_code == 200, answer.text
        result: dict[str, Any] = answer.json()
        return result

    assert get(state="active")["total"] == 2
    assert get(state=["active", "paid"])["total"] == 4
    assert get(company_id=company_id)["total"] == 6
    assert get(company_id=company_id + 1000)["total"] == 0
    window = {"drive_expires_from": "2027-01-15T00:00:00Z", "drive_expires_to": "2027-04-01"}
    assert [r["drive_expires_at"][:10] for r in get(**window)["items"]] == [
        "2027-01-31",
        "2027-03-02",
        "2027-04-01",
    ]
    assert get(state="paid", **window)["total"] == 1
    first = get(limit=4)
    second = get(limit=4, offset=4)
    assert first["total"] == second["total"] == 6
    assert len(first["items"]) == 4 and len(second["items"]) == 2
    ids = [r["id"] for r in first["items"] + second["items"]]
    assert ids == sorted(set(ids))
    bad = client.get("/api/registers", params={"limit": 0, "offset": -1}, headers=headers)
    assert bad.status_code == 422 and {"limit", "offset"} <= set(bad.json()["fields"])
    assert (
        client.get("/api/registers", params={"state": "nonsense"}, headers=headers).status_code
        == 422
    )


def test_tenant_isolation(client: TestClient, mailer: MemoryMailSender) -> None:
    first = _signed_in(client, mailer, 1)
    second = _signed_in(client, mailer, 2)
    assert client.post("/api/bookings", json={"quantity": 2}, headers=first).status_code == 201
    assert client.post("/api/bookings", json={"quantity": 1}, headers=second).status_code == 201
    mine = client.get("/api/registers", headers=first).json()["items"]
    theirs = client.get("/api/registers", headers=second).json()["items"]
    assert len(mine) == 2 and len(theirs) == 1
    assert client.get(f"/api/registers/{mine[0]['id']}", headers=first).status_code == 200
    guessed = client.get(f"/api/registers/{theirs[0]['id']}", headers=first)
    assert guessed.status_code == 404 and guessed.json()["error"] == "not_found"
    assert client.get("/api/registers/999999", headers=first).status_code == 404
    other_company = theirs[0]["company_id"]
    filtered = client.get(
        "/api/registers", params={"company_id": other_company}, headers=first
    ).json()
    assert filtered["total"] == 0
    assert client.get("/api/registers").status_code == 401


def test_page_lists_registers_in_russian(
    client: TestClient, mailer: MemoryMailSender, engine: Engine
) -> None:
    headers = _signed_in(client, mailer, 1)
    guest = client.get("/registers", follow_redirects=False)
    assert guest.status_code == 303 and guest.headers["location"].startswith("/signin")
    assert client.post("/api/bookings", json={"quantity": 2}, headers=headers).status_code == 201
    with Session(engine) as session:
        row = session.exec(select(Register)).first()
        assert row is not None
        row.state = RegisterState.RNM_ASSIGNED
        session.add(row)
        session.commit()
    client.cookies.set(SESSION_COOKIE, headers["Authorization"].removeprefix("Bearer "))
    page = client.get("/registers")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    html = page.text
    assert "Найдено касс: 2" in html
    assert STATE_LABEL[RegisterState.BOOKED] in html
    assert NEXT_STEP[RegisterState.BOOKED] in html
    assert "Присвоен регистрационный номер (РНМ)" in html
    assert "Сформируйте отчёт о регистрации" in html
    assert "будет назначен" in html  # virtual slots have no serial yet


def test_every_state_has_a_russian_label_and_next_step() -> None:
    for state in RegisterState:
        assert STATE_LABEL[state] and NEXT_STEP[state]
        assert any("а" <= ch <= "я" for ch in STATE_LABEL[state].lower())
