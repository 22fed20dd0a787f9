"""JSON Schemas (draft 2020-12) of every payload of the MQTT link, version 1.

Published as docs/mqtt/<kind>.schema.json by `oblako gen mqtt-schemas` (drift checked by
`make test`). Integers are JSON integers only (1.0 is refused: the codec's type checker), money
is integer kopecks, times are unix seconds (UTC), FN numbers 16 digits.
"""

from __future__ import annotations

from typing import Any, Final

from protocol.portable import link

__all__ = ["SCHEMAS", "schema_for"]

_ID = "https://oblako.example/schemas/mqtt/v1/"
_INT = {"type": "integer", "minimum": 0, "maximum": link.MAX_INT}
_FD = {"type": "integer", "minimum": 1, "maximum": 0xFFFFFFFF}
_FN = {"type": "string", "pattern": "^[0-9]{16}$"}
_TIME = {"type": "integer", "minimum": 0, "maximum": link.MAX_INT}
_PRINTABLE = "^[!#-\\[\\]-~]+$"  # 0x21..0x7E but the quote and the backslash
_ID_STR = {"type": "string", "minLength": 1, "maxLength": 64, "pattern": _PRINTABLE}
_VERSION = {"const": link.VERSION}
_ERROR = {
    "type": "object",
    "required": ["path", "code", "message"],
    "properties": {
        "path": {"type": "string", "maxLength": 200},
        "code": {"type": "string", "maxLength": 64},
        "message": {"type": "string", "maxLength": 500},
    },
    "additionalProperties": False,
}


def _obj(required: list[str], properties: dict[str, Any], title: str) -> dict[str, Any]:
    return {
        "type": "object",
        "title": title,
        "required": ["v", *required],
        "properties": {"v": _VERSION, **properties},
        "additionalProperties": False,
    }


PRESENCE = _obj(
    ["status"],
    {
        "status": {"enum": ["online", "offline"]},
        "at": {**_TIME, "description": "когда касса подключилась (нет в последней воле)"},
        "firmware": {"type": "string", "maxLength": 32},
        "reason": {"enum": ["shutdown", "lost", "reboot", "update"]},
    },
    "Присутствие кассы (retained; последняя воля — offline, reason lost)",
)

STATE = _obj(
    ["seq", "at", "drive", "shift"],
    {
        "seq": {**_INT, "description": "растёт с каждым отчётом; парк применяет только новее"},
        "at": _TIME,
        "firmware": {"type": "string", "maxLength": 32},
        "clock": {**_TIME, "description": "часы кассы в момент отчёта"},
        "clock_trusted": {"type": "boolean"},
        "drive": {
            "type": "object",
            "required": ["fn", "phase", "warnings", "last_fd"],
            "properties": {
                "fn": _FN,
                "phase": {"type": "integer", "minimum": 0, "maximum": 255},
                "warnings": {
                    "type": "integer",
                    "minimum": 0,
                    "maximum": 255,
                    "description": "флаги предупреждений 30h; бит 7 — критическая ошибка ФН",
                },
                "expires": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"},
                "memory_used_pct": {"type": "integer", "minimum": 0, "maximum": 100},
                "last_fd": {"type": "integer", "minimum": 0, "maximum": 0xFFFFFFFF},
                "unsent": {"type": "integer", "minimum": 0, "maximum": 0xFFFFFFFF},
                "oldest_unsent_at": _TIME,
            },
            "additionalProperties": False,
        },
        "shift": {
            "type": "object",
            "required": ["open"],
            "properties": {
                "open": {"type": "boolean"},
                "number": {"type": "integer", "minimum": 0, "maximum": 0xFFFFFFFF},
                "receipts": {"type": "integer", "minimum": 0, "maximum": 0xFFFFFFFF},
                "opened_at": _TIME,
            },
            "additionalProperties": False,
        },
        "ofd": {
            "type": "object",
            "properties": {
                "connected": {"type": "boolean"},
                "last_exchange_at": _TIME,
            },
            "additionalProperties": False,
        },
        "outbox": {"type": "integer", "minimum": 0, "maximum": 0xFFFFFFFF},
        "desired_seq": {**_INT, "description": "последнее применённое желаемое состояние"},
    },
    "Отчётное состояние кассы (тень устройства)",
)

DOC = _obj(
    ["fn", "fd", "fs", "type", "at", "tlv"],
    {
        "fn": _FN,
        "fd": _FD,
        "fs": {"type": "string", "pattern": "^[0-9]{1,10}$", "description": "фискальный признак"},
        "type": {"type": "integer", "enum": [1, 11, 2, 3, 31, 4, 41, 5, 6, 21]},
        "at": _TIME,
        "shift": {"type": "integer", "minimum": 0, "maximum": 0xFFFFFFFF},
        "operation": {"type": "integer", "minimum": 1, "maximum": 4},
        "total": {"type": "integer", "minimum": 0, "maximum": (1 << 48) - 1},
        "request_id": _ID_STR,
        "tlv": {
            "type": "string",
            "contentEncoding": "base64",
            "pattern": "^[A-Za-z0-9+/]*={0,2}$",
            "maxLength": 44 * 1024,
            "description": "документ из архива ФН (TLV), base64",
        },
    },
    "Фискальный документ",
)

OFD = _obj(
    ["fn", "fd", "status", "at"],
    {
        "fn": _FN,
        "fd": _FD,
        "status": {"enum": ["accepted", "rejected"]},
        "code": {"type": "integer", "minimum": 0, "maximum": 255},
        "at": _TIME,
    },
    "Ответ ОФД на документ",
)

