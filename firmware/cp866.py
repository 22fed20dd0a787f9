# firmware/cp866.py: CP866, the text encoding of FFD strings (reference §2.1), with its
# own table: MicroPython has no codecs and silently encodes everything as UTF-8.
# MIT license; Oblako register runtime.
#
# Encoding goes through the string's UTF-8 bytes, so it allocates one bytes object per
# string and no per-character objects (the heap budget of a receipt is 8 KB).
from array import array

from firmware.errors import TlvError

# Code points of bytes 0x80..0xFF (0x00..0x7F are ASCII).
# fmt: off
_HIGH = array("H", (
    0x0410, 0x0411, 0x0412, 0x0413, 0x0414, 0x0415, 0x0416, 0x0417,
    0x0418, 0x0419, 0x041A, 0x041B, 0x041C, 0x041D, 0x041E, 0x041F,
    0x0420, 0x0421, 0x0422, 0x0423, 0x0424, 0x0425, 0x0426, 0x0427,
    0x0428, 0x0429, 0x042A, 0x042B, 0x042C, 0x042D, 0x042E, 0x042F,
    0x0430, 0x0431, 0x0432, 0x0433, 0x0434, 0x0435, 0x0436, 0x0437,
    0x0438, 0x0439, 0x043A, 0x043B, 0x043C, 0x043D, 0x043E, 0x043F,
    0x2591, 0x2592, 0x2593, 0x2502, 0x2524, 0x2561, 0x2562, 0x2556,
    0x2555, 0x2563, 0x2551, 0x2557, 0x255D, 0x255C, 0x255B, 0x2510,
    0x2514, 0x2534, 0x252C, 0x251C, 0x2500, 0x253C, 0x255E, 0x255F,
    0x255A, 0x2554, 0x2569, 0x2566, 0x2560, 0x2550, 0x256C, 0x2567,
    0x2568, 0x2564, 0x2565, 0x2559, 0x2558, 0x2552, 0x2553, 0x256B,
    0x256A, 0x2518, 0x250C, 0x2588, 0x2584, 0x258C, 0x2590, 0x2580,
    0x0440, 0x0441, 0x0442, 0x0443, 0x0444, 0x0445, 0x0446, 0x0447,
    0x0448, 0x0449, 0x044A, 0x044B, 0x044C, 0x044D, 0x044E, 0x044F,
    0x0401, 0x0451, 0x0404, 0x0454, 0x0407, 0x0457, 0x040E, 0x045E,
    0x00B0, 0x2219, 0x00B7, 0x221A, 0x2116, 0x00A4, 0x25A0, 0x00A0,
))
# fmt: on

# Where the platform has a real CP866 codec (CPython), use it; probe by value, because
# MicroPython accepts any encoding name and returns UTF-8.
try:
    NATIVE = "Ёж№".encode("cp866") == b"\xf0\xa6\xfc" and b"\xf0\xfc".decode("cp866") == "Ё№"
except Exception:
    NATIVE = False


def _byte_of(cp: int) -> int:
    # А..п and р..я are contiguous runs (the common case for Russian text).
    if 0x0410 <= cp <= 0x043F:
        return cp - 0x0410 + 0x80
    if 0x0440 <= cp <= 0x044F:
        return cp - 0x0440 + 0xE0
    for i in range(128):
        if _HIGH[i] == cp:
            return i + 0x80
    return -1


def write(text: str, buf: bytearray, pos: int, path: tuple = ()) -> int:
    """Write `text` as CP866 into `buf` at `pos`; return the new position.

    Raises TlvError for a character CP866 does not have; `buf` must have room for
    len(text) bytes (CP866 is one byte per character).
    """
    if NATIVE:
        try:
            raw = text.encode("cp866")
        except UnicodeError:
            raise TlvError("character not in CP866", path, -1)
        buf[pos : pos + len(raw)] = raw
        return pos + len(raw)
    return write_table(text, buf, pos, path)


def write_table(text: str, buf: bytearray, pos: int, path: tuple = ()) -> int:
    """`write` by the table (what MicroPython runs; on CPython for the cross-check)."""
    u = text.encode()  # UTF-8: one allocation, then plain ints
    i = 0
    n = len(u)
    while i < n:
        b = u[i]
        if b < 0x80:
            buf[pos] = b
            i += 1
        else:
            if b >= 0xF0:
                cp = -1
            elif b >= 0xE0:
                cp = ((b & 0x0F) << 12) | ((u[i + 1] & 0x3F) << 6) | (u[i + 2] & 0x3F)
                i += 3
            else:
                cp = ((b & 0x1F) << 6) | (u[i + 1] & 0x3F)
                i += 2
            c = _byte_of(cp) if cp >= 0 else -1
            if c < 0:
                raise TlvError("character not in CP866", path, -1)
            buf[pos] = c
        pos += 1
    return pos


def decode(raw: bytes | bytearray | memoryview) -> str:
    """Decode CP866 bytes (any bytes are valid CP866) to a str."""
    if NATIVE:
        return bytes(raw).decode("cp866")
    return decode_table(raw)


def decode_table(raw: bytes | bytearray | memoryview) -> str:
    """`decode` by the table (what MicroPython runs; on CPython for the cross-check)."""
    out = bytearray()
    for b in raw:
        if b < 0x80:
            out.append(b)
        else:
            cp = _HIGH[b - 0x80]
            if cp < 0x800:
                out.append(0xC0 | (cp >> 6))
            else:
                out.append(0xE0 | (cp >> 12))
                out.append(0x80 | ((cp >> 6) & 0x3F))
            out.append(0x80 | (cp & 0x3F))
    return str(out, "utf-8")


def encodable(text: str) -> bool:
    """True when every character of `text` exists in CP866."""
    for ch in text:
        cp = ord(ch)
        if cp >= 0x80 and _byte_of(cp) < 0:
            return False
    return True
