"""Certificate status by OCSP over real HTTP: the test CA's responder (simulator/ca) and the
fleet's verifier (fleet/registration/ocsp.py), with the CRL as fallback.

The test CA revokes a certificate → the cabinet refuses the signed application with the
revocation time; good → accepted, and the page says which responder answered when; responder
down → the CRL decides; both down → refused; a tampered, replayed, stale or foreign answer is
never taken for a good one.
"""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from typer.testing import CliRunner

from fleet.accounts.mail import MemoryMailSender
from fleet.core.clock import SettableClock
from fleet.registration.config import RegistrationConfig
from fleet.registration.crl_cache import CrlCache
from fleet.registration.exceptions import (
    CertificateRevokedError,
    CertificateStatusUnknownError,
    CertificateUnknownToCaError,
)
from fleet.registration.models import ApplicationStatus, RegistrationApplication
from fleet.registration.ocsp import (
    BadResponseSignatureError,
    CertIdMismatchError,
    MalformedAnswerError,
    NonceMismatchError,
    OcspClient,
    ResponderRefusedError,
    ResponderUnreachableError,
    RevocationChecker,
    StaleAnswerError,
)
from oblako.cli import app as cli
from protocol.kep import ocsp
from protocol.kep.testca import Issued, TestCa
from protocol.kep.verify import VerifiedSignature, verify
from protocol.kep.x509 import read_certificate
from simulator.broker import free_port
from simulator.ca import CaServer, OcspFaults, OcspResponder
from tests.fleet.oracle import company_requisites
from tests.fleet.test_billing_kit import use_cookie
from tests.fleet.test_registration import CA, FORM, _fns, _register, _signed_in

HOUR = 3600.0


@pytest.fixture
def responder(clock: SettableClock) -> OcspResponder:
    return OcspResponder(ca=CA, clock=clock.wall, next_update_s=600.0)


@pytest.fixture
def server(responder: OcspResponder) -> Iterator[CaServer]:
    running = CaServer(responder).start()
    yield running
    running.stop()


@pytest.fixture
def crl_server(responder: OcspResponder) -> Iterator[CaServer]:
    """The same CA's CRL published by another server, so one can go down without the other."""
    running = CaServer(responder).start()
    yield running
    running.stop()


def _issue(n: int, *, ocsp_urls: tuple[str, ...] = (), crl_urls: tuple[str, ...] = ()) -> Issued:
    inn, ogrn = company_requisites(n)
    return CA.issue_org(
        inn=inn, ogrn=ogrn, name=f"ООО «Кассы {n}»", ocsp_urls=ocsp_urls, crl_urls=crl_urls
    )


def _verified(signer: Issued, at: float) -> VerifiedSignature:
    return verify(signer.sign(b"application", at), b"application", [CA.cert], at)


def _serial(signer: Issued) -> int:
    return read_certificate(signer.cert).serial


def _checker(**ocsp_options: Any) -> RevocationChecker:
    return RevocationChecker(
        ocsp_client=OcspClient(**ocsp_options),
        crls=CrlCache(refresh_s=HOUR, stale_s=HOUR, retry_s=0),
    )


# -- the verifier against the responder ----------------------------------------------------


def test_a_good_answer_is_checked_cached_until_next_update_and_reported(
    server: CaServer, responder: OcspResponder, clock: SettableClock
) -> None:
    now = clock.wall()
    signer = _issue(81, ocsp_urls=(server.ocsp_url,))
    checker = _checker()
    report = checker.check(_verified(signer, now), now)
    assert responder.requests == 1
    assert report.lines == (
        f"«ООО «Кассы 81»»: не отозван — ответ службы OCSP {server.ocsp_url} от "
        "15.01.2024 07:30:00 UTC, подписал «Тестовый УЦ Облако»",
    )
    cached = checker.check(_verified(signer, now + 300), now + 300)
    assert responder.requests == 1  # within nextUpdate: no new request
    assert "сохранённый ответ, действует до 15.01.2024 07:40:00 UTC" in cached.text
    responder.revoke(_serial(signer), at=now + 400, reason=1)
    with pytest.raises(CertificateRevokedError) as revoked:
        checker.check(_verified(signer, now + 601), now + 601)
    assert responder.requests == 2  # past nextUpdate: asked again, and now it is revoked
    reason = revoked.value.fields["signature"]
    assert "отозван удостоверяющим центром «Тестовый УЦ Облако» 15.01.2024 07:36:40 UTC" in reason
    assert "(компрометация ключа)" in reason and "63-ФЗ ст. 11 п. 2" in reason


