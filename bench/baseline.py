# bench/baseline.py: the bare typed struct loop the codecs are measured against.
# Portable (MicroPython subset). It knows only the kinds of the benchmark's tags and
# checks nothing: this is the floor of what decoding and encoding TLV can cost in Python.
from struct import pack, unpack_from

try:
    from collections.abc import Callable
except ImportError:  # MicroPython: annotations are never evaluated
    Callable = None  # type: ignore[assignment]

_B, _V, _F, _U, _S, _T = 1, 4, 5, 3, 7, 9
KINDS = {
    3: _T, 1059: _T, 1054: _B, 1055: _B, 1012: _U, 1021: _S, 1203: _S, 1008: _S,
    1030: _S, 1079: _V, 1023: _F, 2108: _B, 1043: _V, 1199: _B, 1200: _V, 1212: _B,
    1214: _B, 1020: _V, 1031: _V, 1081: _V, 1215: _V, 1216: _V, 1217: _V, 1102: _V,
}  # fmt: skip


def decode(buf: bytes, text: Callable[[memoryview], str]) -> list:
    """Decode with struct; `text` turns CP866 bytes into str (the platform's fastest)."""
    mv = memoryview(buf)
    return _decode(mv, 0, len(mv), text)


def _decode(mv: memoryview, pos: int, end: int, text: Callable[[memoryview], str]) -> list:
    out = []
    while pos < end:
        tag, ln = unpack_from("<HH", mv, pos)
        pos += 4
        k = KINDS.get(tag)
        v: object
        if k == _T:
            v = _decode(mv, pos, pos + ln, text)
        elif k == _B:
            v = mv[pos]
        elif k == _V:
            v = int.from_bytes(bytes(mv[pos : pos + ln]), "little")
        elif k == _U:
            v = unpack_from("<I", mv, pos)[0]
        elif k == _F:
            v = (mv[pos], int.from_bytes(bytes(mv[pos + 1 : pos + ln]), "little"))
        elif k == _S:
            v = text(mv[pos : pos + ln])
        else:
            v = bytes(mv[pos : pos + ln])
        out.append((tag, v))
        pos += ln
    return out


def _size(v: int) -> int:
    n = 0
    while v:
        v >>= 8
        n += 1
    return n


def encode(fields: list, text: Callable[[str], bytes]) -> bytes:
    """Encode with struct.pack and join; `text` turns str into CP866 bytes."""
    parts = []
    for f in fields:
        tag = f[0]
        v = f[1]
        k = KINDS.get(tag)
        raw: bytes
        if k == _T:
            raw = encode(v, text)
        elif k == _B:
            raw = pack("<B", v)
        elif k == _V:
            raw = v.to_bytes(_size(v), "little")
        elif k == _U:
            raw = pack("<I", v)
        elif k == _F:
            dot = v.find(".")
            m = int(v[:dot] + v[dot + 1 :])
            raw = pack("<B", len(v) - dot - 1) + m.to_bytes(_size(m) or 1, "little")
        else:
            raw = text(v)
        parts.append(pack("<HH", tag, len(raw)))
        parts.append(raw)
    return b"".join(parts)
