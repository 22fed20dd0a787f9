"""Detached CMS SignedData (RFC 5652) with GOST R 34.10-2012 / 34.11-2012 (RFC 4490, RFC 9215).

One SignerInfo identified by issuerAndSerialNumber; signed attributes contentType (id-data),
signingTime and messageDigest (Streebog-256 of the content). The signature is over the DER of
the signed attributes re-tagged as a universal SET (RFC 5652 §5.4). SignerInfo's
signatureAlgorithm is written as id-tc26-signwithdigest-gost3410-12-256; CryptoPro tools write
the key algorithm (id-tc26-gost3410-12-256) there instead, so both are accepted when reading.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Final

from pyasn1.codec.der import decoder, encoder
from pyasn1.error import PyAsn1Error
from pyasn1.type import univ, useful
from pyasn1_modules import rfc5280, rfc5652

from protocol.errors import MalformedCms, UnsupportedAlgorithm
from protocol.kep import gost
from protocol.kep.x509 import read_certificate

__all__ = ["ParsedCms", "build_detached", "parse_detached"]

OID_DATA: Final = "1.2.840.113549.1.7.1"
OID_SIGNED_DATA: Final = "1.2.840.113549.1.7.2"
OID_CONTENT_TYPE: Final = "1.2.840.113549.1.9.3"
OID_MESSAGE_DIGEST: Final = "1.2.840.113549.1.9.4"
OID_SIGNING_TIME: Final = "1.2.840.113549.1.9.5"
SIGNATURE_OIDS: Final = {gost.OID_SIGNATURE_256, gost.OID_PUBLIC_KEY_256}


@dataclass(frozen=True)
class ParsedCms:
    """A detached SignedData as read: the certificates, the one signer and its attributes."""

    certificates: list[bytes]
    signer_issuer_der: bytes
    signer_serial: int
    signed_attrs_der: bytes
    content_type: str | None
    message_digest: bytes | None
    signing_time: float | None
    signature: bytes


def _attribute(oid: str, value: Any) -> rfc5652.Attribute:
    attr = rfc5652.Attribute()
    attr["attrType"] = univ.ObjectIdentifier(oid)
    attr["attrValues"].append(univ.Any(encoder.encode(value)))
    return attr


def _alg(oid: str) -> rfc5280.AlgorithmIdentifier:
    alg = rfc5280.AlgorithmIdentifier()
    alg["algorithm"] = univ.ObjectIdentifier(oid)
    return alg


def build_detached(
    content: bytes, cert_der: bytes, private_key: bytes, signing_time: float
) -> bytes:
    """Sign `content` with the certificate's key; returns a DER ContentInfo (a .p7s file)."""
    cert = read_certificate(cert_der)
    attrs = rfc5652.SignedAttributes()
    attrs.append(_attribute(OID_CONTENT_TYPE, univ.ObjectIdentifier(OID_DATA)))
    moment = dt.datetime.fromtimestamp(signing_time, dt.UTC)
    attrs.append(_attribute(OID_SIGNING_TIME, useful.UTCTime(moment.strftime("%y%m%d%H%M%SZ"))))
    attrs.append(_attribute(OID_MESSAGE_DIGEST, univ.OctetString(gost.streebog256(content))))
    attrs_der = encoder.encode(attrs)  # universal SET OF: what is signed (RFC 5652 §5.4)
    signature = gost.sign_digest(private_key, gost.streebog256(attrs_der), cert.paramset)

    signer = rfc5652.SignerInfo()
    signer["version"] = "v1"
    sid = rfc5652.IssuerAndSerialNumber()
    sid["issuer"], _ = decoder.decode(cert.issuer_der, asn1Spec=rfc5280.Name())
    sid["serialNumber"] = cert.serial
    signer["sid"]["issuerAndSerialNumber"] = sid
    signer["digestAlgorithm"] = _alg(gost.OID_DIGEST_256)
    for attr in attrs:
        signer["signedAttrs"].append(attr)
    signer["signatureAlgorithm"] = _alg(gost.OID_SIGNATURE_256)
    signer["signature"] = univ.OctetString(signature)

    sd = rfc5652.SignedData()
    sd["version"] = "v1"
    sd["digestAlgorithms"].append(_alg(gost.OID_DIGEST_256))
    sd["encapContentInfo"]["eContentType"] = univ.ObjectIdentifier(OID_DATA)
    parsed_cert, _ = decoder.decode(cert_der, asn1Spec=rfc5280.Certificate())
    choice = rfc5652.CertificateChoices()
    choice["certificate"] = parsed_cert
    sd["certificates"].append(choice)
    sd["signerInfos"].append(signer)

    info = rfc5652.ContentInfo()
    info["contentType"] = univ.ObjectIdentifier(OID_SIGNED_DATA)
    info["content"] = encoder.encode(sd)
    return bytes(encoder.encode(info))


