"""Ferma's envelope `{"Status": "Success"|"Failed", "Data"|"Error": {"Code", "Message"}}` and
its status data. Ferma answers HTTP 200 whatever the outcome (its documentation)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Final

from fleet.compat.receipts import Made
from fleet.receipts.models import ReceiptStatus

__all__ = [
    "ERR_AUTH",
    "ERR_DUPLICATE",
    "ERR_NOT_FOUND",
    "ERR_TOKEN",
    "ERR_VALIDATION",
    "STATUS",
    "failed",
    "status_data",
    "success",
]

# 1019 is Ferma's (duplicate InvoiceId; the message carries --ReceiptId--); the others are
# Oblako's numbers in Ferma's envelope (Ferma's own were not verified: docs/compat.md)
ERR_AUTH: Final = 1001
ERR_TOKEN: Final = 1002
ERR_VALIDATION: Final = 1003
ERR_NOT_FOUND: Final = 1004
ERR_DUPLICATE: Final = 1019

#: receipt status → (StatusCode, StatusName)
STATUS: Final[dict[str, tuple[int, str]]] = {
    ReceiptStatus.ACCEPTED: (0, "NEW"),
    ReceiptStatus.QUEUED: (0, "NEW"),
    ReceiptStatus.FISCALISED: (1, "PROCESSED"),
    ReceiptStatus.CONFIRMED: (2, "CONFIRMED"),
    ReceiptStatus.FAILED: (3, "KKT_ERROR"),
}
_MESSAGES: Final = {0: "Чек принят", 1: "Чек фискализирован", 2: "Чек подтверждён ОФД"}


def success(data: Any) -> dict[str, Any]:
    """A successful answer."""
    return {"Status": "Success", "Data": data}


def failed(code: int, message: str, data: Any = None) -> dict[str, Any]:
    """A refusal (Data kept when it helps: the existing ReceiptId of a duplicate)."""
    out: dict[str, Any] = {"Status": "Failed", "Error": {"Code": code, "Message": message}}
    if data is not None:
        out["Data"] = data
    return out


def _utc(at: float | None) -> str | None:
    if at is None:
        return None
    return dt.datetime.fromtimestamp(at, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S")


def status_data(made: Made) -> dict[str, Any]:
    """The status's Data (also each registry row and the callback's Data)."""
    rec = made.receipt
    code, name = STATUS[ReceiptStatus(rec.status)]
    part = made.parts[0] if made.parts else None
    device: dict[str, Any] | None = None
    if part is not None and part.fd_number is not None:
        device = {
            "DeviceId": None if part.register_id is None else str(part.register_id),
            "RNM": made.rnm,
            "ZN": None,
            "FN": part.fn_number,
            "FDN": str(part.fd_number),
            "FPD": part.fiscal_sign,
            "ShiftNumber": part.shift_number,
            "ReceiptNumInShift": part.receipt_number,
            "DeviceReceiptDateTime": part.document_time,
            "OfdReceiptUrl": None,
        }
    return {
        "ReceiptId": made.compat.uuid,
        "InvoiceId": rec.external_id,
        "StatusCode": code,
        "StatusName": name,
        "StatusMessage": rec.failure if code == 3 else _MESSAGES[code],
        "ModifiedDateUtc": _utc(rec.updated_at),
        "ReceiptDateUtc": _utc(rec.fiscalised_at),
        "Device": device,
    }
