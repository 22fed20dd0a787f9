"""An employee signs under a machine-readable power of attorney (МЧД): the XML reader and the
whole path (upload with the head's signature, the employee's certificate, the FNS simulator)."""

from __future__ import annotations

import base64
import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine

from fleet.accounts.mail import MemoryMailSender
from fleet.core.clock import SettableClock
from fleet.registration.exceptions import InvalidPoaError
from fleet.registration.poa import allows_kkt, parse_poa
from protocol.kep import gost
from protocol.kep.testca import Issued
from protocol.kep.x509 import (
    OID_C,
    OID_CN,
    OID_GIVEN_NAME,
    OID_INN,
    OID_SNILS,
    OID_SURNAME,
    build_certificate,
)
from tests.fleet.oracle import company_requisites
from tests.fleet.test_billing_kit import csrf_of, use_cookie
from tests.fleet.test_registration import CA, FORM, _fns, _register, _signed_in

SNILS = "11223344595"
PERSON_INN = "500100732259"
_YEAR = 365 * 86400.0


def _employee(snils: str = SNILS, person_inn: str = PERSON_INN) -> Issued:
    """A natural person's qualified certificate (ИНН ФЛ, СНИЛС, no organisation)."""
    key = gost.private_key_from_seed(f"employee:{snils}".encode())
    subject = [
        (OID_C, "RU"),
        (OID_CN, "Петрова Анна Сергеевна"),
        (OID_SURNAME, "Петрова"),
        (OID_GIVEN_NAME, "Анна Сергеевна"),
        (OID_INN, person_inn),
        (OID_SNILS, snils),
    ]
    cert = build_certificate(
        subject=subject,
        issuer=CA.subject,
        serial=int(snils),
        not_before=1.6e9,
        not_after=1.6e9 + 15 * _YEAR,
        public_key=gost.public_key(key),
        issuer_private_key=CA.key,
        is_ca=False,
    )
    return Issued(cert=cert, key=key)


def poa_xml(
    inn: str,
    ogrn: str,
    *,
    snils: str = SNILS,
    person_inn: str = PERSON_INN,
    start: str = "01.01.2024",
    end: str = "31.12.2024",
    power: str = "Регистрация, перерегистрация и снятие с учёта контрольно-кассовой техники",
    encoding: str = "windows-1251",
) -> bytes:
    """A МЧД in the FNS's tax-representative format (the elements we read)."""
    text = f"""<?xml version="1.0" encoding="{encoding}"?>
<Файл ИдФайл="ON_DOVEREN_1" ВерсФорм="5.01">
 <Документ>
  <СвДов НомДовер="МЧД-2024-0001" ДатаНач="{start}" ДатаОкон="{end}"/>
  <СвДоверит><ДоверЮЛ><СвОрг НаимОрг="ООО" ИННЮЛ="{inn}" ОГРН="{ogrn}"/></ДоверЮЛ></СвДоверит>
  <СвПред><СведФЛ ИННФЛ="{person_inn}" СНИЛС="{snils}">
   <ФИО Фамилия="Петрова" Имя="Анна" Отчество="Сергеевна"/></СведФЛ></СвПред>
  <СвПолн><Полн КодПолн="KKT01" НаимПолн="{power}"/></СвПолн>
 </Документ>
</Файл>"""
    return text.encode(encoding)


def test_reader_takes_the_fields_it_can_check() -> None:
    poa = parse_poa(poa_xml("7700000001", "1027700000001"))
    assert poa.number == "МЧД-2024-0001"
    assert poa.valid_from == dt.date(2024, 1, 1) and poa.valid_to == dt.date(2024, 12, 31)
    assert (poa.principal_inn, poa.principal_ogrn) == ("7700000001", "1027700000001")
    assert poa.representative_snils == SNILS and poa.representative_inn == PERSON_INN
    assert poa.representative_name == "Петрова Анна Сергеевна"
    assert allows_kkt(poa.powers) and poa.powers[0].code == "KKT01"
    assert not allows_kkt(parse_poa(poa_xml("1", "2", power="Подписание счетов-фактур")).powers)
    # ЕФ МЧД spells dates ISO; UTF-8 works as well as windows-1251.
    iso = parse_poa(poa_xml("1", "2", start="2024-01-01", end="2024-06-30", encoding="utf-8"))
    assert iso.valid_to == dt.date(2024, 6, 30)


