"""The FNS simulator: checks a signed registration application (КНД 1110061), assigns an RNM,
accepts the registration report's requisites and issues a registration card; takes
re-registrations (the same form with reason codes, same RNM) and deregistrations (КНД 1110062).

Wire contract (JSON over HTTP, documented in docs/registration.md):

* ``POST /api/v1/applications`` ``{"application": b64, "signature": b64}`` — the application is
  the fleet's canonical JSON (UTF-8), the signature a detached CMS over exactly those bytes.
  Answer: ``{"id", "status": "processing"|"rnm_assigned"|"refused", "rnm", "reasons"}``.
* ``GET /api/v1/applications/{id}`` — the same answer, later (delays are configurable).
* ``POST /api/v1/applications/{id}/report`` ``{"fd_number", "fiscal_sign", "date"}`` —
  the registration report's requisites; answer with ``"status": "registered"`` and ``"card"``.
* ``GET /api/v1/applications/{id}/card`` (JSON) and ``/card.html`` — the registration card.
* A re-registration is ``POST /api/v1/applications`` with ``"kind": "reregistration"``, the RNM
  and ``reason_codes``; the answer keeps the RNM, the change report's requisites give the card.
* ``POST /api/v1/deregistrations`` ``{"application", "signature"}`` — КНД 1110062 (RNM, reason,
  the closing report's requisites); answer ``"status": "deregistered"`` with the card of
  deregistration (the same GET routes serve it).
* An employee's signature comes with ``"poa": {"xml", "signature"}``: the МЧД and the head's
  detached signature over it; the simulator checks that the head signed it and that the
  signer's СНИЛС or ИНН is the representative's.
"""

from __future__ import annotations

import base64
import binascii
import html
import itertools
import json
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import ParseError, fromstring
from fastapi import FastAPI
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel

from protocol.errors import KepError
from protocol.kep.testca import TestCa
from protocol.kep.verify import VerifiedSignature, verify
from protocol.rnm import make_rnm, verify_rnm

__all__ = ["FnsState", "create_app", "run_fns"]

#: Reason texts in the style of the FNS's refusal notices (Приказ ФНС ММВ-7-20/484@ forms).
REASON_SIGNATURE = (
    "Заявление не подписано усиленной квалифицированной электронной подписью заявителя"
)
REASON_INN = "ИНН владельца сертификата подписи не совпадает с ИНН пользователя в заявлении"
REASON_MODEL = "Модель ККТ отсутствует в реестре контрольно-кассовой техники"
REASON_FIRMWARE = "Версия модели ККТ (тег 1188) не соответствует сведениям реестра ККТ"
REASON_FIELDS = "Заявление заполнено не полностью"
REASON_RNM = "Регистрационный номер ККТ не соответствует ИНН пользователя и заводскому номеру ККТ"
REASON_CODES = "Не указаны (или указаны неверно) коды причин перерегистрации (1–8)"
REASON_CLOSE = "Не указаны реквизиты отчёта о закрытии фискального накопителя"
REASON_POA = "Полномочия подписанта не подтверждены машиночитаемой доверенностью"


@dataclass
class Application:
    """One application and what became of it."""

    id: str
    data: dict[str, Any]
    received_at: float
    ready_at: float
    status: str
    rnm: str | None = None
    reasons: list[str] = field(default_factory=list)
    report: dict[str, Any] | None = None
    card: dict[str, Any] | None = None

    def answer(self, now: float) -> dict[str, Any]:
        status = "processing" if now < self.ready_at else self.status
        done = status != "processing"
        return {
            "id": self.id,
            "status": status,
            "rnm": self.rnm if done else None,
            "reasons": self.reasons if done else [],
            "card": self.card if done else None,
        }


