"""After registration: re-registration by the rules, drive replacement, deregistration (API,
pages, the FNS simulator), with real signatures from the test CA."""

from __future__ import annotations

import base64
import datetime as dt
import json
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from fleet.accounts.mail import MemoryMailSender
from fleet.audit import AuditLog
from fleet.core.clock import SettableClock
from fleet.registers.models import Register, RegisterState
from fleet.registration.models import UsedDrive
from fleet.registration.used_drives import keep_until
from tests.fleet.oracle import company_requisites
from tests.fleet.test_billing_kit import csrf_of, make_operator, use_cookie
from tests.fleet.test_registration import (
    CA,
    FORM,
    SERIAL,
    _fill_and_sign,
    _fns,
    _register,
    _signed_in,
)

REPORT = {"fd_number": 1, "fiscal_sign": "2860180066", "date": "2024-01-15T10:30"}


def _registered(
    client: TestClient,
    mailer: MemoryMailSender,
    engine: Engine,
    clock: SettableClock,
    tmp_path: Path,
    n: int,
    **fns: Any,
) -> tuple[dict[str, str], int, str]:
    _fns(client, clock, **fns)
    headers = _signed_in(client, mailer, n)
    rid = _register(engine, clock, n, serial=f"{SERIAL[:-3]}{n:03d}")
    state = _fill_and_sign(client, headers, rid, tmp_path, clock, n=n).json()
    assert state["status"] == "rnm_assigned", state
    url = f"/api/registers/{rid}/registration"
    done = client.post(f"{url}/report", json=REPORT, headers=headers).json()
    assert done["status"] == "registered" and done["registered"] is True
    return headers, rid, str(state["rnm"])


def _sign_current(
    client: TestClient, headers: dict[str, str], rid: int, n: int, clock: SettableClock
) -> Any:
    url = f"/api/registers/{rid}/registration"
    content = base64.b64decode(client.get(f"{url}/to-sign", headers=headers).json()["content"])
    inn, ogrn = company_requisites(n)
    signer = CA.issue_org(inn=inn, ogrn=ogrn, name=f"ООО «Кассы {n}»")
    signature = signer.sign(content, clock.wall())
    return content, client.post(
        f"{url}/signature",
        json={"signature": base64.b64encode(signature).decode()},
        headers=headers,
    )


def test_a_change_outside_the_registration_data_is_applied_without_an_application(
    client: TestClient,
    mailer: MemoryMailSender,
    engine: Engine,
    clock: SettableClock,
    tmp_path: Path,
) -> None:
    headers, rid, _ = _registered(client, mailer, engine, clock, tmp_path, 21)
    url = f"/api/registers/{rid}/registration"
    # FFD 1.2 drive: the tax system is not a registration parameter (§2.4) → applied at once.
    answer = client.put(f"{url}/settings", json={**FORM, "tax_systems": ["osn"]}, headers=headers)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["decision"]["needs_application"] is False
    assert body["decision"]["reasons"] == []
    assert [c["key"] for c in body["decision"]["changes"]] == ["tax_systems.ffd12"]
    assert "Заявление в ФНС не требуется" in body["decision"]["message"]
    assert body["state"]["status"] == "registered"
    assert body["state"]["form"]["tax_systems"] == ["osn"]
    # It is now what is registered: the same settings again change nothing.
    again = client.put(f"{url}/settings", json={**FORM, "tax_systems": ["osn"]}, headers=headers)
    assert again.json()["decision"]["changes"] == []
    assert again.json()["decision"]["message"].startswith("Изменений нет")
    # The first registration's form is closed now.
    assert client.put(url, json=FORM, headers=headers).status_code == 409


