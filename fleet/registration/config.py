"""Where the registration's trusted roots and FNS gateway come from.

Read from settings (``FLEET_KEP_TRUSTED_ROOTS``: certificate paths, DER or PEM;
``FLEET_KEP_CRLS``: CRL paths or URLs; ``FLEET_KEP_CRL_REFRESH_S`` and ``FLEET_KEP_CRL_STALE_S``:
how often the CRLs the certificates name are fetched again, and how old they may get before
signatures are refused, see `fleet.registration.crl_cache`; ``FLEET_KEP_REVOCATION``,
``FLEET_KEP_OCSP_URL``, ``FLEET_KEP_OCSP_TIMEOUT_S``, ``FLEET_KEP_OCSP_MAX_AGE_S``,
``FLEET_KEP_OCSP_REQUIRE_NONCE``, ``FLEET_KEP_REQUIRE_REVOCATION``: the OCSP policy, see
`fleet.registration.ocsp`; ``FLEET_FNS_URL``) the first time they are needed, and kept on
``app.state.registration``;
tests put a `RegistrationConfig` there themselves (the test CA, the simulator's client).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from fastapi import Depends, Request

from fleet.deps import get_state
from fleet.registration.crl_cache import CrlCache
from fleet.registration.gateway import FnsGateway, HttpFnsGateway
from fleet.registration.ocsp import OcspClient, RevocationChecker, RevocationSource
from fleet.registration.pem import der_blocks
from fleet.registration.revocation import read_crl, read_crls

__all__ = ["ConfigDep", "RegistrationConfig", "get_config", "read_certificates"]

DEFAULT_FNS_URL = "http://127.0.0.1:8200"


@dataclass(frozen=True)
class RegistrationConfig:
    """The accredited CAs' root certificates (DER), the FNS gateway, and how revocation is
    checked: a `RevocationChecker` (OCSP, then the CRLs; what settings give), or CRLs alone
    (configured ones, or a `CrlCache` that also fetches those the certificates name)."""

    trusted_roots: tuple[bytes, ...]
    gateway: FnsGateway
    crls: RevocationSource = ()


def read_certificates(paths: Iterable[str | Path]) -> tuple[bytes, ...]:
    """DER certificates from files (a PEM file may hold several)."""
    out: list[bytes] = []
    for path in paths:
        out.extend(der_blocks(Path(path).read_bytes(), b"CERTIFICATE"))
    return tuple(out)


def get_config(request: Request) -> RegistrationConfig:
    """The app's registration config, built from settings once."""
    config = getattr(request.app.state, "registration", None)
    if isinstance(config, RegistrationConfig):
        return config
    settings = get_state(request).settings
    roots = [p.strip() for p in settings.kep_trusted_roots.split(",") if p.strip()]
    crls = [p.strip() for p in settings.kep_crls.split(",") if p.strip()]
    config = RegistrationConfig(
        trusted_roots=read_certificates(roots),
        gateway=HttpFnsGateway(settings.fns_url or DEFAULT_FNS_URL),
        crls=RevocationChecker(
            ocsp_client=OcspClient(
                url=settings.kep_ocsp_url.strip() or None,
                timeout_s=settings.kep_ocsp_timeout_s,
                max_age_s=settings.kep_ocsp_max_age_s,
                require_nonce=settings.kep_ocsp_require_nonce,
            ),
            crls=CrlCache(
                static=tuple(read_crl(der) for der in read_crls(crls)),
                refresh_s=settings.kep_crl_refresh_s,
                stale_s=settings.kep_crl_stale_s,
            ),
            mode=settings.kep_revocation,
            require_status=settings.kep_require_revocation,
        ),
    )
    request.app.state.registration = config
    return config


ConfigDep = Annotated[RegistrationConfig, Depends(get_config)]
