"""Simulated fiscal signs: the document sign ФП (tag 1077) and the operator sign ФПО (1078).

A real drive computes its ФП inside a certified crypto-coprocessor with secret keys; the
algorithm is not public (reference fiscal-protocols.md §3.1), and real OFDs and drives
reject anything else (§4.4, yandex/ofd#6). The simulated drive, the OFD simulator and the
fleet therefore agree on the scheme below, the reference's recommendation [rec] §3.1:

    key      = HMAC(secret, "oblako/fn-key/" + purpose + "/" + FN number)   per drive
    ФП       = first 4 bytes, big-endian, of HMAC(key_fp, canonical bytes)
    canonical = document STLV re-encoded without its 1077 field
                || FD number u32 LE || DATE_TIME (5 bytes, the document's 1012 minute)
    tag 1077 = 21 04 || ФП big-endian                 (6 bytes, the layout of real documents)
    answers  = ФП as u32 LE                            (the drive's «ФП» answer fields)

HMAC is HMAC-Streebog-256 (ГОСТ Р 34.11-2012, R 50.1.113-2016, pure-Python `gostcrypto`)
by default, HMAC-SHA-256 behind `algorithm="sha256"` where speed matters (Streebog costs
~3 ms per small document). Keys are derived from a secret and the FN number, so a
verifier needs only the secret. The meaning of the 1077 prefix `21 04` is undocumented;
it is copied from the real vector V1 (§2.7).

The operator's acknowledgement (document 7, «Подтверждение оператора») carries a ФПО in
tag 1078: the first 18 bytes (the width of the 41h answer field, §1.6) of
HMAC(key_ofd, ack STLV re-encoded without 1078), with ``key_ofd`` derived from the OFD's
secret and the FN number (purpose ``"ofd"``). A drive holds its own key_ofd and checks
every receipt passed to it with 26h; the OFD simulator, holding the secret, signs them.

The message sign in the container trailer (purpose ``"msg"``; layout `81 06` + 6 bytes +
`00 00` copied from vector V1, meaning unverified) covers the container without trailer.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import struct
from typing import Final, Literal

from gostcrypto import gosthmac

from protocol.errors import ProtocolError

__all__ = [
    "DEFAULT_ALGORITHM",
    "FP_PREFIX",
    "FP_TAG",
    "FP_TAG_SIZE",
    "MESSAGE_SIGN_SIZE",
    "OFD_FP_SIZE",
    "OFD_FP_TAG",
    "Algorithm",
    "FiscalSignError",
    "canonical_bytes",
    "compute_fp",
    "compute_message_sign",
    "compute_ofd_fp",
    "derive_key",
    "document_parts",
    "fp_from_tag",
    "fp_tag_value",
    "mac",
    "ofd_canonical_bytes",
    "verify_document",
    "verify_fp",
    "verify_message_sign",
    "verify_ofd_fp",
]

Algorithm = Literal["streebog256", "sha256"]
DEFAULT_ALGORITHM: Final[Algorithm] = "streebog256"

FP_TAG: Final = 1077  # ФПД, 6 bytes (§2.1, §3.1)
FP_TAG_SIZE: Final = 6
FP_PREFIX: Final = b"\x21\x04"  # §3.1: the first two bytes in both real documents [V]
OFD_FP_TAG: Final = 1078  # ФПО, at most 18 bytes (§2.1)
OFD_FP_SIZE: Final = 18  # §1.6 41h "ФП ОФД(18)"
MESSAGE_SIGN_SIZE: Final = 6  # trailer 81 06 + 6 bytes + 00 00 (vector V1, §2.7) [rec]

_FD_TAG: Final = 1040
_DATE_TIME_TAG: Final = 1012
_HEADER: Final = struct.Struct("<HH")
_GOST_HMAC: Final = "HMAC_GOSTR3411_2012_256"


class FiscalSignError(ProtocolError):
    """A document cannot be signed or checked: malformed TLV, or 1040/1012/1077 missing."""


# ---- primitives ------------------------------------------------------------------------


def mac(key: bytes, data: bytes, algorithm: Algorithm = DEFAULT_ALGORITHM) -> bytes:
    """Return the 32-byte HMAC of ``data`` (HMAC-Streebog-256 or HMAC-SHA-256)."""
    if algorithm == "streebog256":
        digest = gosthmac.new(_GOST_HMAC, bytes(key), data=bytes(data)).digest()
        return bytes(digest)
    if algorithm == "sha256":
        return hmac.new(bytes(key), bytes(data), hashlib.sha256).digest()
    raise FiscalSignError(f"unknown MAC algorithm {algorithm!r}")


def derive_key(
    secret: bytes,
    fn_number: str,
    purpose: str = "fp",
    algorithm: Algorithm = DEFAULT_ALGORITHM,
) -> bytes:
    """Return the per-drive key for ``purpose`` ("fp", "ofd", "msg") from a secret.

    ``fn_number`` is the 16-character drive number (surrounding spaces are ignored).
    """
    label = f"oblako/fn-key/{purpose}/{fn_number.strip()}".encode("ascii")
    return mac(secret, label, algorithm)


def _split(data: bytes, what: str) -> list[tuple[int, bytes]]:
    """Top-level TLVs of ``data`` as (tag, raw TLV bytes including the header)."""
    out: list[tuple[int, bytes]] = []
    pos = 0
    while pos < len(data):
        if len(data) - pos < _HEADER.size:
            raise FiscalSignError(f"{what}: truncated TLV header at offset {pos}")
        tag, length = _HEADER.unpack_from(data, pos)
        end = pos + _HEADER.size + length
        if end > len(data):
            raise FiscalSignError(f"{what}: tag {tag} at offset {pos} runs past the end")
        out.append((tag, bytes(data[pos:end])))
        pos = end
    return out


def _document(document: bytes) -> tuple[int, list[tuple[int, bytes]]]:
    """(document tag, its top-level fields) of one document STLV."""
    parts = _split(bytes(document), "document")
    if len(parts) != 1:
        raise FiscalSignError(f"a document is one STLV, got {len(parts)} top-level TLVs")
    tag, raw = parts[0]
    return tag, _split(raw[_HEADER.size :], f"document {tag}")


def _restitch(tag: int, fields: list[tuple[int, bytes]], drop: int) -> bytes:
    body = b"".join(raw for t, raw in fields if t != drop)
    if len(body) > 0xFFFF:
        raise FiscalSignError(f"document {tag} body of {len(body)} bytes exceeds 65535")
    return _HEADER.pack(tag, len(body)) + body


def _value(fields: list[tuple[int, bytes]], tag: int) -> bytes | None:
    for t, raw in fields:
        if t == tag:
            return raw[_HEADER.size :]
    return None


def document_parts(document: bytes) -> tuple[int, dt.datetime, int | None]:
    """Return (FD number 1040, date-time 1012 as naive local minute, ФП from 1077 or None).

    :raises FiscalSignError: malformed document, or 1040/1012 missing or of the wrong size.
    """
    _, fields = _document(document)
    return _parts(fields)


def _parts(fields: list[tuple[int, bytes]]) -> tuple[int, dt.datetime, int | None]:
    # document_parts on fields already split (one split a check, not one per helper).
    fd_raw = _value(fields, _FD_TAG)
    time_raw = _value(fields, _DATE_TIME_TAG)
    if fd_raw is None or len(fd_raw) != 4:
        raise FiscalSignError("document has no 4-byte FD number (1040)")
    if time_raw is None or len(time_raw) != 4:
        raise FiscalSignError("document has no 4-byte date-time (1012)")
    fp_raw = _value(fields, FP_TAG)
    fp = fp_from_tag(fp_raw) if fp_raw is not None else None
    # 1012 is the register's local wall-clock time encoded as if it were UTC (§2.1).
    when = dt.datetime.fromtimestamp(int.from_bytes(time_raw, "little"), dt.UTC)
    return int.from_bytes(fd_raw, "little"), when.replace(tzinfo=None, second=0), fp


def _date_time_bytes(value: dt.datetime) -> bytes:
    # DATE_TIME, §1.5: YY MM DD hh mm binary; the minute is the drive's resolution.
    if not 2000 <= value.year <= 2255:
        raise FiscalSignError(f"date-time {value.isoformat()} outside 2000..2255")
    return bytes((value.year - 2000, value.month, value.day, value.hour, value.minute))


# ---- the document sign ФП (1077) -----------------------------------------------------------


def canonical_bytes(
    document: bytes, fd_number: int | None = None, date_time: dt.datetime | None = None
) -> bytes:
    """Bytes the ФП covers: the STLV without 1077 || FD u32 LE || DATE_TIME.

    ``document`` is one document STLV, with or without its 1077 field. ``fd_number`` and
    ``date_time`` default to the document's own 1040 and 1012.

    :raises FiscalSignError: malformed document or missing 1040/1012.
    """
    return _canonical(*_document(document), fd_number, date_time)


def _canonical(
    tag: int,
    fields: list[tuple[int, bytes]],
    fd_number: int | None = None,
    date_time: dt.datetime | None = None,
) -> bytes:
    if fd_number is None or date_time is None:
        own_fd, own_time, _ = _parts(fields)
        fd_number = own_fd if fd_number is None else fd_number
        date_time = own_time if date_time is None else date_time
    if not 0 <= fd_number <= 0xFFFFFFFF:
        raise FiscalSignError(f"FD number {fd_number} outside u32")
    stripped = _restitch(tag, fields, FP_TAG)
    return stripped + fd_number.to_bytes(4, "little") + _date_time_bytes(date_time)


def compute_fp(
    key: bytes,
    document: bytes,
    *,
    fd_number: int | None = None,
    date_time: dt.datetime | None = None,
    algorithm: Algorithm = DEFAULT_ALGORITHM,
) -> int:
    """Return the ФП of ``document``: the first 4 bytes, big-endian, of the HMAC."""
    digest = mac(key, canonical_bytes(document, fd_number, date_time), algorithm)
    return int.from_bytes(digest[:4], "big")


def fp_tag_value(fp: int) -> bytes:
    """The 6-byte value of tag 1077 for ФП ``fp``: ``21 04`` + ФП big-endian (§3.1)."""
    if not 0 <= fp <= 0xFFFFFFFF:
        raise FiscalSignError(f"ФП {fp} outside u32")
    return FP_PREFIX + fp.to_bytes(4, "big")


def fp_from_tag(value: bytes) -> int:
    """The ФП printed on a receipt: bytes 2..5 of tag 1077, big-endian (§3.1).

    :raises FiscalSignError: the value is not 6 bytes.
    """
    if len(value) != FP_TAG_SIZE:
        raise FiscalSignError(f"tag 1077 is {FP_TAG_SIZE} bytes, got {len(value)}")
    return int.from_bytes(value[2:], "big")


def verify_fp(
    key: bytes,
    document: bytes,
    fp: int | None = None,
    *,
    algorithm: Algorithm = DEFAULT_ALGORITHM,
) -> bool:
    """True when ``fp`` (default: the document's own 1077) is the document's ФП.

    False, never an exception, for a tampered or unsigned document.
    """
    try:
        tag, fields = _document(document)
        if fp is None:
            _, _, fp = _parts(fields)
            if fp is None:
                return False
        digest = mac(key, _canonical(tag, fields), algorithm)
        expected = int.from_bytes(digest[:4], "big")
    except FiscalSignError:
        return False
    return hmac.compare_digest(expected.to_bytes(4, "big"), (fp & 0xFFFFFFFF).to_bytes(4, "big"))


def verify_document(
    secret: bytes,
    fn_number: str,
    document: bytes,
    *,
    algorithm: Algorithm = DEFAULT_ALGORITHM,
) -> bool:
    """Verify a document's own 1077 knowing only the secret and the drive's number."""
    return verify_fp(derive_key(secret, fn_number, "fp", algorithm), document, algorithm=algorithm)


# ---- the operator sign ФПО (1078) in document 7 -------------------------------------------


def ofd_canonical_bytes(ack: bytes) -> bytes:
    """Bytes the ФПО covers: the operator-ack STLV re-encoded without its 1078 field."""
    tag, fields = _document(ack)
    return _restitch(tag, fields, OFD_FP_TAG)


def compute_ofd_fp(key: bytes, ack: bytes, algorithm: Algorithm = DEFAULT_ALGORITHM) -> bytes:
    """Return the 18-byte ФПО of an operator acknowledgement (document 7) STLV."""
    return mac(key, ofd_canonical_bytes(ack), algorithm)[:OFD_FP_SIZE]


def verify_ofd_fp(key: bytes, ack: bytes, algorithm: Algorithm = DEFAULT_ALGORITHM) -> bool:
    """True when the ack's own 1078 is its ФПО under ``key``; False otherwise."""
    try:
        _, fields = _document(ack)
        given = _value(fields, OFD_FP_TAG)
        if given is None:
            return False
        expected = compute_ofd_fp(key, ack, algorithm)
    except FiscalSignError:
        return False
    return hmac.compare_digest(expected, given)


# ---- the message sign in the container trailer ---------------------------------------------


def compute_message_sign(
    key: bytes, container: bytes, algorithm: Algorithm = DEFAULT_ALGORITHM
) -> bytes:
    """6-byte sign over a container's header and document (everything before the trailer).

    The container CRC (bytes 2..3) is left out, so the sign can be computed first.
    """
    data = bytes(container[:2]) + bytes(container[4:])
    return mac(key, data, algorithm)[:MESSAGE_SIGN_SIZE]


def verify_message_sign(
    key: bytes, container: bytes, sign: bytes, algorithm: Algorithm = DEFAULT_ALGORITHM
) -> bool:
    """True when ``sign`` is the message sign of ``container`` (without its trailer)."""
    return hmac.compare_digest(compute_message_sign(key, container, algorithm), bytes(sign))