def test_address_and_ofd_change_runs_a_reregistration_to_the_new_card(
    client: TestClient,
    mailer: MemoryMailSender,
    engine: Engine,
    clock: SettableClock,
    tmp_path: Path,
) -> None:
    headers, rid, rnm = _registered(client, mailer, engine, clock, tmp_path, 22)
    url = f"/api/registers/{rid}/registration"
    wanted = {
        **FORM,
        "address": {**FORM["address"], "house": "5"},
        "ofd_inn": "7709364346",
        "ofd_name": "ООО «Эвотор ОФД»",
        "flags": {"services": True, "excise": True},
        # The drive is not the user's to change here: ignored, the register's stays.
        "fn_number": "9999078900009999",
    }
    body = client.put(f"{url}/settings", json=wanted, headers=headers).json()
    decision = body["decision"]
    assert decision["needs_application"] is True
    assert decision["reasons"] == [1, 2, 8]
    assert {c["key"] for c in decision["changes"]} == {
        "address.house",
        "ofd_inn",
        "ofd_name",
        "flags.excise",
    }
    assert all(c["source"] for c in decision["changes"])
    state = body["state"]
    assert state["kind"] == "reregistration" and state["status"] == "draft"
    assert state["reason_codes"] == [1, 2, 8]
    assert state["form"]["fn_number"] == "9999078900001234"
    # The register keeps working while the re-registration is filed.
    with Session(engine) as session:
        register = session.get(Register, rid)
        assert register is not None and register.state == RegisterState.ACTIVE

    content, signed = _sign_current(client, headers, rid, 22, clock)
    doc = json.loads(content)
    assert doc["kind"] == "reregistration" and doc["rnm"] == rnm
    assert doc["reason_codes"] == [1, 2, 8] and doc["ofd"]["inn"] == "7709364346"
    assert signed.status_code == 200, signed.text
    state = signed.json()
    assert state["status"] == "rnm_assigned" and state["rnm"] == rnm  # the RNM is kept
    assert "изменении параметров регистрации" in state["next_step"]
    # While the FNS has it, settings cannot be edited again.
    assert client.put(f"{url}/settings", json=FORM, headers=headers).status_code == 409
    done = client.post(f"{url}/report", json=REPORT, headers=headers).json()
    assert done["status"] == "registered"
    assert done["card"]["Коды причин перерегистрации"] == "1, 2, 8"
    assert done["card"]["ОФД (ИНН)"] == "7709364346"
    # The new parameters are the registered ones now.
    same = client.put(f"{url}/settings", json=wanted, headers=headers).json()
    assert same["decision"]["changes"] == []


def test_bad_settings_change_nothing_and_unregistered_registers_are_refused(
    client: TestClient,
    mailer: MemoryMailSender,
    engine: Engine,
    clock: SettableClock,
    tmp_path: Path,
) -> None:
    headers, rid, _ = _registered(client, mailer, engine, clock, tmp_path, 23)
    url = f"/api/registers/{rid}/registration"
    before = client.get(url, headers=headers).json()
    bad = {**FORM, "ofd_inn": "7704211202", "address": {**FORM["address"], "house": "9"}}
    answer = client.put(f"{url}/settings", json=bad, headers=headers)
    assert answer.status_code == 422
    assert "Контрольное число ИНН" in answer.json()["fields"]["ofd_inn"]
    assert client.get(url, headers=headers).json() == before
    other = _register(engine, clock, 23, serial="0001234500000999")
    refused = client.put(
        f"/api/registers/{other}/registration/settings", json=FORM, headers=headers
    )
    assert refused.status_code == 409 and "ещё не зарегистрирована" in refused.json()["message"]
    # Rules table for the UI and the docs.
    rules = client.get("/api/registration/rules", headers=headers).json()
    assert {r["key"]: r["reason"] for r in rules}["ofd_inn"] == 2