def test_a_signature_made_before_the_revocation_is_still_refused(
    server: CaServer, responder: OcspResponder, clock: SettableClock
) -> None:
    signed_at = clock.wall()
    signer = _issue(82, ocsp_urls=(server.ocsp_url,))
    detached = signer.sign(b"application", signed_at)  # signingTime before the revocation
    responder.revoke(_serial(signer), at=signed_at + 60)
    clock.advance(120)
    verified = verify(detached, b"application", [CA.cert], clock.wall())
    assert verified.signing_time == signed_at
    with pytest.raises(CertificateRevokedError):
        _checker().check(verified, clock.wall(), field="poa_signature")


@pytest.mark.parametrize(
    ("faults", "options", "error", "words"),
    [
        (OcspFaults(http_status=503), {}, ResponderUnreachableError, "ответила HTTP 503"),
        (OcspFaults(body=b"<html>"), {}, MalformedAnswerError, "прислала не ответ OCSP"),
        (OcspFaults(ocsp_error="tryLater"), {}, ResponderRefusedError, "(tryLater)"),
        (OcspFaults(tamper=True), {}, BadResponseSignatureError, "ответ изменён"),
        (OcspFaults(wrong_nonce=True), {}, NonceMismatchError, "не совпадает с запросом"),
        (OcspFaults(drop_nonce=True), {}, NonceMismatchError, "без nonce"),
        (OcspFaults(age_s=900), {"skew_s": 60}, StaleAnswerError, "устарел: он действовал до"),
        (OcspFaults(age_s=-900), {"skew_s": 60}, StaleAnswerError, "датирован будущим"),
        (OcspFaults(wrong_serial=True), {}, CertIdMismatchError, "CertID не совпадает"),
    ],
)
def test_an_answer_that_cannot_be_trusted_is_a_precise_error(
    server: CaServer,
    responder: OcspResponder,
    clock: SettableClock,
    faults: OcspFaults,
    options: dict[str, Any],
    error: type[Exception],
    words: str,
) -> None:
    responder.faults = faults
    signer = _issue(83, ocsp_urls=(server.ocsp_url,))
    cert, issuer = read_certificate(signer.cert), CA.info
    with pytest.raises(error) as caught:
        OcspClient(**options).query(cert, issuer, clock.wall())
    assert words in str(caught.value) and server.ocsp_url in str(caught.value)
    # and the signature is refused with that reason when there is no CRL to fall back on
    with pytest.raises(CertificateStatusUnknownError) as refused:
        _checker(**options).check(_verified(signer, clock.wall()), clock.wall())
    assert words in refused.value.fields["signature"]


def test_without_a_nonce_an_answer_counts_only_when_nonces_are_not_required(
    server: CaServer, responder: OcspResponder, clock: SettableClock
) -> None:
    responder.faults = OcspFaults(drop_nonce=True)
    signer = _issue(84, ocsp_urls=(server.ocsp_url,))
    answer = OcspClient(require_nonce=False).query(
        read_certificate(signer.cert), CA.info, clock.wall()
    )
    assert answer.status == ocsp.GOOD and answer.next_update == clock.wall() + 600


def test_a_tampered_answer_is_refused_and_the_crl_then_decides(
    server: CaServer, crl_server: CaServer, responder: OcspResponder, clock: SettableClock
) -> None:
    signer = _issue(85, ocsp_urls=(server.ocsp_url,), crl_urls=(crl_server.crl_url,))
    responder.revoke(_serial(signer))
    responder.faults = OcspFaults(tamper=True)  # "revoked" turned into "good" on the way
    with pytest.raises(CertificateRevokedError) as revoked:
        _checker().check(_verified(signer, clock.wall()), clock.wall())
    assert "он в списке отзыва от 15.01.2024" in revoked.value.fields["signature"]


def test_a_delegated_responder_is_accepted_and_a_foreign_one_refused(
    clock: SettableClock,
) -> None:
    delegated = CaServer(OcspResponder(ca=CA, clock=clock.wall, delegated=True)).start()
    # another CA of the same name (a forged one) with its own "OCSP responder"
    forged = CaServer(
        OcspResponder(ca=TestCa("forged-ca"), clock=clock.wall, delegated=True)
    ).start()
    try:
        signer = _issue(86, ocsp_urls=(delegated.ocsp_url,))
        report = _checker().check(_verified(signer, clock.wall()), clock.wall())
        assert "подписал «OCSP-служба тестового УЦ»" in report.text
        with pytest.raises(BadResponseSignatureError) as foreign:
            OcspClient(url=forged.ocsp_url).query(
                read_certificate(signer.cert), CA.info, clock.wall()
            )
        assert "который выдал не удостоверяющий центр «Тестовый УЦ Облако»" in str(foreign.value)
    finally:
        delegated.stop()
        forged.stop()


