"""Certificate revocation: the accredited CAs' lists of revoked certificates (CRL, RFC 5280 §5).

A qualified certificate a CA has revoked makes no valid signature (63-FZ art. 14 p. 6, art. 11
p. 2), so a signature is refused when a configured CRL of the signer's (or an intermediate's)
issuer lists its serial. The CRLs come from files or URLs (``FLEET_KEP_CRLS``), read with the
trusted roots (`fleet.registration.config`); a CRL counts only if its issuer's key signed it
(GOST R 34.10-2012, like the certificates). OCSP comes first where the certificate names a
responder (`fleet.registration.ocsp`, which also decides what an unchecked certificate means).
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from pyasn1.codec.der import decoder, encoder
from pyasn1.error import PyAsn1Error
from pyasn1_modules import rfc5280

from fleet.registration.exceptions import CertificateRevokedError, InvalidCrlError
from fleet.registration.pem import der_blocks
from protocol.errors import MalformedCms
from protocol.kep import gost
from protocol.kep.verify import VerifiedSignature
from protocol.kep.x509 import CertInfo, first_element

__all__ = ["Crl", "check_not_revoked", "listing", "read_crl", "read_crls", "revoked_error"]


@dataclass(frozen=True)
class Crl:
    """A parsed CRL: who issued it, when, the revoked serials, and what its issuer signed."""

    issuer_der: bytes
    this_update: float
    next_update: float | None
    revoked: frozenset[int]
    tbs: bytes
    signature: bytes
    signature_algorithm: str

    def signed_by(self, issuer: CertInfo) -> bool:
        """Whether ``issuer``'s key made this CRL's signature."""
        if self.signature_algorithm != gost.OID_SIGNATURE_256:
            return False
        return gost.verify_digest(
            issuer.public_key, gost.streebog256(self.tbs), self.signature, issuer.paramset
        )


def _time(choice: Any) -> float:
    t = choice[choice.getName()].asDateTime
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.UTC)
    return float(t.timestamp())


def read_crl(der: bytes) -> Crl:
    """Parse a DER CRL; `InvalidCrlError` (in Russian) for anything that is not one."""
    try:
        crl, rest = decoder.decode(bytes(der), asn1Spec=rfc5280.CertificateList())
        tbs = crl["tbsCertList"]
        revoked = frozenset(int(entry["userCertificate"]) for entry in tbs["revokedCertificates"])
        next_update = _time(tbs["nextUpdate"]) if tbs["nextUpdate"].isValue else None
        parsed = Crl(
            issuer_der=bytes(encoder.encode(tbs["issuer"])),
            this_update=_time(tbs["thisUpdate"]),
            next_update=next_update,
            revoked=revoked,
            tbs=first_element(bytes(der)),
            signature=crl["signature"].asOctets(),
            signature_algorithm=str(crl["signatureAlgorithm"]["algorithm"]),
        )
    except (PyAsn1Error, MalformedCms, ValueError, TypeError, KeyError, IndexError) as exc:
        raise InvalidCrlError(f"Список отзыва сертификатов не разобран: {exc}") from exc
    if rest:
        raise InvalidCrlError("Лишние байты после списка отзыва сертификатов")
    return parsed


def read_crls(sources: Iterable[str], *, client: httpx.Client | None = None) -> tuple[bytes, ...]:
    """DER CRLs from files or http(s) URLs (a PEM file may hold several)."""
    out: list[bytes] = []
    for source in sources:
        if source.startswith(("http://", "https://")):
            with client or httpx.Client(timeout=10.0) as http:
                raw = http.get(source).raise_for_status().content
        else:
            raw = Path(source).read_bytes()
        out.extend(der_blocks(raw, b"X509 CRL"))
    return tuple(out)


def _day(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%d.%m.%Y")


def listing(cert: CertInfo, issuer: CertInfo, crls: Sequence[Crl]) -> Crl | None:
    """The first of ``crls`` that ``issuer`` signed and that lists ``cert``, if any."""
    for crl in crls:
        if crl.issuer_der != cert.issuer_der or cert.serial not in crl.revoked:
            continue
        if crl.signed_by(issuer):  # another's list proves nothing
            return crl
    return None


def revoked_error(
    cert: CertInfo, issuer: CertInfo, crl: Crl, *, field: str = "signature"
) -> CertificateRevokedError:
    """The refusal of a signature by ``cert``, which ``crl`` lists."""
    who = cert.common_name or cert.organization or f"№ {cert.serial:x}"
    return CertificateRevokedError(
        "Подпись не принята",
        fields={
            field: f"Сертификат «{who}» (серийный номер {cert.serial:x}) отозван "
            f"удостоверяющим центром «{issuer.common_name}»: он в списке отзыва от "
            f"{_day(crl.this_update)}; подпишите заявление действующим сертификатом"
        },
    )


def check_not_revoked(
    verified: VerifiedSignature, crls: Sequence[Crl], *, field: str = "signature"
) -> None:
    """Raise `CertificateRevokedError` (its reason under ``field``) when a CRL its issuer signed
    lists a certificate of the signature's chain (the signer's or an intermediate CA's)."""
    for cert, issuer in itertools.pairwise(verified.chain):
        crl = listing(cert, issuer, crls)
        if crl is not None:
            raise revoked_error(cert, issuer, crl, field=field)