def test_operator_replaces_the_drive_and_the_user_reregisters_with_reason_4(
    client: TestClient,
    mailer: MemoryMailSender,
    engine: Engine,
    clock: SettableClock,
    tmp_path: Path,
) -> None:
    headers, rid, rnm = _registered(client, mailer, engine, clock, tmp_path, 24)
    operator = _signed_in(client, mailer, 25)
    make_operator(engine, "kep25@example.ru")
    url = f"/api/operator/registers/{rid}/drive-replacement"
    close = {"fd_number": 412, "fiscal_sign": "3522837144", "date": "2025-03-01T18:00"}
    body = {"close": close, "new_number": "9999078900005678"}
    # The client cannot. This register never sent Oblako a document: the requisites are typed
    # (not checked) and the OFD's answer cannot reach the fleet, so the operator must say why
    # they know the OFD has the report — an override, written to the audit log.
    assert client.post(url, json=body, headers=headers).status_code == 403
    unconfirmed = client.post(url, json=body, headers=operator)
    assert unconfirmed.status_code == 409
    assert "Облаку не передавались" in unconfirmed.json()["message"]
    assert "откуда известно" in unconfirmed.json()["fields"]["ofd_override"]
    short = client.post(url, json={**body, "ofd_override": "есть   ок"}, headers=operator)
    assert short.status_code == 409 and "ofd_override" in short.json()["fields"]
    reason = "Квитанция ОФД на ФД 412 проверена в ЛК ОФД"
    same = client.post(
        url,
        json={**body, "ofd_override": reason, "new_number": "9999078900001234"},
        headers=operator,
    )
    assert "номер установленного ФН" in same.json()["fields"]["new_number"]
    with Session(engine) as session:
        assert session.exec(select(UsedDrive)).first() is None
        assert not session.exec(
            select(AuditLog).where(AuditLog.action == "registration.ofd_confirmation_overridden")
        ).all()

    answer = client.post(url, json={**body, "ofd_override": reason}, headers=operator)
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert result["decision"]["reasons"] == [4]
    assert result["state"]["kind"] == "reregistration"
    assert result["state"]["close_source"] == "manual"
    with Session(engine) as session:
        entry = session.exec(
            select(AuditLog).where(AuditLog.action == "registration.ofd_confirmation_overridden")
        ).one()
        detail = json.loads(entry.detail)
        assert detail["reason"] == reason and detail["ofd_status"] == "unknown"
        assert detail["fn_number"] == "9999078900001234" and detail["fd_number"] == 412
    with Session(engine) as session:
        register = session.get(Register, rid)
        assert register is not None and register.drive_number == "9999078900005678"
        used = session.exec(select(UsedDrive)).one()
        assert used.drive_number == "9999078900001234" and used.rnm == rnm
        assert used.close_fd_number == 412 and used.close_fiscal_sign == "3522837144"
        # Kept five years from the day it was removed (54-ФЗ ст. 5 п. 2).
        assert dt.datetime.fromtimestamp(used.keep_until, dt.UTC).date() == dt.date(2029, 1, 15)
    notes = client.get("/api/notifications", headers=headers).json()
    assert any("подпишите заявление о перерегистрации" in n["title"] for n in notes["items"])
    listed = client.get("/api/operator/used-drives", headers=operator).json()
    assert [d["drive_number"] for d in listed] == ["9999078900001234"]
    assert client.get("/api/operator/used-drives", headers=headers).status_code == 403
    # A closed drive cannot go back into a register.
    reused = client.post(
        url,
        json={**body, "ofd_override": reason, "new_number": "9999078900001234"},
        headers=operator,
    )
    assert reused.status_code in (409, 422)

    content, signed = _sign_current(client, headers, rid, 24, clock)
    doc = json.loads(content)
    assert doc["reason_codes"] == [4] and doc["fn"]["number"] == "9999078900005678"
    assert doc["fn_close"] == {
        "fd_number": 412,
        "fiscal_sign": "3522837144",
        "date": "2025-03-01T18:00",
    }
    assert signed.json()["status"] == "rnm_assigned", signed.text
    done = client.post(
        f"/api/registers/{rid}/registration/report", json=REPORT, headers=headers
    ).json()
    assert done["status"] == "registered"
    assert done["card"]["Заводской номер ФН"] == "9999078900005678"
    assert done["report_source"] == "manual"  # typed: the register sent Oblako nothing

    use_cookie(client, headers)
    card = client.get(f"/registers/{rid}/registration").text
    assert "введены вручную: касса документов в Облако не передавала" in card
    use_cookie(client, operator)
    page = client.get(f"/operator/registers/{rid}/drive-replacement")
    assert page.status_code == 200 and "Отчёт о закрытии" in page.text
    listing = client.get("/operator/used-drives")
    assert "9999078900001234" in listing.text and "15.01.2029" in listing.text


