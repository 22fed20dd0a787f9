# firmware/tlv.py: the register's FFD TLV codec (struct + memoryview, MicroPython-portable).
# MIT license; Oblako register runtime.
#
# Wire format (reference §2.1): tag u16 LE | length u16 LE | value. An STLV's value is
# a sequence of TLVs. Value kinds come from firmware/tagtable.py, generated from the
# project's single tag registry (protocol/tagdata.py).
#
# A field is a tuple (tag, value) or, when a VLN/FVLN was not in its minimal width,
# (tag, value, size): the fiscal sign covers the bytes, so the width must survive a
# decode/encode round trip. Values:
#   byte, u16, u32, unixtime, vln -> int      fvln -> str "1.500" (scale = digits after ".")
#   string -> str (CP866, padding kept)      bytes -> bytes      stlv -> list of fields
# An unknown tag's value is kept as bytes.
#
# Encoding writes into a caller's buffer (encode_into), STLV headers back-patched once
# the children are written, so a receipt streams into the drive's 07h frame buffer without
# being built whole.
from struct import pack_into, unpack_from

from firmware import cp866
from firmware.compat import const
from firmware.errors import BufferFullError, TlvError
from firmware.tagtable import (
    BYTE,
    BYTES,
    FVLN,
    STLV,
    STRING,
    TAGS,
    U16,
    U32,
    UNIXTIME,
    VLN,
)

_HEADER = const(4)  # tag u16 + length u16
_MAX_U16 = const(0xFFFF)
_SIZES = {BYTE: 1, U16: 2, U32: 4, UNIXTIME: 4}


def spec(tag: int) -> tuple | None:
    """(kind, max_len, fixed) of a tag, or None when the registry does not know it."""
    s = TAGS.get(tag)
    if s is None:
        return None
    return s & 0xF, (s >> 4) & 0xFFFF, s >> 20


def vln_size(value: int) -> int:
    """Minimal VLN width of a non-negative int (0 for zero)."""
    n = 0
    while value:
        value >>= 8
        n += 1
    return n


def fvln_text(mantissa: int, scale: int) -> str:
    """An FVLN's value as decimal text with exactly `scale` digits after the point."""
    s = str(mantissa)
    if not scale:
        return s
    if len(s) <= scale:
        s = "0" * (scale + 1 - len(s)) + s
    return s[:-scale] + "." + s[-scale:]


def fvln_parts(value: object) -> tuple:
    """(mantissa, scale) of an FVLN given as "1.500" or an int; ValueError if neither."""
    if isinstance(value, int) and not isinstance(value, bool):
        if value < 0:
            raise ValueError("negative")
        return value, 0
    if not isinstance(value, str):
        raise ValueError("not a decimal string")
    dot = value.find(".")
    digits = value if dot < 0 else value.replace(".", "", 1)
    if not digits or not digits.isdigit() or dot == len(value) - 1:
        raise ValueError("not a decimal string")
    return int(digits), 0 if dot < 0 else len(value) - dot - 1


# ---- decoding ---------------------------------------------------------------------------


def decode(buf: bytes | bytearray | memoryview, offset: int = 0) -> list:
    """Decode TLV bytes into a list of fields.

    Raises TlvError with the tag path and the byte offset (plus `offset`) of the bad
    field; never IndexError, struct.error or UnicodeError.
    """
    mv = memoryview(buf)
    return _decode(mv, 0, len(mv), (), offset)


def _decode(mv: memoryview, pos: int, end: int, path: tuple, base: int) -> list:
    out: list = []
    while pos < end:
        if end - pos < _HEADER:
            raise TlvError("truncated TLV header", path, base + pos)
        tag, ln = unpack_from("<HH", mv, pos)
        vpos = pos + _HEADER
        vend = vpos + ln
        if vend > end:
            raise TlvError("value runs past the end", path + (tag,), base + pos)
        s = TAGS.get(tag)
        if s is None:
            out.append((tag, bytes(mv[vpos:vend])))
        else:
            kind = s & 0xF
            # The two commonest kinds inline (speed on CPython); the rest in _value.
            if kind == BYTE and ln == 1:
                out.append((tag, mv[vpos]))
            elif kind == VLN and ln <= (s >> 4) & 0xFFFF:
                v = int.from_bytes(mv[vpos:vend], "little")
                out.append((tag, v) if ln == vln_size(v) else (tag, v, ln))
            else:
                out.append(_value(mv, tag, s, vpos, ln, path, base, pos))
        pos = vend
    return out


