"""The register's registration number (РНМ, tag 1037) and its check digits.

Reference fiscal-protocols.md §3.2: the FNS assigns the first 10 digits (a sequence); the last 6
are CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF) of the ASCII string
first10.zfill(10) + INN.zfill(12) + KKT serial.zfill(20), written in decimal, zero-padded.
Golden example: "0000000005", INN "7702203276", serial "000000000002" → "0000000005008570".
"""

from __future__ import annotations

from protocol.crc import crc16_ccitt_false

__all__ = ["make_rnm", "rnm_check_digits", "verify_rnm"]


def _digits(value: str, width: int, what: str) -> str:
    if not value.isascii() or not value.isdigit() or len(value) > width:
        raise ValueError(f"{what}: ожидается не более {width} цифр, получено {value!r}")
    return value.zfill(width)


def rnm_check_digits(first10: str, inn: str, serial: str) -> str:
    """The 6 check digits for a sequence part, the user's INN and the register's serial."""
    s = _digits(first10, 10, "порядковый номер РНМ") + _digits(inn, 12, "ИНН")
    if not serial.isascii() or len(serial) > 20:
        raise ValueError(f"заводской номер ККТ: не более 20 символов ASCII, получено {serial!r}")
    s += serial.zfill(20)
    return str(crc16_ccitt_false(s.encode("ascii"))).zfill(6)


def make_rnm(sequence: int | str, inn: str, serial: str) -> str:
    """A full 16-digit RNM for a sequence number (0 ≤ n < 10**10)."""
    first10 = _digits(str(sequence), 10, "порядковый номер РНМ")
    return first10 + rnm_check_digits(first10, inn, serial)


def verify_rnm(rnm: str, inn: str, serial: str) -> bool:
    """True when the RNM's check digits match the INN and serial."""
    rnm = rnm.strip()
    if len(rnm) != 16 or not rnm.isascii() or not rnm.isdigit():
        return False
    try:
        return rnm[10:] == rnm_check_digits(rnm[:10], inn, serial)
    except ValueError:
        return False
