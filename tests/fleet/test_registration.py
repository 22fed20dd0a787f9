"""Registration with the FNS: the form, the bytes to sign, the КЭП check, the simulator."""

from __future__ import annotations

import base64
import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from fleet.accounts.mail import MemoryMailSender
from fleet.accounts.models import Company
from fleet.audit import AuditLog
from fleet.core.clock import SettableClock
from fleet.receipts.models import RoutingProfile
from fleet.registers.models import Register, RegisterState
from fleet.registration.application import Address, ApplicationForm, validate_form
from fleet.registration.config import RegistrationConfig, read_certificates
from fleet.registration.exceptions import InvalidApplicationError
from fleet.registration.gateway import HttpFnsGateway
from fleet.registration.models import RegistrationApplication
from oblako.sign import make_test_ca, sign_file
from protocol.kep.testca import TestCa
from protocol.rnm import verify_rnm
from simulator.fns import create_app as create_fns
from tests.fleet.helpers import PASSWORD, token_from
from tests.fleet.oracle import company_requisites

CA = TestCa()
SERIAL = "0001234500000042"


def _signed_in(client: TestClient, mailer: MemoryMailSender, n: int) -> dict[str, str]:
    inn, ogrn = company_requisites(n)
    email = f"kep{n}@example.ru"
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
    return {"Authorization": f"Bearer {answer.json()['token']}"}


def _register(engine: Engine, clock: SettableClock, n: int, serial: str = SERIAL) -> int:
    inn, _ = company_requisites(n)
    with Session(engine) as session:
        company = session.exec(select(Company).where(Company.inn == inn)).one()
        row = Register(
            serial=serial,
            model="Облако-Ф",
            rack_slot="R1-S01",
            firmware_version="1.0.0",
            drive_number="9999078900001234",
            state=RegisterState.PAID.value,
            company_id=company.id,
            created_at=clock.wall(),
            paid_at=clock.wall(),
        )
        session.add(row)
        session.commit()
        assert row.id is not None
        return row.id


def _fns(client: TestClient, clock: SettableClock, **kwargs: Any) -> TestClient:
    fns = TestClient(
        create_fns([CA.cert], ["Облако-Ф"], {"Облако-Ф": ["1.0.0"]}, clock=clock.wall, **kwargs)
    )
    client.app.state.registration = RegistrationConfig(  # type: ignore[attr-defined]
        trusted_roots=(CA.cert,), gateway=HttpFnsGateway("http://fns", client=fns)
    )
    return fns


FORM: dict[str, Any] = {
    "fn_number": "9999078900001234",
    "ofd_inn": "7704211201",
    "ofd_name": "ООО «Такском»",
    "address": {
        "region_code": "77",
        "municipal": "г. Москва",
        "street": "ул. Мясницкая",
        "house": "1",
        "postal_code": "101000",
        "oktmo": "45375000",
    },
    "place": "Торговый зал",
    "flags": {"services": True},
    "tax_systems": ["usn_income"],
}


def _sign(tmp_path: Path, n: int, content: bytes, clock: SettableClock) -> bytes:
    inn, ogrn = company_requisites(n)
    files = make_test_ca(tmp_path / f"ca{n}", inn, ogrn, f"ООО «Кассы {n}»")
    doc = tmp_path / "application.json"
    doc.write_bytes(content)
    assert files["ca"].read_bytes() == CA.cert
    return sign_file(doc, files["key"], files["cert"], at=clock.wall())


def _fill_and_sign(
    client: TestClient,
    headers: dict[str, str],
    rid: int,
    tmp_path: Path,
    clock: SettableClock,
    n: int = 1,
) -> Any:
    url = f"/api/registers/{rid}/registration"
    assert client.put(url, json=FORM, headers=headers).status_code == 200
    content = base64.b64decode(client.get(f"{url}/to-sign", headers=headers).json()["content"])
    signature = _sign(tmp_path, n, content, clock)
    return client.post(
        f"{url}/signature",
        json={"signature": base64.b64encode(signature).decode()},
        headers=headers,
    )


