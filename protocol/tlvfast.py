"""FFD TLV documents: the struct codec for the hot paths (OFD simulator, fleet).

The same wire format, tree (`protocol.tree.Field`) and errors as the construct spec in
`protocol/tlv.py`, which stays the readable declaration and the oracle this codec is tested
against (tests/protocol/test_tlvfast.py: hypothesis on valid and malformed documents, the
golden vectors). The spec costs ~25x a struct loop (reference/measured-anchors.md); this
one is a struct walk over one buffer, as the firmware codec is (firmware/tlv.py, which the
import contracts keep apart from the fleet).

Only the common, valid case is handled here. Anything irregular — a bad length, a value its
tag cannot hold, an unknown tag to encode — is handed to the spec, so a refusal is the spec's
own `TlvDecodeError`/`TlvEncodeError`, reason, tag path and offset alike, and never a second
wording to keep in step.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from struct import Struct
from typing import Final

from protocol import tlv as spec
from protocol.errors import TlvEncodeError
from protocol.tags import REGISTRY, Kind
from protocol.tree import Field

__all__ = ["decode", "encode"]

# Kinds as small ints for the walk (UnixTime is a u32 on the wire, reference §2.1).
_BYTE: Final = 0
_U16: Final = 1
_U32: Final = 2
_VLN: Final = 3
_FVLN: Final = 4
_STRING: Final = 5
_BYTES: Final = 6
_STLV: Final = 7
_CODES: Final = {
    Kind.BYTE: _BYTE,
    Kind.U16: _U16,
    Kind.U32: _U32,
    Kind.UNIXTIME: _U32,
    Kind.VLN: _VLN,
    Kind.FVLN: _FVLN,
    Kind.STRING: _STRING,
    Kind.BYTES: _BYTES,
    Kind.STLV: _STLV,
}
#: tag -> (kind code, max value length, fixed string width), from the one registry.
_SPECS: Final[dict[int, tuple[int, int, int]]] = {
    t: (_CODES[d.kind], d.max_len, d.fixed) for t, d in REGISTRY.items()
}

_HEADER: Final = Struct("<HH")
_unpack_header = _HEADER.unpack_from
_pack_header = _HEADER.pack
_unpack_u16 = Struct("<H").unpack_from
_unpack_u32 = Struct("<I").unpack_from
_pack_byte = Struct("<HHB").pack
_pack_u16 = Struct("<HHH").pack
_pack_u32 = Struct("<HHI").pack


class _Irregular(Exception):  # noqa: N818 - a signal to hand the input to the spec
    """The walk met something the spec must judge (it raises the typed error)."""


# ---- decoding ---------------------------------------------------------------------------


def decode(data: bytes | bytearray | memoryview, *, offset: int = 0) -> list[Field]:
    """Decode a sequence of TLVs, exactly as `protocol.tlv.decode` does.

    `offset` is added to byte offsets in errors. Raises the spec's TlvDecodeError (tag
    path, byte offset) for a malformed sequence.
    """
    buf = bytes(data)
    try:
        return _walk(buf, 0, len(buf))
    except _Irregular:
        # The spec names what is wrong; should it decode after all, its tree is the answer.
        return spec.decode(buf, offset=offset)


def _walk(buf: bytes, pos: int, end: int) -> list[Field]:
    out: list[Field] = []
    append = out.append
    specs = _SPECS
    while pos < end:
        if end - pos < 4:
            raise _Irregular
        tag, ln = _unpack_header(buf, pos)
        pos += 4
        vend = pos + ln
        if vend > end:
            raise _Irregular
        s = specs.get(tag)
        if s is None:
            append(Field(tag, buf[pos:vend]))
            pos = vend
            continue
        kind, max_len, fixed = s
        if ln > max_len:
            raise _Irregular
        # Branches in order of frequency in a receipt.
        if kind == _VLN:
            v = int.from_bytes(buf[pos:vend], "little")
            append(Field(tag, v) if ln == (v.bit_length() + 7) >> 3 else Field(tag, v, ln))
        elif kind == _BYTE:
            if ln != 1:
                raise _Irregular
            append(Field(tag, buf[pos]))
        elif kind == _STRING:
            if fixed and ln != fixed:
                raise _Irregular
            append(Field(tag, buf[pos:vend].decode("cp866")))  # CP866 maps all 256 bytes
        elif kind == _STLV:
            append(Field(tag, tuple(_walk(buf, pos, vend))))
        elif kind == _U32:
            if ln != 4:
                raise _Irregular
            append(Field(tag, _unpack_u32(buf, pos)[0]))
        elif kind == _FVLN:
            if not ln:
                raise _Irregular
            # As the spec computes it (the Decimal's exponent is the wire scale).
            number = Decimal(int.from_bytes(buf[pos + 1 : vend], "little")).scaleb(-buf[pos])
            _, mantissa = spec.fvln_parts(number)
            minimal = 1 + max(1, (mantissa.bit_length() + 7) >> 3)
            append(Field(tag, number) if ln == minimal else Field(tag, number, ln))
        elif kind == _U16:
            if ln != 2:
                raise _Irregular
            append(Field(tag, _unpack_u16(buf, pos)[0]))
        else:
            append(Field(tag, buf[pos:vend]))
        pos = vend
    return out


# ---- encoding ---------------------------------------------------------------------------


def encode(fields: Iterable[Field]) -> bytes:
    """Encode fields to TLV bytes, exactly as `protocol.tlv.encode` does.

    Raises the spec's TlvEncodeError (with the tag path) for a value the tag cannot hold.
    """
    return _join(fields, ())


def _join(fields: Iterable[Field], path: tuple[int, ...]) -> bytes:
    parts: list[bytes] = []
    append = parts.append
    specs = _SPECS
    for f in fields:
        tag = f.tag
        v = f.value
        s = specs.get(tag)
        if s is None:
            append(_by_spec(f, path))
            continue
        kind, max_len, fixed = s
        # Exact types only (no bool, no subclasses): anything else is the spec's to judge.
        if kind == _VLN and type(v) is int and v >= 0:
            size = f.size
            if size is None:
                size = (v.bit_length() + 7) >> 3
            elif not 0 <= size <= max_len or v >> (8 * size):
                append(_by_spec(f, path))
                continue
            if size > max_len:
                append(_by_spec(f, path))
                continue
            append(_pack_header(tag, size))
            append(v.to_bytes(size, "little"))
        elif kind == _BYTE and type(v) is int and 0 <= v <= 0xFF:
            append(_pack_byte(tag, 1, v))
        elif kind == _STRING and type(v) is str:
            text: str = v.ljust(fixed) if fixed else v
            try:
                raw = text.encode("cp866")
            except UnicodeEncodeError:
                append(_by_spec(f, path))
                continue
            if len(raw) > max_len:
                append(_by_spec(f, path))
                continue
            append(_pack_header(tag, len(raw)))
            append(raw)
        elif kind == _STLV and type(v) is tuple:
            raw = _join(v, path + (tag,))
            if len(raw) > max_len or len(raw) > 0xFFFF:
                append(_by_spec(f, path))
                continue
            append(_pack_header(tag, len(raw)))
            append(raw)
        elif kind == _U32 and type(v) is int and 0 <= v <= 0xFFFFFFFF:
            append(_pack_u32(tag, 4, v))
        elif kind == _FVLN and type(v) is Decimal:
            value = _fvln(v, f.size, max_len)
            if value is None:
                append(_by_spec(f, path))
                continue
            append(_pack_header(tag, len(value)))
            append(value)
        elif kind == _U16 and type(v) is int and 0 <= v <= 0xFFFF:
            append(_pack_u16(tag, 2, v))
        elif kind == _BYTES and type(v) is bytes and len(v) <= max_len:
            append(_pack_header(tag, len(v)))
            append(v)
        else:
            append(_by_spec(f, path))
    return b"".join(parts)


def _fvln(value: Decimal, size: int | None, max_len: int) -> bytes | None:
    """An FVLN's value bytes as the spec builds them, or None where the spec must judge."""
    try:
        scale, mantissa = spec.fvln_parts(value)
    except ValueError:
        return None
    msize = size - 1 if size is not None else max(1, (mantissa.bit_length() + 7) >> 3)
    if scale > 0xFF or not 0 <= msize < max_len or mantissa >> (8 * msize):
        return None
    return bytes((scale,)) + mantissa.to_bytes(msize, "little")


def _by_spec(f: Field, path: tuple[int, ...]) -> bytes:
    """One field (header and value) by the spec, its refusal carrying the full tag path."""
    try:
        return spec.encode((f,))
    except TlvEncodeError as e:
        raise TlvEncodeError(e.reason, path + e.path, e.offset) from e
