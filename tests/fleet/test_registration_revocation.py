"""Revoked certificates: the test CA issues a CRL, and a signature by a revoked certificate is
refused in Russian while nothing changes; a CRL its CA did not sign proves nothing."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pyasn1.codec.der import encoder
from pyasn1.type import univ, useful
from pyasn1_modules import rfc5280
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from fleet.accounts.mail import MemoryMailSender
from fleet.core.clock import SettableClock
from fleet.registration.config import RegistrationConfig
from fleet.registration.exceptions import InvalidCrlError
from fleet.registration.models import ApplicationStatus, RegistrationApplication
from fleet.registration.revocation import read_crl, read_crls
from oblako.sign import make_test_ca
from protocol.kep import gost
from protocol.kep.cms import build_detached
from protocol.kep.x509 import encode_name, read_certificate
from tests.fleet.oracle import company_requisites
from tests.fleet.test_registration import CA, FORM, _fns, _register, _signed_in


def _time(ts: float) -> Any:
    return useful.UTCTime.fromDateTime(dt.datetime.fromtimestamp(ts, dt.UTC))


def issue_crl(revoked: list[int], at: float, *, key: bytes = CA.key) -> bytes:
    """A v2 CRL in the test CA's name (RFC 5280 §5.1), signed GOST R 34.10-2012 by ``key``."""
    alg = rfc5280.AlgorithmIdentifier()
    alg["algorithm"] = univ.ObjectIdentifier(gost.OID_SIGNATURE_256)
    tbs = rfc5280.TBSCertList()
    tbs["version"] = "v2"
    tbs["signature"] = alg
    tbs["issuer"] = encode_name(CA.subject)
    tbs["thisUpdate"]["utcTime"] = _time(at - 3600)
    tbs["nextUpdate"]["utcTime"] = _time(at + 7 * 86400)
    entries = tbs["revokedCertificates"]
    for serial in revoked:
        entry = entries.getComponentType().clone()
        entry["userCertificate"] = serial
        entry["revocationDate"]["utcTime"] = _time(at - 7200)
        entries.append(entry)
    tbs_der = encoder.encode(tbs)
    crl = rfc5280.CertificateList()
    crl["tbsCertList"] = tbs
    crl["signatureAlgorithm"] = alg
    crl["signature"] = univ.BitString.fromOctetString(
        gost.sign_digest(key, gost.streebog256(tbs_der))
    )
    return bytes(encoder.encode(crl))


def _signer(tmp_path: Path, n: int) -> dict[str, Path]:
    inn, ogrn = company_requisites(n)
    return make_test_ca(tmp_path / f"ca{n}", inn, ogrn, f"ООО «Кассы {n}»")


def _post_signature(
    client: TestClient, headers: dict[str, str], rid: int, files: dict[str, Path], at: float
) -> Any:
    url = f"/api/registers/{rid}/registration"
    assert client.put(url, json=FORM, headers=headers).status_code == 200
    content = base64.b64decode(client.get(f"{url}/to-sign", headers=headers).json()["content"])
    issued_key = bytes.fromhex(files["key"].read_text().strip())
    signature = build_detached(content, files["cert"].read_bytes(), issued_key, at)
    return client.post(
        f"{url}/signature",
        json={"signature": base64.b64encode(signature).decode()},
        headers=headers,
    )


def _with_crls(client: TestClient, *crls: bytes) -> None:
    config = client.app.state.registration  # type: ignore[attr-defined]
    assert isinstance(config, RegistrationConfig)
    client.app.state.registration = dataclasses.replace(  # type: ignore[attr-defined]
        config, crls=tuple(read_crl(c) for c in crls)
    )


def test_a_revoked_signer_is_refused_and_nothing_changes(
    client: TestClient,
    mailer: MemoryMailSender,
    engine: Engine,
    clock: SettableClock,
    tmp_path: Path,
) -> None:
    _fns(client, clock)
    headers = _signed_in(client, mailer, 41)
    rid = _register(engine, clock, 41)
    files = _signer(tmp_path, 41)
    serial = read_certificate(files["cert"].read_bytes()).serial
    _with_crls(client, issue_crl([12345, serial], clock.wall()))
    answer = _post_signature(client, headers, rid, files, clock.wall())
    assert answer.status_code == 422, answer.text
    reason = answer.json()["fields"]["signature"]
    assert "отозван" in reason and "Тестовый УЦ Облако" in reason and f"{serial:x}" in reason
    with Session(engine) as session:
        row = session.exec(
            select(RegistrationApplication).where(RegistrationApplication.register_id == rid)
        ).one()
        assert row.status == ApplicationStatus.DRAFT and row.signature is None


def test_a_crl_its_ca_did_not_sign_or_that_lists_others_changes_nothing(
    client: TestClient,
    mailer: MemoryMailSender,
    engine: Engine,
    clock: SettableClock,
    tmp_path: Path,
) -> None:
    _fns(client, clock)
    headers = _signed_in(client, mailer, 42)
    rid = _register(engine, clock, 42)
    files = _signer(tmp_path, 42)
    serial = read_certificate(files["cert"].read_bytes()).serial
    forged = issue_crl([serial], clock.wall(), key=gost.private_key_from_seed(b"not the CA"))
    _with_crls(client, forged, issue_crl([serial + 1], clock.wall()))
    answer = _post_signature(client, headers, rid, files, clock.wall())
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "rnm_assigned"


def test_crls_are_read_from_der_and_pem_and_garbage_is_refused(tmp_path: Path) -> None:
    one, two = issue_crl([1, 2], 1.7e9), issue_crl([3], 1.7e9)
    (tmp_path / "a.crl").write_bytes(one)
    pem = b"".join(
        b"-----BEGIN X509 CRL-----\n" + base64.encodebytes(der) + b"-----END X509 CRL-----\n"
        for der in (one, two)
    )
    (tmp_path / "b.pem").write_bytes(pem)
    ders = read_crls([str(tmp_path / "a.crl"), str(tmp_path / "b.pem")])
    assert ders == (one, one, two)
    parsed = read_crl(two)
    assert parsed.revoked == frozenset({3}) and parsed.next_update is not None
    assert parsed.signed_by(read_certificate(CA.cert))
    for bad in (b"", b"\x30\x03\x02\x01\x01", one + b"\x00", CA.cert):
        with pytest.raises(InvalidCrlError):
            read_crl(bad)
