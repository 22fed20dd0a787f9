"""The FNS simulator: signature and field checks, RNMs with valid check digits, the card."""

from __future__ import annotations

import base64
import json
from typing import Any

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protocol.kep.testca import TestCa
from protocol.rnm import verify_rnm
from simulator.fns import create_app

INN, OGRN = "7702203276", "1027700132195"
CA = TestCa()
SIGNER = CA.issue_org(inn=INN, ogrn=OGRN, name="ООО «Ромашка»")
NOW = 1_705_303_800.0


def _application(serial: str = "0001234500000001", **kkt: str) -> bytes:
    doc: dict[str, Any] = {
        "format": "oblako.knd1110061.v1",
        "user": {"inn": INN, "ogrn": OGRN, "name": "ООО «Ромашка»"},
        "kkt": {"model": "Облако-Ф", "serial": serial, "firmware": "1.0.0", **kkt},
        "fn": {"model": "ФН-1.2", "number": "9999078900001234"},
        "ofd": {"inn": "7704211201", "name": "ОФД"},
        "address": {"region_code": "77", "text": "101000, г. Москва"},
    }
    return json.dumps(doc, ensure_ascii=False, sort_keys=True).encode()


def _client(now: list[float] | None = None, **kwargs: Any) -> TestClient:
    clock = now or [NOW]
    app = create_app(
        [CA.cert], ["Облако-Ф"], {"Облако-Ф": ["1.0.0"]}, clock=lambda: clock[0], **kwargs
    )
    return TestClient(app)


def _submit(client: TestClient, content: bytes, signature: bytes | None = None) -> Any:
    sig = SIGNER.sign(content, NOW) if signature is None else signature
    return client.post(
        "/api/v1/applications",
        json={
            "application": base64.b64encode(content).decode(),
            "signature": base64.b64encode(sig).decode(),
        },
    )


def test_accepts_and_assigns_a_verifiable_rnm_then_issues_the_card() -> None:
    client = _client()
    answer = _submit(client, _application()).json()
    assert answer["status"] == "rnm_assigned"
    assert verify_rnm(answer["rnm"], INN, "0001234500000001")
    report = {"fd_number": 1, "fiscal_sign": "1234567890", "date": "2024-01-15T10:30"}
    done = client.post(f"/api/v1/applications/{answer['id']}/report", json=report).json()
    assert done["status"] == "registered"
    assert done["card"]["Регистрационный номер ККТ"] == answer["rnm"]
    card = client.get(f"/api/v1/applications/{answer['id']}/card.html")
    assert card.status_code == 200 and "Карточка регистрации ККТ" in card.text


def test_refuses_bad_signature_unknown_model_and_uncertified_firmware() -> None:
    client = _client()
    content = _application()
    tampered = _submit(client, content, SIGNER.sign(content + b"x", NOW)).json()
    assert tampered["status"] == "refused"
    assert "квалифицированной электронной подписью" in tampered["reasons"][0]
    model = _submit(client, _application(model="Другая")).json()
    assert model["status"] == "refused" and "реестре" in model["reasons"][0]
    firmware = _submit(client, _application(firmware="0.9")).json()
    assert firmware["status"] == "refused" and "1188" in firmware["reasons"][0]


def test_signer_must_be_the_user() -> None:
    client = _client()
    other = CA.issue_org(inn="7707083893", ogrn="1027700132195", name="Чужая")
    content = _application()
    answer = _submit(client, content, other.sign(content, NOW)).json()
    assert answer["status"] == "refused"
    assert any("не совпадает" in r for r in answer["reasons"])


def test_delay_and_configured_refusals() -> None:
    now = [NOW]
    client = _client(now, delay_s=3600, refusals={"*": ["Адрес не найден в ГАР"]})
    answer = _submit(client, _application()).json()
    assert answer["status"] == "processing" and answer["reasons"] == []
    now[0] += 3601
    later = client.get(f"/api/v1/applications/{answer['id']}").json()
    assert later["status"] == "refused" and later["reasons"] == ["Адрес не найден в ГАР"]


def test_report_before_rnm_is_refused() -> None:
    now = [NOW]
    client = _client(now, delay_s=60)
    answer = _submit(client, _application()).json()
    report = {"fd_number": 1, "fiscal_sign": "1", "date": "2024-01-15T10:30"}
    assert (
        client.post(f"/api/v1/applications/{answer['id']}/report", json=report).status_code == 409
    )


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.from_regex(r"\A[0-9]{1,20}\Z"))
def test_every_rnm_the_simulator_assigns_verifies(serial: str) -> None:
    client = _client()
    answer = _submit(client, _application(serial=serial)).json()
    assert answer["status"] == "rnm_assigned"
    assert verify_rnm(answer["rnm"], INN, serial)