def test_whole_flow_to_the_registration_card(
    client: TestClient,
    mailer: MemoryMailSender,
    engine: Engine,
    clock: SettableClock,
    tmp_path: Path,
) -> None:
    _fns(client, clock)
    headers = _signed_in(client, mailer, 1)
    rid = _register(engine, clock, 1)
    url = f"/api/registers/{rid}/registration"
    start = client.get(url, headers=headers).json()
    assert start["status"] == "draft" and start["form"]["fn_number"] == "9999078900001234"
    assert client.get(f"{url}/to-sign", headers=headers).status_code == 404

    saved = client.put(url, json=FORM, headers=headers)
    assert saved.status_code == 200
    content = base64.b64decode(client.get(f"{url}/to-sign", headers=headers).json()["content"])
    # The same bytes every time until the form changes; canonical JSON, UTF-8.
    again = base64.b64decode(client.get(f"{url}/to-sign", headers=headers).json()["content"])
    assert content == again
    assert content.decode().startswith('{"address":') and SERIAL in content.decode()

    signature = _sign(tmp_path, 1, content, clock)
    answer = client.post(
        f"{url}/signature",
        json={"signature": base64.b64encode(signature).decode()},
        headers=headers,
    )
    assert answer.status_code == 200, answer.text
    state = answer.json()
    inn, ogrn = company_requisites(1)
    assert state["status"] == "rnm_assigned"
    assert verify_rnm(state["rnm"], inn, SERIAL)
    assert "РНМ" in state["next_step"] and "отчёт о регистрации" in state["next_step"]
    assert state["certificate"]["inn"] == inn and state["certificate"]["ogrn"] == ogrn
    assert state["certificate"]["issuer"] == "Тестовый УЦ Облако"
    with Session(engine) as session:
        register = session.get(Register, rid)
        assert register is not None
        assert register.rnm == state["rnm"] and register.state == RegisterState.RNM_ASSIGNED
        actions = set(session.exec(select(AuditLog.action)).all())
    assert {
        "registration.form_saved",
        "registration.signed",
        "registration.rnm_assigned",
    } <= actions

    report = {"fd_number": 1, "fiscal_sign": "2860180066", "date": "2024-01-15T10:30"}
    done = client.post(f"{url}/report", json=report, headers=headers).json()
    assert done["status"] == "registered"
    assert done["card"]["Регистрационный номер ККТ"] == state["rnm"]
    assert "готова к работе" in done["next_step"]
    with Session(engine) as session:  # routing now knows what the register may sell
        profile = session.get(RoutingProfile, rid)
        assert profile is not None and profile.inn == inn
        assert profile.profile["tax_systems"] == ["usn_income"]
        assert profile.profile["internet_only"] is False and profile.profile["ffd"] == "1.2"
    # Once sent, the form is frozen.
    assert client.put(url, json=FORM, headers=headers).status_code == 409


def test_validation_messages_in_russian() -> None:
    with pytest.raises(InvalidApplicationError) as caught:
        validate_form(
            ApplicationForm(
                fn_number="123",
                ofd_inn="7704211202",
                address=Address(region_code="7", postal_code="1010", oktmo="12"),
                flags={"automatic": True, "internet": True, "autonomous": True, "x": True},
                website="не сайт",
            )
        )
    f = caught.value.fields
    assert f["address.region_code"].startswith("Код региона — две цифры")
    assert f["address.municipal"].startswith("Укажите муниципальное")
    assert f["address.house"] == "Укажите номер дома (здания)"
    assert f["address.postal_code"] == "Почтовый индекс — ровно 6 цифр"
    assert f["address.oktmo"] == "Код ОКТМО — 8 или 11 цифр"
    assert f["fn_number"] == "Заводской номер фискального накопителя — 16 цифр"
    assert f["automat_number"].startswith("Для автоматического устройства")
    assert f["website"].startswith("Адрес сайта указан неверно")
    assert "автономном режиме" in f["flags"]
    assert f["tax_systems"] == "Выберите хотя бы одну систему налогообложения"
    with pytest.raises(InvalidApplicationError) as ofd:
        validate_form(ApplicationForm(ofd_inn="7704211202", **_ok_rest()))
    assert "Контрольное число ИНН" in ofd.value.fields["ofd_inn"]


def _ok_rest() -> dict[str, Any]:
    return {
        "fn_number": "9999078900001234",
        "ofd_name": "ОФД",
        "address": Address(
            region_code="77",
            municipal="г. Москва",
            house="1",
            postal_code="101000",
            oktmo="45375000",
        ),
        "place": "Зал",
        "tax_systems": ["osn"],
    }


def test_a_valid_form_is_normalised() -> None:
    form = validate_form(ApplicationForm(ofd_inn=" 7704211201 ", **_ok_rest()))
    assert form.ofd_inn == "7704211201"
    assert set(form.flags) >= {"automatic", "excise", "insurance"} and not any(form.flags.values())


