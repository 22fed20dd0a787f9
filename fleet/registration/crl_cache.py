"""Certificate status from the CAs' published CRLs: fetched, cached, refreshed, and a limit.

A certificate names where its CA publishes its list of revoked certificates (the
cRLDistributionPoints extension, RFC 5280 §4.2.1.13). `CrlCache` fetches that list over HTTP the
first time a signature's chain needs it, keeps it, and fetches it again once it is
``refresh_s`` old (or past its nextUpdate); a failed fetch keeps the list already held and is
retried after ``retry_s``. A list counts only if its issuer's key signed it (`Crl.signed_by`).

Revocation is what makes a signature invalid after the fact (63-FZ art. 14 p. 6), so status
that cannot be known is not assumed good: when the freshest list held for a certificate of the
chain was fetched more than ``stale_s`` ago (or none ever was), the signature is refused with a
precise Russian error (`CertificateStatusUnknownError`) naming the CA, the URL and since when.
The CRLs configured by hand (``FLEET_KEP_CRLS``) are checked too, as before.
"""

from __future__ import annotations

import datetime as dt
import itertools
import threading
from collections.abc import Sequence
from dataclasses import dataclass

import httpx

from fleet.registration.exceptions import CertificateStatusUnknownError, InvalidCrlError
from fleet.registration.pem import der_blocks
from fleet.registration.revocation import Crl, read_crl
from protocol.kep.verify import VerifiedSignature
from protocol.kep.x509 import CertInfo

__all__ = ["CrlCache", "CrlSource", "CrlUnavailable", "current_crls", "status_unknown"]


@dataclass
class _Entry:
    crl: Crl | None = None
    fetched_at: float | None = None  # the last fetch that gave a list its issuer signed
    tried_at: float | None = None
    error: str = ""