def test_a_responder_certificate_without_ocsp_signing_is_refused(clock: SettableClock) -> None:
    """A certificate the CA issued for something else (a user's) cannot vouch for others."""
    signer = _issue(87, ocsp_urls=("http://ocsp.test/ocsp",))
    impostor = _issue(88)
    impostor_cert = read_certificate(impostor.cert)

    def answer(request: httpx.Request) -> httpx.Response:
        asked = ocsp.parse_request(request.content)
        body = ocsp.build_response(
            [ocsp.SingleResponse(asked.cert_ids[0], ocsp.GOOD, clock.wall(), clock.wall() + 60)],
            responder=impostor_cert,
            responder_key=impostor.key,
            produced_at=clock.wall(),
            nonce=asked.nonce,
            include_certificate=True,
        )
        return httpx.Response(200, content=body)

    http = httpx.Client(transport=httpx.MockTransport(answer))
    with pytest.raises(BadResponseSignatureError) as caught:
        OcspClient(client=http).query(read_certificate(signer.cert), CA.info, clock.wall())
    assert "не предназначен для ответов OCSP" in str(caught.value)


def test_unknown_to_the_ca_is_refused_even_with_a_clean_crl(
    server: CaServer, crl_server: CaServer, responder: OcspResponder, clock: SettableClock
) -> None:
    responder.issued = set()  # the CA has no record of it
    signer = _issue(89, ocsp_urls=(server.ocsp_url,), crl_urls=(crl_server.crl_url,))
    with pytest.raises(CertificateUnknownToCaError) as unknown:
        _checker().check(_verified(signer, clock.wall()), clock.wall())
    assert "не знает сертификат «ООО «Кассы 89»»" in unknown.value.fields["signature"]


def test_the_configured_responder_overrides_the_aia_and_no_source_is_refused(
    server: CaServer, clock: SettableClock
) -> None:
    bare = _issue(90)  # names neither a responder nor a list
    verified = _verified(bare, clock.wall())
    report = _checker(url=server.ocsp_url).check(verified, clock.wall())
    assert server.ocsp_url in report.text
    with pytest.raises(CertificateStatusUnknownError) as unchecked:
        _checker().check(verified, clock.wall())
    assert "ни служба OCSP, ни список отзыва" in unchecked.value.fields["signature"]
    lenient = RevocationChecker(ocsp_client=OcspClient(), require_status=False)
    assert "не проверялся" in lenient.check(verified, clock.wall()).text


def test_the_responder_speaks_get_refuses_other_content_types_and_lists_revocations(
    server: CaServer, responder: OcspResponder
) -> None:
    signer = _issue(91)
    cert_id = ocsp.CertId.of(read_certificate(signer.cert), CA.info)
    request = ocsp.build_request([cert_id], b"n" * 8)
    with httpx.Client(base_url=server.url) as http:
        got = http.get("/ocsp/" + base64.b64encode(request).decode())
        assert got.headers["content-type"] == "application/ocsp-response"
        assert ocsp.parse_response(got.content).find(cert_id) is not None
        assert http.post("/ocsp", content=request).status_code == 415
        garbage = http.post(
            "/ocsp", content=b"junk", headers={"Content-Type": "application/ocsp-request"}
        )
        assert ocsp.parse_response(garbage.content).status == "malformedRequest"
        revoked = http.post(
            "/api/v1/revocations",
            json={"certificate": base64.b64encode(signer.cert).decode(), "reason": 4},
        )
        assert revoked.status_code == 200 and revoked.json()["serial"] == f"{cert_id.serial:x}"
        assert http.post("/api/v1/revocations", json={"serial": "zz"}).status_code == 422
        listed = http.get("/api/v1/revocations").json()
    assert listed[f"{cert_id.serial:x}"]["reason"] == 4
    assert cert_id.serial in responder.revoked()


def test_oblako_sign_revokes_for_a_responder_serving_the_ca_dir(
    tmp_path: Path, clock: SettableClock
) -> None:
    inn, ogrn = company_requisites(92)
    made = CliRunner().invoke(
        cli,
        [
            "sign",
            "-",
            "--make-test-ca",
            str(tmp_path),
            "--inn",
            inn,
            "--ogrn",
            ogrn,
            "--ocsp-url",
            "http://127.0.0.1:8400/ocsp",
        ],
    )
    assert made.exit_code == 0, made.output
    cert = read_certificate((tmp_path / "signer.cer").read_bytes())
    assert cert.ocsp_urls == ("http://127.0.0.1:8400/ocsp",)
    responder = OcspResponder(ca=CA, clock=clock.wall, store=tmp_path / "revoked.json")
    cert_id = ocsp.CertId.of(cert, CA.info)
    asked = ocsp.build_request([cert_id])
    assert ocsp.parse_response(responder.answer(asked)).responses[0].status == ocsp.GOOD
    revoked = CliRunner().invoke(
        cli, ["sign", str(tmp_path / "signer.cer"), "--revoke-in", str(tmp_path), "--reason", "1"]
    )
    assert revoked.exit_code == 0, revoked.output
    assert f"сертификат {cert.serial:x} отозван" in revoked.output
    single = ocsp.parse_response(responder.answer(asked)).responses[0]
    assert single.status == ocsp.REVOKED and single.reason == 1


