"""Decoded FFD documents: a tree of `Field`s that prints readably and converts to JSON.

Values keep their wire form wherever the format allows several (decision 1 of DESIGN.md):
the fiscal sign covers the bytes, so re-encoding a decoded tree must give the same bytes.

    kind       Python value          JSON value
    byte/u16/u32  int                number
    vln        int (+ Field.size)    number, or {"value": n, "size": bytes} when not minimal
    fvln       Decimal (its exponent is the wire scale; + Field.size)   string "1.500"
    unixtime   int (seconds, the register's local wall-clock time as if UTC)
                                     string "2016-04-13T14:14:00"
    string     str (CP866 on the wire; fixed-width padding kept)        string
    bytes      bytes                 hex string
    stlv       tuple[Field, ...]     object keyed by English identifiers

Numbers are never floats. Repeated tags become JSON arrays.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from protocol.errors import TlvEncodeError
from protocol.tags import Kind, TagDef, by_id, lookup, parse_unknown_id, unknown_id

Value = int | Decimal | str | bytes | tuple["Field", ...]

#: Tags that are lists in JSON even with one element (items, reasons, marked goods).
REPEATABLE = frozenset({1059, 1084, 1101, 1260, 1261, 2007})


@dataclass(frozen=True)
class Field:
    """One TLV: its tag, its value and, for VLN/FVLN, a non-minimal wire size."""

    tag: int
    value: Value
    size: int | None = None

    @property
    def definition(self) -> TagDef | None:
        """The registry entry of this tag (None for an unknown tag)."""
        return lookup(self.tag)

    @property
    def children(self) -> tuple[Field, ...]:
        """The nested fields of an STLV (empty for a plain value)."""
        return self.value if isinstance(self.value, tuple) else ()

    def find(self, tag: int) -> Field | None:
        """The first direct child with `tag`, or None."""
        return next((f for f in self.children if f.tag == tag), None)


def fvln_text(value: Decimal) -> str:
    """An FVLN as plain decimal text with its wire scale ("1.500", never "1.5E+0")."""
    return format(value, "f")


def unixtime_text(seconds: int) -> str:
    """A TLV UnixTime as ISO text of the local wall-clock time it encodes."""
    return dt.datetime.fromtimestamp(seconds, dt.UTC).replace(tzinfo=None).isoformat()


# ---- JSON -------------------------------------------------------------------------------


def _json_value(f: Field) -> Any:
    d = f.definition
    v = f.value
    if isinstance(v, tuple):
        return to_json(v)
    if isinstance(v, bytes):
        return v.hex()
    if isinstance(v, Decimal):
        out: Any = fvln_text(v)
    elif d is not None and d.kind is Kind.UNIXTIME and isinstance(v, int):
        out = unixtime_text(v)
    else:
        out = v
    if f.size is not None:
        return {"value": out, "size": f.size}
    return out


def _key(tag: int) -> str:
    d = lookup(tag)
    return d.en_id if d is not None else unknown_id(tag)


def to_json(fields: tuple[Field, ...] | list[Field]) -> dict[str, Any]:
    """Convert fields to a JSON object keyed by English identifiers."""
    counts: dict[int, int] = {}
    for f in fields:
        counts[f.tag] = counts.get(f.tag, 0) + 1
    out: dict[str, Any] = {}
    for f in fields:
        key = _key(f.tag)
        value = _json_value(f)
        if counts[f.tag] > 1 or f.tag in REPEATABLE:
            out.setdefault(key, []).append(value)
        else:
            out[key] = value
    return out


def _from_json_value(tag: int, d: TagDef | None, raw: Any, path: tuple[int, ...]) -> Field:
    size: int | None = None
    if isinstance(raw, dict) and set(raw) == {"value", "size"}:
        size = raw["size"]
        raw = raw["value"]
    kind = d.kind if d is not None else Kind.BYTES
    try:
        value: Value
        if kind is Kind.STLV:
            if not isinstance(raw, dict):
                raise TypeError("an STLV is a JSON object")
            value = tuple(from_json(raw, path + (tag,)))
        elif kind is Kind.BYTES:
            value = bytes.fromhex(raw)
        elif kind is Kind.FVLN:
            if not isinstance(raw, str | int) or isinstance(raw, bool):
                raise TypeError('an FVLN is a decimal string such as "1.500"')
            value = Decimal(raw)
        elif kind is Kind.UNIXTIME and isinstance(raw, str):
            t = dt.datetime.fromisoformat(raw)
            value = int(t.replace(tzinfo=dt.UTC).timestamp())
        elif kind is Kind.STRING:
            if not isinstance(raw, str):
                raise TypeError("a string is expected")
            value = raw
        else:
            if not isinstance(raw, int) or isinstance(raw, bool):
                raise TypeError("an integer is expected")
            value = raw
    except (TypeError, ValueError, InvalidOperation) as e:
        raise TlvEncodeError(f"bad JSON value {raw!r}: {e}", path + (tag,)) from e
    return Field(tag, value, size)


def from_json(obj: dict[str, Any], path: tuple[int, ...] = ()) -> list[Field]:
    """Inverse of `to_json`: fields in the order of the object's keys.

    Raises TlvEncodeError naming the tag path for an unknown key or a value of the wrong
    JSON type.
    """
    fields: list[Field] = []
    for key, raw in obj.items():
        d = by_id(key)
        tag = d.tag if d is not None else parse_unknown_id(key)
        if tag is None:
            raise TlvEncodeError(f"unknown field name {key!r}", path)
        items = raw if isinstance(raw, list) else [raw]
        fields.extend(_from_json_value(tag, d, item, path) for item in items)
    return fields


# ---- text -------------------------------------------------------------------------------


def _text_value(f: Field) -> str:
    d = f.definition
    v = f.value
    if isinstance(v, bytes):
        return v.hex(" ")
    if isinstance(v, Decimal):
        text = fvln_text(v)
    elif isinstance(v, str):
        text = f'"{v}"'
    elif d is not None and d.kind is Kind.UNIXTIME and isinstance(v, int):
        text = f"{unixtime_text(v).replace('T', ' ')} ({v})"
    else:
        text = str(v)
    return text if f.size is None else f"{text} [{f.size} bytes]"


def render(fields: tuple[Field, ...] | list[Field], indent: int = 0) -> str:
    """A readable listing: tag, Russian name and value, STLVs indented."""
    lines: list[str] = []
    pad = "  " * indent
    for f in fields:
        d = f.definition
        name = d.ru_name if d is not None else "неизвестный тег"
        if isinstance(f.value, tuple):
            lines.append(f"{pad}{f.tag:>4} {name}")
            if f.value:
                lines.append(render(f.value, indent + 1))
        else:
            lines.append(f"{pad}{f.tag:>4} {name}: {_text_value(f)}")
    return "\n".join(lines)
