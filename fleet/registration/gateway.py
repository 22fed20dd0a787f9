"""The tax service's gateway: what the fleet needs from the FNS, and an HTTP client for it.

The wire contract is the simulator's (simulator/fns, docs/registration.md); a production
gateway (through an OFD's or the FNS's own API) implements the same `FnsGateway` protocol.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

from fleet.registration.exceptions import FnsUnavailableError

__all__ = ["FnsAnswer", "FnsGateway", "HttpFnsGateway", "PoaFile"]


@dataclass(frozen=True)
class FnsAnswer:
    """The FNS's answer about one application."""

    fns_id: str
    status: str  # processing | rnm_assigned | refused | registered
    rnm: str | None = None
    reasons: list[str] = field(default_factory=list)
    card: dict[str, Any] | None = None


@dataclass(frozen=True)
class PoaFile:
    """An employee's МЧД (XML) and the head's detached signature over it."""

    xml: bytes
    signature: bytes


class FnsGateway(Protocol):
    """Submit an application (КНД 1110061: registration, re-registration) or a deregistration
    (КНД 1110062), ask about it, send the registration (or change) report's requisites."""

    def submit(
        self, application: bytes, signature: bytes, poa: PoaFile | None = None
    ) -> FnsAnswer: ...

    def submit_deregistration(
        self, application: bytes, signature: bytes, poa: PoaFile | None = None
    ) -> FnsAnswer: ...

    def poll(self, fns_id: str) -> FnsAnswer: ...

    def send_report(
        self, fns_id: str, *, fd_number: int, fiscal_sign: str, date: str
    ) -> FnsAnswer: ...


class HttpFnsGateway:
    """`FnsGateway` over HTTP (``FLEET_FNS_URL``); pass ``client`` to reuse one (tests)."""

    def __init__(
        self, base_url: str, *, client: httpx.Client | None = None, timeout: float = 10.0
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.client = client or httpx.Client(timeout=timeout)

    def _answer(self, response: httpx.Response) -> FnsAnswer:
        try:
            data = response.json()
        except ValueError as exc:
            raise FnsUnavailableError(
                f"ФНС ответила не в формате JSON (HTTP {response.status_code})"
            ) from exc
        if response.status_code >= 500 or not isinstance(data, dict):
            raise FnsUnavailableError(f"ФНС недоступна (HTTP {response.status_code})")
        if response.status_code >= 400 and "id" not in data:
            reasons = data.get("reasons") or [f"HTTP {response.status_code}"]
            return FnsAnswer(fns_id="", status="refused", reasons=[str(r) for r in reasons])
        return FnsAnswer(
            fns_id=str(data.get("id", "")),
            status=str(data.get("status", "")),
            rnm=data.get("rnm"),
            reasons=[str(r) for r in data.get("reasons") or []],
            card=data.get("card"),
        )

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> FnsAnswer:
        try:
            response = self.client.request(method, f"{self.base_url}{path}", json=body)
        except httpx.HTTPError as exc:
            raise FnsUnavailableError(f"Нет связи с ФНС: {exc}") from exc
        return self._answer(response)

    @staticmethod
    def _signed(application: bytes, signature: bytes, poa: PoaFile | None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "application": base64.b64encode(application).decode(),
            "signature": base64.b64encode(signature).decode(),
        }
        if poa is not None:
            body["poa"] = {
                "xml": base64.b64encode(poa.xml).decode(),
                "signature": base64.b64encode(poa.signature).decode(),
            }
        return body

    def submit(self, application: bytes, signature: bytes, poa: PoaFile | None = None) -> FnsAnswer:
        return self._call("POST", "/api/v1/applications", self._signed(application, signature, poa))

    def submit_deregistration(
        self, application: bytes, signature: bytes, poa: PoaFile | None = None
    ) -> FnsAnswer:
        return self._call(
            "POST", "/api/v1/deregistrations", self._signed(application, signature, poa)
        )

    def poll(self, fns_id: str) -> FnsAnswer:
        return self._call("GET", f"/api/v1/applications/{fns_id}")

    def send_report(self, fns_id: str, *, fd_number: int, fiscal_sign: str, date: str) -> FnsAnswer:
        return self._call(
            "POST",
            f"/api/v1/applications/{fns_id}/report",
            {"fd_number": fd_number, "fiscal_sign": fiscal_sign, "date": date},
        )