def test_reader_says_precisely_what_is_missing_or_wrong() -> None:
    with pytest.raises(InvalidPoaError) as caught:
        parse_poa(b"<a/>")
    missing = caught.value.fields["poa"]
    assert "НомДовер" in missing and "СвДоверит" in missing and "СвПред" in missing
    with pytest.raises(InvalidPoaError) as caught:
        parse_poa(poa_xml("1", "2", end="31.02.2024"))
    assert "Дата окончания доверенности" in caught.value.fields["poa"]
    with pytest.raises(InvalidPoaError) as caught:
        parse_poa(poa_xml("1", "2", start="01.02.2024", end="01.01.2024"))
    assert "раньше даты выдачи" in caught.value.fields["poa"]
    with pytest.raises(InvalidPoaError) as caught:
        parse_poa(b"not xml")
    assert "XML" in caught.value.fields["poa"]
    # An encoding Python does not know (found by hypothesis): a refusal, not a LookupError.
    with pytest.raises(InvalidPoaError):
        parse_poa(b'<?xml version="1.0" encoding="u-tf-8"?><a/>')


def test_entity_tricks_are_refused() -> None:
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><x>&b;</x>'
    )
    external = (
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>'
    )
    for xml in (bomb, external):
        with pytest.raises(InvalidPoaError):
            parse_poa(xml)


@settings(max_examples=200)
@given(st.binary(max_size=400) | st.text(max_size=300).map(lambda t: t.encode()))
def test_any_bytes_are_a_poa_or_a_typed_refusal(data: bytes) -> None:
    try:
        poa = parse_poa(data)
    except InvalidPoaError as exc:
        assert exc.fields  # always says which field
        return
    assert poa.number


@settings(max_examples=100)
@given(st.integers(min_value=0, max_value=600), st.binary(min_size=1, max_size=3))
def test_corrupted_poa_is_read_or_refused_never_crashes(at: int, junk: bytes) -> None:
    xml = poa_xml("7700000001", "1027700000001", encoding="utf-8")
    at = min(at, len(xml))
    try:
        poa = parse_poa(xml[:at] + junk + xml[at:])
    except InvalidPoaError:
        return
    assert poa.number


def _upload(
    client: TestClient, headers: dict[str, str], rid: int, xml: bytes, signature: bytes
) -> Any:
    return client.post(
        f"/api/registers/{rid}/registration/poa",
        json={
            "xml": base64.b64encode(xml).decode(),
            "signature": base64.b64encode(signature).decode(),
        },
        headers=headers,
    )