def test_keep_until_is_the_same_day_five_years_on() -> None:
    def day(y: int, m: int, d: int) -> float:
        return dt.datetime(y, m, d, 15, 30, tzinfo=dt.UTC).timestamp()

    def date(ts: float) -> dt.date:
        return dt.datetime.fromtimestamp(ts, dt.UTC).date()

    assert date(keep_until(day(2024, 1, 15))) == dt.date(2029, 1, 15)
    assert date(keep_until(day(2024, 2, 29))) == dt.date(2029, 3, 1)  # no 29 February in 2029
    assert date(keep_until(day(2027, 12, 31))) == dt.date(2032, 12, 31)


def test_deregistration_closes_the_drive_and_takes_the_register_off(
    client: TestClient,
    mailer: MemoryMailSender,
    engine: Engine,
    clock: SettableClock,
    tmp_path: Path,
) -> None:
    headers, rid, rnm = _registered(client, mailer, engine, clock, tmp_path, 26)
    url = f"/api/registers/{rid}/deregistration"
    no_report = client.post(url, json={"reason": "user"}, headers=headers)
    assert no_report.status_code == 422
    assert "отчёт о закрытии ФН" in no_report.json()["fields"]["close.fd_number"]
    assert client.post(url, json={"reason": "nope"}, headers=headers).status_code == 422
    bad = {"reason": "user", "close": {"fd_number": 0, "fiscal_sign": "x", "date": "вчера"}}
    fields = client.post(url, json=bad, headers=headers).json()["fields"]
    assert set(fields) == {"close.fd_number", "close.fiscal_sign", "close.date"}

    close = {"fd_number": 977, "fiscal_sign": "1234567890", "date": "2025-06-30T21:00"}
    waits = client.post(url, json={"reason": "user", "close": close}, headers=headers)
    assert waits.status_code == 409 and "ofd_override" in waits.json()["fields"]
    override = "Отчёт принят ОФД: квитанция в личном кабинете ОФД"
    body = {"reason": "user", "close": close, "ofd_override": override}
    state = client.post(url, json=body, headers=headers).json()
    assert state["kind"] == "deregistration" and state["status"] == "draft"
    assert state["close_source"] == "manual"
    content, signed = _sign_current(client, headers, rid, 26, clock)
    doc = json.loads(content)
    assert doc["format"] == "oblako.knd1110062.v1" and doc["rnm"] == rnm
    assert doc["fn_close"]["fd_number"] == 977
    assert signed.status_code == 200, signed.text
    done = signed.json()
    assert done["status"] == "deregistered"
    assert done["card"]["Карточка"] == "о снятии ККТ с регистрационного учёта"
    assert done["card"]["Номер ФД отчёта о закрытии ФН"] == 977
    with Session(engine) as session:
        register = session.get(Register, rid)
        assert register is not None and register.state == RegisterState.DEREGISTERED
        assert register.drive_number is None
        used = session.exec(select(UsedDrive).where(UsedDrive.register_id == rid)).one()
        assert used.drive_number == "9999078900001234" and used.close_fd_number == 977
    assert client.post(url, json={"reason": "theft"}, headers=headers).status_code == 409
    use_cookie(client, headers)
    page = client.get(f"/registers/{rid}/registration")
    assert "Карточка о снятии ККТ с учёта" in page.text and "Снять кассу с учёта" not in page.text
    settings = client.put(f"/api/registers/{rid}/registration/settings", json=FORM, headers=headers)
    assert settings.status_code == 409