def _single_value(attr: Any) -> bytes:
    values = attr["attrValues"]
    if len(values) != 1:
        raise MalformedCms("Подписанный атрибут должен иметь ровно одно значение")
    return bytes(values[0])


def parse_detached(der: bytes) -> ParsedCms:
    """Read a detached SignedData; MalformedCms for anything but one GOST signer, no content."""
    try:
        info, rest = decoder.decode(bytes(der), asn1Spec=rfc5652.ContentInfo())
        if rest:
            raise MalformedCms("Лишние байты после подписи CMS")
        if str(info["contentType"]) != OID_SIGNED_DATA:
            raise MalformedCms("Это не подпись CMS SignedData")
        sd, rest = decoder.decode(bytes(info["content"]), asn1Spec=rfc5652.SignedData())
        if rest:
            raise MalformedCms("Лишние байты в SignedData")
        if sd["encapContentInfo"]["eContent"].isValue:
            raise MalformedCms("Подпись должна быть отсоединённой (без вложенного документа)")
        certs: list[bytes] = []
        if sd["certificates"].isValue:
            for choice in sd["certificates"]:
                if choice.getName() == "certificate":
                    certs.append(bytes(encoder.encode(choice["certificate"])))
        signers = sd["signerInfos"]
        if len(signers) != 1:
            raise MalformedCms(f"Ожидалась одна подпись, в файле {len(signers)}")
        signer = signers[0]
        if str(signer["digestAlgorithm"]["algorithm"]) != gost.OID_DIGEST_256:
            raise UnsupportedAlgorithm(
                "Хеш-функция подписи не ГОСТ Р 34.11-2012 (256 бит): "
                f"{signer['digestAlgorithm']['algorithm']}"
            )
        if str(signer["signatureAlgorithm"]["algorithm"]) not in SIGNATURE_OIDS:
            raise UnsupportedAlgorithm(
                "Алгоритм подписи не ГОСТ Р 34.10-2012 (256 бит): "
                f"{signer['signatureAlgorithm']['algorithm']}"
            )
        if signer["sid"].getName() != "issuerAndSerialNumber":
            raise MalformedCms("Подписант указан не по издателю и серийному номеру сертификата")
        sid = signer["sid"]["issuerAndSerialNumber"]
        if not signer["signedAttrs"].isValue:
            raise MalformedCms("В подписи нет подписанных атрибутов")
        attrs = rfc5652.SignedAttributes()
        content_type = digest = None
        signing_time: float | None = None
        for attr in signer["signedAttrs"]:
            attrs.append(attr)
            oid = str(attr["attrType"])
            if oid == OID_CONTENT_TYPE:
                value, _ = decoder.decode(_single_value(attr), asn1Spec=univ.ObjectIdentifier())
                content_type = str(value)
            elif oid == OID_MESSAGE_DIGEST:
                value, _ = decoder.decode(_single_value(attr), asn1Spec=univ.OctetString())
                digest = bytes(value)
            elif oid == OID_SIGNING_TIME:
                value, _ = decoder.decode(_single_value(attr), asn1Spec=rfc5280.Time())
                t = value[value.getName()].asDateTime
                signing_time = (t if t.tzinfo else t.replace(tzinfo=dt.UTC)).timestamp()
        return ParsedCms(
            certificates=certs,
            signer_issuer_der=bytes(encoder.encode(sid["issuer"])),
            signer_serial=int(sid["serialNumber"]),
            signed_attrs_der=bytes(encoder.encode(attrs)),
            content_type=content_type,
            message_digest=digest,
            signing_time=signing_time,
            signature=bytes(signer["signature"]),
        )
    except (PyAsn1Error, ValueError, TypeError, KeyError, IndexError, OverflowError) as exc:
        raise MalformedCms(f"Файл подписи не разобран как CMS: {exc}") from exc
