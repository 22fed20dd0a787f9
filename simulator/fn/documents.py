"""Fiscal documents as the drive forms them: kinds, budgets, drive tags, signing, containers.

Formation (reference §1.8 [V]): «Начать …» opens a document, 07h adds whole TLVs within a
budget per type, «Сформировать …» makes it: the drive adds its own tags, numbers it
without gaps, signs it (protocol.fiscalsign), archives it and queues it for the OFD.
The drive performs no format-logic check of the register's TLVs (§1.8 "ФН не выполняет
ФЛК"); it checks only that they are whole TLVs and, [rec], that the register does not
send a tag the drive forms itself (answer 0Bh, an FN-1.1M+ code [2nd]).

Document layout [rec, modelled on the real vector V1 §2.7]: drive identity first (1041,
and 1037/1018 for registration reports), then 1040, 1012, 1077, the drive's other tags,
then the register's TLVs in the order received.
"""

from __future__ import annotations

import datetime as dt
import struct
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from protocol import fiscalsign
from protocol.crc import crc16_ccitt_false
from protocol.fn.codes import CurrentDocument, DocumentType
from protocol.ofd import CONTAINER_HEADER_SIZE, CONTAINER_TYPE, container_crc
from protocol.tlvfast import encode  # the spec (protocol.tlv) byte for byte, by struct
from protocol.tree import Field

__all__ = [
    "BUDGET_LARGE",
    "BUDGET_MEDIUM",
    "BUDGET_SMALL",
    "CONTAINER_TRAILER_SIZE",
    "KINDS",
    "DocKind",
    "TlvStructureError",
    "assemble",
    "build_container",
    "local_unixtime",
    "pack_usage_conditions",
    "rnm_is_valid",
    "split_tlvs",
    "stlv",
]

# §1.8 [V]: TLV budgets per document type ("2 KB", "1 KB", "30 KB", read as KiB).
BUDGET_MEDIUM: Final = 2 * 1024  # registration, close FN, settlement report
BUDGET_SMALL: Final = 1 * 1024  # shift open / close
BUDGET_LARGE: Final = 30 * 1024  # receipt / BSO and corrections

_HEADER: Final = struct.Struct("<HH")
_COMMON: Final = frozenset({1040, 1041, 1012, 1077})  # every document [rec]
# Registration via 03h (FFD 1.05): the drive forms the registration data of 03h and the
# mode flags of its work-mode byte (§1.9); 1017 OFD INN still comes from the register.
REGISTRATION_TAGS: Final = _COMMON | {
    1018, 1037, 1062, 1056, 1002, 1001, 1109, 1110, 1108, 1101, 1190,
}  # fmt: skip
# Registration via A3h (FFD 1.1+): also the OFD INN, reasons 1205 and the usage flags
# derived from the extended-mode byte (S4 `fn_reg_pack_1290`) [2nd].
REGISTRATION_EXT_TAGS: Final = REGISTRATION_TAGS | {1017, 1205, 1290, 1207, 1193, 1126, 1221}


@dataclass(frozen=True)
class DocKind:
    """One kind of document a «Начать …» command opens."""

    name: str
    doc_type: DocumentType
    current: CurrentDocument  # 30h byte 1
    budget: int  # bytes of register TLVs (07h/B7h)
    drive_tags: frozenset[int]  # formed by the drive: refused in 07h [rec]