def test_stolen_register_is_deregistered_without_a_closing_report(
    client: TestClient,
    mailer: MemoryMailSender,
    engine: Engine,
    clock: SettableClock,
    tmp_path: Path,
) -> None:
    headers, rid, _ = _registered(client, mailer, engine, clock, tmp_path, 27)
    # From now on the FNS takes ten minutes to answer.
    client.app.state.registration.gateway.client.app.state.fns.delay_s = 600  # type: ignore[attr-defined]
    state = client.post(
        f"/api/registers/{rid}/deregistration", json={"reason": "theft"}, headers=headers
    ).json()
    assert state["status"] == "draft"
    _, signed = _sign_current(client, headers, rid, 27, clock)
    assert signed.json()["status"] == "sent"
    assert "снятии с учёта" in signed.json()["next_step"]
    clock.advance(601)
    done = client.post(f"/api/registers/{rid}/registration/refresh", headers=headers).json()
    assert done["status"] == "deregistered" and done["card"]["Причина"] == "Хищение ККТ"


def test_the_simulator_refuses_a_reregistration_with_a_foreign_rnm(
    client: TestClient, clock: SettableClock
) -> None:
    fns = _fns(client, clock)
    inn, ogrn = company_requisites(28)
    doc = {
        "kind": "reregistration",
        "rnm": "0000000001000000",
        "reason_codes": [4],
        "user": {"inn": inn, "ogrn": ogrn, "name": "ООО"},
        "kkt": {"model": "Облако-Ф", "serial": SERIAL, "firmware": "1.0.0"},
        "fn": {"model": "ФН-1.2", "number": "9999078900001234"},
        "address": {"region_code": "77"},
    }
    content = json.dumps(doc).encode()
    signature = CA.issue_org(inn=inn, ogrn=ogrn, name="ООО").sign(content, clock.wall())
    answer = fns.post(
        "/api/v1/applications",
        json={
            "application": base64.b64encode(content).decode(),
            "signature": base64.b64encode(signature).decode(),
        },
    ).json()
    assert answer["status"] == "refused"
    assert any("Регистрационный номер ККТ не соответствует" in r for r in answer["reasons"])
    assert any("отчёта о закрытии" in r for r in answer["reasons"])


def test_pages_show_the_decision_and_the_deregistration_form(
    client: TestClient,
    mailer: MemoryMailSender,
    engine: Engine,
    clock: SettableClock,
    tmp_path: Path,
) -> None:
    headers, rid, _ = _registered(client, mailer, engine, clock, tmp_path, 29)
    use_cookie(client, headers)
    page = client.get(f"/registers/{rid}/registration")
    assert page.status_code == 200
    assert "Изменить параметры регистрации" in page.text and "КНД 1110062" in page.text
    fields = {
        "csrf_token": csrf_of(page.text),
        "ofd_inn": FORM["ofd_inn"],
        "ofd_name": FORM["ofd_name"],
        **{k: v for k, v in FORM["address"].items()},
        "place": "Склад",
        "flags": ["services"],
        "tax_systems": ["usn_income"],
    }
    shown = client.post(f"/registers/{rid}/registration/settings", data=fields)
    assert shown.status_code == 200
    assert "коды причин: 1" in shown.text and "Место установки" in shown.text
    assert "Подпись КЭП" in shown.text  # the re-registration is to be signed now
    dereg = client.post(
        f"/registers/{rid}/registration/deregistration",
        data={"csrf_token": csrf_of(page.text), "reason": "user"},
    )
    assert dereg.status_code == 422 and "отчёт о закрытии ФН" in dereg.text
