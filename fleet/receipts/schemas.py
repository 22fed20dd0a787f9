"""How receipts look in the API and in callback events (one view for both)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, Field

from fleet.receipts.models import STATUS_LABEL, ReceiptStatus

__all__ = [
    "CallbackIn",
    "CallbackPublic",
    "PartPublic",
    "QueueGroup",
    "ReceiptList",
    "ReceiptPublic",
    "receipt_view",
]


def _iso(at: float | None) -> str | None:
    return None if at is None else dt.datetime.fromtimestamp(at, dt.UTC).isoformat()


class PartPublic(BaseModel):
    """One fiscal document of the receipt: where and what the drive made."""

    part_no: int
    status: ReceiptStatus
    total: int = Field(description="Сумма части, копейки")
    register_id: int | None = None
    fn_number: str | None = Field(default=None, description="Номер ФН (накопителя)")
    fd_number: int | None = Field(default=None, description="Номер фискального документа")
    fiscal_sign: str | None = Field(default=None, description="Фискальный признак (ФП)")
    shift_number: int | None = None
    receipt_number: int | None = Field(default=None, description="Номер чека за смену")
    document_time: str | None = Field(default=None, description="Время документа (касса)")
    qr: str | None = Field(default=None, description="Строка QR-кода: t=…&s=…&fn=…&i=…&fp=…&n=…")
    ofd_status: str | None = None
    failure: str | None = None
    retryable: bool | None = None


class ReceiptPublic(BaseModel):
    """A receipt: its status and every part (a receipt too large for one document has several)."""

    id: int
    external_id: str
    kind: str
    status: ReceiptStatus
    status_label: str
    total: int = Field(description="Итог, копейки")
    failure: str | None = Field(default=None, description="Почему чек не пробит")
    retryable: bool | None = Field(default=None, description="Поможет ли повторная отправка")
    created_at: dt.datetime
    fiscalised_at: dt.datetime | None = None
    confirmed_at: dt.datetime | None = None
    parts: list[PartPublic]


class ReceiptList(BaseModel):
    """A page of receipts."""

    items: list[ReceiptPublic]
    total: int
    limit: int
    offset: int


class CallbackIn(BaseModel):
    """Where to POST events and the secret they are signed with (HMAC-SHA-256)."""

    url: str = Field(max_length=500, examples=["https://shop.example.ru/oblako/events"])
    secret: str = Field(min_length=16, max_length=200)


class CallbackPublic(BaseModel):
    """The callback settings (the secret is never shown again)."""

    url: str
    updated_at: dt.datetime


class QueueGroup(BaseModel):
    """Receipts waiting in one group: depth and the age of the oldest (lag)."""

    group: str
    waiting: int = Field(description="Принятые, ещё не отданные кассе")
    queued: int = Field(description="Отданные кассе, ещё не пробитые")
    lag_s: float = Field(description="Возраст самой старой непробитой части, секунды")


def receipt_view(r: Mapping[str, Any], parts: Sequence[Any]) -> dict[str, Any]:
    """A receipt row (mapping) and its part rows as JSON-ready data (times ISO 8601, UTC)."""
    status = ReceiptStatus(r["status"])
    return {
        "id": r["id"],
        "external_id": r["external_id"],
        "kind": r["kind"],
        "status": status.value,
        "status_label": STATUS_LABEL[status],
        "total": r["total"],
        "failure": r["failure"],
        "retryable": r["retryable"],
        "created_at": _iso(r["created_at"]),
        "fiscalised_at": _iso(r["fiscalised_at"]),
        "confirmed_at": _iso(r["confirmed_at"]),
        "parts": [
            {
                "part_no": p.part_no,
                "status": p.status,
                "total": p.total,
                "register_id": p.register_id,
                "fn_number": p.fn_number,
                "fd_number": p.fd_number,
                "fiscal_sign": p.fiscal_sign,
                "shift_number": p.shift_number,
                "receipt_number": p.receipt_number,
                "document_time": p.document_time,
                "qr": p.qr,
                "ofd_status": p.ofd_status,
                "failure": p.failure,
                "retryable": p.retryable,
            }
            for p in sorted(parts, key=lambda p: p.part_no)
        ],
    }
