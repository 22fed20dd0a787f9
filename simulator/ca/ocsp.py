"""The test CA's OCSP responder (RFC 6960) and CRL publication point, over HTTP.

Wire contract (documented in docs/registration.md):

* ``POST /ocsp`` with ``Content-Type: application/ocsp-request`` — the DER OCSPRequest; the answer
  is an ``application/ocsp-response``: good / revoked (time, reason) / unknown for each CertID,
  ``nextUpdate`` = now + ``next_update_s``, the request's nonce echoed, signed GOST R 34.10-2012
  by the CA itself or (``delegated=True``) by a responder certificate with id-kp-OCSPSigning that
  the CA issued (sent along in ``certs``).
* ``GET /ocsp/{base64 request}`` — the same (RFC 6960 Appendix A.1).
* ``GET /crl`` — the CA's CRL (DER, ``application/pkix-crl``), from the same revocation list.
* ``POST /api/v1/revocations`` ``{"serial": "<hex>" | "certificate": "<base64 DER>",
  "reason": <CRLReason>}`` revokes a certificate now; ``GET /api/v1/revocations`` lists them.

The revocation list is kept in memory or in a JSON file (``store``, read again when it changes),
so `oblako sign --revoke` can revoke for a running responder. `OcspFaults` make it misbehave on
purpose (HTTP errors, OCSP error statuses, a broken signature, a wrong or missing nonce, stale
answers) for the fleet's tests.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from pyasn1.codec.der import decoder, encoder
from pyasn1_modules import rfc6960
from pydantic import BaseModel

from protocol.errors import KepError
from protocol.kep import gost, ocsp
from protocol.kep.testca import Issued, TestCa
from protocol.kep.x509 import CertInfo, read_certificate

__all__ = [
    "CaServer",
    "OcspFaults",
    "OcspResponder",
    "create_app",
    "revoke_in_file",
    "run_ca",
]

_OCSP_REQUEST = "application/ocsp-request"
_OCSP_RESPONSE = "application/ocsp-response"
_MAX_REQUEST = 64 * 1024


@dataclass
class OcspFaults:
    """Ways the responder misbehaves (tests): all off by default."""

    #: answer every OCSP request with this HTTP status and no body (e.g. 503)
    http_status: int | None = None
    #: answer with these bytes (HTTP 200, application/ocsp-response): not an OCSP response
    body: bytes | None = None
    #: answer with this OCSPResponseStatus instead (tryLater, internalError, …)
    ocsp_error: str | None = None
    #: flip a bit of the signature after signing
    tamper: bool = False
    #: echo another nonce / echo none
    wrong_nonce: bool = False
    drop_nonce: bool = False
    #: date thisUpdate/nextUpdate this many seconds back (a replayed old answer)
    age_s: float = 0.0
    #: answer about another serial than the one asked
    wrong_serial: bool = False


def _load(path: Path) -> dict[int, tuple[float, int | None]]:
    if not path.exists():
        return {}
    raw = json.loads(path.read_text(encoding="utf-8") or "{}")
    return {int(k, 16): (float(v["at"]), v.get("reason")) for k, v in raw.items()}


def revoke_in_file(
    path: str | Path, serial: int, at: float | None = None, reason: int | None = None
) -> None:
    """Add ``serial`` to the revocation list kept in ``path`` (JSON; made if missing)."""
    target = Path(path)
    current = _load(target)
    current[serial] = (time.time() if at is None else at, reason)
    body = {f"{s:x}": {"at": t, "reason": r} for s, (t, r) in sorted(current.items())}
    tmp = target.with_suffix(".tmp")
    tmp.write_text(json.dumps(body, indent=1), encoding="utf-8")
    tmp.replace(target)  # a reader never sees half a file


@dataclass
class OcspResponder:
    """The test CA's revocation list and the answers made from it."""

    ca: TestCa = field(default_factory=TestCa)
    clock: Callable[[], float] = time.time
    #: sign with a delegated responder certificate (id-kp-OCSPSigning) instead of the CA key
    delegated: bool = False
    next_update_s: float = 600.0
    #: the serials the CA issued; None: any serial not revoked is good
    issued: set[int] | None = None
    store: Path | None = None
    faults: OcspFaults = field(default_factory=OcspFaults)
    requests: int = field(default=0, init=False)
    _revoked: dict[int, tuple[float, int | None]] = field(default_factory=dict, init=False)
    _mtime: float | None = field(default=None, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)
    _signer: Issued | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        if self.delegated:
            self._signer = self.ca.issue_ocsp_responder()

    @property
    def signer(self) -> CertInfo:
        return read_certificate(self._signer.cert) if self._signer else self.ca.info

    def revoke(self, serial: int, at: float | None = None, reason: int | None = None) -> None:
        """Revoke ``serial`` (now, unless ``at``); kept in ``store`` when there is one."""
        when = self.clock() if at is None else at
        with self._lock:
            if self.store is not None:
                revoke_in_file(self.store, serial, when, reason)
                self._mtime = None
            self._revoked[serial] = (when, reason)

    def revoked(self) -> dict[int, tuple[float, int | None]]:
        """serial → (revocation time, CRLReason or None)."""
        with self._lock:
            if self.store is not None and self.store.exists():
                mtime = self.store.stat().st_mtime
                if mtime != self._mtime:
                    self._revoked = _load(self.store)
                    self._mtime = mtime
            return dict(self._revoked)

    def _single(
        self, cert_id: ocsp.CertId, revoked: dict[int, tuple[float, int | None]], now: float
    ) -> ocsp.SingleResponse:
        this_update = now - self.faults.age_s
        next_update = this_update + self.next_update_s
        serial = cert_id.serial + 1 if self.faults.wrong_serial else cert_id.serial
        answered = ocsp.CertId(
            cert_id.hash_algorithm, cert_id.issuer_name_hash, cert_id.issuer_key_hash, serial
        )
        try:
            ours = ocsp.CertId.for_issuer(self.ca.info, cert_id.serial, cert_id.hash_algorithm)
        except KepError:
            ours = None  # a hash algorithm we do not speak: not our certificate, as far as we know
        if ours != cert_id:
            return ocsp.SingleResponse(answered, ocsp.UNKNOWN, this_update, next_update)
        if cert_id.serial in revoked:
            at, reason = revoked[cert_id.serial]
            return ocsp.SingleResponse(
                answered, ocsp.REVOKED, this_update, next_update, revoked_at=at, reason=reason
            )
        if self.issued is not None and cert_id.serial not in self.issued:
            return ocsp.SingleResponse(answered, ocsp.UNKNOWN, this_update, next_update)
        return ocsp.SingleResponse(answered, ocsp.GOOD, this_update, next_update)

    def answer(self, request_der: bytes) -> bytes:
        """The DER OCSPResponse to a DER OCSPRequest (malformedRequest for garbage)."""
        with self._lock:
            self.requests += 1
        if self.faults.ocsp_error:
            return ocsp.build_error_response(self.faults.ocsp_error)
        try:
            request = ocsp.parse_request(request_der)
        except KepError:
            return ocsp.build_error_response("malformedRequest")
        now = self.clock()
        revoked = self.revoked()
        nonce = request.nonce
        if self.faults.drop_nonce:
            nonce = None
        elif self.faults.wrong_nonce:
            nonce = gost.streebog256(b"another request:" + (nonce or b""))[:16]
        signer = self.signer
        der = ocsp.build_response(
            [self._single(c, revoked, now) for c in request.cert_ids],
            responder=signer,
            responder_key=self._signer.key if self._signer else self.ca.key,
            produced_at=now,
            nonce=nonce if nonce and len(nonce) <= 32 else None,
            include_certificate=self._signer is not None,
        )
        return _tampered(der) if self.faults.tamper else der

    def crl(self) -> bytes:
        """The CA's current CRL (valid for ``next_update_s``)."""
        now = self.clock()
        revoked = {s: at for s, (at, _reason) in self.revoked().items()}
        return self.ca.crl(revoked, now, now + self.next_update_s)


