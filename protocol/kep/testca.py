"""A deterministic test CA: a root and "qualified" certificates for organisations and people,
its lists of revoked certificates (CRL) and its delegated OCSP responder's certificate.

For tests and the demo only (keys come from a seed); never a trust anchor outside them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from pyasn1.codec.der import encoder
from pyasn1.type import univ, useful
from pyasn1_modules import rfc5280

from protocol.kep import gost
from protocol.kep.cms import build_detached
from protocol.kep.x509 import (
    OID_C,
    OID_CN,
    OID_GIVEN_NAME,
    OID_INN,
    OID_INNLE,
    OID_L,
    OID_O,
    OID_OGRN,
    OID_SNILS,
    OID_SURNAME,
    CertInfo,
    build_certificate,
    encode_name,
    read_certificate,
)

__all__ = ["Issued", "TestCa"]

_YEAR = 365 * 24 * 3600.0


@dataclass(frozen=True)
class Issued:
    """A certificate with its private key (32 bytes big-endian; see `protocol.kep.gost`)."""

    cert: bytes
    key: bytes

    def sign(self, content: bytes, at: float) -> bytes:
        """A detached CMS signature over `content`, signing time `at`."""
        return build_detached(content, self.cert, self.key, at)


class TestCa:
    """A root CA whose key and certificate follow from `seed`."""

    __test__ = False  # not a pytest class

    def __init__(
        self, seed: str = "oblako-test-ca", *, name: str = "Тестовый УЦ Облако", at: float = 1.7e9
    ) -> None:
        self.seed = seed
        self.key = gost.private_key_from_seed(f"{seed}:root".encode())
        self.subject = [
            (OID_C, "RU"),
            (OID_O, name),
            (OID_CN, name),
            (OID_INNLE, "7701999993"),
            (OID_OGRN, "1027700000001"),
        ]
        self.cert = build_certificate(
            subject=self.subject,
            issuer=self.subject,
            serial=1,
            not_before=at - _YEAR,
            not_after=at + 20 * _YEAR,
            public_key=gost.public_key(self.key),
            issuer_private_key=self.key,
            is_ca=True,
        )
        self._serial = 1
        self.info: CertInfo = read_certificate(self.cert)

    def issue_org(
        self,
        *,
        inn: str,
        ogrn: str,
        name: str,
        person: tuple[str, str] = ("Иванов", "Иван Иванович"),
        person_inn: str = "500100732259",
        snils: str = "11223344595",
        not_before: float = 1.6e9,
        not_after: float = 1.6e9 + 15 * _YEAR,
        key_seed: str | None = None,
        crl_urls: tuple[str, ...] = (),
        ocsp_urls: tuple[str, ...] = (),
    ) -> Issued:
        """A 2021+-style qualified certificate of an organisation's head: ИНН ЮЛ + ОГРН, and
        the person's ИНН and СНИЛС; ``crl_urls``: where the CA publishes its CRL;
        ``ocsp_urls``: its OCSP responders (the AIA extension)."""
        key = gost.private_key_from_seed(f"{self.seed}:{key_seed or inn}".encode())
        surname, given = person
        subject = [
            (OID_C, "RU"),
            (OID_L, "Москва"),
            (OID_O, name),
            (OID_CN, name),
            (OID_SURNAME, surname),
            (OID_GIVEN_NAME, given),
            (OID_INNLE, inn),
            (OID_OGRN, ogrn),
            (OID_INN, person_inn),
            (OID_SNILS, snils),
        ]
        self._serial += 1
        cert = build_certificate(
            subject=subject,
            issuer=self.subject,
            serial=int.from_bytes(
                gost.streebog256(f"{self.seed}:{inn}:{self._serial}".encode())[:8], "big"
            ),
            not_before=not_before,
            not_after=not_after,
            public_key=gost.public_key(key),
            issuer_private_key=self.key,
            is_ca=False,
            crl_urls=crl_urls,
            ocsp_urls=ocsp_urls,
        )
        return Issued(cert=cert, key=key)

    def issue_ocsp_responder(
        self,
        *,
        name: str = "OCSP-служба тестового УЦ",
        not_before: float = 1.6e9,
        not_after: float = 1.6e9 + 15 * _YEAR,
        key_seed: str = "ocsp",
    ) -> Issued:
        """A delegated OCSP responder's certificate (RFC 6960 §4.2.2.2): id-kp-OCSPSigning,
        id-pkix-ocsp-nocheck, issued by this CA."""
        key = gost.private_key_from_seed(f"{self.seed}:{key_seed}".encode())
        cert = build_certificate(
            subject=[(OID_C, "RU"), (OID_O, self.subject[1][1]), (OID_CN, name)],
            issuer=self.subject,
            serial=int.from_bytes(gost.streebog256(f"{self.seed}:ocsp:{key_seed}".encode())[:8]),
            not_before=not_before,
            not_after=not_after,
            public_key=gost.public_key(key),
            issuer_private_key=self.key,
            is_ca=False,
            ocsp_signing=True,
        )
        return Issued(cert=cert, key=key)

    def crl(
        self,
        revoked: Mapping[int, float],
        this_update: float,
        next_update: float,
        *,
        key: bytes | None = None,
    ) -> bytes:
        """A v2 CRL (RFC 5280 §5.1) listing ``revoked`` (serial → revocation time), signed
        GOST R 34.10-2012 by the CA's key (or ``key``, to make a forged one)."""
        alg = rfc5280.AlgorithmIdentifier()
        alg["algorithm"] = univ.ObjectIdentifier(gost.OID_SIGNATURE_256)
        tbs = rfc5280.TBSCertList()
        tbs["version"] = "v2"
        tbs["signature"] = alg
        tbs["issuer"] = encode_name(self.subject)
        tbs["thisUpdate"]["utcTime"] = _utc(this_update)
        tbs["nextUpdate"]["utcTime"] = _utc(next_update)
        entries = tbs["revokedCertificates"]
        for serial, at in sorted(revoked.items()):
            entry = entries.getComponentType().clone()
            entry["userCertificate"] = serial
            entry["revocationDate"]["utcTime"] = _utc(at)
            entries.append(entry)
        tbs_der = encoder.encode(tbs)
        crl = rfc5280.CertificateList()
        crl["tbsCertList"] = tbs
        crl["signatureAlgorithm"] = alg
        crl["signature"] = univ.BitString.fromOctetString(
            gost.sign_digest(key or self.key, gost.streebog256(tbs_der))
        )
        return bytes(encoder.encode(crl))


def _utc(ts: float) -> useful.UTCTime:
    return useful.UTCTime(dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%y%m%d%H%M%SZ"))