@dataclass
class FnsState:
    """The simulator's configuration and memory (one process, guarded by a lock)."""

    trusted_roots: list[bytes]
    approved_models: set[str]
    certified_firmware: dict[str, set[str]]
    delay_s: float = 0.0
    refusals: dict[str, list[str]] = field(default_factory=dict)
    clock: Callable[[], float] = time.time
    applications: dict[str, Application] = field(default_factory=dict)
    sequence: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def check(self, data: dict[str, Any], signer_inn: str | None) -> list[str]:
        """Every reason to refuse, in the FNS's words (empty: acceptable)."""
        reasons: list[str] = []
        user = data.get("user") or {}
        kkt = data.get("kkt") or {}
        fn = data.get("fn") or {}
        missing = [
            name
            for name, value in (
                ("ИНН пользователя", user.get("inn")),
                ("модель ККТ", kkt.get("model")),
                ("заводской номер ККТ", kkt.get("serial")),
                ("модель ФН", fn.get("model")),
                ("заводской номер ФН", fn.get("number")),
                ("адрес установки", (data.get("address") or {}).get("region_code")),
            )
            if not value
        ]
        if missing:
            reasons.append(f"{REASON_FIELDS}: {', '.join(missing)}")
        if signer_inn is not None and user.get("inn") and signer_inn != user.get("inn"):
            reasons.append(REASON_INN)
        model = str(kkt.get("model") or "")
        if model and model not in self.approved_models:
            reasons.append(f"{REASON_MODEL}: «{model}»")
        elif model and str(kkt.get("firmware") or "") not in self.certified_firmware.get(
            model, set()
        ):
            reasons.append(f"{REASON_FIRMWARE}: «{kkt.get('firmware')}»")
        serial = str(kkt.get("serial") or "")
        reasons.extend(self.refusals.get(serial, []))
        reasons.extend(self.refusals.get("*", []))
        return reasons


class PoaFile(BaseModel):
    xml: str
    signature: str


class Submission(BaseModel):
    application: str
    signature: str
    poa: PoaFile | None = None


def _poa_people(xml: bytes) -> tuple[set[str], set[str]] | None:
    """(principal ИНН ЮЛ values, representative СНИЛС / ИНН ФЛ values) in a МЧД's XML."""
    try:
        root = fromstring(xml)
    except (ParseError, DefusedXmlException, LookupError, ValueError):
        return None
    principals: set[str] = set()
    people: set[str] = set()
    for element in root.iter():
        for name, value in element.attrib.items():
            if name == "ИННЮЛ":
                principals.add(value.strip())
            elif name in ("СНИЛС", "ИННФЛ"):
                people.add(value.replace("-", "").replace(" ", "").strip())
    return principals, people


def _rnm_reasons(data: dict[str, Any]) -> list[str]:
    """The RNM must be the one this user's register was given (check digits, protocol.rnm)."""
    user = data.get("user") or {}
    kkt = data.get("kkt") or {}
    rnm = str(data.get("rnm") or "")
    try:
        good = verify_rnm(rnm, str(user.get("inn") or ""), str(kkt.get("serial") or ""))
    except ValueError:
        good = False
    return [] if good else [f"{REASON_RNM}: «{rnm}»"]


def _re_reasons(data: dict[str, Any]) -> list[str]:
    """Why a re-registration is refused: the RNM, the reason codes, the drive's closing."""
    reasons = _rnm_reasons(data)
    codes = data.get("reason_codes")
    if (
        not isinstance(codes, list)
        or not codes
        or any(not isinstance(c, int) or not 1 <= c <= 8 for c in codes)
    ):
        reasons.append(REASON_CODES)
    elif 4 in codes and not data.get("fn_close"):
        reasons.append(REASON_CLOSE)
    return reasons


class Report(BaseModel):
    fd_number: int
    fiscal_sign: str
    date: str


def _b64(value: str) -> bytes | None:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None


def _card_html(card: Mapping[str, Any]) -> str:
    rows = "".join(
        f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>"
        for k, v in card.items()
    )
    return (
        '<!doctype html><html lang="ru"><meta charset="utf-8"><title>Карточка регистрации ККТ'
        f"</title><h1>Карточка регистрации ККТ</h1><table>{rows}</table></html>"
    )


