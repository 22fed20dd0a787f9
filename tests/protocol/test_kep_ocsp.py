"""OCSP codec (RFC 6960) with GOST: requests and signed answers round-trip, bytes pinned against
OpenSSL, and garbage or mutated DER gives `MalformedOcsp`, never a crash."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protocol.kep import gost, ocsp
from protocol.kep.ocsp import CertId, MalformedOcsp, SingleResponse
from protocol.kep.testca import Issued, TestCa
from protocol.kep.x509 import OID_KP_OCSP_SIGNING, CertInfo, read_certificate

AT = 1_705_303_800.0  # 2024-01-15
CA = TestCa()
SIGNER = CA.issue_org(
    inn="7702203276",
    ogrn="1027700132195",
    name="ООО «Ромашка»",
    ocsp_urls=("http://ocsp.example/ocsp",),
    crl_urls=("http://ocsp.example/crl",),
)
CERT = read_certificate(SIGNER.cert)
NONCE = bytes(range(16))

# `openssl ocsp -issuer ca.pem -serial 0x767008AD5F4B744D -no_nonce -reqout req.der` (OpenSSL
# 3.0, SHA-1 CertID) for the test CA's root: an independent encoder of the same request.
OPENSSL_SHA1_REQUEST = bytes.fromhex(
    "30493047304530433041300906052b0e03021a05000414fbbcef279b674eeb6ed5f59c6c32b728dce40e39"
    "0414be57b685deaff4c5bc6807102ff4c5ee95eafa2a0208767008ad5f4b744d"
)


def test_the_certificate_names_its_responder_and_the_issuer_key_bits_are_the_octet_string() -> None:
    assert CERT.ocsp_urls == ("http://ocsp.example/ocsp",)
    assert CERT.crl_urls == ("http://ocsp.example/crl",)
    # RFC 6960 §4.1.1: the key hash covers the BIT STRING's value: for GOST, 04 40 X‖Y
    assert CA.info.public_key_bits == b"\x04\x40" + CA.info.public_key
    responder = read_certificate(CA.issue_ocsp_responder().cert)
    assert responder.extended_key_usage == (OID_KP_OCSP_SIGNING,)
    assert CERT.extended_key_usage == ()


def test_a_sha1_request_is_byte_for_byte_what_openssl_makes() -> None:
    cert_id = CertId.for_issuer(CA.info, 0x767008AD5F4B744D, ocsp.OID_SHA1)
    assert ocsp.build_request([cert_id]) == OPENSSL_SHA1_REQUEST
    parsed = ocsp.parse_request(OPENSSL_SHA1_REQUEST)
    assert parsed.cert_ids == (cert_id,) and parsed.nonce is None


def test_a_gost_request_round_trips_with_its_nonce() -> None:
    cert_id = CertId.of(CERT, CA.info)
    assert cert_id.hash_algorithm == gost.OID_DIGEST_256
    assert cert_id.issuer_name_hash == gost.streebog256(CA.info.subject_der)
    assert cert_id.issuer_key_hash == gost.streebog256(b"\x04\x40" + CA.info.public_key)
    der = ocsp.build_request([cert_id], NONCE)
    # RFC 8954: the nonce is an OCTET STRING inside extnValue (04 10 …)
    assert bytes.fromhex("0412" + "0410") + NONCE in der
    assert ocsp.parse_request(der) == ocsp.OcspRequest((cert_id,), NONCE)
    with pytest.raises(ValueError):
        ocsp.build_request([cert_id], b"")  # RFC 8954: 1..32 octets
    with pytest.raises(ValueError):
        ocsp.build_request([cert_id], bytes(33))


def _answer(
    singles: list[SingleResponse],
    signer: CertInfo = CA.info,
    key: bytes = CA.key,
    **kwargs: object,
) -> bytes:
    return ocsp.build_response(
        singles,
        responder=signer,
        responder_key=key,
        produced_at=AT,
        **kwargs,  # type: ignore[arg-type]
    )


def test_answers_round_trip_signed_by_the_ca_or_its_delegated_responder() -> None:
    cert_id = CertId.of(CERT, CA.info)
    good = SingleResponse(cert_id, ocsp.GOOD, AT - 60, AT + 600)
    revoked = SingleResponse(cert_id, ocsp.REVOKED, AT - 60, None, revoked_at=AT - 3600, reason=1)
    other = CertId.for_issuer(CA.info, CERT.serial + 1)
    unknown = SingleResponse(other, ocsp.UNKNOWN, AT - 60, AT + 600)

    by_ca = ocsp.parse_response(_answer([good, revoked, unknown], nonce=NONCE))
    assert by_ca.status == "successful" and by_ca.nonce == NONCE
    assert by_ca.responses == (good, revoked, unknown)
    assert by_ca.find(cert_id) == good and by_ca.find(other) == unknown
    assert by_ca.produced_at == AT and by_ca.certificates == ()
    assert by_ca.names(CA.info) and by_ca.signed_by(CA.info)

    delegated: Issued = CA.issue_ocsp_responder()
    responder = read_certificate(delegated.cert)
    der = _answer([good], responder, delegated.key, by_key=True, include_certificate=True)
    by_responder = ocsp.parse_response(der)
    assert by_responder.certificates == (delegated.cert,)
    assert by_responder.names(responder) and not by_responder.names(CA.info)
    assert by_responder.signed_by(responder) and not by_responder.signed_by(CA.info)
    # deterministic signatures: the same answer is the same bytes (golden round trip)
    assert der == _answer([good], responder, delegated.key, by_key=True, include_certificate=True)
    assert gost.streebog256(der) == gost.streebog256(
        _answer([good], responder, delegated.key, by_key=True, include_certificate=True)
    )


def test_a_changed_answer_no_longer_verifies() -> None:
    cert_id = CertId.of(CERT, CA.info)
    der = _answer([SingleResponse(cert_id, ocsp.REVOKED, AT, revoked_at=AT - 10)])
    parsed = ocsp.parse_response(der)
    assert parsed.signed_by(CA.info)
    # RevokedInfo ([1], 17 octets): the revocation time, a GeneralizedTime of 15
    revoked_info = der.find(b"\xa1\x11\x18\x0f")
    assert revoked_info > 0
    tampered = bytearray(der)
    tampered[revoked_info + 4 + 3] ^= 0x01  # the year's last digit: 2024 → 2025
    changed = ocsp.parse_response(bytes(tampered))
    assert changed.responses[0].revoked_at != parsed.responses[0].revoked_at
    assert not changed.signed_by(CA.info)


def test_error_statuses_have_no_body() -> None:
    for status in ("malformedRequest", "internalError", "tryLater", "sigRequired", "unauthorized"):
        assert ocsp.parse_response(ocsp.build_error_response(status)) == ocsp.OcspResponse(status)
    with pytest.raises(ValueError):
        ocsp.build_error_response("successful")


@pytest.mark.parametrize(
    "der",
    [
        b"",
        b"\x30\x00",
        b"\x30\x03\x0a\x01\x04",  # responseStatus 4 is not used
        b"\x30\x03\x0a\x01\x00",  # successful without responseBytes
        bytes.fromhex("3003020100"),  # an INTEGER where the ENUMERATED goes
        OPENSSL_SHA1_REQUEST,  # a request is not an answer
    ],
)
def test_malformed_answers_are_typed_errors(der: bytes) -> None:
    with pytest.raises(MalformedOcsp):
        ocsp.parse_response(der)


def test_malformed_requests_are_typed_errors() -> None:
    for der in (b"", b"\x30\x00", b"\x30\x04\x30\x02\x30\x00", OPENSSL_SHA1_REQUEST + b"\x00"):
        with pytest.raises(MalformedOcsp):
            ocsp.parse_request(der)


_GOOD_ANSWER = _answer(
    [SingleResponse(CertId.of(CERT, CA.info), ocsp.GOOD, AT, AT + 600)], nonce=NONCE
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=400))
def test_random_bytes_never_crash_the_readers(raw: bytes) -> None:
    for read in (ocsp.parse_request, ocsp.parse_response):
        with contextlib.suppress(MalformedOcsp):
            read(raw)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_answers_and_requests_parse_or_fail_typed(data: st.DataObject) -> None:
    source = data.draw(
        st.sampled_from([_GOOD_ANSWER, ocsp.build_request([CertId.of(CERT, CA.info)], NONCE)])
    )
    raw = bytearray(source)
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(raw) - 1))
        raw[at] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(1, len(raw)))
    for read in (ocsp.parse_request, ocsp.parse_response):
        with contextlib.suppress(MalformedOcsp):
            parsed = read(bytes(raw[:cut]))
            if isinstance(parsed, ocsp.OcspResponse) and parsed.status == "successful":
                # whatever parsed is checkable: verifying never raises either
                parsed.signed_by(CA.info)
                parsed.names(CA.info)
