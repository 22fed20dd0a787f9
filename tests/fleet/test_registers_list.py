"""The register list's filters (compared with a Python filter over the same rows), folder
restriction, the HTMX partial, the card, the operator's fleet view and filling virtual slots."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from fleet.access.models import RegisterFolder, Role, RoleFolder
from fleet.accounts.mail import MemoryMailSender
from fleet.accounts.models import Company, User
from fleet.core import csrf
from fleet.deps import SESSION_COOKIE
from fleet.registers import service
from fleet.registers.exceptions import InvalidRegisterError
from fleet.registers.models import NEXT_STEP, Register, RegisterState
from fleet.stores.models import Store
from tests.fleet.test_registers import _company_id, _hardware, _make_operator, _signed_in

DAY = 86400.0
BASE = dt.datetime(2027, 1, 1, tzinfo=dt.UTC).timestamp()
STATES = [
    RegisterState.BOOKED,
    RegisterState.PAID,
    RegisterState.ACTIVE,
    RegisterState.DEREGISTERED,
]
TARIFFS = [None, "basic", "pro"]


def _world(engine: Engine) -> dict[str, Any]:
    """Two companies; the first with 3 stores, 2 folders and 48 registers of mixed fields."""
    with Session(engine) as session:
        companies = [
            Company(name=f"ООО «Мир {n}»", inn=f"50{n:08d}", ogrn="1", created_at=0) for n in (1, 2)
        ]
        session.add_all(companies)
        session.flush()
        mine, theirs = (c.id for c in companies)
        assert mine is not None and theirs is not None
        stores = [Store(company_id=mine, name=f"М{i}", created_at=0) for i in range(3)]
        folders = [RegisterFolder(company_id=mine, name=f"П{i}", created_at=0) for i in range(2)]
        session.add_all([*stores, *folders])
        session.flush()
        for i in range(48):
            session.add(
                Register(
                    serial=None if i % 11 == 5 else f"{7000 + i * 37 % 100:06d}{i:02d}",
                    rnm=None if i % 3 else f"00000{i:011d}",
                    name=None if i % 4 else f"Касса {i}",
                    state=STATES[i % 4].value,
                    company_id=mine,
                    store_id=None if i % 5 == 4 else stores[i % 3].id,
                    folder_id=None if i % 7 == 6 else folders[i % 2].id,
                    tariff_code=TARIFFS[i % 3],
                    drive_expires_at=None if i % 6 == 0 else BASE + (i * 13 % 40) * DAY,
                    has_errors=i % 5 == 1,
                    shift_open=i % 3 == 2,
                    last_seen_at=None if i % 2 else BASE + i * 977.0,
                    created_at=0,
                )
            )
        for i in range(6):
            session.add(
                Register(
                    serial=f"99{i:06d}",
                    state=RegisterState.ACTIVE.value,
                    company_id=theirs,
                    created_at=0,
                )
            )
        session.commit()
        rows = session.exec(select(Register).where(Register.company_id == mine)).all()
        for row in rows:
            session.expunge(row)
        return {
            "mine": mine,
            "theirs": theirs,
            "rows": rows,
            "stores": [s.id for s in stores],
            "folders": [f.id for f in folders],
        }


def _oracle(rows: list[Register], flt: service.RegisterFilter, folders: Any) -> list[int]:
    def keep(r: Register) -> bool:
        q = (flt.q or "").strip().lower()
        return (
            (folders is None or r.folder_id in folders)
            and (flt.folder_id is None or r.folder_id == flt.folder_id)
            and (not flt.states or r.state in {s.value for s in flt.states})
            and (not flt.store_ids or r.store_id in flt.store_ids)
            and (not flt.tariff_code or r.tariff_code == flt.tariff_code)
            and (
                flt.drive_expires_from is None
                or (r.drive_expires_at is not None and r.drive_expires_at >= flt.drive_expires_from)
            )
            and (
                flt.drive_expires_to is None
                or (r.drive_expires_at is not None and r.drive_expires_at <= flt.drive_expires_to)
            )
            and (flt.has_errors is None or r.has_errors == flt.has_errors)
            and (flt.shift_open is None or r.shift_open == flt.shift_open)
            and (not q or any(q in (v or "").lower() for v in (r.serial, r.rnm, r.name)))
        )

    kept = [r for r in rows if keep(r)]
    key = flt.sort.removeprefix("-")
    desc = flt.sort.startswith("-")
    present = sorted(
        (r for r in kept if getattr(r, key) is not None), key=lambda r: (getattr(r, key), r.id)
    )
    missing = sorted((r for r in kept if getattr(r, key) is None), key=lambda r: r.id or 0)
    if desc:
        present.reverse()
        missing.reverse()
    ordered = present + missing
    return [r.id for r in ordered if r.id is not None]


@pytest.fixture(name="world")
def fixture_world(engine: Engine) -> dict[str, Any]:
    return _world(engine)


filters = st.fixed_dictionaries(
    {
        "states": st.lists(st.sampled_from(STATES), max_size=3).map(tuple),
        "store_pick": st.lists(st.integers(0, 2), max_size=2),
        "tariff_code": st.sampled_from(TARIFFS),
        "drive_from": st.none() | st.integers(0, 40),
        "drive_span": st.integers(0, 40),
        "use_to": st.booleans(),
        "has_errors": st.none() | st.booleans(),
        "shift_open": st.none() | st.booleans(),
        "folder_pick": st.none() | st.integers(0, 1),
        "restrict": st.none() | st.integers(0, 1),
        "q": st.none() | st.sampled_from(["7", "00", "касса 1", "КАССА", "%", "_", "99"]),
        "sort": st.sampled_from(
            ["id", "-id", "serial", "-serial", "drive_expires_at", "-last_seen_at", "rnm"]
        ),
        "limit": st.integers(1, 60),
        "offset": st.integers(0, 50),
    }
)


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(f=filters)
def test_filters_combined_match_a_python_filter(
    engine: Engine, world: dict[str, Any], f: dict[str, Any]
) -> None:
    start = None if f["drive_from"] is None else BASE + f["drive_from"] * DAY
    end = None
    if f["use_to"]:
        end = (start if start is not None else BASE) + f["drive_span"] * DAY
    flt = service.RegisterFilter(
        states=f["states"],
        store_ids=tuple(world["stores"][i] for i in f["store_pick"]),
        tariff_code=f["tariff_code"],
        drive_expires_from=start,
        drive_expires_to=end,
        has_errors=f["has_errors"],
        shift_open=f["shift_open"],
        folder_id=None if f["folder_pick"] is None else world["folders"][f["folder_pick"]],
        q=f["q"],
        sort=f["sort"],
        limit=f["limit"],
        offset=f["offset"],
    )
    folders = None if f["restrict"] is None else frozenset({world["folders"][f["restrict"]]})
    with Session(engine) as session:
        page = service.list_registers(
            session=session, company_id=world["mine"], flt=flt, folder_ids=folders
        )
    expected = _oracle(world["rows"], flt, folders)
    assert page.total == len(expected)
    assert [r.id for r in page.items] == expected[flt.offset : flt.offset + flt.limit]
    assert all(r.company_id == world["mine"] for r in page.items)


def test_bad_filter_is_refused_with_reasons(engine: Engine, world: dict[str, Any]) -> None:
    with Session(engine) as session, pytest.raises(InvalidRegisterError) as refused:
        service.list_registers(
            session=session,
            company_id=world["mine"],
            flt=service.RegisterFilter(sort="price", q="x" * 101, limit=500),
        )
    assert {"sort", "q", "limit"} <= set(refused.value.fields)


def test_api_filters_folder_restriction_and_card(
    client: TestClient, mailer: MemoryMailSender, engine: Engine
) -> None:
    headers = _signed_in(client, mailer, 1)
    company_id = _company_id(client, headers)
    assert client.post("/api/bookings", json={"quantity": 4}, headers=headers).status_code == 201
    with Session(engine) as session:
        folder = RegisterFolder(company_id=company_id, name="Север", created_at=0)
        store = Store(company_id=company_id, name="Север-1", created_at=0)
        session.add_all([folder, store])
        session.flush()
        rows = session.exec(select(Register).order_by(col(Register.id))).all()
        rows[0].folder_id = folder.id
        rows[0].store_id = store.id
        rows[0].shift_open = True
        rows[1].has_errors = True
        rows[1].last_error = "Нет связи с ФН"
        rows[2].tariff_code = "pro"
        session.add_all(rows)
        session.flush()
        # a cashier manager limited to the folder "Север"
        role = Role(company_id=company_id, name="Север", permissions="registers.view", created_at=0)
        session.add(role)
        session.flush()
        assert role.id is not None and folder.id is not None
        session.add(RoleFolder(role_id=role.id, folder_id=folder.id))
        first_id, second_id = rows[0].id, rows[1].id
        folder_id, store_id, role_id = folder.id, store.id, role.id
        session.commit()

    def total(**params: Any) -> int:
        answer = client.get("/api/registers", params=params, headers=headers)
        assert answer.status_code == 200, answer.text
        value: int = answer.json()["total"]
        return value

    assert total() == 4
    assert total(store_id=[store_id]) == 1
    assert total(has_errors=True) == 1 and total(has_errors=False) == 3
    assert total(shift_open=True) == 1
    assert total(tariff_code="pro") == 1
    assert total(folder_id=folder_id) == 1
    assert total(shift_open=True, store_id=store_id, state="booked") == 1
    assert total(shift_open=True, has_errors=True) == 0
    desc = client.get("/api/registers", params={"sort": "-id"}, headers=headers).json()
    assert [r["id"] for r in desc["items"]] == sorted(
        (r["id"] for r in desc["items"]), reverse=True
    )
    bad = client.get("/api/registers", params={"sort": "nonsense"}, headers=headers)
    assert bad.status_code == 422 and "sort" in bad.json()["fields"]

    card = client.get(f"/api/registers/{first_id}", headers=headers).json()
    assert card["store"]["name"] == "Север-1" and card["counters"]["documents_total"] == 0
    assert card["counters"]["shift_open"] is True and card["counters"]["days_timezone"]

    # the folder-limited user sees only the folder's register, and the others are "not found"
    with Session(engine) as session:
        owner = session.exec(select(User)).one()
        owner.role_id = role_id
        session.add(owner)
        session.commit()
    limited = client.get("/api/registers", headers=headers).json()
    assert [r["id"] for r in limited["items"]] == [first_id] and limited["total"] == 1
    assert client.get(f"/api/registers/{second_id}", headers=headers).status_code == 404
    assert client.get(f"/api/registers/{first_id}", headers=headers).status_code == 200
    # registers.view only: placing in a store needs registers.manage
    moved = client.put(f"/api/registers/{first_id}/store", json={"store_id": None}, headers=headers)
    assert moved.status_code == 403


def test_page_full_and_htmx_partial_keep_filters(
    client: TestClient, mailer: MemoryMailSender, engine: Engine
) -> None:
    headers = _signed_in(client, mailer, 1)
    assert client.post("/api/bookings", json={"quantity": 3}, headers=headers).status_code == 201
    with Session(engine) as session:
        row = session.exec(select(Register).order_by(col(Register.id))).first()
        assert row is not None
        row.has_errors = True
        session.add(row)
        session.commit()
    client.cookies.set(SESSION_COOKIE, headers["Authorization"].removeprefix("Bearer "))
    full = client.get("/registers", params={"has_errors": "yes"})
    assert full.status_code == 200
    assert "<html" in full.text and 'hx-push-url="true"' in full.text
    assert 'id="register-table"' in full.text and "Найдено касс: 1" in full.text
    assert '<option value="yes" selected>' in full.text  # the filter is kept in the form
    partial = client.get("/registers", params={"has_errors": "no"}, headers={"HX-Request": "true"})
    assert partial.status_code == 200
    assert "<html" not in partial.text and "<table" in partial.text
    assert "Найдено касс: 2" in partial.text and 'data-label="Состояние"' in partial.text
    bad = client.get("/registers", params={"drive_expires_from": "завтра"})
    assert bad.status_code == 200 and "ФН действует с: Дата в виде ГГГГ-ММ-ДД" in bad.text


def test_page_links_keep_the_filters(client: TestClient, mailer: MemoryMailSender) -> None:
    headers = _signed_in(client, mailer, 1)
    assert client.post("/api/bookings", json={"quantity": 55}, headers=headers).status_code == 201
    client.cookies.set(SESSION_COOKIE, headers["Authorization"].removeprefix("Bearer "))
    first = client.get("/registers", params={"sort": "-id", "state": "booked"})
    assert "Найдено касс: 55" in first.text
    assert "/registers?sort=-id&amp;state=booked&amp;page=2" in first.text
    second = client.get("/registers", params={"sort": "-id", "state": "booked", "page": "2"})
    assert second.text.count('data-label="Состояние"') == 5 and "page=1" in second.text


def test_card_page_and_moving_to_a_store(
    client: TestClient, mailer: MemoryMailSender, engine: Engine
) -> None:
    headers = _signed_in(client, mailer, 1)
    client.post("/api/bookings", json={"quantity": 1}, headers=headers)
    store = client.post(
        "/api/stores", json={"name": "Лоток у вокзала", "kind": "mobile"}, headers=headers
    ).json()
    [register] = client.get("/api/registers", headers=headers).json()["items"]
    client.cookies.set(SESSION_COOKIE, headers["Authorization"].removeprefix("Bearer "))
    page = client.get(f"/registers/{register['id']}")
    assert page.status_code == 200
    html = page.text
    assert NEXT_STEP[RegisterState.BOOKED] in html and "будет назначен" in html
    assert "Перенести в магазин" in html and "Чеков прихода" in html and 'class="tiles"' in html
    token = client.cookies.get(csrf.COOKIE)
    moved = client.post(
        f"/registers/{register['id']}/store",
        data={"store_id": str(store["id"]), csrf.FIELD: token},
        follow_redirects=False,
    )
    assert moved.status_code == 303
    assert (
        client.get(f"/api/registers/{register['id']}", headers=headers).json()["store_id"]
        == store["id"]
    )
    assert "Лоток у вокзала" in client.get(f"/registers/{register['id']}").text
    assert client.get("/registers/999999").status_code == 404


def test_operator_fleet_view_and_filling_a_virtual_slot(
    client: TestClient, mailer: MemoryMailSender, engine: Engine
) -> None:
    operator = _signed_in(client, mailer, 1)
    _make_operator(engine, 1)
    first = _signed_in(client, mailer, 2)
    second = _signed_in(client, mailer, 3)
    client.post("/api/bookings", json={"quantity": 2}, headers=first)
    client.post("/api/bookings", json={"quantity": 3}, headers=second)
    second_company = _company_id(client, second)
    fleet = client.get("/api/operator/registers", headers=operator).json()
    assert fleet["total"] == 5
    one = client.get(
        "/api/operator/registers", params={"company_id": second_company}, headers=operator
    ).json()
    assert one["total"] == 3 and {r["company_id"] for r in one["items"]} == {second_company}
    assert client.get("/api/operator/registers", headers=first).status_code == 403

    slot = one["items"][0]
    assert slot["virtual"] is True
    filled = client.post(
        f"/api/operator/registers/{slot['id']}/hardware",
        json=_hardware(7, drive_number="9999078900007777"),
        headers=operator,
    )
    assert filled.status_code == 200, filled.text
    assert filled.json()["virtual"] is False and filled.json()["company_id"] == second_company
    again = client.post(
        f"/api/operator/registers/{slot['id']}/hardware", json=_hardware(8), headers=operator
    )
    assert again.status_code == 409
    dup = client.post(
        f"/api/operator/registers/{one['items'][1]['id']}/hardware",
        json=_hardware(7),
        headers=operator,
    )
    assert dup.status_code == 409
    bad = client.post(
        f"/api/operator/registers/{one['items'][1]['id']}/hardware",
        json=_hardware(9, drive_number="12"),
        headers=operator,
    )
    assert bad.status_code == 422 and "drive_number" in bad.json()["fields"]
    refused = client.post(
        f"/api/operator/registers/{one['items'][1]['id']}/hardware",
        json=_hardware(10),
        headers=second,
    )
    assert refused.status_code == 403
    assert (
        client.get("/api/registers", headers=second).json()["items"][0]["serial"]
        == _hardware(7)["serial"]
    )

    client.cookies.set(SESSION_COOKIE, operator["Authorization"].removeprefix("Bearer "))
    page = client.get("/operator/registers", params={"company_id": str(second_company)})
    assert page.status_code == 200 and "Парк касс" in page.text and "Найдено касс: 3" in page.text
    client.cookies.set(SESSION_COOKIE, first["Authorization"].removeprefix("Bearer "))
    assert client.get("/operator/registers").status_code == 403
