"""CRC-16/CCITT-FALSE, the checksum of the fiscal-drive link frame.

Reference fiscal-protocols.md §1.2: the FNS protocol only says "CRC16-CCITT, poly 0x1021";
every implementation talking to real drives uses the CCITT-FALSE variant (also catalogued
as CRC-16/IBM-3740). Built on crcmod so the spec side does not share code with the
firmware's table-driven `firmware/crc16.py`: the two are checked against each other.
"""

from collections.abc import Callable

import crcmod.predefined

# crcmod's C-or-Python function; untyped, so pin its type here once.
_crc16: Callable[[bytes], int] = crcmod.predefined.mkPredefinedCrcFun("crc-ccitt-false")


def crc16_ccitt_false(data: bytes) -> int:
    """Return the CRC-16/CCITT-FALSE of `data`.

    Parameters: width 16, poly 0x1021, init 0xFFFF, no input/output reflection,
    xorout 0x0000; check value ("123456789") 0x29B1.
    """
    return int(_crc16(bytes(data)))
