"""OCSP (RFC 6960) with GOST R 34.10-2012 / 34.11-2012: requests and BasicOCSPResponses, both ways.

The fleet builds requests and reads answers (`fleet.registration.ocsp`); the test CA's responder
(`simulator/ca`) reads requests and builds answers, so the codec lives here, under both.

Conventions (RFC 6960 §4.1.1, with the GOST hash of RFC 9215 / Р 1323565.1.024): a CertID's
``hashAlgorithm`` is id-tc26-gost3411-12-256; ``issuerNameHash`` is Streebog-256 over the DER of
the issuer's Name, ``issuerKeyHash`` over the issuer's subjectPublicKey BIT STRING octets (for a
GOST key: the DER OCTET STRING ``04 40 X‖Y``, no tag or length of the BIT STRING itself). SHA-1
CertIDs (what ``openssl ocsp`` sends by default) are read too. The nonce is the
id-pkix-ocsp-nonce extension (RFC 8954: an OCTET STRING of 1–32 octets inside extnValue). The
answer is signed over the DER of ``tbsResponseData`` with id-tc26-signwithdigest-gost3410-12-256
(s ‖ r, as for certificates); a responder named byKey is identified by the SHA-1 of its key
bits (RFC 6960 §4.2.1; Streebog-256 is accepted too).

Any bytes that are not what is expected give `MalformedOcsp` (a `KepError`), never anything else.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

from pyasn1.codec.der import decoder, encoder
from pyasn1.error import PyAsn1Error
from pyasn1.type import univ
from pyasn1_modules import rfc5280, rfc6960

from protocol.errors import KepError, MalformedCms
from protocol.kep import gost
from protocol.kep.x509 import CertInfo, first_element

__all__ = [
    "GOOD",
    "OID_NONCE",
    "OID_SHA1",
    "RESPONSE_STATUSES",
    "REVOKED",
    "UNKNOWN",
    "CertId",
    "MalformedOcsp",
    "OcspRequest",
    "OcspResponse",
    "SingleResponse",
    "build_error_response",
    "build_request",
    "build_response",
    "parse_request",
    "parse_response",
]

OID_BASIC: Final = "1.3.6.1.5.5.7.48.1.1"
OID_NONCE: Final = "1.3.6.1.5.5.7.48.1.2"
OID_SHA1: Final = "1.3.14.3.2.26"
GOOD: Final = "good"
REVOKED: Final = "revoked"
UNKNOWN: Final = "unknown"
#: OCSPResponseStatus (RFC 6960 §4.2.1) by number; 4 is not used
RESPONSE_STATUSES: Final[dict[int, str]] = {
    0: "successful",
    1: "malformedRequest",
    2: "internalError",
    3: "tryLater",
    5: "sigRequired",
    6: "unauthorized",
}
_MAX_NONCE = 32


class MalformedOcsp(KepError):  # noqa: N818 - named after what is wrong, like MalformedCms
    """The bytes are not an OCSP request or response this reader understands."""


def _digest(algorithm: str, data: bytes) -> bytes:
    if algorithm == gost.OID_DIGEST_256:
        return gost.streebog256(data)
    if algorithm == OID_SHA1:
        return hashlib.sha1(data, usedforsecurity=False).digest()
    raise MalformedOcsp(f"Неизвестный алгоритм хеширования в CertID: {algorithm}")


@dataclass(frozen=True)
class CertId:
    """Which certificate a request or answer is about (RFC 6960 §4.1.1)."""

    hash_algorithm: str
    issuer_name_hash: bytes
    issuer_key_hash: bytes
    serial: int

    @classmethod
    def of(cls, cert: CertInfo, issuer: CertInfo, algorithm: str = gost.OID_DIGEST_256) -> CertId:
        """The CertID of ``cert`` issued by ``issuer``, hashed with ``algorithm``."""
        return cls.for_issuer(issuer, cert.serial, algorithm)

    @classmethod
    def for_issuer(
        cls, issuer: CertInfo, serial: int, algorithm: str = gost.OID_DIGEST_256
    ) -> CertId:
        """The CertID of serial number ``serial`` of ``issuer``."""
        return cls(
            hash_algorithm=algorithm,
            issuer_name_hash=_digest(algorithm, issuer.subject_der),
            issuer_key_hash=_digest(algorithm, issuer.public_key_bits),
            serial=serial,
        )

    def _asn1(self) -> rfc6960.CertID:
        out = rfc6960.CertID()
        out["hashAlgorithm"]["algorithm"] = univ.ObjectIdentifier(self.hash_algorithm)
        if self.hash_algorithm == OID_SHA1:
            out["hashAlgorithm"]["parameters"] = univ.Any(encoder.encode(univ.Null("")))
        out["issuerNameHash"] = self.issuer_name_hash
        out["issuerKeyHash"] = self.issuer_key_hash
        out["serialNumber"] = self.serial
        return out

    @classmethod
    def _read(cls, value: Any) -> CertId:
        return cls(
            hash_algorithm=str(value["hashAlgorithm"]["algorithm"]),
            issuer_name_hash=value["issuerNameHash"].asOctets(),
            issuer_key_hash=value["issuerKeyHash"].asOctets(),
            serial=int(value["serialNumber"]),
        )


@dataclass(frozen=True)
class OcspRequest:
    """A read request: the certificates asked about and the nonce, if any."""

    cert_ids: tuple[CertId, ...]
    nonce: bytes | None


@dataclass(frozen=True)
class SingleResponse:
    """One certificate's status: good / revoked (when, why) / unknown, and the validity."""

    cert_id: CertId
    status: str
    this_update: float
    next_update: float | None = None
    revoked_at: float | None = None
    #: CRLReason (RFC 5280 §5.3.1) when the responder gave one
    reason: int | None = None