_RECEIPT_TAGS: Final = _COMMON | {1038, 1042, 1054, 1020}
_D = DocumentType
_CD = CurrentDocument
KINDS: Final = {
    "registration": DocKind(
        "registration", _D.REGISTRATION, _CD.REGISTRATION, BUDGET_MEDIUM, REGISTRATION_TAGS
    ),
    "reregistration_fn_replacement": DocKind(
        "reregistration_fn_replacement",
        _D.REGISTRATION_CHANGE,
        _CD.REREGISTRATION_FN_REPLACEMENT,
        BUDGET_MEDIUM,
        REGISTRATION_TAGS,
    ),
    "reregistration": DocKind(
        "reregistration", _D.REGISTRATION_CHANGE, _CD.REREGISTRATION, BUDGET_MEDIUM,
        REGISTRATION_TAGS,
    ),
    "open_shift": DocKind(
        "open_shift", _D.OPEN_SHIFT, _CD.OPEN_SHIFT, BUDGET_SMALL, _COMMON | {1038}
    ),
    "close_shift": DocKind(
        "close_shift", _D.CLOSE_SHIFT, _CD.CLOSE_SHIFT, BUDGET_SMALL,
        _COMMON | {1038, 1111, 1118, 1097, 1098},
    ),
    "receipt": DocKind("receipt", _D.RECEIPT, _CD.RECEIPT, BUDGET_LARGE, _RECEIPT_TAGS),
    "bso": DocKind("bso", _D.BSO, _CD.BSO, BUDGET_LARGE, _RECEIPT_TAGS),
    "correction": DocKind(
        "correction", _D.CORRECTION_RECEIPT, _CD.CORRECTION_RECEIPT, BUDGET_LARGE,
        _RECEIPT_TAGS,
    ),
    "correction_bso": DocKind(
        "correction_bso", _D.CORRECTION_BSO, _CD.CORRECTION_BSO, BUDGET_LARGE, _RECEIPT_TAGS
    ),
    "settlement": DocKind(
        "settlement", _D.SETTLEMENT_REPORT, _CD.SETTLEMENT_REPORT, BUDGET_MEDIUM,
        _COMMON | {1038, 1097, 1098, 1116},
    ),
    "close_fn": DocKind(
        "close_fn", _D.CLOSE_FN, _CD.CLOSE_FISCAL_MODE, BUDGET_MEDIUM,
        _COMMON | {1018, 1037, 1038},
    ),
}  # fmt: skip


class TlvStructureError(ValueError):
    """07h data is not a sequence of whole TLVs (a TLV split across commands, garbage)."""


def split_tlvs(data: bytes) -> list[tuple[int, bytes]]:
    """Top-level TLVs of ``data`` as (tag, whole TLV bytes); structure only, no registry.

    :raises TlvStructureError: a header or value runs past the end of ``data``.
    """
    out: list[tuple[int, bytes]] = []
    pos = 0
    while pos < len(data):
        if len(data) - pos < _HEADER.size:
            raise TlvStructureError(f"truncated TLV header at offset {pos}")
        tag, length = _HEADER.unpack_from(data, pos)
        end = pos + _HEADER.size + length
        if end > len(data):
            raise TlvStructureError(f"tag {tag} at offset {pos} runs past the end of the data")
        out.append((tag, bytes(data[pos:end])))
        pos = end
    return out


def stlv(tag: int, body: bytes) -> bytes:
    """A TLV with ``body`` as its value (an STLV when ``body`` holds TLVs)."""
    return _HEADER.pack(tag, len(body)) + body


def local_unixtime(value: dt.datetime) -> int:
    """UnixTime of a naive drive-local time, encoded as if it were UTC (§2.1, tag 1012)."""
    return int(value.replace(tzinfo=dt.UTC).timestamp())


def assemble(
    doc_type: int,
    *,
    identity: Iterable[Field],
    fd: int,
    date_time: dt.datetime,
    extra: Iterable[Field],
    register_tlvs: bytes,
    key: bytes,
    algorithm: fiscalsign.Algorithm,
) -> tuple[bytes, int]:
    """Build and sign a document: (STLV bytes with 1077, ФП).

    ``identity`` goes before 1040/1012/1077, ``extra`` after them, then ``register_tlvs``
    verbatim (the bytes the register sent with 07h/B7h).
    """
    head = encode([*identity, Field(1040, fd), Field(1012, local_unixtime(date_time))])
    tail = encode(list(extra)) + register_tlvs
    unsigned = stlv(doc_type, head + tail)
    fp = fiscalsign.compute_fp(
        key, unsigned, fd_number=fd, date_time=date_time, algorithm=algorithm
    )
    sign = stlv(fiscalsign.FP_TAG, fiscalsign.fp_tag_value(fp))
    return stlv(doc_type, head + sign + tail), fp


