# firmware/crc16.py: CRC-16/CCITT-FALSE of the fiscal-drive link, table-driven.
# MIT license; Oblako register runtime.
#
# Reference fiscal-protocols.md §1.2: poly 0x1021, init 0xFFFF, no reflection, no final
# XOR; check("123456789") = 0x29B1. Computed over LEN..DATA of every frame. An
# independent implementation of protocol/crc.py (crcmod), cross-checked by the tests.
from array import array

from firmware.compat import const

_POLY = const(0x1021)  # x^16 + x^12 + x^5 + 1, MSB first (§1.2)
_INIT = const(0xFFFF)  # CCITT-FALSE initial value (§1.2)


def _make_table() -> array:
    # One entry per value of the top byte: the CRC of that byte shifted through the
    # register. 256 x u16 in an array('H') is 512 bytes, built once at import.
    table = array("H", [0] * 256)
    for i in range(256):
        c = i << 8
        for _ in range(8):
            if c & 0x8000:
                c = ((c << 1) ^ _POLY) & 0xFFFF
            else:
                c = (c << 1) & 0xFFFF
        table[i] = c
    return table


_TABLE = _make_table()


def crc16_table(data: bytes | bytearray | memoryview, crc: int = _INIT) -> int:
    """Return the CRC-16/CCITT-FALSE of data, continuing from crc (pass a previous result):
    the portable table-driven loop, `crc16` where the platform has no C one."""
    # data may be bytes, bytearray or a memoryview slice: iterating yields ints and no copy
    # is made, so a frame can be checked in place or in pieces.
    table = _TABLE
    for b in data:
        crc = ((crc << 8) & 0xFFFF) ^ table[(crc >> 8) ^ b]
    return crc


try:
    # CPython's binascii.crc_hqx is this CRC in C (poly 0x1021, MSB first, the initial value
    # given, no final XOR), ~40x faster than the loop: 3+ frames a drive command and the
    # journal's records. MicroPython 1.27's binascii has crc32 only: the table stays there.
    from binascii import crc_hqx as _crc_hqx  # type: ignore[attr-defined,unused-ignore]

    def crc16(data: bytes | bytearray | memoryview, crc: int = _INIT) -> int:
        """Return the CRC-16/CCITT-FALSE of data, continuing from crc (pass a previous result)."""
        return _crc_hqx(data, crc)

except ImportError:  # MicroPython
    crc16 = crc16_table
