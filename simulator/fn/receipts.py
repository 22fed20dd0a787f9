"""The OFD's side of 26h and BFh: receipts a simulated drive accepts.

A reference for the OFD simulator and for tests. A receipt (Квитанция) is an FN
container (§4.2) holding document 7 «Подтверждение оператора» (§4.4: 1017 OFD INN,
1041 FN number, 1040 the confirmed FD, 1012 time, 1068 {1022 answer code}) plus 1078,
the ФПО: protocol.fiscalsign.compute_ofd_fp with the per-drive key derived from the OFD
secret and the FN number. The header copies the document type 7, the FN number (BCD)
and the FD number (3 bytes big-endian) of the confirmed document.
"""

from __future__ import annotations

import datetime as dt
import struct
from typing import Final

from protocol import fiscalsign
from protocol.ofd import CONTAINER_HEADER_SIZE, CONTAINER_TYPE, container_crc
from protocol.tlv import encode
from protocol.tree import Field
from simulator.fn.config import DEV_OFD_SECRET
from simulator.fn.documents import local_unixtime, stlv

__all__ = ["OPERATOR_ACK", "build_container_raw", "build_notification_receipt", "build_receipt"]

OPERATOR_ACK: Final = 7  # §2.2
_NOTIFICATION_ACK: Final = 84  # §2.2 [2nd]


def build_container_raw(doc_type: int, fn_number: str, fd: int, document: bytes) -> bytes:
    """A container around ``document`` (no trailer), CRC computed (§4.2)."""
    length = CONTAINER_HEADER_SIZE + len(document)
    header = bytearray(CONTAINER_HEADER_SIZE)
    struct.pack_into("<H", header, 0, length)
    header[4] = CONTAINER_TYPE
    header[5] = doc_type
    header[6] = 1
    header[9:17] = bytes.fromhex(fn_number.ljust(16, "f"))
    header[17:20] = fd.to_bytes(3, "big")
    raw = bytearray(bytes(header) + document)
    struct.pack_into("<H", raw, 2, container_crc(raw))
    return bytes(raw)


def _signed(doc_type: int, fields: list[Field], key: bytes, algo: fiscalsign.Algorithm) -> bytes:
    unsigned = stlv(doc_type, encode(fields))
    sign = fiscalsign.compute_ofd_fp(key, unsigned, algo)
    return stlv(doc_type, encode([*fields, Field(fiscalsign.OFD_FP_TAG, sign)]))


def build_receipt(
    fn_number: str,
    fd: int,
    when: dt.datetime,
    *,
    ofd_secret: bytes = DEV_OFD_SECRET,
    answer_code: int = 0,
    ofd_inn: str = "7704358518",
    algorithm: fiscalsign.Algorithm = fiscalsign.DEFAULT_ALGORITHM,
) -> bytes:
    """The OFD's receipt for document ``fd`` of drive ``fn_number`` (a 26h argument).

    ``when`` is the receipt's time (naive, the drive's local time as 1012 encodes it);
    ``answer_code`` is 1022 (0 OK, 14 format-logic error …).
    """
    key = fiscalsign.derive_key(ofd_secret, fn_number, "ofd", algorithm)
    fields = [
        Field(1017, ofd_inn),
        Field(1041, fn_number),
        Field(1040, fd),
        Field(1012, local_unixtime(when)),
        Field(1068, (Field(1022, answer_code),)),
    ]
    return build_container_raw(
        OPERATOR_ACK, fn_number, fd, _signed(OPERATOR_ACK, fields, key, algorithm)
    )


def build_notification_receipt(
    fn_number: str,
    number: int,
    *,
    ofd_secret: bytes = DEV_OFD_SECRET,
    algorithm: fiscalsign.Algorithm = fiscalsign.DEFAULT_ALGORITHM,
) -> bytes:
    """The marking system's receipt (document 84) for notification ``number`` (BFh) [2nd]."""
    key = fiscalsign.derive_key(ofd_secret, fn_number, "ofd", algorithm)
    fields = [Field(1041, fn_number), Field(2002, number), Field(2006, 0)]
    document = _signed(_NOTIFICATION_ACK, fields, key, algorithm)
    return build_container_raw(_NOTIFICATION_ACK, fn_number, number, document)