def _value(
    mv: memoryview, tag: int, s: int, vpos: int, ln: int, path: tuple, base: int, pos: int
) -> tuple:
    # Offsets in errors are base + the field header's position in mv.
    at = base + pos
    kind = s & 0xF
    if ln > (s >> 4) & 0xFFFF:
        raise TlvError("value longer than the tag allows", path + (tag,), at)
    if kind == BYTE:
        if ln != 1:
            raise TlvError("a byte field must have length 1", path + (tag,), at)
        return (tag, mv[vpos])
    if kind == U32 or kind == UNIXTIME:
        if ln != 4:
            raise TlvError("a 4-byte field must have length 4", path + (tag,), at)
        return (tag, unpack_from("<I", mv, vpos)[0])
    if kind == STRING:
        fixed = s >> 20
        if fixed and ln != fixed:
            raise TlvError("a fixed-width string has the wrong length", path + (tag,), at)
        return (tag, cp866.decode(mv[vpos : vpos + ln]))
    if kind == VLN:
        v = int.from_bytes(mv[vpos : vpos + ln], "little")
        return (tag, v) if ln == vln_size(v) else (tag, v, ln)
    if kind == STLV:
        return (tag, _decode(mv, vpos, vpos + ln, path + (tag,), base))
    if kind == FVLN:
        if ln < 1:
            raise TlvError("an FVLN needs its scale byte", path + (tag,), at)
        m = int.from_bytes(mv[vpos + 1 : vpos + ln], "little")
        text = fvln_text(m, mv[vpos])
        msize = vln_size(m)
        return (tag, text) if ln == 1 + (msize or 1) else (tag, text, ln)
    if kind == U16:
        if ln != 2:
            raise TlvError("a u16 field must have length 2", path + (tag,), at)
        return (tag, unpack_from("<H", mv, vpos)[0])
    return (tag, bytes(mv[vpos : vpos + ln]))


# ---- encoding ---------------------------------------------------------------------------
# Speed matters on CPython (the bench's target is half the bare struct loop) and heap on
# MicroPython (no per-byte or per-character objects): ints go through pack_into, strings
# through one encode() each, and tuple constants live at module level because MicroPython
# builds a tuple literal on every evaluation.

_SEQ = (list, tuple)
_BUF = (bytes, bytearray)
_UFMT = (None, "<B", "<H", None, "<I")  # pack formats of 1-, 2- and 4-byte uints


def encode(fields: list | tuple) -> bytes:
    """Encode a list of fields to bytes (fixed-width strings padded with spaces)."""
    n = 2048
    while True:
        buf = bytearray(n)
        try:
            end = encode_into(buf, 0, fields)
        except BufferFullError:
            n *= 2
            continue
        return bytes(buf[:end])


def size_of(fields: list | tuple, path: tuple = ()) -> int:
    """Encoded size in bytes of a list of fields (raises TlvError like encode)."""
    n = 0
    for f in fields:
        n += field_size(f, path)
    return n


def field_size(f: tuple, path: tuple = ()) -> int:
    """Encoded size in bytes of one field, header included."""
    tag = f[0]
    v = f[1]
    s = TAGS.get(tag)
    if s is None:
        return _HEADER + _need_bytes(v, tag, path)
    kind = s & 0xF
    if kind == STLV:
        return _HEADER + size_of(_need_seq(v, tag, path), path + (tag,))
    if kind == STRING:
        return _HEADER + (s >> 20 or _need_str(v, tag, path))
    if kind in _SIZES:
        return _HEADER + _SIZES[kind]
    if len(f) > 2:
        return _HEADER + f[2]
    if kind == VLN:
        return _HEADER + vln_size(_need_uint(v, tag, path))
    if kind == FVLN:
        return _HEADER + 1 + (vln_size(_fvln(v, tag, path)[0]) or 1)
    return _HEADER + _need_bytes(v, tag, path)


def encode_into(buf: bytearray, pos: int, fields: list | tuple, path: tuple = ()) -> int:
    """Write fields into `buf` from `pos`; return the position after them.

    Raises BufferFullError when `buf` has no room, TlvError (tag path, offset -1) for a value
    its tag cannot hold; the bytes written before the error are garbage to the caller.
    """
    for f in fields:
        pos = field_into(buf, pos, f, path)
    return pos


