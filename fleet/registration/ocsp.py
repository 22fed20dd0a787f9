"""Certificate status by OCSP (RFC 6960), the CRL as fallback, and what "unchecked" means.

A qualified certificate names its CA's OCSP responder in the Authority Information Access
extension (id-ad-ocsp); ``FLEET_KEP_OCSP_URL`` overrides it for every certificate (like
CryptoPro's "use this OCSP server"). `OcspClient` asks it over HTTP (POST,
application/ocsp-request; a GOST R 34.11-2012 CertID and a fresh nonce, `protocol.kep.ocsp`) and
uses an answer only when:

* it is ``successful`` and a BasicOCSPResponse signed GOST R 34.10-2012 by the issuer itself, or
  by a delegated responder whose certificate the issuer signed, carries id-kp-OCSPSigning and is
  within its validity (RFC 6960 §4.2.2.2; its own revocation is not checked: id-pkix-ocsp-nocheck);
* it echoes our nonce (RFC 8954), unless ``require_nonce`` is off (responders that pre-sign);
* it has a SingleResponse whose CertID is exactly ours;
* it is fresh: thisUpdate not ahead of our clock by more than ``skew_s``; now before nextUpdate
  (+ ``skew_s``), or, without nextUpdate, thisUpdate at most ``max_age_s`` old.

A ``good`` answer is kept until its nextUpdate (per responder URL and CertID).

`RevocationChecker` applies the policy (``FLEET_KEP_REVOCATION``): ``ocsp_then_crl`` (default,
as CryptoPro does), ``ocsp`` or ``crl``. For each certificate of the chain below the root:

* OCSP ``revoked`` refuses the signature with the revocation time. Per 63-FZ art. 11 p. 2 a
  qualified certificate must be valid when the document was signed *if that moment is reliably
  known*, otherwise at the check. The CMS signingTime is the signer's own claim (no timestamp
  from a trusted TSP), so the check time counts: a certificate revoked now refuses the signature
  even if signingTime is before the revocation.
* OCSP ``unknown`` refuses too: the CA does not know the certificate, and no CRL can vouch for a
  certificate its CA never issued.
* Any other OCSP failure (unreachable, an error status, a bad signature, a wrong nonce, stale)
  falls back to the CRLs (the certificate's distribution points, kept fresh by `CrlCache`, and
  the configured ones); a CRL listing it refuses, a fresh CRL without it accepts.
* Neither answers: refused with `CertificateStatusUnknownError` naming both failures. A
  certificate that names no responder and no list, with none configured, is refused as well
  when ``require_status`` (``FLEET_KEP_REQUIRE_REVOCATION``, default on): a registration never
  goes on with an unchecked certificate.

The `StatusReport` says how each certificate was checked; the cabinet shows it with the
signature.
"""

from __future__ import annotations

import datetime as dt
import itertools
import secrets
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Final, Literal

import httpx

from fleet.registration.crl_cache import CrlCache, CrlUnavailable, status_unknown
from fleet.registration.exceptions import CertificateRevokedError, CertificateUnknownToCaError
from fleet.registration.revocation import Crl, listing, revoked_error
from protocol.errors import KepError
from protocol.kep import gost, ocsp
from protocol.kep.verify import VerifiedSignature
from protocol.kep.x509 import OID_KP_OCSP_SIGNING, CertInfo, read_certificate

__all__ = [
    "MODES",
    "BadResponseSignatureError",
    "CertIdMismatchError",
    "MalformedAnswerError",
    "NonceMismatchError",
    "OcspAnswer",
    "OcspClient",
    "OcspError",
    "ResponderRefusedError",
    "ResponderUnreachableError",
    "RevocationChecker",
    "RevocationSource",
    "StaleAnswerError",
    "StatusReport",
    "check_status",
]

Mode = Literal["ocsp_then_crl", "ocsp", "crl"]
MODES: Final[tuple[Mode, ...]] = ("ocsp_then_crl", "ocsp", "crl")

#: RFC 5280 §5.3.1 CRLReason, as the refusal says it
_REASONS: Final[dict[int, str]] = {
    0: "причина не указана",
    1: "компрометация ключа",
    2: "компрометация ключа УЦ",
    3: "изменились сведения о владельце",
    4: "сертификат заменён",
    5: "прекращение деятельности",
    6: "действие приостановлено",
    8: "снят с приостановки",
    9: "отозваны полномочия",
    10: "компрометация атрибутов",
}
_STATUSES: Final[dict[str, str]] = {
    "malformedRequest": "запрос не понят (malformedRequest)",
    "internalError": "внутренняя ошибка службы (internalError)",
    "tryLater": "служба временно не отвечает (tryLater)",
    "sigRequired": "служба требует подписанный запрос (sigRequired)",
    "unauthorized": "служба не отвечает за этот сертификат (unauthorized)",
}


