"""The item lines (1059) of a document's TLV: name (1030), quantity (1023), sum (1043).

A flat walk by lengths over the top level, descending only into items, as the cabinet's facts
scan does (fleet/receipts_cabinet/facts.py): a full tree decode costs ~25x more. A broken TLV
yields the items read before the break (the ingest refuses broken documents).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from struct import Struct
from typing import Final

__all__ = ["Line", "lines"]

ITEM: Final = 1059
NAME: Final = 1030
QUANTITY: Final = 1023  # FVLN: first byte the digits after the point, then LE mantissa
SUM: Final = 1043  # VLN, kopecks
_HEADER: Final = Struct("<HH")
NAME_MAX: Final = 128


@dataclass(frozen=True)
class Line:
    """One item line: quantity in thousandths, sum in kopecks."""

    name: str
    quantity_milli: int
    total: int


def _fvln_milli(raw: bytes) -> int:
    if not raw:
        return 0
    scale = raw[0]
    mantissa = int.from_bytes(raw[1:], "little")
    # thousandths: scale up or cut down to three digits after the point
    if scale <= 3:
        return mantissa * int(10 ** (3 - scale))
    return mantissa // int(10 ** (scale - 3))


def lines(data: bytes) -> Iterator[Line]:
    """The document's item lines in order."""
    unpack = _HEADER.unpack_from
    n = len(data)
    i = 0
    while i + 4 <= n:
        tag, length = unpack(data, i)
        j = i + 4 + length
        if j > n:
            return
        if tag == ITEM:
            name = ""
            qty = 0
            total = 0
            k = i + 4
            while k + 4 <= j:
                t, ln = unpack(data, k)
                e = k + 4 + ln
                if e > j:
                    break
                if t == NAME:
                    name = data[k + 4 : e].decode("cp866").strip()
                elif t == QUANTITY:
                    qty = _fvln_milli(data[k + 4 : e])
                elif t == SUM:
                    total = int.from_bytes(data[k + 4 : e], "little")
                k = e
            yield Line(name=(name or "Без названия")[:NAME_MAX], quantity_milli=qty, total=total)
        i = j
