"""What the fleet reads from a fiscal document's TLV at ingest: tax system and marked goods.

A `doc` event carries the document's top-level TLVs as the drive's archive gives them (45h/46h:
no outer document tag). `scan` walks them once by their lengths, reading only tag 1055 and the
marking tags, and descends only into the items (1059), where FFD 1.2 puts the marking tags;
everything else is skipped unread. A full tree decode (protocol.tlv) costs ~25x more and is not
needed for the two columns. The walk still checks the framing of every TLV it passes (top level
and inside 1059), so a cut or overlong document is refused with the offset where it breaks.

Marking tags (protocol/tagdata.py, FFD 1.2): inside an item (1059) 2000 «Код маркировки», 2100
«Тип кода маркировки», 2102 «Режим обработки кода маркировки», 2106 «Результат проверки
сведений о товаре», 2110 «Присвоенный статус товара», 2115 «Контрольный код КМ» — the register
writes 2000/2100/2102/2106/2110 into a marked item (firmware/register.py `_check_marks`); at the
top level 2107 «Результаты проверки маркированных товаров», which only a receipt with marked
goods carries. Not 2108 «Мера количества предмета расчёта»: every FFD 1.2 item has it.
"""

from __future__ import annotations

from struct import Struct
from struct import error as struct_error
from typing import Final

__all__ = ["ITEM_MARKING_TAGS", "TOP_MARKING_TAGS", "TlvScanError", "scan", "scan_checked"]

TAX_SYSTEM: Final = 1055
ITEM: Final = 1059
ITEM_MARKING_TAGS: Final = frozenset({2000, 2100, 2102, 2106, 2110, 2115})
TOP_MARKING_TAGS: Final = frozenset({2107})

_TOP_SPECIAL: Final = frozenset({ITEM, TAX_SYSTEM, *TOP_MARKING_TAGS})
_HEADER: Final = Struct("<HH")
_unpack = _HEADER.unpack_from


class TlvScanError(ValueError):
    """A TLV whose framing is broken; `offset` is where the bad TLV starts (bytes)."""

    def __init__(self, offset: int, reason: str) -> None:
        super().__init__(f"TLV документа повреждён: смещение {offset}: {reason}")
        self.offset = offset
        self.reason = reason


def scan(data: bytes) -> tuple[int | None, bool]:
    """(tag 1055 value or None, whether any marking tag is present); TlvScanError if broken."""
    # The fast walk: no bounds test per TLV. A length that runs past its document (or item)
    # leaves the walk off the end, a cut header makes unpack_from fail: either way the checked
    # walk below then names the offset and the reason (~25 % less a document, which is valid
    # nearly always).
    unpack = _unpack
    special = _TOP_SPECIAL
    item_tags = ITEM_MARKING_TAGS
    n = len(data)
    i = 0
    tax: int | None = None
    marked = False
    try:
        while i < n:
            tag, length = unpack(data, i)
            i += 4 + length
            if tag not in special:
                continue
            if tag == ITEM:
                k = i - length
                while k < i:
                    t, ln = unpack(data, k)
                    k += 4 + ln
                    if t in item_tags:
                        marked = True
                if k != i:
                    return scan_checked(data)
            elif tag == TAX_SYSTEM:
                if length != 1 or i > n:
                    return scan_checked(data)
                tax = data[i - 1]
            else:
                marked = True
    except struct_error:
        return scan_checked(data)
    if i != n:
        return scan_checked(data)
    return tax, marked


def scan_checked(data: bytes) -> tuple[int | None, bool]:
    """`scan` with every bound tested: the precise TlvScanError of a broken document."""
    unpack = _unpack
    item_tags = ITEM_MARKING_TAGS
    special = _TOP_SPECIAL  # one set test for the many top-level tags read past
    n = len(data)
    i = 0
    tax: int | None = None
    marked = False
    while i < n:
        if n - i < 4:
            raise TlvScanError(i, f"обрезан заголовок TLV ({n - i} байт из 4)")
        tag, length = unpack(data, i)
        j = i + 4 + length
        if j > n:
            raise TlvScanError(
                i,
                f"тег {tag} длиной {length} выходит за конец документа (осталось {n - i - 4} байт)",
            )
        if tag not in special:
            i = j
            continue
        if tag == ITEM:
            # the item's TLVs, framing checked to its end (no early exit: a broken item is
            # refused whether or not a marking tag came first)
            k = i + 4
            while k < j:
                if j - k < 4:
                    raise TlvScanError(
                        k, f"в предмете расчёта (1059) обрезан заголовок TLV ({j - k} байт)"
                    )
                t, ln = unpack(data, k)
                e = k + 4 + ln
                if e > j:
                    raise TlvScanError(
                        k,
                        f"тег {t} в предмете расчёта (1059) длиной {ln} выходит за его конец"
                        f" (осталось {j - k - 4} байт)",
                    )
                if t in item_tags:
                    marked = True
                k = e
        elif tag == TAX_SYSTEM:
            if length != 1:
                raise TlvScanError(i, f"тег 1055 длиной {length}, а не 1 байт")
            tax = data[i + 4]
        elif tag in TOP_MARKING_TAGS:
            marked = True
        i = j
    return tax, marked
