"""The FFD tag registry as typed records, read from the portable `protocol.tagdata`.

`lookup(tag)` answers what a tag is on the wire; `by_id(name)` maps the English
identifiers used as JSON keys back to tags. The rows themselves live in
`protocol/tagdata.py`, the single source of truth shared with firmware/.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from protocol.tagdata import TAGS


class Kind(StrEnum):
    """Wire types of FFD values (reference §2.1)."""

    BYTE = "byte"
    U16 = "u16"
    U32 = "u32"
    VLN = "vln"
    FVLN = "fvln"
    UNIXTIME = "unixtime"
    STRING = "string"
    BYTES = "bytes"
    STLV = "stlv"


#: Kinds whose value has exactly this many bytes.
FIXED_SIZE: dict[Kind, int] = {Kind.BYTE: 1, Kind.U16: 2, Kind.U32: 4, Kind.UNIXTIME: 4}

#: Document-type tags (top-level STLVs), reference §2.2.
DOCUMENT_TYPES = (1, 11, 2, 21, 3, 31, 4, 41, 5, 6, 7, 81, 82, 83, 84)

#: FFD version codes (tag 1209) and their names.
FFD_VERSIONS = {1: "1.0", 2: "1.05", 3: "1.1", 4: "1.2"}


@dataclass(frozen=True)
class TagDef:
    """One FFD tag: how it looks on the wire and what it is called."""

    tag: int
    kind: Kind
    max_len: int
    fixed: int
    en_id: str
    ru_name: str
    docs: tuple[int, ...]
    ffd: tuple[int, ...]


def _load() -> tuple[dict[int, TagDef], dict[str, TagDef]]:
    by_tag: dict[int, TagDef] = {}
    by_name: dict[str, TagDef] = {}
    for tag, kind, max_len, fixed, en_id, ru_name, docs, ffd in TAGS:
        d = TagDef(tag, Kind(kind), max_len, fixed, en_id, ru_name, tuple(docs), tuple(ffd))
        by_tag[tag] = d
        by_name[en_id] = d
    return by_tag, by_name


REGISTRY, _BY_ID = _load()


def lookup(tag: int) -> TagDef | None:
    """Return the registry entry of `tag`, or None for a tag the registry does not know."""
    return REGISTRY.get(tag)


def by_id(en_id: str) -> TagDef | None:
    """Return the entry whose English identifier is `en_id`."""
    return _BY_ID.get(en_id)


def unknown_id(tag: int) -> str:
    """JSON key of a tag the registry does not know (its value is kept as bytes)."""
    return f"tag{tag}"


def parse_unknown_id(key: str) -> int | None:
    """Inverse of `unknown_id`: the tag number, or None when `key` is not of that form."""
    if key.startswith("tag") and key[3:].isdigit():
        return int(key[3:])
    return None