ACK = _obj(
    ["id", "status", "at"],
    {
        "id": _ID_STR,
        "status": {"enum": ["accepted", "duplicate", "expired", "rejected"]},
        "at": _TIME,
        "errors": {"type": "array", "maxItems": 50, "items": _ERROR},
    },
    "Подтверждение приёма команды",
)

RESULT = _obj(
    ["id", "status", "at"],
    {
        "id": _ID_STR,
        "action": {"enum": list(link.ACTIONS)},
        "status": {"enum": ["made", "failed", "unknown", "done"]},
        "at": _TIME,
        "kind": {"type": "string", "maxLength": 32},
        "fn": _FN,
        "fd": _FD,
        "fp": {"type": "string", "pattern": "^[0-9]{1,10}$"},
        "shift": {"type": "integer", "minimum": 0, "maximum": 0xFFFFFFFF},
        "number": {"type": "integer", "minimum": 0, "maximum": 0xFFFFFFFF},
        "date_time": {"type": "string", "maxLength": 40},
        "recovered": {"type": "boolean"},
        "retryable": {"type": "boolean"},
        "errors": {"type": "array", "maxItems": 50, "items": _ERROR},
        "qr": {"type": "string", "maxLength": 256},
        "total": {"type": "integer", "minimum": 0, "maximum": (1 << 48) - 1},
        "data": {"type": "object", "description": "данные служебного действия (X-отчёт и т. п.)"},
        "shift_documents": {"type": "array", "maxItems": 8},
    },
    "Результат команды",
)

CMD = _obj(
    ["id", "ttl", "issued_at", "action"],
    {
        "id": _ID_STR,
        "ttl": {"type": "integer", "minimum": 1, "maximum": link.MAX_TTL},
        "issued_at": _TIME,
        "action": {"enum": list(link.ACTIONS)},
        "request": {"type": "object", "description": "запрос документа (docs/receipt-schema.md)"},
        "params": {"type": "object"},
    },
    "Команда кассе",
)
CMD["allOf"] = [
    {
        "if": {"properties": {"action": {"enum": list(link.DOCUMENT_ACTIONS)}}},
        "then": {"required": ["request"], "not": {"required": ["params"]}},
        "else": {"not": {"required": ["request"]}},
    },
    {
        # what a register needs to fetch and check a bundle (link._check_firmware)
        "if": {"properties": {"action": {"const": "firmware_update"}}},
        "then": {
            "required": ["params"],
            "properties": {
                "params": {
                    "required": ["firmware"],
                    "properties": {
                        "firmware": {
                            "type": "object",
                            "required": ["version", "url", "sha256"],
                            "properties": {
                                "version": {
                                    "type": "string",
                                    "minLength": 1,
                                    "maxLength": 32,
                                    "pattern": _PRINTABLE,
                                },
                                "url": {
                                    "type": "string",
                                    "maxLength": 512,
                                    "pattern": "^https?://[!#-\\[\\]-~]*$",
                                },
                                "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
                                "size": {
                                    "type": "integer",
                                    "minimum": 1,
                                    "maximum": link.MAX_BUNDLE,
                                },
                            },
                            "additionalProperties": False,
                        }
                    },
                }
            },
        },
    },
]

STORED = _obj(
    ["fn", "through"],
    {
        "fn": _FN,
        "through": {"type": "integer", "minimum": 0, "maximum": 0xFFFFFFFF},
        "missing": {
            "type": "array",
            "maxItems": link.MAX_GAPS,
            "items": {
                "type": "array",
                "prefixItems": [_FD, _FD],
                "minItems": 2,
                "maxItems": 2,
            },
            "description": "диапазоны номеров ФД, которых нет у парка: касса перечтёт их из ФН",
        },
        "ofd": {
            "type": "array",
            "maxItems": link.MAX_OFD_ACKS,
            "items": _FD,
            "description": "ФД, ответ ОФД по которым парк сохранил: касса перестаёт его слать",
        },
    },
    "Подтверждение сохранения документов парком",
)

DESIRED = _obj(
    ["seq"],
    {
        "seq": _INT,
        "ofd_host": {
            "type": "string",
            "minLength": 1,
            "maxLength": 253,
            "pattern": _PRINTABLE,
        },
        "ofd_port": {"type": "integer", "minimum": 1, "maximum": 65535},
        "max_clock_drift_s": {"type": "integer", "minimum": 1, "maximum": 3600},
        "auto_close_shift": {"type": "boolean"},
        "firmware": {
            "type": "object",
            "required": ["version", "url", "sha256"],
            "properties": {
                "version": {"type": "string", "minLength": 1, "maxLength": 512},
                "url": {"type": "string", "minLength": 1, "maxLength": 512},
                "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
            },
            "additionalProperties": False,
        },
    },
    "Желаемое состояние кассы (retained)",
)

SCHEMAS: Final[dict[str, dict[str, Any]]] = {
    link.PRESENCE: PRESENCE,
    link.STATE: STATE,
    link.DOC: DOC,
    link.OFD: OFD,
    link.ACK: ACK,
    link.RESULT: RESULT,
    link.CMD: CMD,
    link.STORED: STORED,
    link.DESIRED: DESIRED,
}


def schema_for(kind: str) -> dict[str, Any]:
    """The published schema document of `kind` (with $schema and $id)."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"{_ID}{kind}.schema.json",
        **SCHEMAS[kind],
    }
