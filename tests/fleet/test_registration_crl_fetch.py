"""CRLs fetched from the distribution point the certificate names, over real HTTP.

A local HTTP server plays the CA's CRL publication point. The cache fetches the list once, keeps
it for the refresh interval, fetches it again after, keeps the old one when the server fails,
and refuses signatures in Russian (status unknown) once the list held is older than the
staleness limit, or when no list was ever obtained, or the one served is not the CA's.
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from fleet.accounts.mail import MemoryMailSender
from fleet.core.clock import SettableClock
from fleet.registration.config import RegistrationConfig
from fleet.registration.crl_cache import CrlCache
from fleet.registration.exceptions import CertificateRevokedError, CertificateStatusUnknownError
from fleet.registration.models import ApplicationStatus, RegistrationApplication
from fleet.registration.revocation import check_not_revoked
from protocol.kep import gost
from protocol.kep.verify import VerifiedSignature, verify
from protocol.kep.x509 import read_certificate
from tests.fleet.oracle import company_requisites
from tests.fleet.test_registration import CA, FORM, _fns, _register, _signed_in
from tests.fleet.test_registration_revocation import issue_crl

HOUR = 3600.0


@dataclass
class Point:
    """What the publication point serves, and how often it was asked."""

    body: bytes = b""
    status: int = 200
    hits: int = 0
    url: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)


@pytest.fixture
def point() -> Iterator[Point]:
    served = Point()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            with served.lock:
                served.hits += 1
                status, body = served.status, served.body
            self.send_response(status)
            self.send_header("Content-Type", "application/pkix-crl")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    served.url = f"http://127.0.0.1:{server.server_address[1]}/ca/oblako.crl"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield served
    finally:
        server.shutdown()
        server.server_close()


def _signed(point: Point, at: float, n: int = 61) -> tuple[VerifiedSignature, int]:
    inn, ogrn = company_requisites(n)
    signer = CA.issue_org(inn=inn, ogrn=ogrn, name=f"ООО «Кассы {n}»", crl_urls=(point.url,))
    content = b"application"
    verified = verify(signer.sign(content, at), content, [CA.cert], at)
    assert verified.certificate.crl_urls == (point.url,)
    return verified, read_certificate(signer.cert).serial


def test_the_list_is_fetched_once_kept_refreshed_and_its_revocations_refuse(
    point: Point,
) -> None:
    at = 1.7e9
    verified, serial = _signed(point, at)
    point.body = issue_crl([], at)
    cache = CrlCache(refresh_s=HOUR, stale_s=2 * HOUR, retry_s=60)
    check_not_revoked(verified, cache.crls_for(verified, at))
    check_not_revoked(verified, cache.crls_for(verified, at + 600))
    assert point.hits == 1  # kept within the refresh interval

    point.body = issue_crl([serial], at + 900)
    check_not_revoked(verified, cache.crls_for(verified, at + 1200))  # not refreshed yet
    assert point.hits == 1
    with pytest.raises(CertificateRevokedError) as revoked:
        check_not_revoked(verified, cache.crls_for(verified, at + HOUR))
    assert point.hits == 2 and "отозван" in revoked.value.fields["signature"]

    # the point fails: the list held still counts until it is older than the limit
    point.status = 500
    with pytest.raises(CertificateRevokedError):
        check_not_revoked(verified, cache.crls_for(verified, at + 2 * HOUR + 1))
    assert point.hits == 3
    cache.crls_for(verified, at + 2 * HOUR + 30)
    assert point.hits == 3  # a failed fetch is retried after retry_s, not on every signature
    with pytest.raises(CertificateStatusUnknownError) as stale:
        cache.crls_for(verified, at + 3 * HOUR + 61)
    reason = stale.value.fields["signature"]
    assert "Не удалось проверить, не отозван ли сертификат «ООО «Кассы 61»»" in reason
    assert "обновлён последний раз 14.11.2023 23:13 UTC" in reason
    assert "не старше 2 ч" in reason and point.url in reason and "500" in reason

    # back up: fetched again, and the status is known again
    point.status = 200
    with pytest.raises(CertificateRevokedError):
        check_not_revoked(verified, cache.crls_for(verified, at + 3 * HOUR + 200))


def test_no_list_ever_or_a_list_the_ca_did_not_sign_is_status_unknown(point: Point) -> None:
    at = 1.7e9
    verified, _serial = _signed(point, at)
    point.status = 404
    cache = CrlCache(refresh_s=HOUR, stale_s=HOUR)
    with pytest.raises(CertificateStatusUnknownError) as never:
        cache.crls_for(verified, at, field="poa_signature")
    assert "ни разу не получен" in never.value.fields["poa_signature"]

    point.status = 200
    point.body = issue_crl([], at, key=gost.private_key_from_seed(b"not the CA"))
    other = CrlCache(refresh_s=HOUR, stale_s=HOUR, retry_s=0)
    with pytest.raises(CertificateStatusUnknownError) as forged:
        other.crls_for(verified, at)
    assert "не подписан удостоверяющим центром" in forged.value.fields["signature"]
    point.body = b"not a CRL"
    with pytest.raises(CertificateStatusUnknownError):
        other.crls_for(verified, at + 1)


def test_the_cabinet_refuses_a_signature_whose_status_is_unknown_and_changes_nothing(
    client: TestClient,
    mailer: MemoryMailSender,
    engine: Engine,
    clock: SettableClock,
    point: Point,
) -> None:
    _fns(client, clock)
    headers = _signed_in(client, mailer, 62)
    rid = _register(engine, clock, 62)
    config = client.app.state.registration  # type: ignore[attr-defined]
    assert isinstance(config, RegistrationConfig)
    client.app.state.registration = RegistrationConfig(  # type: ignore[attr-defined]
        trusted_roots=config.trusted_roots,
        gateway=config.gateway,
        crls=CrlCache(refresh_s=HOUR, stale_s=HOUR, retry_s=0),
    )
    url = f"/api/registers/{rid}/registration"
    assert client.put(url, json=FORM, headers=headers).status_code == 200
    content = base64.b64decode(client.get(f"{url}/to-sign", headers=headers).json()["content"])
    inn, ogrn = company_requisites(62)
    signer = CA.issue_org(inn=inn, ogrn=ogrn, name="ООО «Кассы 62»", crl_urls=(point.url,))
    body = {"signature": base64.b64encode(signer.sign(content, clock.wall())).decode()}

    point.status = 503
    refused = client.post(f"{url}/signature", json=body, headers=headers)
    assert refused.status_code == 422, refused.text
    assert "Не удалось проверить" in refused.json()["fields"]["signature"]
    with Session(engine) as session:
        row = session.exec(
            select(RegistrationApplication).where(RegistrationApplication.register_id == rid)
        ).one()
        assert row.status == ApplicationStatus.DRAFT and row.signature is None

    point.status = 200
    point.body = issue_crl([read_certificate(signer.cert).serial], clock.wall())
    revoked = client.post(f"{url}/signature", json=body, headers=headers)
    assert revoked.status_code == 422 and "отозван" in revoked.json()["fields"]["signature"]
    point.body = issue_crl([], clock.wall() + 1)
    cache = client.app.state.registration.crls  # type: ignore[attr-defined]
    cache.refresh_s = 0.001  # the CA published a new list: the next signature fetches it
    clock.advance(1)
    accepted = client.post(f"{url}/signature", json=body, headers=headers)
    assert accepted.status_code == 200, accepted.text
