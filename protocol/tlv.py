"""FFD TLV documents: the construct declarations (the spec) and the codec built on them.

Wire format (reference §2.1, [V] yandex/ofd `struct.pack('<HH', tag, len)`):

    +---------+---------+----------------------+
    | tag u16 | len u16 | value (len bytes)    |      all little-endian
    +---------+---------+----------------------+

An STLV's value is itself a sequence of TLVs; a repeated tag is simply repeated. Value
types per kind are declared in `VALUE` below; which kind a tag has comes from the
registry (`protocol.tags`). An unknown tag's value is kept as bytes.

This codec is the readable spec and the oracle the firmware codec and the fleet's struct
codec (protocol/tlvfast.py) are tested against; it is far too slow for a hot path
(construct decodes ~25x slower than a struct loop): those use protocol/tlvfast.py.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from construct import (
    Adapter,
    Bytes,
    Construct,
    ConstructError,
    GreedyBytes,
    GreedyRange,
    GreedyString,
    Int8ul,
    Int16ul,
    Int32ul,
    Struct,
    this,
)

from protocol.errors import TlvDecodeError, TlvEncodeError
from protocol.tags import FIXED_SIZE, Kind, TagDef, lookup
from protocol.tree import Field

#: TLV header: tag and value length, u16 LE each.
TLV_HEADER = Struct("tag" / Int16ul, "length" / Int16ul)
HEADER_SIZE = 4

#: A TLV with its value as raw bytes; an STLV body is GreedyRange(RAW_TLV).
RAW_TLV = Struct("tag" / Int16ul, "length" / Int16ul, "value" / Bytes(this.length))
STLV_BODY = GreedyRange(RAW_TLV)


class _Vln(Adapter):  # type: ignore[misc]
    """VLN: unsigned little-endian in as many bytes as the value has (zero bytes for 0).

    Parses to (value, size); builds from (value, size) where size None means minimal.
    """

    def _decode(self, obj: bytes, context: Any, path: str) -> tuple[int, int]:
        return int.from_bytes(obj, "little"), len(obj)

    def _encode(self, obj: tuple[int, int | None], context: Any, path: str) -> bytes:
        value, size = obj
        return value.to_bytes(size if size is not None else vln_size(value), "little")


#: VLN value (reference §2.1; zero length is legal, fr_drv_ng#134).
VLN = _Vln(GreedyBytes)


class _Fvln(Adapter):  # type: ignore[misc]
    """FVLN: one byte of decimal places, then the mantissa as a VLN (at least one byte)."""

    def _decode(self, obj: Any, context: Any, path: str) -> tuple[Decimal, int]:
        mantissa, msize = obj.mantissa
        return Decimal(mantissa).scaleb(-obj.scale), 1 + msize

    def _encode(self, obj: tuple[Decimal, int | None], context: Any, path: str) -> Any:
        value, size = obj
        scale, mantissa = fvln_parts(value)
        msize = (size - 1) if size is not None else max(1, vln_size(mantissa))
        return {"scale": scale, "mantissa": (mantissa, msize)}


#: FVLN value: scale byte + LE mantissa (S3 tests: 02 15 cd 5b 07 = 1234567.89).
FVLN = _Fvln(Struct("scale" / Int8ul, "mantissa" / VLN))

#: Value declaration per kind (STLV values are decoded recursively, see `decode`).
VALUE: dict[Kind, Construct] = {
    Kind.BYTE: Int8ul,
    Kind.U16: Int16ul,
    Kind.U32: Int32ul,
    Kind.UNIXTIME: Int32ul,
    Kind.VLN: VLN,
    Kind.FVLN: FVLN,
    Kind.STRING: GreedyString("cp866"),
    Kind.BYTES: GreedyBytes,
}


def vln_size(value: int) -> int:
    """Minimal VLN width of a non-negative integer (0 for zero)."""
    return (value.bit_length() + 7) // 8


def fvln_parts(value: Decimal) -> tuple[int, int]:
    """(scale, mantissa) of a non-negative Decimal as an FVLN carries them."""
    sign, digits, exponent = value.as_tuple()
    if sign or not isinstance(exponent, int):
        raise ValueError("an FVLN is a finite non-negative decimal")
    if exponent > 0:  # 1E+2: no negative scales on the wire
        return 0, int(value)
    mantissa = int("".join(map(str, digits)) or "0")
    return -exponent, mantissa


def _name(d: TagDef | None, tag: int) -> str:
    return f"tag {tag} ({d.ru_name})" if d is not None else f"tag {tag}"


# ---- decoding ---------------------------------------------------------------------------


def _decode_value(d: TagDef, raw: bytes, path: tuple[int, ...], offset: int) -> Field:
    tag = d.tag
    kind = d.kind
    if kind in FIXED_SIZE and len(raw) != FIXED_SIZE[kind]:
        raise TlvDecodeError(
            f"{_name(d, tag)} is {kind.value}: length must be {FIXED_SIZE[kind]}, got {len(raw)}",
            path,
            offset,
        )
    if len(raw) > d.max_len:
        raise TlvDecodeError(
            f"{_name(d, tag)} is at most {d.max_len} bytes, got {len(raw)}", path, offset
        )
    if kind is Kind.STLV:
        return Field(tag, tuple(_decode(raw, path, offset + HEADER_SIZE)))
    if kind is Kind.FVLN and not raw:
        raise TlvDecodeError(f"{_name(d, tag)}: an FVLN needs its scale byte", path, offset)
    try:
        value = VALUE[kind].parse(raw)
    except ConstructError as e:  # pragma: no cover - every kind above accepts any bytes
        raise TlvDecodeError(f"{_name(d, tag)}: {e}", path, offset) from e
    if kind is Kind.VLN:
        number, size = value
        return Field(tag, number, None if size == vln_size(number) else size)
    if kind is Kind.FVLN:
        number, size = value
        _, mantissa = fvln_parts(number)
        return Field(tag, number, None if size == 1 + max(1, vln_size(mantissa)) else size)
    if kind is Kind.STRING and d.fixed and len(raw) != d.fixed:
        raise TlvDecodeError(
            f"{_name(d, tag)} is exactly {d.fixed} characters, got {len(raw)}", path, offset
        )
    return Field(tag, value)


def _decode(data: bytes, path: tuple[int, ...], base: int) -> list[Field]:
    fields: list[Field] = []
    pos = 0
    while pos < len(data):
        if len(data) - pos < HEADER_SIZE:
            raise TlvDecodeError(
                f"truncated TLV header: {len(data) - pos} bytes left", path, base + pos
            )
        header = TLV_HEADER.parse(data[pos : pos + HEADER_SIZE])
        tag, length = header.tag, header.length
        end = pos + HEADER_SIZE + length
        if end > len(data):
            raise TlvDecodeError(
                f"{_name(lookup(tag), tag)}: value of {length} bytes runs past the end "
                f"({len(data) - pos - HEADER_SIZE} left)",
                path + (tag,),
                base + pos,
            )
        raw = data[pos + HEADER_SIZE : end]
        d = lookup(tag)
        if d is None:
            fields.append(Field(tag, bytes(raw)))
        else:
            fields.append(_decode_value(d, raw, path + (tag,), base + pos))
        pos = end
    return fields


def decode(data: bytes, *, offset: int = 0) -> list[Field]:
    """Decode a sequence of TLVs (a document is one top-level STLV).

    `offset` is added to byte offsets in errors (the position of `data` in a larger
    buffer). Raises TlvDecodeError with the tag path and byte offset of the bad field.
    """
    return _decode(bytes(data), (), offset)


# ---- encoding ---------------------------------------------------------------------------


def _encode_value(f: Field, d: TagDef, path: tuple[int, ...]) -> bytes:
    kind = d.kind
    v = f.value
    try:
        if kind is Kind.STLV:
            if not isinstance(v, tuple):
                raise TypeError("an STLV value is a tuple of fields")
            raw: bytes = _encode(v, path)
        elif kind in (Kind.VLN, Kind.FVLN):
            if kind is Kind.VLN and (not isinstance(v, int) or isinstance(v, bool)):
                raise TypeError("a VLN is an int")
            if kind is Kind.FVLN and not isinstance(v, Decimal):
                raise TypeError("an FVLN is a Decimal")
            raw = VALUE[kind].build((v, f.size))
        elif kind is Kind.STRING:
            if not isinstance(v, str):
                raise TypeError("a string value is a str")
            text = v.ljust(d.fixed) if d.fixed else v
            raw = VALUE[kind].build(text)
        elif kind is Kind.BYTES:
            if not isinstance(v, bytes):
                raise TypeError("a bytes value is bytes")
            raw = v
        else:
            if not isinstance(v, int) or isinstance(v, bool):
                raise TypeError(f"a {kind.value} value is an int")
            raw = VALUE[kind].build(v)
    except TlvEncodeError:
        raise
    except (ConstructError, TypeError, ValueError, OverflowError, UnicodeEncodeError) as e:
        raise TlvEncodeError(f"{_name(d, f.tag)}: cannot encode {v!r}: {e}", path) from e
    if len(raw) > d.max_len:
        raise TlvEncodeError(
            f"{_name(d, f.tag)} is at most {d.max_len} bytes, {v!r} needs {len(raw)}", path
        )
    return raw


def _encode(fields: Iterable[Field], path: tuple[int, ...]) -> bytes:
    out = bytearray()
    for f in fields:
        d = lookup(f.tag)
        fpath = path + (f.tag,)
        if d is None:
            if not isinstance(f.value, bytes):
                raise TlvEncodeError(f"unknown tag {f.tag}: value must be bytes", fpath)
            raw = f.value
        else:
            raw = _encode_value(f, d, fpath)
        if not 0 <= f.tag <= 0xFFFF or len(raw) > 0xFFFF:
            raise TlvEncodeError(f"tag {f.tag} or its length does not fit 16 bits", fpath)
        out += TLV_HEADER.build({"tag": f.tag, "length": len(raw)}) + raw
    return bytes(out)


def encode(fields: Iterable[Field]) -> bytes:
    """Encode fields to TLV bytes (fixed-width strings padded with spaces).

    Raises TlvEncodeError with the tag path for a value the tag cannot hold.
    """
    return _encode(fields, ())