CONTAINER_TRAILER_SIZE: Final = 10  # `81 06` + 6-byte message sign + `00 00` (V1) [rec]
_SERVICE1: Final = b"\x10\x09"  # container bytes 7..8 as in the real vector V1 [V-calc]


def build_container(
    doc_type: int,
    fn_number: str,
    fd: int,
    document: bytes,
    *,
    msg_key: bytes,
    algorithm: fiscalsign.Algorithm,
) -> bytes:
    """The FN container the OFD receives (§4.2): 32-byte header, document, trailer.

    Parsed by `protocol.ofd.parse_container`. Not encrypted: the simulated drive ignores
    the encryption work-mode bit (the reference has no cipher to emulate).
    """
    length = CONTAINER_HEADER_SIZE + len(document) + CONTAINER_TRAILER_SIZE
    header = bytearray(CONTAINER_HEADER_SIZE)
    struct.pack_into("<H", header, 0, length)
    header[4] = CONTAINER_TYPE
    header[5] = doc_type & 0xFF
    header[6] = 1  # container format version: 32-byte header (§4.2)
    header[7:9] = _SERVICE1
    header[9:17] = bytes.fromhex(fn_number.ljust(16, "f"))  # BCD, F-filled (§3.3)
    header[17:20] = fd.to_bytes(3, "big")  # big-endian (yandex/ofd#6)
    body = bytes(header) + document
    sign = fiscalsign.compute_message_sign(msg_key, body, algorithm)
    raw = bytearray(body + b"\x81\x06" + sign + b"\x00\x00")
    struct.pack_into("<H", raw, 2, container_crc(raw))
    return bytes(raw)


def rnm_is_valid(rnm: str, inn: str, kkt_serial: str) -> bool:
    """Check an RNM's check digits against INN and KKT serial (§3.2 [V-calc]).

    RNM = first 10 digits + CRC16-CCITT-FALSE(first10 + INN.zfill(12) + serial.zfill(20))
    as 6 decimal digits; "0000000005008570" for INN 7702203276, serial 000000000002.
    """
    number = rnm.strip()
    if len(number) != 16 or not number.isdigit():
        return False
    text = number[:10] + inn.strip().zfill(12) + kkt_serial.strip().zfill(20)
    try:
        crc = crc16_ccitt_false(text.encode("ascii"))
    except UnicodeEncodeError:
        return False
    return number[10:] == f"{crc:06d}"


# [2nd] S4 `fn_reg_pack_1290`: tag 1290 bits from the work-mode (§1.9 table 21) and
# extended-mode bytes of A3h.
_USAGE_FROM_WORK_MODE: Final = ((0x08, 9), (0x10, 2), (0x20, 5), (0x40, 15), (0x80, 16))
_USAGE_FROM_EXTENDED: Final = (
    (0x01, 6), (0x02, 10), (0x04, 11), (0x08, 1), (0x10, 8), (0x20, 12), (0x40, 13), (0x80, 14),
)  # fmt: skip


def pack_usage_conditions(work_mode: int, extended_mode: int) -> int:
    """Tag 1290 (FFD 1.2 usage conditions) from the A3h mode bytes [2nd S4]."""
    value = 0
    for bit, pos in _USAGE_FROM_WORK_MODE:
        if work_mode & bit:
            value |= 1 << pos
    for bit, pos in _USAGE_FROM_EXTENDED:
        if extended_mode & bit:
            value |= 1 << pos
    return value
