"""The EDO gateway: one contract for every operator, and its HTTP implementation.

`HttpEdoGateway` speaks the wire contract of simulator/edo (docs/integrations.md); a real
operator (Диадок, СБИС, Контур…) gets a class of its own implementing `EdoGateway`, chosen by
the operator id. A send carries an idempotency key (company, month, kind): if an answer is lost,
sending again with the same key returns the document the operator already has, so a document is
never delivered twice.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

from fleet.edo.exceptions import EdoUnavailableError

__all__ = ["EdoAnswer", "EdoGateway", "HttpEdoGateway", "OutgoingDocument", "ParticipantAnswer"]


@dataclass(frozen=True)
class ParticipantAnswer:
    """Whether the operator knows the participant (and by what name)."""

    known: bool
    name: str = ""
    reason: str = ""


@dataclass(frozen=True)
class OutgoingDocument:
    """A document to send: the file and who it goes to."""

    key: str  # idempotency key: the same key is the same document
    sender_id: str
    recipient_id: str
    kind: str
    number: str
    file_name: str
    content: bytes


@dataclass(frozen=True)
class EdoAnswer:
    """The operator's state of a document."""

    edo_id: str
    status: str  # delivered | signed | refused
    reason: str = ""
    answered_at: float | None = None


class EdoGateway(Protocol):
    """What Oblako needs from an EDO operator. Errors of the link raise `EdoUnavailableError`."""

    def check_participant(
        self, operator_id: str, participant_id: str, inn: str
    ) -> ParticipantAnswer: ...

    def send(self, document: OutgoingDocument) -> EdoAnswer: ...

    def status(self, edo_id: str) -> EdoAnswer: ...


class HttpEdoGateway:
    """`EdoGateway` over HTTP (``FLEET_EDO_URL``); pass ``client`` to reuse one (tests)."""

    def __init__(
        self, base_url: str, *, client: httpx.Client | None = None, timeout: float = 10.0
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.client = client or httpx.Client(timeout=timeout)

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        try:
            response = self.client.request(method, f"{self.base_url}{path}", json=body)
        except httpx.HTTPError as exc:
            raise EdoUnavailableError(f"Нет связи с оператором ЭДО: {exc}") from exc
        if response.status_code >= 500:
            raise EdoUnavailableError(f"Оператор ЭДО недоступен (HTTP {response.status_code})")
        try:
            data = response.json()
        except ValueError as exc:
            raise EdoUnavailableError(
                f"Оператор ЭДО ответил не в формате JSON (HTTP {response.status_code})"
            ) from exc
        if not isinstance(data, dict):
            raise EdoUnavailableError("Оператор ЭДО ответил не объектом JSON")
        if response.status_code >= 400 and response.status_code != 404:
            raise EdoUnavailableError(
                f"Оператор ЭДО отклонил запрос (HTTP {response.status_code}): "
                f"{data.get('detail', '')}"
            )
        return data

    @staticmethod
    def _answer(data: dict[str, Any]) -> EdoAnswer:
        edo_id, status = data.get("id"), data.get("status")
        if not isinstance(edo_id, str) or status not in ("delivered", "signed", "refused"):
            raise EdoUnavailableError("Оператор ЭДО ответил без номера или состояния документа")
        answered = data.get("answered_at")
        return EdoAnswer(
            edo_id=edo_id,
            status=str(status),
            reason=str(data.get("reason") or ""),
            answered_at=float(answered) if isinstance(answered, int | float) else None,
        )

    def check_participant(
        self, operator_id: str, participant_id: str, inn: str
    ) -> ParticipantAnswer:
        data = self._call(
            "POST",
            "/api/v1/participants/check",
            {"operator_id": operator_id, "participant_id": participant_id, "inn": inn},
        )
        return ParticipantAnswer(
            known=data.get("status") == "active",
            name=str(data.get("name") or ""),
            reason=str(data.get("reason") or ""),
        )

    def send(self, document: OutgoingDocument) -> EdoAnswer:
        return self._answer(
            self._call(
                "POST",
                "/api/v1/documents",
                {
                    "key": document.key,
                    "sender": document.sender_id,
                    "recipient": document.recipient_id,
                    "kind": document.kind,
                    "number": document.number,
                    "file_name": document.file_name,
                    "content": base64.b64encode(document.content).decode(),
                },
            )
        )

    def status(self, edo_id: str) -> EdoAnswer:
        data = self._call("GET", f"/api/v1/documents/{edo_id}")
        if "id" not in data:
            raise EdoUnavailableError(f"Оператор ЭДО не знает документ {edo_id}")
        return self._answer(data)