def _tampered(der: bytes) -> bytes:
    """The answer as a man in the middle would change it: every status made "good" and
    thisUpdate moved a second on (so even a good answer changes), the signature kept."""
    response, _ = decoder.decode(der, asn1Spec=rfc6960.OCSPResponse())
    basic, _ = decoder.decode(
        response["responseBytes"]["response"].asOctets(), asn1Spec=rfc6960.BasicOCSPResponse()
    )
    for single in basic["tbsResponseData"]["responses"]:
        single["certStatus"]["good"] = ""
        moved = single["thisUpdate"].asDateTime + dt.timedelta(seconds=1)
        single["thisUpdate"] = moved.strftime("%Y%m%d%H%M%SZ")
    response["responseBytes"]["response"] = encoder.encode(basic)
    return bytes(encoder.encode(response))


class RevocationIn(BaseModel):
    """A revocation: the serial number (hex) or the certificate (base64 DER)."""

    serial: str | None = None
    certificate: str | None = None
    reason: int | None = None


def create_app(responder: OcspResponder) -> FastAPI:
    """The responder's HTTP app (see the module's docstring)."""
    app = FastAPI(title="Тестовый УЦ: OCSP и список отзыва", docs_url=None, redoc_url=None)

    def respond(der: bytes) -> Response:
        if responder.faults.http_status is not None:
            return Response(status_code=responder.faults.http_status)
        if responder.faults.body is not None:
            return Response(responder.faults.body, media_type=_OCSP_RESPONSE)
        return Response(responder.answer(der), media_type=_OCSP_RESPONSE)

    @app.post("/ocsp")
    async def post_ocsp(request: Request) -> Response:
        body = await request.body()
        if request.headers.get("content-type", "").split(";")[0].strip() != _OCSP_REQUEST:
            return Response(ocsp.build_error_response("malformedRequest"), status_code=415)
        if len(body) > _MAX_REQUEST:
            return Response(status_code=413)
        return respond(body)

    @app.get("/ocsp/{encoded:path}")
    def get_ocsp(encoded: str) -> Response:
        try:
            der = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            return respond(b"")
        return respond(der)

    @app.get("/crl")
    def get_crl() -> Response:
        return Response(responder.crl(), media_type="application/pkix-crl")

    @app.post("/api/v1/revocations")
    def post_revocation(body: RevocationIn) -> JSONResponse:
        try:
            if body.certificate is not None:
                serial = read_certificate(base64.b64decode(body.certificate)).serial
            elif body.serial is not None:
                serial = int(body.serial, 16)
            else:
                return JSONResponse({"error": "нужен serial или certificate"}, status_code=422)
        except (KepError, ValueError, binascii.Error) as exc:
            return JSONResponse({"error": str(exc)}, status_code=422)
        responder.revoke(serial, reason=body.reason)
        return JSONResponse({"serial": f"{serial:x}", "revoked_at": responder.clock()})

    @app.get("/api/v1/revocations")
    def get_revocations() -> dict[str, Any]:
        return {
            f"{s:x}": {"at": at, "reason": reason}
            for s, (at, reason) in sorted(responder.revoked().items())
        }

    return app