def create_app(
    trusted_roots: Sequence[bytes],
    approved_models: Iterable[str],
    certified_firmware: Mapping[str, Iterable[str]],
    *,
    delay_s: float = 0.0,
    refusals: Mapping[str, Sequence[str]] | None = None,
    clock: Callable[[], float] = time.time,
) -> FastAPI:
    """The simulator app. ``refusals`` maps a register serial (or ``"*"``) to reasons to add."""
    state = FnsState(
        trusted_roots=list(trusted_roots),
        approved_models=set(approved_models),
        certified_firmware={m: set(v) for m, v in certified_firmware.items()},
        delay_s=delay_s,
        refusals={k: list(v) for k, v in (refusals or {}).items()},
        clock=clock,
    )
    app = FastAPI(title="Симулятор ФНС: регистрация ККТ")
    app.state.fns = state

    def refused(reason: str, code: int = 422) -> JSONResponse:
        return JSONResponse({"status": "refused", "reasons": [reason]}, status_code=code)

    @app.post("/api/v1/applications")
    def submit(body: Submission) -> JSONResponse:
        content = _b64(body.application)
        if content is None or _b64(body.signature) is None:
            return refused("Заявление или подпись не в base64")
        try:
            data = json.loads(content.decode("utf-8"))
            if not isinstance(data, dict):
                raise ValueError("not an object")
        except (UnicodeDecodeError, ValueError):
            return refused("Файл заявления не соответствует формату")
        now = state.clock()
        reasons, signer_inn = _signer(body, content, data, now)
        reasons.extend(state.check(data, signer_inn))
        again = data.get("kind") == "reregistration"
        if again:
            reasons.extend(_re_reasons(data))
        with state.lock:
            app_id = uuid.uuid4().hex
            row = Application(
                id=app_id,
                data=data,
                received_at=now,
                ready_at=now + state.delay_s,
                status="refused" if reasons else "rnm_assigned",
                reasons=reasons,
            )
            if not reasons:
                row.rnm = (
                    str(data["rnm"])
                    if again
                    else make_rnm(
                        next(state.sequence),
                        str(data["user"]["inn"]),
                        str(data["kkt"]["serial"]),
                    )
                )
            state.applications[app_id] = row
        return JSONResponse(row.answer(now))

    def _signer(
        body: Submission, content: bytes, data: dict[str, Any], now: float
    ) -> tuple[list[str], str | None]:
        """Refusal reasons about the signature, and the INN to compare with the user's (the
        user's own when an employee signed under a valid МЧД)."""
        try:
            verified = verify(_b64(body.signature) or b"", content, state.trusted_roots, now)
        except KepError as exc:
            return [f"{REASON_SIGNATURE}: {exc}"], None
        user_inn = str((data.get("user") or {}).get("inn") or "")
        if verified.inn == user_inn or body.poa is None:
            return [], verified.inn
        return _poa_reasons(body.poa, verified, user_inn, now), user_inn

    def _poa_reasons(
        poa: PoaFile, signer: VerifiedSignature, user_inn: str, now: float
    ) -> list[str]:
        xml, signature = _b64(poa.xml), _b64(poa.signature)
        if xml is None or signature is None:
            return [f"{REASON_POA}: файл доверенности не в base64"]
        try:
            head = verify(signature, xml, state.trusted_roots, now)
        except KepError as exc:
            return [f"{REASON_POA}: {exc}"]
        people = _poa_people(xml)
        cert = signer.certificate
        if people is None or head.inn != user_inn or user_inn not in people[0]:
            return [f"{REASON_POA}: доверенность выдана не пользователем ККТ"]
        if not ({cert.snils, cert.person_inn} - {None}) & people[1]:
            return [f"{REASON_POA}: подписант не указан представителем"]
        return []

    @app.post("/api/v1/deregistrations")
    def deregister(body: Submission) -> JSONResponse:
        content = _b64(body.application)
        if content is None or _b64(body.signature) is None:
            return refused("Заявление или подпись не в base64")
        try:
            data = json.loads(content.decode("utf-8"))
            if not isinstance(data, dict) or data.get("kind") != "deregistration":
                raise ValueError("not a deregistration")
        except (UnicodeDecodeError, ValueError):
            return refused("Файл заявления не соответствует формату КНД 1110062")
        now = state.clock()
        reasons, signer_inn = _signer(body, content, data, now)
        user = data.get("user") or {}
        if signer_inn is not None and signer_inn != user.get("inn"):
            reasons.append(REASON_INN)
        reasons.extend(_rnm_reasons(data))
        if not data.get("reason"):
            reasons.append(f"{REASON_FIELDS}: причина снятия с учёта")
        elif data.get("reason") not in ("theft", "loss") and not data.get("fn_close"):
            reasons.append(REASON_CLOSE)
        with state.lock:
            app_id = uuid.uuid4().hex
            row = Application(
                id=app_id,
                data=data,
                received_at=now,
                ready_at=now + state.delay_s,
                status="refused" if reasons else "deregistered",
                reasons=reasons,
                rnm=str(data.get("rnm") or "") or None,
            )
            if not reasons:
                close = data.get("fn_close") or {}
                row.card = {
                    "Карточка": "о снятии ККТ с регистрационного учёта",
                    "Регистрационный номер ККТ": row.rnm,
                    "Пользователь": user.get("name"),
                    "ИНН": user.get("inn"),
                    "Модель ККТ": (data.get("kkt") or {}).get("model"),
                    "Заводской номер ККТ": (data.get("kkt") or {}).get("serial"),
                    "Заводской номер ФН": (data.get("fn") or {}).get("number"),
                    "Причина": data.get("reason_text") or data.get("reason"),
                    "Номер ФД отчёта о закрытии ФН": close.get("fd_number", "—"),
                    "ФП отчёта о закрытии ФН": close.get("fiscal_sign", "—"),
                    "Дата отчёта о закрытии ФН": close.get("date", "—"),
                }
            state.applications[app_id] = row
        return JSONResponse(row.answer(now))

    @app.get("/api/v1/applications/{app_id}")
    def status(app_id: str) -> JSONResponse:
        row = state.applications.get(app_id)
        if row is None:
            return refused("Заявление не найдено", 404)
        return JSONResponse(row.answer(state.clock()))

    @app.post("/api/v1/applications/{app_id}/report")
    def report(app_id: str, body: Report) -> JSONResponse:
        row = state.applications.get(app_id)
        now = state.clock()
        if row is None:
            return refused("Заявление не найдено", 404)
        if row.answer(now)["status"] != "rnm_assigned" and row.card is None:
            return refused("Регистрационный номер ККТ ещё не присвоен", 409)
        if body.fd_number <= 0 or not body.fiscal_sign.isdigit() or len(body.fiscal_sign) > 10:
            return refused("Реквизиты отчёта о регистрации указаны неверно")
        with state.lock:
            row.report = body.model_dump()
            user = row.data.get("user") or {}
            kkt = row.data.get("kkt") or {}
            fn = row.data.get("fn") or {}
            address = row.data.get("address") or {}
            codes = row.data.get("reason_codes") or []
            row.card = {
                "Карточка": "регистрации ККТ"
                + (" (перерегистрация)" if row.data.get("kind") == "reregistration" else ""),
                "Регистрационный номер ККТ": row.rnm,
                "Пользователь": user.get("name"),
                "ИНН": user.get("inn"),
                "Модель ККТ": kkt.get("model"),
                "Заводской номер ККТ": kkt.get("serial"),
                "Модель ФН": fn.get("model"),
                "Заводской номер ФН": fn.get("number"),
                "Адрес установки": address.get("text", ""),
                "ОФД (ИНН)": (row.data.get("ofd") or {}).get("inn"),
                "Номер ФД отчёта о регистрации": body.fd_number,
                "ФП отчёта о регистрации": body.fiscal_sign,
                "Дата отчёта о регистрации": body.date,
            }
            if codes:
                row.card["Коды причин перерегистрации"] = ", ".join(str(c) for c in codes)
                row.card["Признаки"] = ", ".join(
                    k for k, v in sorted((row.data.get("flags") or {}).items()) if v
                )
            row.status = "registered"
        return JSONResponse(row.answer(now))

    @app.get("/api/v1/applications/{app_id}/card")
    def card(app_id: str) -> JSONResponse:
        row = state.applications.get(app_id)
        if row is None or row.card is None:
            return refused("Карточка регистрации не выдана", 404)
        return JSONResponse(row.card)

    @app.get("/api/v1/applications/{app_id}/card.html", response_class=HTMLResponse)
    def card_html(app_id: str) -> HTMLResponse:
        row = state.applications.get(app_id)
        if row is None or row.card is None:
            return HTMLResponse("<p>Карточка регистрации не выдана</p>", status_code=404)
        return HTMLResponse(_card_html(row.card))

    return app


def run_fns(
    host: str = "127.0.0.1",
    port: int = 8200,
    *,
    trusted_roots: Sequence[bytes] | None = None,
    trusted_root_files: Sequence[str | Path] = (),
    approved_models: Iterable[str] = ("Облако-Ф",),
    certified_firmware: Mapping[str, Iterable[str]] | None = None,
    delay_s: float = 0.0,
    refusals: Mapping[str, Sequence[str]] | None = None,
) -> None:
    """Serve the simulator with uvicorn until interrupted (``oblako sim fns``).

    Roots: the given DER certificates and files; with neither, the deterministic test CA of
    `protocol.kep.testca` (what `oblako sign` uses in the demo).
    """
    roots = [*(trusted_roots or ()), *(Path(p).read_bytes() for p in trusted_root_files)]
    if not roots:
        roots = [TestCa().cert]
    uvicorn.run(
        create_app(
            roots,
            approved_models,
            certified_firmware or {"Облако-Ф": ("1.0.0",)},
            delay_s=delay_s,
            refusals=refusals,
        ),
        host=host,
        port=port,
        log_level="info",
    )