@dataclass(frozen=True)
class OcspResponse:
    """A read OCSPResponse; for a non-successful ``status`` everything else is empty."""

    status: str
    responder_name_der: bytes | None = None
    responder_key_hash: bytes | None = None
    produced_at: float = 0.0
    responses: tuple[SingleResponse, ...] = ()
    nonce: bytes | None = None
    tbs: bytes = b""
    signature_algorithm: str = ""
    signature: bytes = b""
    certificates: tuple[bytes, ...] = ()

    def names(self, cert: CertInfo) -> bool:
        """Whether ``responderID`` names ``cert`` (by its subject, or by its key's hash)."""
        if self.responder_name_der is not None:
            return self.responder_name_der == cert.subject_der
        if self.responder_key_hash is None:
            return False
        return self.responder_key_hash in (
            _digest(OID_SHA1, cert.public_key_bits),
            gost.streebog256(cert.public_key_bits),
        )

    def signed_by(self, cert: CertInfo) -> bool:
        """Whether ``cert``'s key made this answer's signature (GOST R 34.10-2012, 256)."""
        if self.signature_algorithm not in (gost.OID_SIGNATURE_256, gost.OID_PUBLIC_KEY_256):
            return False
        return gost.verify_digest(
            cert.public_key, gost.streebog256(self.tbs), self.signature, cert.paramset
        )

    def find(self, cert_id: CertId) -> SingleResponse | None:
        """The answer about ``cert_id`` (all four fields equal), if the responder gave one."""
        return next((r for r in self.responses if r.cert_id == cert_id), None)


def _generalized(ts: float) -> str:
    """GeneralizedTime text; a plain value, so pyasn1 gives it each field's (tagged) type."""
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y%m%d%H%M%SZ")


def _read_time(value: Any) -> float:
    t = value.asDateTime
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.UTC)
    return float(t.timestamp())


def _nonce_extension(nonce: bytes) -> rfc5280.Extension:
    ext = rfc5280.Extension()
    ext["extnID"] = univ.ObjectIdentifier(OID_NONCE)
    ext["critical"] = False
    ext["extnValue"] = univ.OctetString(encoder.encode(univ.OctetString(nonce)))
    return ext


def _read_nonce(extensions: Any) -> bytes | None:
    if not extensions.isValue:
        return None
    for ext in extensions:
        if str(ext["extnID"]) != OID_NONCE:
            continue
        raw = bytes(ext["extnValue"])
        try:
            value, rest = decoder.decode(raw, asn1Spec=univ.OctetString())
        except PyAsn1Error:
            return raw  # pre-RFC 8954 responders put the bare octets there
        return raw if rest else value.asOctets()
    return None


