"""Decoding what registers send, and the reason a message goes to the dead-letter table.

`decode` is protocol.mqtt.codec's verdict with a fast path for the one hot kind, `doc`: a
hand-written check that accepts only payloads the JSON Schema accepts (anything it is unsure
of goes to the codec, which accepts it or says precisely why not). The schema validator costs
~100 µs per document; the fast path a few.
"""

from __future__ import annotations

import json
import re
from functools import cache
from typing import Any, Final

from protocol.errors import LinkError
from protocol.mqtt import codec
from protocol.portable import link

__all__ = ["Rejected", "decode", "unknown_serial_reason"]

_FN = re.compile(r"[0-9]{16}")
_FS = re.compile(r"[0-9]{1,10}")
_B64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")
_ID = re.compile(r"[!#-\[\]-~]{1,64}")
_DOC_TYPES: Final = frozenset({1, 11, 2, 3, 31, 4, 41, 5, 6, 21})
_DOC_KEYS: Final = frozenset(
    {"v", "fn", "fd", "fs", "type", "at", "shift", "operation", "total", "request_id", "tlv"}
)
_DOC_REQUIRED: Final = frozenset({"v", "fn", "fd", "fs", "type", "at", "tlv"})
_U32: Final = 0xFFFFFFFF


class Rejected(Exception):  # noqa: N818  (a verdict, not a failure)
    """A message for the dead-letter table; `reason` is the precise Russian reason."""

    def __init__(self, reason: str, serial: str | None = None, kind: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.serial = serial
        self.kind = kind


def unknown_serial_reason(serial: str) -> str:
    """The reason for a message of a register the fleet does not know."""
    return f"Касса с серийным номером {serial} не найдена в парке"


def _int(value: object, lo: int, hi: int) -> bool:
    return type(value) is int and lo <= value <= hi


def _str(value: object, pattern: re.Pattern[str]) -> bool:
    return type(value) is str and pattern.fullmatch(value) is not None


def _doc_ok(obj: Any) -> bool:
    """True only when the schema surely accepts `obj` as a `doc` (False: ask the codec)."""
    if type(obj) is not dict or not _DOC_REQUIRED <= obj.keys() <= _DOC_KEYS:
        return False
    tlv = obj["tlv"]
    ok = (
        _int(obj["v"], link.VERSION, link.VERSION)
        and _str(obj["fn"], _FN)
        and _int(obj["fd"], 1, _U32)
        and _str(obj["fs"], _FS)
        and type(obj["type"]) is int
        and obj["type"] in _DOC_TYPES
        and _int(obj["at"], 0, link.MAX_INT)
        and type(tlv) is str
        and len(tlv) <= 44 * 1024
        and _B64.fullmatch(tlv) is not None
    )
    if not ok:
        return False
    if "shift" in obj and not _int(obj["shift"], 0, _U32):
        return False
    if "operation" in obj and not _int(obj["operation"], 1, 4):
        return False
    if "total" in obj and not _int(obj["total"], 0, (1 << 48) - 1):
        return False
    return "request_id" not in obj or _str(obj["request_id"], _ID)


@cache
def _topic_re(root: str) -> re.Pattern[str]:
    # exactly the valid topics of the up-kinds (link.parse_topic gives the reasons otherwise)
    kinds = "|".join(link.UP)
    return re.compile(f"{re.escape(root)}/v{link.VERSION}/reg/([0-9A-Za-z_-]{{1,32}})/({kinds})")


def decode(root: str, topic: str, payload: bytes) -> codec.Message:
    """The valid message, else `Rejected` with the codec's reason (and serial, kind if known)."""
    found = _topic_re(root).fullmatch(topic)
    if found is not None:
        serial, kind, why = found[1], found[2], ""
    else:
        serial, kind, why = link.parse_topic(root, topic)
    if not why and kind == link.DOC and len(payload) <= link.MAX_PAYLOAD[link.DOC]:
        try:
            obj = json.loads(payload.decode("utf-8"))
        except ValueError:
            obj = None
        if _doc_ok(obj):
            return codec.Message(serial, kind, obj)
    try:
        return codec.decode(root, topic, payload)
    except LinkError as e:
        raise Rejected(_reason(e), serial or None, kind or None) from None


def _reason(e: LinkError) -> str:
    return str(e)[:500]
