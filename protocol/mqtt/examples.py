"""One valid example of every message kind: published beside the schemas, checked by tests."""

from __future__ import annotations

from typing import Any, Final

from protocol.portable import link

__all__ = ["EXAMPLES"]

_FN = "9999078900012345"

EXAMPLES: Final[dict[str, dict[str, Any]]] = {
    link.PRESENCE: {"v": 1, "status": "online", "at": 1764316800, "firmware": "1.0.0"},
    link.STATE: {
        "v": 1,
        "seq": 42,
        "at": 1764316860,
        "firmware": "1.0.0",
        "clock": 1764316860,
        "clock_trusted": True,
        "drive": {
            "fn": _FN,
            "phase": 3,
            "warnings": 0,
            "expires": "2028-03-01",
            "memory_used_pct": 4,
            "last_fd": 118,
            "unsent": 2,
            "oldest_unsent_at": 1764316500,
        },
        "shift": {"open": True, "number": 7, "receipts": 31, "opened_at": 1764306000},
        "ofd": {"connected": True, "last_exchange_at": 1764316800},
        "outbox": 1,
    },
    link.DOC: {
        "v": 1,
        "fn": _FN,
        "fd": 118,
        "fs": "2751634921",
        "type": 3,
        "at": 1764316855,
        "shift": 7,
        "operation": 1,
        "total": 9980,
        "request_id": "order-2026-000183",
        "tlv": "EQQQADk5OTkwNzg5MDAwMTIzNDU=",
    },
    link.OFD: {"v": 1, "fn": _FN, "fd": 118, "status": "accepted", "at": 1764316870},
    link.ACK: {"v": 1, "id": "order-2026-000183", "status": "accepted", "at": 1764316854},
    link.RESULT: {
        "v": 1,
        "id": "order-2026-000183",
        "action": "receipt",
        "status": "made",
        "at": 1764316855,
        "kind": "receipt",
        "fn": _FN,
        "fd": 118,
        "fp": "2751634921",
        "shift": 7,
        "number": 31,
        "date_time": "2026-11-28T11:20:55+03:00",
    },
    link.CMD: {
        "v": 1,
        "id": "order-2026-000183",
        "ttl": 3600,
        "issued_at": 1764316850,
        "action": "receipt",
        "request": {
            "id": "order-2026-000183",
            "operation": "sale",
            "tax_system": "usn_income",
            "items": [
                {
                    "name": "Хлеб Бородинский",
                    "price": 4990,
                    "quantity": "2",
                    "measure": 0,
                    "sum": 9980,
                    "vat": "none",
                    "type": 1,
                    "method": "full_payment",
                }
            ],
            "payments": {"electronic": 9980},
        },
    },
    link.STORED: {"v": 1, "fn": _FN, "through": 118, "missing": [[101, 103]]},
    link.DESIRED: {
        "v": 1,
        "seq": 5,
        "ofd_host": "ofd.example.ru",
        "ofd_port": 7777,
        "max_clock_drift_s": 60,
        "auto_close_shift": True,
    },
}