def _check_nonce(nonce: bytes | None) -> None:
    if nonce is not None and not 1 <= len(nonce) <= _MAX_NONCE:
        raise ValueError(f"OCSP nonce must be 1..{_MAX_NONCE} octets (RFC 8954)")


def build_request(cert_ids: Sequence[CertId], nonce: bytes | None = None) -> bytes:
    """An unsigned DER OCSPRequest for ``cert_ids``, with the nonce extension if given."""
    _check_nonce(nonce)
    tbs = rfc6960.TBSRequest()
    for cert_id in cert_ids:
        one = rfc6960.Request()
        one["reqCert"] = cert_id._asn1()
        tbs["requestList"].append(one)
    if nonce is not None:
        tbs["requestExtensions"].append(_nonce_extension(nonce))
    request = rfc6960.OCSPRequest()
    request["tbsRequest"] = tbs
    return bytes(encoder.encode(request))


_ERRORS = (PyAsn1Error, MalformedCms, ValueError, TypeError, KeyError, IndexError, OverflowError)


def parse_request(der: bytes) -> OcspRequest:
    """Read a DER OCSPRequest; `MalformedOcsp` for anything else."""
    try:
        request, rest = decoder.decode(bytes(der), asn1Spec=rfc6960.OCSPRequest())
        if rest:
            raise MalformedOcsp("Лишние байты после запроса OCSP")
        tbs = request["tbsRequest"]
        ids = tuple(CertId._read(one["reqCert"]) for one in tbs["requestList"])
        nonce = _read_nonce(tbs["requestExtensions"])
    except _ERRORS as exc:
        raise MalformedOcsp(f"Запрос OCSP не разобран: {exc}") from exc
    if not ids:
        raise MalformedOcsp("В запросе OCSP нет ни одного сертификата")
    return OcspRequest(cert_ids=ids, nonce=nonce)


def build_error_response(status: str) -> bytes:
    """An OCSPResponse without a body: malformedRequest, internalError, tryLater, …"""
    number = next((n for n, name in RESPONSE_STATUSES.items() if name == status), None)
    if number is None or number == 0:
        raise ValueError(f"not an OCSP error status: {status!r}")
    response = rfc6960.OCSPResponse()
    response["responseStatus"] = number
    return bytes(encoder.encode(response))


def build_response(
    responses: Sequence[SingleResponse],
    *,
    responder: CertInfo,
    responder_key: bytes,
    produced_at: float,
    nonce: bytes | None = None,
    by_key: bool = False,
    include_certificate: bool = False,
) -> bytes:
    """A successful OCSPResponse with a BasicOCSPResponse signed by ``responder_key``
    (the CA's own, or a delegated responder's whose certificate goes along when
    ``include_certificate``)."""
    _check_nonce(nonce)
    data = rfc6960.ResponseData()
    if by_key:
        data["responderID"]["byKey"] = _digest(OID_SHA1, responder.public_key_bits)
    else:
        name, _ = decoder.decode(responder.subject_der, asn1Spec=rfc5280.Name())
        data["responderID"]["byName"]["rdnSequence"] = name["rdnSequence"]
    data["producedAt"] = _generalized(produced_at)
    for item in responses:
        single = rfc6960.SingleResponse()
        single["certID"] = item.cert_id._asn1()
        if item.status == GOOD:
            single["certStatus"]["good"] = ""
        elif item.status == REVOKED:
            info = single["certStatus"]["revoked"]
            info["revocationTime"] = _generalized(
                item.revoked_at if item.revoked_at is not None else item.this_update
            )
            if item.reason is not None:
                info["revocationReason"] = item.reason
        elif item.status == UNKNOWN:
            single["certStatus"]["unknown"] = ""
        else:
            raise ValueError(f"not an OCSP certificate status: {item.status!r}")
        single["thisUpdate"] = _generalized(item.this_update)
        if item.next_update is not None:
            single["nextUpdate"] = _generalized(item.next_update)
        data["responses"].append(single)
    if nonce is not None:
        data["responseExtensions"].append(_nonce_extension(nonce))
    tbs_der = encoder.encode(data)
    basic = rfc6960.BasicOCSPResponse()
    basic["tbsResponseData"] = data
    basic["signatureAlgorithm"]["algorithm"] = univ.ObjectIdentifier(gost.OID_SIGNATURE_256)
    basic["signature"] = univ.BitString.fromOctetString(
        gost.sign_digest(responder_key, gost.streebog256(tbs_der), responder.paramset)
    )
    if include_certificate:
        cert, _ = decoder.decode(responder.der, asn1Spec=rfc5280.Certificate())
        basic["certs"].append(cert)
    response = rfc6960.OCSPResponse()
    response["responseStatus"] = 0
    response["responseBytes"]["responseType"] = univ.ObjectIdentifier(OID_BASIC)
    response["responseBytes"]["response"] = univ.OctetString(encoder.encode(basic))
    return bytes(encoder.encode(response))


