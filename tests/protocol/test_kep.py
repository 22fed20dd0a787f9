"""КЭП: GOST R 34.10-2012 signatures in detached CMS, X.509 chains and the typed errors."""

from __future__ import annotations

import base64
import contextlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protocol.errors import (
    BadSignature,
    CertificateExpired,
    KepError,
    MalformedCms,
    UntrustedChain,
)
from protocol.kep import gost
from protocol.kep.cms import build_detached, parse_detached
from protocol.kep.testca import Issued, TestCa
from protocol.kep.verify import verify
from protocol.kep.x509 import OID_INNLE, OID_OGRN, build_certificate, read_certificate

AT = 1_705_303_800.0  # 2024-01-15
INN, OGRN = "7702203276", "1027700132195"
CONTENT = "Заявление о регистрации ККТ".encode()


@pytest.fixture(scope="module")
def ca() -> TestCa:
    return TestCa()


@pytest.fixture(scope="module")
def signer(ca: TestCa) -> Issued:
    return ca.issue_org(inn=INN, ogrn=OGRN, name="ООО «Ромашка»")


def test_streebog_matches_the_rfc6986_example_in_openssl_byte_order() -> None:
    m1 = b"012345678901234567890123456789012345678901234567890123456789012"
    assert gost.streebog256(m1).hex() == (
        "9d151eefd8590b89daa6ba6cb74af9275dd051026bb149a452fd84e5e57b5500"
    )


# The paramSetA example of draft-deremin-rfc4491-bis (published as RFC 9215, Appendix A): a
# self-signed certificate made by another implementation, with its private key. It pins all
# three byte conventions (key little-endian, digest reversed, signature s || r) independently.
RFC9215_KEY = bytes.fromhex("7A929ADE789BB9BE10ED359DD39A72C11B60961F49397EEE1D19CE9891EC3B28")
RFC9215_CERT = base64.b64decode(
    """
MIIBJTCB06ADAgECAgEKMAoGCCqFAwcBAQMCMBIxEDAOBgNVBAMTB0V4YW1wbGUw
IBcNMDEwMTAxMDAwMDAwWhgPMjA1MDEyMzEwMDAwMDBaMBIxEDAOBgNVBAMTB0V4
YW1wbGUwXjAXBggqhQMHAQEBATALBgkqhQMHAQIBAQEDQwAEQHQnldS+6ITd8oUP
7APqP68YROAdnaYLZFCTpV4m38OZePWWz01NDGzx0YlD2UST0WuewKFtUS0uEnzE
aRpjGOKjEzARMA8GA1UdEwEB/wQFMAMBAf8wCgYIKoUDBwEBAwIDQQAUC02pEksJ
yw1c6Sjuh0JzoxASlJLsDik2njt5EkhXjB0OHaW+NHxvG1JWx66sIArWSsd6b1s6
DglzGOeubudp
"""
)


def test_the_rfc9215_example_certificate_reads_and_verifies() -> None:
    cert = read_certificate(RFC9215_CERT)
    assert cert.paramset == "1.2.643.7.1.2.1.1.1" and cert.is_ca
    assert cert.subject == {"2.5.4.3": "Example"} and cert.serial == 10
    assert cert.not_after == 2_556_057_600.0  # 2050-12-31, a GeneralizedTime
    assert gost.public_key(RFC9215_KEY) == cert.public_key
    assert gost.verify_digest(cert.public_key, gost.streebog256(cert.tbs), cert.signature)
    assert not gost.verify_digest(cert.public_key, gost.streebog256(cert.tbs)[::-1], cert.signature)


def test_our_signatures_verify_under_the_rfc9215_key() -> None:
    digest = gost.streebog256(b"oblako")
    sig = gost.sign_digest(RFC9215_KEY, digest)
    assert gost.verify_digest(read_certificate(RFC9215_CERT).public_key, digest, sig)


def test_raw_sign_verify_and_conventions() -> None:
    key = gost.private_key_from_seed(b"x")
    pub = gost.public_key(key)
    digest = gost.streebog256(b"data")
    sig = gost.sign_digest(key, digest)
    assert len(pub) == 64 and len(sig) == 64
    assert gost.verify_digest(pub, digest, sig)
    # Swapping s and r, or reading the key big-endian, must fail: the conventions matter.
    assert not gost.verify_digest(pub, digest, sig[32:] + sig[:32])
    assert not gost.verify_digest(pub[:32][::-1] + pub[32:][::-1], digest, sig)
    assert not gost.verify_digest(pub, digest[::-1], sig)
    assert gost.sign_digest(key, digest) == sig  # deterministic nonce


def test_round_trip_reads_the_signer(ca: TestCa, signer: Issued) -> None:
    cms = signer.sign(CONTENT, AT)
    v = verify(cms, CONTENT, [ca.cert], AT)
    assert v.name == "ООО «Ромашка»"
    assert v.inn == INN and v.ogrn == OGRN
    assert v.certificate.person_inn == "500100732259"
    assert v.certificate.snils == "11223344595"
    assert v.signing_time == AT
    assert [c.der for c in v.chain] == [signer.cert, ca.cert]
    assert not v.certificate.is_ca and v.root.is_ca


def test_parse_finds_the_signed_attributes(signer: Issued) -> None:
    parsed = parse_detached(signer.sign(CONTENT, AT))
    assert parsed.message_digest == gost.streebog256(CONTENT)
    assert parsed.content_type == "1.2.840.113549.1.7.1"
    assert parsed.signed_attrs_der[0] == 0x31  # signed as a universal SET (RFC 5652 §5.4)
    assert parsed.certificates == [signer.cert]