def field_into(buf: bytearray, pos: int, f: tuple, path: tuple = ()) -> int:
    """Write one field into `buf` at `pos`; return the position after it."""
    tag = f[0]
    v = f[1]
    s = TAGS.get(tag)
    vpos = pos + _HEADER
    if s is None:
        if not 0 <= tag <= _MAX_U16:
            raise TlvError("tag does not fit 16 bits", path + (tag,), -1)
        kind = BYTES
        max_len = _MAX_U16
    else:
        kind = s & 0xF
        max_len = (s >> 4) & 0xFFFF
    # Branches in order of frequency in a receipt.
    if kind == BYTE:
        if type(v) is not int or not 0 <= v <= 0xFF:
            raise TlvError("a byte is an int 0..255", path + (tag,), -1)
        if vpos >= len(buf):
            _full(tag, path)
        buf[vpos] = v
        end = vpos + 1
    elif kind == VLN:
        if type(v) is not int or v < 0:
            raise TlvError("a non-negative int is required", path + (tag,), -1)
        if len(f) > 2:
            size = f[2]
        elif v < 0x100:
            size = 1 if v else 0
        elif v < 0x10000:
            size = 2
        else:
            size = vln_size(v)
        end = _uint_into(buf, vpos, v, size, tag, path)
    elif kind == STRING:
        n = _need_str(v, tag, path)
        fixed = (s or 0) >> 20
        if fixed and n > fixed:
            raise TlvError("string longer than its fixed width", path + (tag,), -1)
        end = vpos + (fixed or n)
        if end > len(buf):
            _full(tag, path)
        p = cp866.write(v, buf, vpos, path + (tag,)) if n else vpos
        while p < end:  # fixed-width fields are padded with spaces (ИНН, РНМ, ФН)
            buf[p] = 0x20
            p += 1
    elif kind == STLV:
        if vpos > len(buf):
            _full(tag, path)
        end = encode_into(buf, vpos, _need_seq(v, tag, path), path + (tag,))
    elif kind == FVLN:
        m, scale = _fvln(v, tag, path)
        if scale > 255:
            raise TlvError("too many decimal places", path + (tag,), -1)
        size = f[2] - 1 if len(f) > 2 else (vln_size(m) or 1)
        end = _uint_into(buf, vpos + 1, m, size, tag, path)
        buf[vpos] = scale
    elif kind == BYTES:
        end = vpos + _need_bytes(v, tag, path)
        if end > len(buf):
            _full(tag, path)
        buf[vpos:end] = v
    else:  # u16, u32, unixtime
        end = _uint_into(buf, vpos, _need_uint(v, tag, path), _SIZES[kind], tag, path)
    n = end - vpos
    if n > max_len:
        raise TlvError("value longer than the tag allows", path + (tag,), -1)
    pack_into("<HH", buf, pos, tag, n)
    return end


def _full(tag: int, path: tuple) -> None:
    raise BufferFullError("no room in the output buffer", path + (tag,), -1)


def _uint_into(buf: bytearray, pos: int, v: int, size: int, tag: int, path: tuple) -> int:
    if size < 0 or v >> (8 * size):
        raise TlvError("value does not fit its width", path + (tag,), -1)
    end = pos + size
    if end > len(buf):
        _full(tag, path)
    if size <= 4:
        fmt = _UFMT[size]
        if fmt is not None:
            pack_into(fmt, buf, pos, v)
        elif size:  # 3 bytes
            pack_into("<HB", buf, pos, v & 0xFFFF, v >> 16)
        return end
    while pos < end:
        buf[pos] = v & 0xFF
        v >>= 8
        pos += 1
    return end


def _need_uint(v: object, tag: int, path: tuple) -> int:
    if not isinstance(v, int) or isinstance(v, bool) or v < 0:
        raise TlvError("a non-negative int is required", path + (tag,), -1)
    return v


def _need_str(v: object, tag: int, path: tuple) -> int:
    if not isinstance(v, str):
        raise TlvError("a str is required", path + (tag,), -1)
    return len(v)


def _need_bytes(v: object, tag: int, path: tuple) -> int:
    if not isinstance(v, _BUF):
        raise TlvError("bytes are required", path + (tag,), -1)
    return len(v)


def _need_seq(v: object, tag: int, path: tuple) -> list | tuple:
    if not isinstance(v, _SEQ):
        raise TlvError("an STLV value is a list of fields", path + (tag,), -1)
    return v


def _fvln(v: object, tag: int, path: tuple) -> tuple:
    try:
        return fvln_parts(v)
    except ValueError:
        raise TlvError("an FVLN is a decimal string such as 1.500", path + (tag,), -1)