def _when(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%d.%m.%Y %H:%M:%S UTC")


def _who(cert: CertInfo) -> str:
    return cert.common_name or cert.organization or f"№ {cert.serial:x}"


class OcspError(Exception):
    """Why an OCSP answer cannot be used; ``reason`` in Russian, naming the responder."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ResponderUnreachableError(OcspError):
    """No connection, a timeout, or an HTTP status other than 200."""


class ResponderRefusedError(OcspError):
    """The responder answered with an OCSP error status (tryLater, internalError, …)."""


class MalformedAnswerError(OcspError):
    """The body is not an OCSPResponse with a BasicOCSPResponse."""


class BadResponseSignatureError(OcspError):
    """Not signed by the issuer or by a responder the issuer authorised."""


class NonceMismatchError(OcspError):
    """The answer does not echo our nonce: it may be a replay of an older one."""


class CertIdMismatchError(OcspError):
    """The answer is not about the certificate asked about."""


class StaleAnswerError(OcspError):
    """Past its nextUpdate, too old without one, or dated ahead of our clock."""


@dataclass(frozen=True)
class OcspAnswer:
    """A usable answer: the status and who said it, when."""

    url: str
    status: str
    this_update: float
    next_update: float | None
    produced_at: float
    signer: str
    revoked_at: float | None = None
    reason: int | None = None
    cached: bool = False


class OcspClient:
    """Asks responders and checks their answers (thread-safe; good answers cached)."""

    def __init__(
        self,
        *,
        url: str | None = None,
        client: httpx.Client | None = None,
        timeout_s: float = 5.0,
        max_age_s: float = 3600.0,
        skew_s: float = 300.0,
        require_nonce: bool = True,
        nonce: Callable[[], bytes] = lambda: secrets.token_bytes(16),
    ) -> None:
        if timeout_s <= 0 or max_age_s <= 0 or skew_s < 0:
            raise ValueError("OCSP timeout and age limits must be positive")
        self.url = url or None
        self.timeout_s = timeout_s
        self.max_age_s = max_age_s
        self.skew_s = skew_s
        self.require_nonce = require_nonce
        self._client = client
        self._nonce = nonce
        self._cache: dict[tuple[str, ocsp.CertId], OcspAnswer] = {}
        self._lock = threading.Lock()
        self.requests = 0

    def urls(self, cert: CertInfo) -> tuple[str, ...]:
        """Where to ask about ``cert``: the configured responder, or the ones its AIA names."""
        return (self.url,) if self.url else cert.ocsp_urls

    def query(self, cert: CertInfo, issuer: CertInfo, now: float) -> OcspAnswer:
        """The first usable answer of ``cert``'s responders; the last `OcspError` if none."""
        urls = self.urls(cert)
        if not urls:
            raise ResponderUnreachableError("в сертификате не указана служба OCSP")
        problem: OcspError | None = None
        for url in urls:
            try:
                return self._ask(url, cert, issuer, now)
            except OcspError as exc:
                problem = exc
        assert problem is not None
        raise problem

    def _post(self, url: str, body: bytes) -> bytes:
        headers = {
            "Content-Type": "application/ocsp-request",
            "Accept": "application/ocsp-response",
        }
        try:
            if self._client is not None:
                answer = self._client.post(
                    url, content=body, headers=headers, timeout=self.timeout_s
                )
            else:
                with httpx.Client(timeout=self.timeout_s) as http:
                    answer = http.post(url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            raise ResponderUnreachableError(
                f"служба OCSP {url} недоступна ({type(exc).__name__}: {exc})"
            ) from exc
        with self._lock:
            self.requests += 1
        if answer.status_code != 200:
            raise ResponderUnreachableError(f"служба OCSP {url} ответила HTTP {answer.status_code}")
        return answer.content

    def _ask(self, url: str, cert: CertInfo, issuer: CertInfo, now: float) -> OcspAnswer:
        cert_id = ocsp.CertId.of(cert, issuer)
        with self._lock:
            held = self._cache.get((url, cert_id))
        if held is not None and held.next_update is not None and now < held.next_update:
            return replace(held, cached=True)
        nonce = self._nonce()
        raw = self._post(url, ocsp.build_request([cert_id], nonce))
        try:
            response = ocsp.parse_response(raw)
        except KepError as exc:
            raise MalformedAnswerError(f"служба OCSP {url} прислала не ответ OCSP: {exc}") from exc
        if response.status != "successful":
            raise ResponderRefusedError(
                f"служба OCSP {url} отказала: {_STATUSES.get(response.status, response.status)}"
            )
        signer = self._signer(url, response, issuer, now)
        if response.nonce is None:
            if self.require_nonce:
                raise NonceMismatchError(
                    f"ответ службы OCSP {url} без nonce запроса: он мог быть записан раньше"
                )
        elif response.nonce != nonce:
            raise NonceMismatchError(
                f"nonce в ответе службы OCSP {url} не совпадает с запросом: это ответ на другой "
                "запрос"
            )
        single = response.find(cert_id)
        if single is None:
            raise CertIdMismatchError(
                f"в ответе службы OCSP {url} нет статуса сертификата с серийным номером "
                f"{cert.serial:x} (CertID не совпадает)"
            )
        self._check_fresh(url, single, now)
        answer = OcspAnswer(
            url=url,
            status=single.status,
            this_update=single.this_update,
            next_update=single.next_update,
            produced_at=response.produced_at,
            signer=_who(signer),
            revoked_at=single.revoked_at,
            reason=single.reason,
        )
        if answer.status == ocsp.GOOD and answer.next_update is not None:
            with self._lock:
                # expired answers go when a new one comes: the cache holds live signers only
                for key in [k for k, a in self._cache.items() if (a.next_update or 0) <= now]:
                    del self._cache[key]
                self._cache[(url, cert_id)] = answer
        return answer

    def _signer(
        self, url: str, response: ocsp.OcspResponse, issuer: CertInfo, now: float
    ) -> CertInfo:
        """The certificate whose key signed ``response``: the issuer's, or a delegated
        responder's the issuer authorised; `BadResponseSignatureError` otherwise."""
        if response.names(issuer):
            if not response.signed_by(issuer):
                raise BadResponseSignatureError(
                    f"подпись ответа службы OCSP {url} неверна: ответ изменён или подписан не "
                    f"ключом удостоверяющего центра «{issuer.common_name}»"
                )
            return issuer
        for der in response.certificates:
            try:
                candidate = read_certificate(der)
            except KepError:
                continue
            if not response.names(candidate):
                continue
            who = _who(candidate)
            if candidate.issuer_der != issuer.subject_der or not gost.verify_digest(
                issuer.public_key,
                gost.streebog256(candidate.tbs),
                candidate.signature,
                issuer.paramset,
            ):
                raise BadResponseSignatureError(
                    f"ответ службы OCSP {url} подписан сертификатом «{who}», который выдал не "
                    f"удостоверяющий центр «{issuer.common_name}»"
                )
            if OID_KP_OCSP_SIGNING not in candidate.extended_key_usage:
                raise BadResponseSignatureError(
                    f"сертификат «{who}», подписавший ответ службы OCSP {url}, не предназначен "
                    "для ответов OCSP (нет id-kp-OCSPSigning)"
                )
            if not candidate.not_before <= now <= candidate.not_after:
                raise BadResponseSignatureError(
                    f"сертификат «{who}», подписавший ответ службы OCSP {url}, не действует"
                )
            if not response.signed_by(candidate):
                raise BadResponseSignatureError(
                    f"подпись ответа службы OCSP {url} неверна: ответ изменён после подписи «{who}»"
                )
            return candidate
        raise BadResponseSignatureError(
            f"ответ службы OCSP {url} подписан не удостоверяющим центром "
            f"«{issuer.common_name}» и не его службой OCSP"
        )

    def _check_fresh(self, url: str, single: ocsp.SingleResponse, now: float) -> None:
        if single.this_update > now + self.skew_s:
            raise StaleAnswerError(
                f"ответ службы OCSP {url} датирован будущим ({_when(single.this_update)}): "
                "часы службы или наши расходятся"
            )
        if single.next_update is not None:
            if now > single.next_update + self.skew_s:
                raise StaleAnswerError(
                    f"ответ службы OCSP {url} устарел: он действовал до {_when(single.next_update)}"
                )
        elif now - single.this_update > self.max_age_s:
            raise StaleAnswerError(
                f"ответ службы OCSP {url} устарел: он от {_when(single.this_update)}, "
                f"допустимо не старше {self.max_age_s / 60:g} мин"
            )


@dataclass(frozen=True)
class StatusReport:
    """How each certificate of the chain below the root was found not revoked."""

    lines: tuple[str, ...]

    @property
    def text(self) -> str:
        return "; ".join(self.lines)


class RevocationChecker:
    """OCSP, then the CRLs, per the policy; see the module's docstring."""

    def __init__(
        self,
        *,
        ocsp_client: OcspClient | None = None,
        crls: CrlCache | None = None,
        mode: Mode = "ocsp_then_crl",
        require_status: bool = True,
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"revocation mode is one of {MODES}, not {mode!r}")
        self.ocsp = ocsp_client
        self.crls = crls if crls is not None else CrlCache()
        self.mode = mode
        self.require_status = require_status

    def check(
        self, verified: VerifiedSignature, now: float, *, field: str = "signature"
    ) -> StatusReport:
        """Each certificate's status, or a refusal under ``field`` (`CertificateRevokedError`,
        `CertificateUnknownToCaError`, `CertificateStatusUnknownError`)."""
        lines = [
            self._one(cert, issuer, now, field)
            for cert, issuer in itertools.pairwise(verified.chain)
        ]
        return StatusReport(tuple(lines))

    def _one(self, cert: CertInfo, issuer: CertInfo, now: float, field: str) -> str:
        who = _who(cert)
        failures: list[str] = []
        ocsp_failed = ""
        if self.mode != "crl" and self.ocsp is not None and self.ocsp.urls(cert):
            try:
                answer = self.ocsp.query(cert, issuer, now)
            except OcspError as exc:
                ocsp_failed = exc.reason
                failures.append(exc.reason)
            else:
                return self._from_ocsp(cert, issuer, answer, field)
        elif self.mode == "ocsp":
            failures.append("в сертификате не указана служба OCSP")
        if self.mode != "ocsp":
            stale = False
            try:
                points = self.crls.distribution_lists(cert, issuer, now)
            except CrlUnavailable as exc:
                failures.append(exc.reason)
                points, stale = (), True
            found: list[tuple[str, Crl]] = [
                *points,
                *(("из настроек", c) for c in self.crls.configured_lists(cert, issuer)),
            ]
            crl = listing(cert, issuer, [c for _, c in found])
            if crl is not None:
                raise revoked_error(cert, issuer, crl, field=field)
            # a configured list is read once: it does not stand in for a stale published one
            if found and not stale:
                where, newest = max(found, key=lambda wc: wc[1].this_update)
                line = (
                    f"«{who}»: не отозван — список отзыва «{issuer.common_name}» от "
                    f"{_when(newest.this_update)} ({where})"
                )
                return line + (f"; служба OCSP не ответила: {ocsp_failed}" if ocsp_failed else "")
        if failures:
            raise status_unknown(cert, "; ".join(failures), field=field)
        if self.require_status:
            raise status_unknown(
                cert,
                "в сертификате не указаны ни служба OCSP, ни список отзыва удостоверяющего "
                f"центра «{issuer.common_name}», и в настройках их нет (FLEET_KEP_OCSP_URL, "
                "FLEET_KEP_CRLS); сертификат с непроверенным статусом не принимается",
                field=field,
            )
        return f"«{who}»: статус отзыва не проверялся (нет ни службы OCSP, ни списка отзыва)"

    def _from_ocsp(self, cert: CertInfo, issuer: CertInfo, answer: OcspAnswer, field: str) -> str:
        who = _who(cert)
        if answer.status == ocsp.REVOKED:
            revoked_at = answer.revoked_at if answer.revoked_at is not None else answer.this_update
            why = f" ({_REASONS.get(answer.reason, str(answer.reason))})" if answer.reason else ""
            raise CertificateRevokedError(
                "Подпись не принята",
                fields={
                    field: f"Сертификат «{who}» (серийный номер {cert.serial:x}) отозван "
                    f"удостоверяющим центром «{issuer.common_name}» {_when(revoked_at)}{why}: "
                    f"так ответила служба OCSP {answer.url} ({_when(answer.this_update)}). "
                    "Подпись не принимается, даже если сделана до отзыва: момент подписания не "
                    "подтверждён штампом времени (63-ФЗ ст. 11 п. 2). Подпишите заявление "
                    "действующим сертификатом"
                },
            )
        if answer.status == ocsp.UNKNOWN:
            raise CertificateUnknownToCaError(
                "Подпись не принята",
                fields={
                    field: f"Служба OCSP {answer.url} удостоверяющего центра "
                    f"«{issuer.common_name}» не знает сертификат «{who}» (серийный номер "
                    f"{cert.serial:x}): УЦ его не выдавал или не ведёт его статус"
                },
            )
        line = (
            f"«{who}»: не отозван — ответ службы OCSP {answer.url} от "
            f"{_when(answer.this_update)}, подписал «{answer.signer}»"
        )
        if answer.cached and answer.next_update is not None:
            line += f" (сохранённый ответ, действует до {_when(answer.next_update)})"
        return line


#: what the signature checks take: the checker, or (tests, the demo's seeding) CRLs as before
RevocationSource = Sequence[Crl] | CrlCache | RevocationChecker


def check_status(
    source: RevocationSource, verified: VerifiedSignature, now: float, *, field: str = "signature"
) -> StatusReport:
    """Check ``verified``'s chain: with a `RevocationChecker` by its policy; with CRLs alone
    (configured, or a `CrlCache`) as before OCSP existed: a certificate without a list passes
    unchecked."""
    if isinstance(source, RevocationChecker):
        return source.check(verified, now, field=field)
    cache = source if isinstance(source, CrlCache) else CrlCache(static=tuple(source))
    checker = RevocationChecker(crls=cache, mode="crl", require_status=False)
    return checker.check(verified, now, field=field)