def test_tampered_content_is_a_bad_signature(ca: TestCa, signer: Issued) -> None:
    cms = signer.sign(CONTENT, AT)
    with pytest.raises(BadSignature, match="другого документа"):
        verify(cms, CONTENT + b" ", [ca.cert], AT)


def test_tampered_signature_bytes_are_a_bad_signature(ca: TestCa, signer: Issued) -> None:
    cms = bytearray(signer.sign(CONTENT, AT))
    cms[-5] ^= 0x01  # inside the signature value, the last element
    with pytest.raises(BadSignature, match="ключу сертификата"):
        verify(bytes(cms), CONTENT, [ca.cert], AT)


def test_wrong_key_is_a_bad_signature(ca: TestCa, signer: Issued) -> None:
    other = ca.issue_org(inn="7707083893", ogrn="1027700132195", name="Другая")
    cms = build_detached(CONTENT, signer.cert, other.key, AT)
    with pytest.raises(BadSignature):
        verify(cms, CONTENT, [ca.cert], AT)


def test_foreign_ca_is_untrusted(ca: TestCa) -> None:
    foreign = TestCa("foreign", name="Чужой УЦ")
    issued = foreign.issue_org(inn=INN, ogrn=OGRN, name="ООО «Ромашка»")
    with pytest.raises(UntrustedChain, match="Чужой УЦ"):
        verify(issued.sign(CONTENT, AT), CONTENT, [ca.cert], AT)


def test_same_named_impostor_ca_is_untrusted(ca: TestCa) -> None:
    impostor = TestCa("impostor")  # same name as the trusted one, another key
    issued = impostor.issue_org(inn=INN, ogrn=OGRN, name="ООО «Ромашка»")
    with pytest.raises(UntrustedChain):
        verify(issued.sign(CONTENT, AT), CONTENT, [ca.cert], AT)


def test_expired_and_not_yet_valid_certificates(ca: TestCa) -> None:
    old = ca.issue_org(inn=INN, ogrn=OGRN, name="Старая", not_before=1.5e9, not_after=1.6e9)
    with pytest.raises(CertificateExpired, match="истёк"):
        verify(old.sign(CONTENT, AT), CONTENT, [ca.cert], AT)
    future = ca.issue_org(inn=INN, ogrn=OGRN, name="Будущая", not_before=1.8e9, not_after=1.9e9)
    with pytest.raises(CertificateExpired, match="ещё не действует"):
        verify(future.sign(CONTENT, AT), CONTENT, [ca.cert], AT)


def test_a_non_ca_issuer_is_not_a_chain(ca: TestCa, signer: Issued) -> None:
    # A leaf certificate "issued" by another leaf (not a CA) must not chain.
    leaf_info = read_certificate(signer.cert)
    key = gost.private_key_from_seed(b"sub")
    subject = [("2.5.4.3", "Подчинённый"), (OID_INNLE, INN), (OID_OGRN, OGRN)]
    issuer_subject = [
        ("2.5.4.6", "RU"),
        ("2.5.4.7", "Москва"),
        ("2.5.4.10", "ООО «Ромашка»"),
        ("2.5.4.3", "ООО «Ромашка»"),
        ("2.5.4.4", "Иванов"),
        ("2.5.4.42", "Иван Иванович"),
        (OID_INNLE, INN),
        (OID_OGRN, OGRN),
        ("1.2.643.3.131.1.1", "500100732259"),
        ("1.2.643.100.3", "11223344595"),
    ]
    cert = build_certificate(
        subject=subject,
        issuer=issuer_subject,
        serial=77,
        not_before=1.6e9,
        not_after=1.9e9,
        public_key=gost.public_key(key),
        issuer_private_key=signer.key,
        is_ca=False,
    )
    assert read_certificate(cert).issuer_der == leaf_info.subject_der
    cms = build_detached(CONTENT, cert, key, AT)
    # The leaf is not in the CMS, so there is no issuer to find: untrusted.
    with pytest.raises(UntrustedChain):
        verify(cms, CONTENT, [ca.cert], AT)


def test_malformed_der(ca: TestCa) -> None:
    for junk in (b"", b"\x30\x03\x02\x01", b"not a signature", b"\x30\x80" + b"\x00" * 10):
        with pytest.raises(MalformedCms):
            verify(junk, CONTENT, [ca.cert], AT)


def test_truncated_signature_is_refused(ca: TestCa, signer: Issued) -> None:
    cms = signer.sign(CONTENT, AT)
    assert parse_detached(cms)
    with pytest.raises(KepError):
        verify(cms[:-10], CONTENT, [ca.cert], AT)


# no deadline: each example makes a test CA (GOST signing), seconds on a loaded machine
@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.binary(max_size=400))
def test_random_bytes_only_ever_raise_kep_errors(data: bytes) -> None:
    root = TestCa().cert
    with pytest.raises(KepError):
        verify(data, CONTENT, [root], AT)


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_mutated_signatures_only_ever_raise_kep_errors(data: st.DataObject) -> None:
    ca = _CA
    cms = bytearray(_SIGNED)
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(cms) - 1))
        cms[i] = data.draw(st.integers(0, 255))
    # KepError is the only allowed failure; an unchanged byte may still verify.
    with contextlib.suppress(KepError):
        verify(bytes(cms), CONTENT, [ca.cert], AT)


_CA = TestCa()
_SIGNED = _CA.issue_org(inn=INN, ogrn=OGRN, name="ООО «Ромашка»").sign(CONTENT, AT)
