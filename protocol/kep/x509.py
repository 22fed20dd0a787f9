"""X.509 certificates with GOST R 34.10-2012 keys: read (for verification) and build (test CA).

Conventions (see `protocol.kep.gost`): the signature algorithm is id-tc26-signwithdigest-
gost3410-12-256 with absent parameters (RFC 9215 §4.1); the key's parameters are the
GostR3410-2012-PublicKeyParameters SEQUENCE (RFC 9215 §4.2); the key is an OCTET STRING of
little-endian X || Y inside the BIT STRING (RFC 9215 §4.3); the signature BIT STRING holds s || r.

Russian qualified certificates put the owner's identifiers into the subject (Приказ ФСБ
№ 795 от 27.12.2011, п. 15-16): ИНН 1.2.643.3.131.1.1, ИНН ЮЛ 1.2.643.100.4 (2021+),
ОГРН 1.2.643.100.1, ОГРНИП 1.2.643.100.5, СНИЛС 1.2.643.100.3; all NumericString.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Final

from pyasn1.codec.der import decoder, encoder
from pyasn1.error import PyAsn1Error
from pyasn1.type import char, namedtype, univ, useful
from pyasn1_modules import rfc5280

from protocol.errors import MalformedCms, UnsupportedAlgorithm
from protocol.kep import gost

__all__ = [
    "OID_AD_OCSP",
    "OID_CN",
    "OID_INN",
    "OID_INNLE",
    "OID_KP_OCSP_SIGNING",
    "OID_O",
    "OID_OGRN",
    "OID_OGRNIP",
    "OID_SNILS",
    "CertInfo",
    "build_certificate",
    "read_certificate",
]

OID_CN: Final = "2.5.4.3"
OID_SURNAME: Final = "2.5.4.4"
OID_GIVEN_NAME: Final = "2.5.4.42"
OID_TITLE: Final = "2.5.4.12"
OID_C: Final = "2.5.4.6"
OID_L: Final = "2.5.4.7"
OID_O: Final = "2.5.4.10"
OID_INN: Final = "1.2.643.3.131.1.1"
OID_INNLE: Final = "1.2.643.100.4"
OID_OGRN: Final = "1.2.643.100.1"
OID_OGRNIP: Final = "1.2.643.100.5"
OID_SNILS: Final = "1.2.643.100.3"
_NUMERIC: Final = {OID_INN, OID_INNLE, OID_OGRN, OID_OGRNIP, OID_SNILS}
_BASIC_CONSTRAINTS: Final = "2.5.29.19"
_KEY_USAGE: Final = "2.5.29.15"
_CRL_DISTRIBUTION_POINTS: Final = "2.5.29.31"
_EXT_KEY_USAGE: Final = "2.5.29.37"
_AUTHORITY_INFO_ACCESS: Final = "1.3.6.1.5.5.7.1.1"
#: RFC 5280 §4.2.2.1 / RFC 6960: the AIA access method of an OCSP responder
OID_AD_OCSP: Final = "1.3.6.1.5.5.7.48.1"
#: RFC 6960 §4.2.2.2: the extended key usage of a CA's delegated OCSP responder
OID_KP_OCSP_SIGNING: Final = "1.3.6.1.5.5.7.3.9"
#: RFC 6960 §4.2.2.2.1: the responder's own certificate is not checked for revocation
OID_OCSP_NOCHECK: Final = "1.3.6.1.5.5.7.48.1.5"


class GostPublicKeyParameters(univ.Sequence):  # type: ignore[misc]  # pyasn1 is untyped
    """GostR3410-2012-PublicKeyParameters (RFC 9215 §4.2)."""

    componentType = namedtype.NamedTypes(  # noqa: N815 - pyasn1 attribute name
        namedtype.NamedType("publicKeyParamSet", univ.ObjectIdentifier()),
        namedtype.OptionalNamedType("digestParamSet", univ.ObjectIdentifier()),
    )


@dataclass(frozen=True)
class CertInfo:
    """What verification needs from a certificate; ``subject``/``issuer`` map OID → text."""

    der: bytes
    tbs: bytes
    serial: int
    subject: dict[str, str]
    issuer: dict[str, str]
    subject_der: bytes
    issuer_der: bytes
    not_before: float
    not_after: float
    public_key: bytes
    paramset: str
    signature_algorithm: str
    signature: bytes
    is_ca: bool = False
    #: the http(s) URLs of its issuer's CRL (cRLDistributionPoints, RFC 5280 §4.2.1.13)
    crl_urls: tuple[str, ...] = ()
    #: the http(s) URLs of its issuer's OCSP responders (AIA id-ad-ocsp, RFC 5280 §4.2.2.1)
    ocsp_urls: tuple[str, ...] = ()
    #: extendedKeyUsage purposes (OIDs); id-kp-OCSPSigning marks a delegated OCSP responder
    extended_key_usage: tuple[str, ...] = ()
    #: the subjectPublicKey BIT STRING's octets: what an OCSP CertID's issuerKeyHash covers
    public_key_bits: bytes = b""

    @property
    def common_name(self) -> str:
        return self.subject.get(OID_CN, "")

    @property
    def organization(self) -> str:
        return self.subject.get(OID_O, "")

    @property
    def org_inn(self) -> str | None:
        """The organisation's INN: ИНН ЮЛ, or a 12-digit ИНН that is a 10-digit one padded "00"."""
        if OID_INNLE in self.subject:
            return self.subject[OID_INNLE]
        inn = self.subject.get(OID_INN)
        if inn is not None and len(inn) == 12 and inn.startswith("00"):
            return inn[2:]
        return None

    @property
    def person_inn(self) -> str | None:
        """A person's 12-digit INN (the employee's, or an individual entrepreneur's)."""
        inn = self.subject.get(OID_INN)
        if inn is not None and len(inn) == 12 and not inn.startswith("00"):
            return inn
        return None

    @property
    def ogrn(self) -> str | None:
        return self.subject.get(OID_OGRN) or self.subject.get(OID_OGRNIP)

    @property
    def snils(self) -> str | None:
        return self.subject.get(OID_SNILS)


