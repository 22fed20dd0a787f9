"""Decoding what registers send, and the reason a message goes to the dead-letter table.

`decode` is protocol.mqtt.codec's verdict with a fast path for the one hot kind, `doc`: one
msgspec decoder (`DocEvent`: JSON, types, bounds, patterns and the base64 of the TLV in one C
pass) that accepts only payloads the JSON Schema accepts; anything it refuses goes to the
codec, which accepts it or says precisely why not. The schema validator costs ~100 µs per
document; json.loads and the hand-written checks it replaced ~15 µs; the fast path ~4 µs
(docs/benchmarks.md, issue 6). tests/link/test_ingest_decode.py proves the subset property.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Annotated, Any, Final, Literal, NamedTuple

import msgspec
from msgspec import UNSET, Meta, UnsetType

from protocol.errors import LinkError
from protocol.mqtt import codec
from protocol.portable import link

__all__ = ["Doc", "DocEvent", "Rejected", "decode", "doc_event", "unknown_serial_reason"]

_U32: Final = 0xFFFFFFFF
# the schema's patterns (protocol/mqtt/schemas.py) with \Z: Python's $ also matches before a
# trailing newline, ECMA 262's does not
_U32_INT = Annotated[int, Meta(ge=0, le=_U32)]


class DocEvent(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """A `doc` payload as the schema allows it (docs/mqtt/doc.json), the TLV decoded.

    Optional fields are UNSET when absent: the schema refuses null, so must this."""

    v: Literal[1]
    fn: Annotated[str, Meta(pattern=r"^[0-9]{16}\Z")]
    fd: Annotated[int, Meta(ge=1, le=_U32)]
    fs: Annotated[str, Meta(pattern=r"^[0-9]{1,10}\Z")]
    type: Literal[1, 11, 2, 3, 31, 4, 41, 5, 6, 21]
    at: Annotated[int, Meta(ge=0, le=link.MAX_INT)]
    # maxLength 45056 base64 characters = 33 KiB decoded (canonical base64: msgspec refuses
    # any other, and the codec then decides)
    tlv: Annotated[bytes, Meta(max_length=33 * 1024)]
    shift: _U32_INT | UnsetType = UNSET
    operation: Annotated[int, Meta(ge=1, le=4)] | UnsetType = UNSET
    total: Annotated[int, Meta(ge=0, le=(1 << 48) - 1)] | UnsetType = UNSET
    request_id: (
        Annotated[str, Meta(min_length=1, max_length=64, pattern=r"^[!#-\[\]-~]+\Z")] | UnsetType
    ) = UNSET


_DOC_DECODER: Final = msgspec.json.Decoder(DocEvent)


class Doc(NamedTuple):
    """A valid `doc` message: the register's serial and its event."""

    serial: str
    event: DocEvent


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


def doc_event(payload: dict[str, Any], tlv: bytes) -> DocEvent:
    """The event of a `doc` payload the codec accepted (the slow path: JSON integers, so the
    fields are as typed), with its TLV decoded by the caller (the schema's base64 pattern
    admits strings no decoder takes)."""
    get = payload.get
    return DocEvent(
        v=1,
        fn=payload["fn"],
        fd=payload["fd"],
        fs=payload["fs"],
        type=payload["type"],
        at=payload["at"],
        tlv=tlv,
        shift=get("shift", UNSET),
        operation=get("operation", UNSET),
        total=get("total", UNSET),
        request_id=get("request_id", UNSET),
    )


@cache
def _topic_re(root: str) -> re.Pattern[str]:
    # exactly the valid topics of the up-kinds (link.parse_topic gives the reasons otherwise)
    kinds = "|".join(link.UP)
    return re.compile(f"{re.escape(root)}/v{link.VERSION}/reg/([0-9A-Za-z_-]{{1,32}})/({kinds})")


def decode(root: str, topic: str, payload: bytes) -> codec.Message | Doc:
    """The valid message, else `Rejected` with the codec's reason (and serial, kind if known).

    A `doc` the fast path accepts is a `Doc`; every other valid message a `codec.Message`."""
    found = _topic_re(root).fullmatch(topic)
    if found is not None:
        serial, kind, why = found[1], found[2], ""
    else:
        serial, kind, why = link.parse_topic(root, topic)
    if not why and kind == link.DOC and len(payload) <= link.MAX_PAYLOAD[link.DOC]:
        try:
            return Doc(serial, _DOC_DECODER.decode(payload))
        except ValueError:  # msgspec.DecodeError, or UnicodeDecodeError of a bad string
            pass  # not surely valid: the codec decides, and says why not
    try:
        return codec.decode(root, topic, payload)
    except LinkError as e:
        raise Rejected(_reason(e), serial or None, kind or None) from None


def _reason(e: LinkError) -> str:
    return str(e)[:500]