def test_bad_input_through_the_api_changes_nothing(
    client: TestClient, mailer: MemoryMailSender, engine: Engine, clock: SettableClock
) -> None:
    _fns(client, clock)
    headers = _signed_in(client, mailer, 2)
    rid = _register(engine, clock, 2)
    bad = {**FORM, "address": {**FORM["address"], "postal_code": "12"}}
    answer = client.put(f"/api/registers/{rid}/registration", json=bad, headers=headers)
    assert answer.status_code == 422
    assert answer.json()["fields"]["address.postal_code"] == "Почтовый индекс — ровно 6 цифр"
    with Session(engine) as session:
        assert session.exec(select(RegistrationApplication)).first() is None


def test_signature_of_another_company_is_refused_precisely(
    client: TestClient,
    mailer: MemoryMailSender,
    engine: Engine,
    clock: SettableClock,
    tmp_path: Path,
) -> None:
    _fns(client, clock)
    headers = _signed_in(client, mailer, 3)
    rid = _register(engine, clock, 3)
    answer = _fill_and_sign(client, headers, rid, tmp_path, clock, n=4)  # company 4's КЭП
    assert answer.status_code == 422
    inn3, _ = company_requisites(3)
    inn4, _ = company_requisites(4)
    reason = answer.json()["fields"]["signature"]
    assert f"ИНН в сертификате подписи ({inn4})" in reason and f"({inn3})" in reason
    state = client.get(f"/api/registers/{rid}/registration", headers=headers).json()
    assert state["status"] == "draft" and state["certificate"] is None


def test_untrusted_tampered_and_malformed_signatures(
    client: TestClient,
    mailer: MemoryMailSender,
    engine: Engine,
    clock: SettableClock,
) -> None:
    _fns(client, clock)
    headers = _signed_in(client, mailer, 5)
    rid = _register(engine, clock, 5)
    url = f"/api/registers/{rid}/registration"
    client.put(url, json=FORM, headers=headers)
    content = base64.b64decode(client.get(f"{url}/to-sign", headers=headers).json()["content"])
    inn, ogrn = company_requisites(5)
    foreign = TestCa("foreign", name="Чужой УЦ").issue_org(inn=inn, ogrn=ogrn, name="К")
    own = CA.issue_org(inn=inn, ogrn=ogrn, name="К")

    def post(sig: bytes) -> Any:
        return client.post(
            f"{url}/signature",
            json={"signature": base64.b64encode(sig).decode()},
            headers=headers,
        )

    untrusted = post(foreign.sign(content, clock.wall()))
    assert untrusted.status_code == 422 and "Чужой УЦ" in untrusted.json()["fields"]["signature"]
    tampered = post(own.sign(content + b" ", clock.wall()))
    assert "другого документа" in tampered.json()["fields"]["signature"]
    assert post(b"\x30\x00garbage").status_code == 422
    not_b64 = client.post(f"{url}/signature", json={"signature": "***"}, headers=headers)
    assert not_b64.status_code == 422


def test_refusals_come_back_with_reasons_and_the_form_can_be_fixed(
    client: TestClient,
    mailer: MemoryMailSender,
    engine: Engine,
    clock: SettableClock,
    tmp_path: Path,
) -> None:
    _fns(client, clock, refusals={SERIAL: ["Адрес места установки не найден в ГАР"]})
    headers = _signed_in(client, mailer, 6)
    rid = _register(engine, clock, 6)
    state = _fill_and_sign(client, headers, rid, tmp_path, clock, n=6).json()
    assert state["status"] == "refused"
    assert state["reasons"] == ["Адрес места установки не найден в ГАР"]
    assert "причинам отказа" in state["next_step"]
    again = client.put(f"/api/registers/{rid}/registration", json=FORM, headers=headers).json()
    assert again["status"] == "draft" and again["reasons"] == []