def _read_single(single: Any) -> SingleResponse:
    status_choice = single["certStatus"]
    status = status_choice.getName()
    revoked_at: float | None = None
    reason: int | None = None
    if status == REVOKED:
        info = status_choice[REVOKED]
        revoked_at = _read_time(info["revocationTime"])
        if info["revocationReason"].isValue:
            reason = int(info["revocationReason"])
    elif status not in (GOOD, UNKNOWN):
        raise MalformedOcsp(f"Неизвестный статус сертификата в ответе OCSP: {status}")
    return SingleResponse(
        cert_id=CertId._read(single["certID"]),
        status=status,
        this_update=_read_time(single["thisUpdate"]),
        next_update=_read_time(single["nextUpdate"]) if single["nextUpdate"].isValue else None,
        revoked_at=revoked_at,
        reason=reason,
    )


def parse_response(der: bytes) -> OcspResponse:
    """Read a DER OCSPResponse (a BasicOCSPResponse when successful); `MalformedOcsp` for
    anything else. The signature is not checked here (`OcspResponse.signed_by`)."""
    try:
        response, rest = decoder.decode(bytes(der), asn1Spec=rfc6960.OCSPResponse())
        if rest:
            raise MalformedOcsp("Лишние байты после ответа OCSP")
        number = int(response["responseStatus"])
        status = RESPONSE_STATUSES.get(number)
        if status is None:
            raise MalformedOcsp(f"Неизвестный статус ответа OCSP: {number}")
        if status != "successful":
            return OcspResponse(status=status)
        body = response["responseBytes"]
        if not body.isValue:
            raise MalformedOcsp("В успешном ответе OCSP нет тела")
        kind = str(body["responseType"])
        if kind != OID_BASIC:
            raise MalformedOcsp(f"Тип ответа OCSP не id-pkix-ocsp-basic: {kind}")
        basic_der = body["response"].asOctets()
        basic, rest = decoder.decode(basic_der, asn1Spec=rfc6960.BasicOCSPResponse())
        if rest:
            raise MalformedOcsp("Лишние байты после BasicOCSPResponse")
        data = basic["tbsResponseData"]
        if int(data["version"]) != 0:
            raise MalformedOcsp(f"Версия ответа OCSP не v1: {int(data['version'])}")
        rid = data["responderID"]
        by_name = rid.getName() == "byName"
        certs = (
            tuple(bytes(encoder.encode(c)) for c in basic["certs"])
            if basic["certs"].isValue
            else ()
        )
        return OcspResponse(
            status=status,
            # a Name is a CHOICE: its DER is the RDNSequence's, without the [1] tag
            responder_name_der=(
                bytes(encoder.encode(rid["byName"]["rdnSequence"])) if by_name else None
            ),
            responder_key_hash=None if by_name else rid["byKey"].asOctets(),
            produced_at=_read_time(data["producedAt"]),
            responses=tuple(_read_single(s) for s in data["responses"]),
            nonce=_read_nonce(data["responseExtensions"]),
            tbs=first_element(basic_der),
            signature_algorithm=str(basic["signatureAlgorithm"]["algorithm"]),
            signature=basic["signature"].asOctets(),
            certificates=certs,
        )
    except MalformedOcsp:
        raise
    except _ERRORS as exc:
        raise MalformedOcsp(f"Ответ OCSP не разобран: {exc}") from exc