class CaServer:
    """The responder's app under uvicorn in a daemon thread, on a socket bound up front (so
    ``url`` is known before the certificates that name it are issued)."""

    def __init__(self, responder: OcspResponder, host: str = "127.0.0.1", port: int = 0) -> None:
        self.responder = responder
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.url = f"http://{host}:{self.sock.getsockname()[1]}"
        self.server = uvicorn.Server(
            uvicorn.Config(create_app(responder), log_level="warning", lifespan="on")
        )
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, name="test-ca", daemon=True
        )

    @property
    def ocsp_url(self) -> str:
        return f"{self.url}/ocsp"

    @property
    def crl_url(self) -> str:
        return f"{self.url}/crl"

    def start(self, timeout_s: float = 20.0) -> CaServer:
        self.thread.start()
        deadline = time.monotonic() + timeout_s
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("Тестовый УЦ (OCSP): сервер не запустился")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.sock.close()


def run_ca(
    host: str = "127.0.0.1",
    port: int = 8400,
    *,
    store: str | Path | None = None,
    delegated: bool = False,
    next_update_s: float = 600.0,
) -> None:
    """Serve the test CA's responder with uvicorn until interrupted (``oblako sim ca``)."""
    responder = OcspResponder(
        delegated=delegated,
        next_update_s=next_update_s,
        store=Path(store) if store is not None else None,
    )
    uvicorn.run(create_app(responder), host=host, port=port, log_level="info")