def _utc(ts: float) -> useful.UTCTime | useful.GeneralizedTime:
    t = dt.datetime.fromtimestamp(ts, dt.UTC)
    # RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050.
    if t.year < 2050:
        return useful.UTCTime(t.strftime("%y%m%d%H%M%SZ"))
    return useful.GeneralizedTime(t.strftime("%Y%m%d%H%M%SZ"))


def encode_name(attrs: list[tuple[str, str]]) -> rfc5280.Name:
    """A Name with one attribute per RDN, in the given order."""
    rdns = rfc5280.RDNSequence()
    for oid, value in attrs:
        atv = rfc5280.AttributeTypeAndValue()
        atv["type"] = univ.ObjectIdentifier(oid)
        text: Any = char.NumericString(value) if oid in _NUMERIC else char.UTF8String(value)
        if oid == OID_C:
            text = char.PrintableString(value)
        atv["value"] = univ.Any(encoder.encode(text))
        rdn = rfc5280.RelativeDistinguishedName()
        rdn.append(atv)
        rdns.append(rdn)
    name = rfc5280.Name()
    name["rdnSequence"] = rdns
    return name


def _algorithm(oid: str, parameters: bytes | None = None) -> rfc5280.AlgorithmIdentifier:
    alg = rfc5280.AlgorithmIdentifier()
    alg["algorithm"] = univ.ObjectIdentifier(oid)
    if parameters is not None:
        alg["parameters"] = univ.Any(parameters)
    return alg


def _extension(oid: str, critical: bool, value: Any) -> rfc5280.Extension:
    ext = rfc5280.Extension()
    ext["extnID"] = univ.ObjectIdentifier(oid)
    ext["critical"] = critical
    ext["extnValue"] = univ.OctetString(encoder.encode(value))
    return ext