def _when(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%d.%m.%Y %H:%M UTC")


class CrlCache:
    """The CRLs of the distribution points seen in signatures' chains, kept between requests
    (thread-safe: the API's handlers run in a thread pool), plus the configured ones."""

    def __init__(
        self,
        *,
        static: Sequence[Crl] = (),
        refresh_s: float = 3600.0,
        stale_s: float = 86_400.0,
        retry_s: float = 60.0,
        client: httpx.Client | None = None,
        timeout_s: float = 10.0,
    ) -> None:
        if refresh_s <= 0 or stale_s <= 0 or retry_s < 0:
            raise ValueError("CRL refresh and staleness limits must be positive")
        self.static = tuple(static)
        self.refresh_s = refresh_s
        self.stale_s = stale_s
        self.retry_s = retry_s
        self._client = client
        self._timeout_s = timeout_s
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()

    def _fetch(self, url: str, cert: CertInfo, issuer: CertInfo) -> Crl:
        """The list at ``url``, only if ``issuer`` signed it; InvalidCrlError otherwise."""
        try:
            if self._client is not None:
                answer = self._client.get(url, timeout=self._timeout_s)
            else:
                with httpx.Client(timeout=self._timeout_s) as http:
                    answer = http.get(url)
            answer.raise_for_status()
        except httpx.HTTPError as exc:
            raise InvalidCrlError(f"не загружен ({exc})") from exc
        blocks = der_blocks(answer.content, b"X509 CRL")
        if not blocks:
            raise InvalidCrlError("пустой ответ")
        crl = read_crl(blocks[0])
        if crl.issuer_der != cert.issuer_der or not crl.signed_by(issuer):
            raise InvalidCrlError("не подписан удостоверяющим центром сертификата")
        return crl

    def _entry(self, url: str, cert: CertInfo, issuer: CertInfo, now: float) -> _Entry:
        with self._lock:
            entry = self._entries.setdefault(url, _Entry())
            crl = entry.crl
            due = (
                entry.fetched_at is None
                or now - entry.fetched_at >= self.refresh_s
                or (crl is not None and crl.next_update is not None and now >= crl.next_update)
            )
            if due and (entry.tried_at is None or now - entry.tried_at >= self.retry_s):
                entry.tried_at = now
                try:
                    fresh = self._fetch(url, cert, issuer)
                except InvalidCrlError as exc:
                    entry.error = exc.message
                else:
                    if crl is None or fresh.this_update >= crl.this_update:
                        entry.crl = fresh  # never back to an older list a cache might serve
                    entry.fetched_at = now
                    entry.error = ""
            return _Entry(entry.crl, entry.fetched_at, entry.tried_at, entry.error)

    def distribution_lists(
        self, cert: CertInfo, issuer: CertInfo, now: float
    ) -> tuple[tuple[str, Crl], ...]:
        """(URL, list) for each of ``cert``'s distribution points whose list, signed by
        ``issuer``, was fetched within ``stale_s`` (fetching what is due); `CrlUnavailable`
        when it names points and none is fresh; () when it names none."""
        if not cert.crl_urls:
            return ()
        entries = [(url, self._entry(url, cert, issuer, now)) for url in cert.crl_urls]
        fresh = tuple(
            (url, e.crl)
            for url, e in entries
            if e.crl is not None and e.fetched_at is not None and now - e.fetched_at <= self.stale_s
        )
        if fresh:
            return fresh
        url, entry = entries[0]
        since = (
            f"список отзыва обновлён последний раз {_when(entry.fetched_at)}"
            if entry.fetched_at is not None
            else "список отзыва ни разу не получен"
        )
        raise CrlUnavailable(
            f"{since} (допустимо не старше {self.stale_s / 3600:g} ч) с адреса {url} "
            f"удостоверяющего центра «{issuer.common_name}»"
            + (f"; последняя попытка: {entry.error}" if entry.error else "")
        )

    def configured_lists(self, cert: CertInfo, issuer: CertInfo) -> tuple[Crl, ...]:
        """The configured (``FLEET_KEP_CRLS``) lists that ``issuer`` published and signed."""
        return tuple(
            crl
            for crl in self.static
            if crl.issuer_der == cert.issuer_der and crl.signed_by(issuer)
        )

    def crls_for(
        self, verified: VerifiedSignature, now: float, *, field: str = "signature"
    ) -> tuple[Crl, ...]:
        """The configured CRLs and, for each certificate of the chain that names a
        distribution point, its CA's current list; `CertificateStatusUnknownError` (under
        ``field``) when none of a certificate's lists is fresher than ``stale_s``."""
        out = list(self.static)
        for cert, issuer in itertools.pairwise(verified.chain):
            try:
                out.extend(crl for _url, crl in self.distribution_lists(cert, issuer, now))
            except CrlUnavailable as exc:
                raise status_unknown(cert, exc.reason, field=field) from exc
        return tuple(out)


class CrlUnavailable(Exception):  # noqa: N818 - a state, like the KEP errors
    """No list of revoked certificates fresh enough for a certificate; ``reason`` in Russian."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def status_unknown(
    cert: CertInfo, reason: str, *, field: str = "signature"
) -> CertificateStatusUnknownError:
    """The refusal of a signature whose certificate's revocation status is not known."""
    who = cert.common_name or cert.organization or f"№ {cert.serial:x}"
    return CertificateStatusUnknownError(
        "Подпись не принята",
        fields={
            field: f"Не удалось проверить, не отозван ли сертификат «{who}»: {reason}. "
            "Повторите подпись позже"
        },
    )


#: what the signature checks take: CRLs as configured, or the cache that also fetches them
CrlSource = Sequence[Crl] | CrlCache


def current_crls(
    source: CrlSource, verified: VerifiedSignature, now: float, *, field: str = "signature"
) -> Sequence[Crl]:
    """The CRLs to check ``verified``'s chain against (see `CrlCache.crls_for`)."""
    if isinstance(source, CrlCache):
        return source.crls_for(verified, now, field=field)
    return source