# -- the cabinet ---------------------------------------------------------------------------


def _use(client: TestClient, checker: RevocationChecker) -> None:
    config = client.app.state.registration  # type: ignore[attr-defined]
    assert isinstance(config, RegistrationConfig)
    client.app.state.registration = dataclasses.replace(config, crls=checker)  # type: ignore[attr-defined]


def _submit(
    client: TestClient,
    mailer: MemoryMailSender,
    engine: Engine,
    clock: SettableClock,
    n: int,
    signer_for: Any,
) -> tuple[int, dict[str, str], httpx.Response]:
    headers = _signed_in(client, mailer, n)
    rid = _register(engine, clock, n, serial=f"00012345000001{n:02d}")
    url = f"/api/registers/{rid}/registration"
    assert client.put(url, json=FORM, headers=headers).status_code == 200
    content = base64.b64decode(client.get(f"{url}/to-sign", headers=headers).json()["content"])
    signer: Issued = signer_for(n)
    body = {"signature": base64.b64encode(signer.sign(content, clock.wall())).decode()}
    return rid, headers, client.post(f"{url}/signature", json=body, headers=headers)


def _unsigned(engine: Engine, rid: int) -> None:
    with Session(engine) as session:
        row = session.exec(
            select(RegistrationApplication).where(RegistrationApplication.register_id == rid)
        ).one()
        assert row.status == ApplicationStatus.DRAFT and row.signature is None


def test_the_cabinet_accepts_a_good_certificate_and_refuses_one_the_ca_revoked(
    client: TestClient,
    mailer: MemoryMailSender,
    engine: Engine,
    clock: SettableClock,
    server: CaServer,
) -> None:
    _fns(client, clock)
    _use(client, _checker())

    def good(n: int) -> Issued:
        return _issue(n, ocsp_urls=(server.ocsp_url,))

    rid, headers, accepted = _submit(client, mailer, engine, clock, 93, good)
    assert accepted.status_code == 200, accepted.text
    status_check = accepted.json()["certificate"]["status_check"]
    assert f"ответ службы OCSP {server.ocsp_url} от 15.01.2024 07:30:00 UTC" in status_check
    use_cookie(client, headers)
    page = client.get(f"/registers/{rid}/registration")
    assert "Проверка отзыва" in page.text and server.ocsp_url in page.text

    def revoked(n: int) -> Issued:
        signer = good(n)
        with httpx.Client(base_url=server.url) as http:
            answer = http.post(
                "/api/v1/revocations", json={"certificate": base64.b64encode(signer.cert).decode()}
            )
            assert answer.status_code == 200
        return signer

    rid, _headers, refused = _submit(client, mailer, engine, clock, 94, revoked)
    assert refused.status_code == 422, refused.text
    reason = refused.json()["fields"]["signature"]
    assert "отозван удостоверяющим центром «Тестовый УЦ Облако» 15.01.2024 07:30:00 UTC" in reason
    _unsigned(engine, rid)


def test_the_cabinet_falls_back_to_the_crl_and_refuses_when_neither_answers(
    client: TestClient,
    mailer: MemoryMailSender,
    engine: Engine,
    clock: SettableClock,
    server: CaServer,
    crl_server: CaServer,
) -> None:
    _fns(client, clock)
    _use(client, _checker(timeout_s=2.0))
    dead = f"http://127.0.0.1:{free_port()}/ocsp"  # nothing listens there

    def down(n: int) -> Issued:
        # a list of its own per certificate: the one fetched for 95 is not held for 96
        return _issue(n, ocsp_urls=(dead,), crl_urls=(f"{crl_server.crl_url}?n={n}",))

    _rid, _headers, accepted = _submit(client, mailer, engine, clock, 95, down)
    assert accepted.status_code == 200, accepted.text
    status_check = accepted.json()["certificate"]["status_check"]
    assert "не отозван — список отзыва «Тестовый УЦ Облако» от 15.01.2024 07:30:00 UTC" in (
        status_check
    )
    assert f"служба OCSP не ответила: служба OCSP {dead} недоступна" in status_check

    crl_server.stop()  # now neither answers

    rid, _headers, refused = _submit(client, mailer, engine, clock, 96, down)
    assert refused.status_code == 422, refused.text
    reason = refused.json()["fields"]["signature"]
    assert reason.startswith("Не удалось проверить, не отозван ли сертификат «ООО «Кассы 96»»")
    assert f"служба OCSP {dead} недоступна" in reason
    assert "список отзыва ни разу не получен (допустимо не старше 1 ч) с адреса " in reason
    assert f"{crl_server.crl_url}?n=96" in reason
    _unsigned(engine, rid)