def build_certificate(
    *,
    subject: list[tuple[str, str]],
    issuer: list[tuple[str, str]],
    serial: int,
    not_before: float,
    not_after: float,
    public_key: bytes,
    issuer_private_key: bytes,
    is_ca: bool,
    paramset: str = gost.DEFAULT_PARAMSET,
    issuer_paramset: str = gost.DEFAULT_PARAMSET,
    crl_urls: tuple[str, ...] = (),
    ocsp_urls: tuple[str, ...] = (),
    ocsp_signing: bool = False,
) -> bytes:
    """A DER X.509 v3 certificate signed by the issuer's key (deterministically); with
    ``crl_urls``, a cRLDistributionPoints extension naming them; with ``ocsp_urls``, an
    authorityInfoAccess naming the OCSP responders; ``ocsp_signing``: a delegated OCSP
    responder's certificate (extendedKeyUsage id-kp-OCSPSigning and id-pkix-ocsp-nocheck)."""
    tbs = rfc5280.TBSCertificate()
    tbs["version"] = "v3"
    tbs["serialNumber"] = serial
    tbs["signature"] = _algorithm(gost.OID_SIGNATURE_256)
    tbs["issuer"] = encode_name(issuer)
    validity = rfc5280.Validity()
    for key, ts in (("notBefore", not_before), ("notAfter", not_after)):
        t = _utc(ts)
        validity[key]["utcTime" if isinstance(t, useful.UTCTime) else "generalTime"] = t
    tbs["validity"] = validity
    tbs["subject"] = encode_name(subject)
    params = GostPublicKeyParameters()
    params["publicKeyParamSet"] = univ.ObjectIdentifier(paramset)
    if paramset != "1.2.643.7.1.2.1.1.1":
        # RFC 9215 §4.2: digestParamSet present for the 256-bit sets other than paramSetA.
        params["digestParamSet"] = univ.ObjectIdentifier(gost.OID_DIGEST_256)
    spki = rfc5280.SubjectPublicKeyInfo()
    spki["algorithm"] = _algorithm(gost.OID_PUBLIC_KEY_256, encoder.encode(params))
    spki["subjectPublicKey"] = univ.BitString.fromOctetString(
        encoder.encode(univ.OctetString(public_key))
    )
    tbs["subjectPublicKeyInfo"] = spki
    bc = rfc5280.BasicConstraints()
    bc["cA"] = is_ca
    usage = rfc5280.KeyUsage(
        "keyCertSign,cRLSign"
        if is_ca
        else "digitalSignature"
        if ocsp_signing
        else "digitalSignature,nonRepudiation"
    )
    tbs["extensions"].extend(
        [_extension(_BASIC_CONSTRAINTS, True, bc), _extension(_KEY_USAGE, True, usage)]
    )
    if crl_urls:
        tbs["extensions"].append(
            _extension(_CRL_DISTRIBUTION_POINTS, False, _distribution_points(crl_urls))
        )
    if ocsp_urls:
        tbs["extensions"].append(_extension(_AUTHORITY_INFO_ACCESS, False, _aia(ocsp_urls)))
    if ocsp_signing:
        eku = rfc5280.ExtKeyUsageSyntax()
        eku.append(rfc5280.KeyPurposeId(OID_KP_OCSP_SIGNING))
        tbs["extensions"].append(_extension(_EXT_KEY_USAGE, False, eku))
        tbs["extensions"].append(_extension(OID_OCSP_NOCHECK, False, univ.Null("")))
    tbs_der = encoder.encode(tbs)
    sig = gost.sign_digest(issuer_private_key, gost.streebog256(tbs_der), issuer_paramset)
    cert = rfc5280.Certificate()
    cert["tbsCertificate"] = tbs
    cert["signatureAlgorithm"] = _algorithm(gost.OID_SIGNATURE_256)
    cert["signature"] = univ.BitString.fromOctetString(sig)
    return bytes(encoder.encode(cert))


def _distribution_points(urls: tuple[str, ...]) -> rfc5280.CRLDistributionPoints:
    points = rfc5280.CRLDistributionPoints()
    for url in urls:
        point = rfc5280.DistributionPoint()
        names = point["distributionPoint"]["fullName"]
        name = names.getComponentType().clone()
        name["uniformResourceIdentifier"] = url
        names.append(name)
        points.append(point)
    return points


def _aia(urls: tuple[str, ...]) -> rfc5280.AuthorityInfoAccessSyntax:
    aia = rfc5280.AuthorityInfoAccessSyntax()
    for url in urls:
        access = rfc5280.AccessDescription()
        access["accessMethod"] = univ.ObjectIdentifier(OID_AD_OCSP)
        access["accessLocation"]["uniformResourceIdentifier"] = url
        aia.append(access)
    return aia


def _read_ocsp_urls(value: bytes) -> tuple[str, ...]:
    aia, _ = decoder.decode(value, asn1Spec=rfc5280.AuthorityInfoAccessSyntax())
    out: list[str] = []
    for access in aia:
        if str(access["accessMethod"]) != OID_AD_OCSP:
            continue  # caIssuers: where the issuer's certificate is, not its status
        where = access["accessLocation"]
        if where.getName() == "uniformResourceIdentifier":
            url = str(where["uniformResourceIdentifier"])
            if url.startswith(("http://", "https://")):
                out.append(url)
    return tuple(out)


def _read_crl_urls(value: bytes) -> tuple[str, ...]:
    points, _ = decoder.decode(value, asn1Spec=rfc5280.CRLDistributionPoints())
    out: list[str] = []
    for point in points:
        where = point["distributionPoint"]
        if not where.isValue or where.getName() != "fullName":
            continue  # a name relative to the issuer: no URL to fetch
        for name in where["fullName"]:
            if name.getName() == "uniformResourceIdentifier":
                url = str(name["uniformResourceIdentifier"])
                if url.startswith(("http://", "https://")):
                    out.append(url)
    return tuple(out)


