"""Verify a detached CMS signature: the content, the signer's key, the chain to a trusted root.

Not done here (documented in docs/registration.md): revocation (OCSP and CRL: the fleet does it
in fleet/registration/ocsp.py) and the CA's accreditation list beyond "the roots you pass are
the trusted ones".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from protocol.errors import BadSignature, CertificateExpired, MalformedCms, UntrustedChain
from protocol.kep import gost
from protocol.kep.cms import OID_DATA, parse_detached
from protocol.kep.x509 import CertInfo, read_certificate

__all__ = ["MAX_CHAIN", "VerifiedSignature", "verify"]

MAX_CHAIN = 6


@dataclass(frozen=True)
class VerifiedSignature:
    """A signature that checked out: who signed, with which certificate, and when."""

    certificate: CertInfo
    chain: tuple[CertInfo, ...]
    signing_time: float | None

    @property
    def name(self) -> str:
        return self.certificate.organization or self.certificate.common_name

    @property
    def inn(self) -> str | None:
        return self.certificate.org_inn or self.certificate.person_inn

    @property
    def ogrn(self) -> str | None:
        return self.certificate.ogrn

    @property
    def not_before(self) -> float:
        return self.certificate.not_before

    @property
    def not_after(self) -> float:
        return self.certificate.not_after

    @property
    def root(self) -> CertInfo:
        return self.chain[-1]


def _day(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%d.%m.%Y %H:%M UTC")


def _check_time(cert: CertInfo, at: float) -> None:
    who = cert.common_name or cert.organization or f"№ {cert.serial:x}"
    if at < cert.not_before:
        raise CertificateExpired(
            f"Сертификат «{who}» ещё не действует: срок начинается {_day(cert.not_before)}"
        )
    if at > cert.not_after:
        raise CertificateExpired(f"Срок действия сертификата «{who}» истёк {_day(cert.not_after)}")


def _signed_by(cert: CertInfo, issuer: CertInfo) -> bool:
    return gost.verify_digest(
        issuer.public_key, gost.streebog256(cert.tbs), cert.signature, issuer.paramset
    )


def verify(
    detached_cms: bytes, content: bytes, trusted_roots: Iterable[bytes], at: float
) -> VerifiedSignature:
    """Check `detached_cms` over `content` at the moment `at` (UTC seconds).

    Raises MalformedCms, UnsupportedAlgorithm, BadSignature, UntrustedChain or
    CertificateExpired (all KepError); never anything else for any bytes.
    """
    parsed = parse_detached(detached_cms)
    certs = [read_certificate(der) for der in parsed.certificates]
    signer = next(
        (
            c
            for c in certs
            if c.serial == parsed.signer_serial and c.issuer_der == parsed.signer_issuer_der
        ),
        None,
    )
    if signer is None:
        raise MalformedCms("В подписи нет сертификата подписанта")
    if parsed.content_type != OID_DATA:
        raise MalformedCms("Атрибут contentType подписи отсутствует или не id-data")
    if parsed.message_digest is None:
        raise MalformedCms("В подписи нет атрибута messageDigest")
    if parsed.message_digest != gost.streebog256(content):
        raise BadSignature("Подпись сделана для другого документа: хеш содержимого не совпадает")
    if not gost.verify_digest(
        signer.public_key,
        gost.streebog256(parsed.signed_attrs_der),
        parsed.signature,
        signer.paramset,
    ):
        raise BadSignature("Подпись не соответствует ключу сертификата подписанта")

    roots = [read_certificate(der) for der in trusted_roots]
    chain = [signer]
    current = signer
    while True:
        _check_time(current, at)
        root = next((r for r in roots if r.der == current.der), None)
        if root is not None:
            if not _signed_by(root, root):
                raise UntrustedChain("Подпись доверенного корневого сертификата неверна")
            return VerifiedSignature(
                certificate=signer, chain=tuple(chain), signing_time=parsed.signing_time
            )
        if len(chain) > MAX_CHAIN:
            raise UntrustedChain("Слишком длинная цепочка сертификатов")
        candidates = [c for c in [*roots, *certs] if c.subject_der == current.issuer_der]
        issuer = next((c for c in candidates if _signed_by(current, c)), None)
        if issuer is None:
            if candidates:
                # A CA of the same name whose key did not sign this: a foreign or forged CA.
                raise UntrustedChain(
                    f"Сертификат «{current.common_name}» не подписан ни одним доверенным УЦ "
                    f"«{current.issuer.get('2.5.4.3', '?')}»"
                )
            raise UntrustedChain(
                "Сертификат выдан удостоверяющим центром, которому Облако не доверяет: "
                f"«{current.issuer.get('2.5.4.3', '?')}»"
            )
        if not issuer.is_ca:
            raise UntrustedChain(f"Сертификат «{issuer.common_name}» не является сертификатом УЦ")
        chain.append(issuer)
        current = issuer