def test_employee_signs_under_a_poa_the_head_signed(
    client: TestClient,
    mailer: MemoryMailSender,
    engine: Engine,
    clock: SettableClock,
) -> None:
    n = 31
    _fns(client, clock)
    headers = _signed_in(client, mailer, n)
    rid = _register(engine, clock, n)
    inn, ogrn = company_requisites(n)
    head = CA.issue_org(inn=inn, ogrn=ogrn, name=f"ООО «Кассы {n}»")
    employee = _employee()
    url = f"/api/registers/{rid}/registration"
    assert client.put(url, json=FORM, headers=headers).status_code == 200
    content = base64.b64decode(client.get(f"{url}/to-sign", headers=headers).json()["content"])

    def sign_as(who: Issued) -> Any:
        return client.post(
            f"{url}/signature",
            json={"signature": base64.b64encode(who.sign(content, clock.wall())).decode()},
            headers=headers,
        )

    # No МЧД yet: a precise refusal naming the person and what to do.
    refused = sign_as(employee)
    assert refused.status_code == 422
    reason = refused.json()["fields"]["signature"]
    assert "Петрова" in reason and SNILS in reason and "машиночитаемой доверенности" in reason

    xml = poa_xml(inn, ogrn)
    # Signed by the employee, not the head; another principal; expired; no KKT power.
    by_employee = _upload(client, headers, rid, xml, employee.sign(xml, clock.wall()))
    assert by_employee.status_code == 422
    assert "руководитель" in by_employee.json()["fields"]["poa_signature"]
    other = poa_xml("7707083893", ogrn)
    foreign = _upload(client, headers, rid, other, head.sign(other, clock.wall()))
    assert "Доверитель в доверенности: ИНН 7707083893" in foreign.json()["fields"]["poa"]
    old = poa_xml(inn, ogrn, start="01.01.2022", end="31.12.2022")
    expired = _upload(client, headers, rid, old, head.sign(old, clock.wall()))
    assert "действовала по 31.12.2022" in expired.json()["fields"]["poa"]
    narrow = poa_xml(inn, ogrn, power="Подписание счетов-фактур")
    no_power = _upload(client, headers, rid, narrow, head.sign(narrow, clock.wall()))
    assert "контрольно-кассовой техникой" in no_power.json()["fields"]["poa"]
    tampered = _upload(client, headers, rid, xml + b" ", head.sign(xml, clock.wall()))
    assert tampered.status_code == 422
    assert client.get(f"{url}/poa", headers=headers).json() == []

    uploaded = _upload(client, headers, rid, xml, head.sign(xml, clock.wall()))
    assert uploaded.status_code == 201, uploaded.text
    assert uploaded.json()["representative_snils"] == SNILS
    assert [p["number"] for p in client.get(f"{url}/poa", headers=headers).json()] == [
        "МЧД-2024-0001"
    ]
    # Someone else (another СНИЛС) still cannot sign under it.
    stranger = sign_as(_employee(snils="12345678964", person_inn="772807592836"))
    assert stranger.status_code == 422 and "12345678964" in stranger.json()["fields"]["signature"]

    signed = sign_as(employee)
    assert signed.status_code == 200, signed.text
    state = signed.json()
    # The simulator got the МЧД, checked the head's signature and the representative.
    assert state["status"] == "rnm_assigned", state
    assert state["signer_poa"] == "МЧД-2024-0001"
    assert state["certificate"]["inn"] == PERSON_INN

    use_cookie(client, headers)
    page = client.get(f"/registers/{rid}/registration")
    assert "МЧД-2024-0001" in page.text and "подписал сотрудник" in page.text
    assert "с 01.01.2024 по 31.12.2024" in page.text


def test_the_simulator_refuses_an_employee_without_a_poa(
    client: TestClient, clock: SettableClock, tmp_path: Path
) -> None:
    fns = _fns(client, clock)
    inn, ogrn = company_requisites(32)
    content = (
        '{"kind":"registration","user":{"inn":"' + inn + '"},'
        '"kkt":{"model":"Облако-Ф","serial":"1","firmware":"1.0.0"},'
        '"fn":{"model":"ФН-1.2","number":"1"},"address":{"region_code":"77"}}'
    ).encode()
    signature = _employee().sign(content, clock.wall())
    head = CA.issue_org(inn=inn, ogrn=ogrn, name="ООО")
    body = {
        "application": base64.b64encode(content).decode(),
        "signature": base64.b64encode(signature).decode(),
    }
    alone = fns.post("/api/v1/applications", json=body).json()
    assert alone["status"] == "refused"
    assert any("ИНН владельца сертификата" in r for r in alone["reasons"])
    other = poa_xml(inn, ogrn, snils="12345678964", person_inn="772807592836")
    wrong = fns.post(
        "/api/v1/applications",
        json={
            **body,
            "poa": {
                "xml": base64.b64encode(other).decode(),
                "signature": base64.b64encode(head.sign(other, clock.wall())).decode(),
            },
        },
    ).json()
    assert any("подписант не указан представителем" in r for r in wrong["reasons"])


def test_poa_upload_page_refuses_precisely(
    client: TestClient, mailer: MemoryMailSender, engine: Engine, clock: SettableClock
) -> None:
    _fns(client, clock)
    headers = _signed_in(client, mailer, 33)
    rid = _register(engine, clock, 33)
    use_cookie(client, headers)
    page = client.get(f"/registers/{rid}/registration")
    assert "Машиночитаемые доверенности" in page.text
    answer = client.post(
        f"/registers/{rid}/registration/poa",
        data={"csrf_token": csrf_of(page.text)},
        files={"poa": ("poa.xml", b"<a/>", "text/xml")},
    )
    assert answer.status_code == 422 and "Не найдено" in answer.text