def _read_time(choice: Any) -> float:
    name = choice.getName()
    t = choice[name].asDateTime
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.UTC)
    return float(t.timestamp())


def _read_name(name: Any) -> dict[str, str]:
    out: dict[str, str] = {}
    for rdn in name["rdnSequence"]:
        for atv in rdn:
            oid = str(atv["type"])
            raw = bytes(atv["value"])
            try:
                value, _ = decoder.decode(raw)
                out[oid] = str(value)
            except (PyAsn1Error, UnicodeDecodeError):
                out[oid] = raw.hex()
    return out


def first_element(der: bytes) -> bytes:
    """The raw bytes of the first element inside the outer SEQUENCE (the signed TBS part)."""

    def header(buf: bytes, at: int) -> tuple[int, int]:
        if at + 2 > len(buf):
            raise MalformedCms("Сертификат обрезан")
        n = buf[at + 1]
        if n < 0x80:
            return at + 2, n
        k = n & 0x7F
        if k == 0 or k > 4 or at + 2 + k > len(buf):
            raise MalformedCms("Неверная длина в DER сертификата")
        return at + 2 + k, int.from_bytes(buf[at + 2 : at + 2 + k], "big")

    inner, _ = header(der, 0)
    body, length = header(der, inner)
    if body + length > len(der):
        raise MalformedCms("Сертификат обрезан")
    return der[inner : body + length]


def read_certificate(der: bytes) -> CertInfo:
    """Parse a DER certificate with a GOST 2012-256 key; MalformedCms / UnsupportedAlgorithm."""
    try:
        cert, rest = decoder.decode(bytes(der), asn1Spec=rfc5280.Certificate())
        if rest:
            raise MalformedCms("Лишние байты после сертификата")
        tbs = cert["tbsCertificate"]
        spki = tbs["subjectPublicKeyInfo"]
        key_alg = str(spki["algorithm"]["algorithm"])
        if key_alg != gost.OID_PUBLIC_KEY_256:
            raise UnsupportedAlgorithm(
                f"Ключ сертификата не ГОСТ Р 34.10-2012 (256 бит): алгоритм {key_alg}"
            )
        params, _ = decoder.decode(
            bytes(spki["algorithm"]["parameters"]), asn1Spec=GostPublicKeyParameters()
        )
        key_octets, _ = decoder.decode(
            spki["subjectPublicKey"].asOctets(), asn1Spec=univ.OctetString()
        )
        is_ca = False
        crl_urls: tuple[str, ...] = ()
        ocsp_urls: tuple[str, ...] = ()
        eku: tuple[str, ...] = ()
        if tbs["extensions"].isValue:
            for ext in tbs["extensions"]:
                oid = str(ext["extnID"])
                if oid == _BASIC_CONSTRAINTS:
                    bc, _ = decoder.decode(
                        bytes(ext["extnValue"]), asn1Spec=rfc5280.BasicConstraints()
                    )
                    is_ca = bool(bc["cA"])
                elif oid == _CRL_DISTRIBUTION_POINTS:
                    crl_urls = _read_crl_urls(bytes(ext["extnValue"]))
                elif oid == _AUTHORITY_INFO_ACCESS:
                    ocsp_urls = _read_ocsp_urls(bytes(ext["extnValue"]))
                elif oid == _EXT_KEY_USAGE:
                    purposes, _ = decoder.decode(
                        bytes(ext["extnValue"]), asn1Spec=rfc5280.ExtKeyUsageSyntax()
                    )
                    eku = tuple(str(p) for p in purposes)
        return CertInfo(
            der=bytes(der),
            tbs=first_element(bytes(der)),
            serial=int(tbs["serialNumber"]),
            subject=_read_name(tbs["subject"]),
            issuer=_read_name(tbs["issuer"]),
            subject_der=bytes(encoder.encode(tbs["subject"])),
            issuer_der=bytes(encoder.encode(tbs["issuer"])),
            not_before=_read_time(tbs["validity"]["notBefore"]),
            not_after=_read_time(tbs["validity"]["notAfter"]),
            public_key=bytes(key_octets),
            paramset=str(params["publicKeyParamSet"]),
            signature_algorithm=str(cert["signatureAlgorithm"]["algorithm"]),
            signature=cert["signature"].asOctets(),
            is_ca=is_ca,
            crl_urls=crl_urls,
            ocsp_urls=ocsp_urls,
            extended_key_usage=eku,
            public_key_bits=spki["subjectPublicKey"].asOctets(),
        )
    except (PyAsn1Error, ValueError, TypeError, KeyError, IndexError, OverflowError) as exc:
        raise MalformedCms(f"Сертификат не разобран: {exc}") from exc