def test_delayed_answer_is_fetched_by_refresh_and_a_down_gateway_is_retried(
    client: TestClient,
    mailer: MemoryMailSender,
    engine: Engine,
    clock: SettableClock,
    tmp_path: Path,
) -> None:
    _fns(client, clock, delay_s=3600)
    headers = _signed_in(client, mailer, 7)
    rid = _register(engine, clock, 7)
    url = f"/api/registers/{rid}/registration"
    state = _fill_and_sign(client, headers, rid, tmp_path, clock, n=7).json()
    assert state["status"] == "sent" and "рассматривает" in state["next_step"]
    clock.advance(3601)
    later = client.post(f"{url}/refresh", json={}, headers=headers).json()
    assert later["status"] == "rnm_assigned"

    # A gateway that does not answer: the signature is kept, the error is shown, resend works.
    headers8 = _signed_in(client, mailer, 8)
    rid8 = _register(engine, clock, 8, serial="0001234500000043")
    working = client.app.state.registration  # type: ignore[attr-defined]
    client.app.state.registration = RegistrationConfig(  # type: ignore[attr-defined]
        trusted_roots=(CA.cert,), gateway=HttpFnsGateway("http://127.0.0.1:9", timeout=0.5)
    )
    down = _fill_and_sign(client, headers8, rid8, tmp_path, clock, n=8).json()
    assert down["status"] == "signed" and "Нет связи с ФНС" in down["last_error"]
    client.app.state.registration = working  # type: ignore[attr-defined]
    resent = client.post(f"/api/registers/{rid8}/registration/send", headers=headers8).json()
    assert resent["status"] == "sent" and resent["last_error"] is None


def test_another_companys_register_is_not_found(
    client: TestClient,
    mailer: MemoryMailSender,
    engine: Engine,
    clock: SettableClock,
) -> None:
    _fns(client, clock)
    _signed_in(client, mailer, 9)
    rid = _register(engine, clock, 9)
    stranger = _signed_in(client, mailer, 10)
    url = f"/api/registers/{rid}/registration"
    assert client.get(url, headers=stranger).status_code == 404
    assert client.put(url, json=FORM, headers=stranger).status_code == 404
    assert client.get(f"{url}/to-sign", headers=stranger).status_code == 404
    sig = {"signature": base64.b64encode(b"x").decode()}
    assert client.post(f"{url}/signature", json=sig, headers=stranger).status_code == 404
    assert client.get(url).status_code == 401


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match is not None
    return match.group(1)


def test_the_page_fills_signs_and_shows_the_rnm(
    client: TestClient,
    mailer: MemoryMailSender,
    engine: Engine,
    clock: SettableClock,
    tmp_path: Path,
) -> None:
    _fns(client, clock)
    _signed_in(client, mailer, 11)
    rid = _register(engine, clock, 11)
    signin = client.get("/signin")
    client.post(
        "/signin",
        data={"email": "kep11@example.ru", "password": PASSWORD, "csrf_token": _csrf(signin.text)},
        follow_redirects=False,
    )
    url = f"/registers/{rid}/registration"
    page = client.get(url)
    assert page.status_code == 200 and "Регистрация кассы в ФНС" in page.text
    token = _csrf(page.text)
    data = {k: v for k, v in FORM.items() if isinstance(v, str)} | {"fn_model": "ФН-1.2"}
    data.update(FORM["address"])
    bad = client.post(
        url, data={**data, "postal_code": "1", "csrf_token": token, "tax_systems": "usn_income"}
    )
    assert bad.status_code == 422 and "Почтовый индекс — ровно 6 цифр" in bad.text
    saved = client.post(
        url,
        data={**data, "csrf_token": token, "tax_systems": "usn_income", "flags": "services"},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    document = client.get(f"{url}/document")
    assert document.headers["content-disposition"].startswith("attachment")
    signature = _sign(tmp_path, 11, document.content, clock)
    page = client.get(url)
    done = client.post(
        f"{url}/signature",
        data={"csrf_token": _csrf(page.text)},
        files={"signature": ("application.json.sig", signature, "application/pkcs7-signature")},
    )
    assert done.status_code == 200, done.text
    assert "Присвоен регистрационный номер" in done.text and "Тестовый УЦ Облако" in done.text


def test_trusted_roots_are_read_from_der_and_pem(tmp_path: Path) -> None:
    der = tmp_path / "root.cer"
    der.write_bytes(CA.cert)
    pem = tmp_path / "roots.pem"
    body = base64.encodebytes(CA.cert).decode()
    pem.write_text(f"-----BEGIN CERTIFICATE-----\n{body}-----END CERTIFICATE-----\n")
    assert read_certificates([der, pem]) == (CA.cert, CA.cert)


def test_without_configured_roots_no_signature_is_trusted(
    client: TestClient,
    mailer: MemoryMailSender,
    engine: Engine,
    clock: SettableClock,
    tmp_path: Path,
) -> None:
    # No RegistrationConfig injected: built from settings, which name no trusted roots.
    headers = _signed_in(client, mailer, 12)
    rid = _register(engine, clock, 12)
    answer = _fill_and_sign(client, headers, rid, tmp_path, clock, n=12)
    assert answer.status_code == 422
    assert "не доверяет" in answer.json()["fields"]["signature"]
