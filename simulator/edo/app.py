"""The EDO operator simulator (FastAPI): what Диадок or СБИС does for a sender, locally.

Wire contract (JSON over HTTP; docs/integrations.md):

* ``POST /api/v1/participants/check`` ``{"operator_id", "participant_id", "inn"}`` →
  ``{"status": "active"|"not_found", "name", "reason"}``. A participant is known when its id
  starts with the operator id and is not in ``faults.unknown``.
* ``POST /api/v1/documents`` ``{"key", "sender", "recipient", "kind", "number", "file_name",
  "content" (base64)}`` → 201 ``{"id", "status": "delivered", ...}``; the same ``key`` again →
  200 with the document already taken (never a second one).
* ``GET /api/v1/documents/{id}`` → ``{"id", "status": "delivered"|"signed"|"refused", "reason",
  "answered_at"}``: the recipient signs ``sign_after_s`` seconds after delivery, or refuses
  when it is in ``faults.refuse``.
* ``GET/POST /control`` — the faults: ``sign_after_s``, ``refuse`` {participant: reason},
  ``unknown`` [participant], ``fail_next`` (that many requests answer 503 before doing
  anything), ``lose_next`` (that many sends are taken but answered 503, as a lost answer).
"""

from __future__ import annotations

import base64
import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import uvicorn
from fastapi import FastAPI
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

__all__ = ["EdoDocumentState", "EdoFaults", "EdoState", "create_app", "run_edo"]


class EdoFaults(BaseModel):
    """Configurable behaviour (``/control``)."""

    sign_after_s: float = Field(default=2.0, ge=0.0)
    refuse: dict[str, str] = Field(default_factory=dict)
    unknown: list[str] = Field(default_factory=list)
    fail_next: int = Field(default=0, ge=0)
    lose_next: int = Field(default=0, ge=0)


@dataclass
class EdoDocumentState:
    """One document the operator took."""

    id: str
    key: str
    sender: str
    recipient: str
    kind: str
    number: str
    file_name: str
    content: bytes
    delivered_at: float
    refusal: str | None  # decided on delivery: the recipient's answer once it comes


@dataclass
class EdoState:
    """Everything the simulator holds (tests read it)."""

    clock: Callable[[], float] = time.time
    faults: EdoFaults = field(default_factory=EdoFaults)
    documents: dict[str, EdoDocumentState] = field(default_factory=dict)
    by_key: dict[str, str] = field(default_factory=dict)
    sends: int = 0  # POST /documents received (including repeats and lost answers)
    lock: threading.Lock = field(default_factory=threading.Lock)
    ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def answer(self, doc: EdoDocumentState) -> dict[str, object]:
        """The document's state now."""
        due = doc.delivered_at + self.faults.sign_after_s
        body: dict[str, object] = {
            "id": doc.id,
            "key": doc.key,
            "number": doc.number,
            "status": "delivered",
            "reason": "",
            "answered_at": None,
        }
        if self.clock() >= due:
            body["status"] = "signed" if doc.refusal is None else "refused"
            body["reason"] = doc.refusal or ""
            body["answered_at"] = due
        return body


class ParticipantCheck(BaseModel):
    operator_id: str = Field(min_length=3, max_length=3)
    participant_id: str = Field(min_length=4, max_length=46)
    inn: str = Field(min_length=10, max_length=12)


class Submission(BaseModel):
    key: str = Field(min_length=1, max_length=200)
    sender: str = Field(min_length=4, max_length=46)
    recipient: str = Field(min_length=4, max_length=46)
    kind: str = Field(min_length=1, max_length=32)
    number: str = Field(min_length=1, max_length=64)
    file_name: str = Field(min_length=1, max_length=250)
    content: str = Field(min_length=1)


def _unavailable() -> JSONResponse:
    return JSONResponse({"detail": "Оператор ЭДО временно недоступен"}, status_code=503)


def create_app(state: EdoState | None = None) -> FastAPI:
    """The simulator's app around ``state`` (a fresh one by default)."""
    sim = state or EdoState()
    app = FastAPI(title="Симулятор оператора ЭДО")
    app.state.edo = sim

    def failing() -> bool:
        with sim.lock:
            if sim.faults.fail_next > 0:
                sim.faults.fail_next -= 1
                return True
            return False

    @app.post("/api/v1/participants/check", response_model=None)
    def check(body: ParticipantCheck) -> Response | dict[str, str]:
        if failing():
            return _unavailable()
        if not body.participant_id.upper().startswith(body.operator_id.upper()) or (
            body.participant_id in sim.faults.unknown
        ):
            return {
                "status": "not_found",
                "name": "",
                "reason": f"Участник {body.participant_id} не найден у оператора "
                f"{body.operator_id}",
            }
        return {"status": "active", "name": f"Абонент ИНН {body.inn}", "reason": ""}

    @app.post("/api/v1/documents", response_model=None)
    def send(body: Submission) -> Response | dict[str, object]:
        if failing():
            return _unavailable()
        try:
            content = base64.b64decode(body.content, validate=True)
        except ValueError:  # binascii.Error (not base64), or not even ASCII
            return JSONResponse({"detail": "content: не base64"}, status_code=422)
        with sim.lock:
            sim.sends += 1
            known = sim.by_key.get(body.key)
            if known is not None:
                return JSONResponse(sim.answer(sim.documents[known]), status_code=200)
            doc = EdoDocumentState(
                id=f"edo-{next(sim.ids):06d}",
                key=body.key,
                sender=body.sender,
                recipient=body.recipient,
                kind=body.kind,
                number=body.number,
                file_name=body.file_name,
                content=content,
                delivered_at=sim.clock(),
                refusal=sim.faults.refuse.get(body.recipient),
            )
            sim.documents[doc.id] = doc
            sim.by_key[doc.key] = doc.id
            if sim.faults.lose_next > 0:  # taken, but the answer is lost on the way back
                sim.faults.lose_next -= 1
                return _unavailable()
            return JSONResponse(sim.answer(doc), status_code=201)

    @app.get("/api/v1/documents/{doc_id}", response_model=None)
    def status(doc_id: str) -> Response | dict[str, object]:
        if failing():
            return _unavailable()
        doc = sim.documents.get(doc_id)
        if doc is None:
            return JSONResponse({"detail": f"Документ {doc_id} не найден"}, status_code=404)
        return sim.answer(doc)

    @app.get("/control")
    def control() -> EdoFaults:
        return sim.faults

    @app.post("/control")
    def set_control(faults: EdoFaults) -> EdoFaults:
        with sim.lock:
            sim.faults = faults
        return sim.faults

    return app


def run_edo(host: str = "127.0.0.1", port: int = 8300, sign_after_s: float = 2.0) -> None:
    """Serve the simulator (``oblako sim edo``)."""
    state = EdoState(faults=EdoFaults(sign_after_s=sign_after_s))
    uvicorn.run(create_app(state), host=host, port=port, log_level="info")
