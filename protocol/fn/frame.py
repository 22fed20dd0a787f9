"""The fiscal-drive (ФН) UART link frame, declared with construct: the spec and test oracle.

Reference fiscal-protocols.md §1.2 (FNS protocol v1.1 §3.1–3.3). Requests (KKT -> FN) and
answers (FN -> KKT) share one layout; byte 3 is the command code or the answer code::

    offset  0       1       2       3       4 ... 3+N     4+N     5+N
          +-------+-------+-------+-------+-------------+-------+-------+
          | 0x04  | LEN lo| LEN hi| CODE  | DATA (N)    | CRC lo| CRC hi|
          +-------+-------+-------+-------+-------------+-------+-------+
                  |<------- CRC-16/CCITT-FALSE covers ------->|

    MSG_START  0x04
    LEN        u16 LE = N + 1 (DATA plus the CODE byte), so 1 <= LEN <= MAX_DATA + 1
    CODE       command (request) or answer: code in bits 0..6, warning flag in bit 7 (§1.3)
    DATA       N bytes, N <= MAX_DATA (1024)
    CRC16      u16 LE, CRC-16/CCITT-FALSE over LEN..DATA (everything except MSG_START)

`parse_frame` takes exactly one frame and raises `FrameFormatError` when:

    - the first byte is not MSG_START (bad start);
    - LEN is 0 or above MAX_DATA + 1 (impossible length; also catches data > 1024 bytes);
    - the input ends before LEN promises (truncated);
    - the CRC does not match (bad CRC);
    - bytes follow the CRC (trailing bytes).

Finding frames in a byte stream (garbage, resynchronisation) is the firmware framer's job
(`firmware/framing.py`); this module is the independent declaration it is tested against.
ENQ (0x05) is a bare byte, not a frame: the KKT sends it to get the last answer again (§1.1).
"""

from dataclasses import dataclass
from typing import Any

from construct import (
    Bytes,
    Check,
    CheckError,
    Checksum,
    ChecksumError,
    Const,
    ConstError,
    ConstructError,
    Int8ub,
    Int16ul,
    RawCopy,
    Rebuild,
    StreamError,
    Struct,
    Terminated,
    TerminatedError,
    len_,
    this,
)

from protocol.crc import crc16_ccitt_false
from protocol.errors import FrameFormatError

MSG_START = 0x04  # first byte of every frame, §1.2
ENQ = 0x05  # "send the last answer again", a bare byte on the UART, §1.1
MAX_DATA = 1024  # "Максимальный размер данных сообщения установлен в 1024 байта", §1.2

# The CRC-covered region. LEN is rebuilt from DATA so callers never pass it; the Check runs
# before DATA is read, so an impossible LEN fails as a length error, not a short read.
_BODY: Any = Struct(
    "length" / Rebuild(Int16ul, len_(this.data) + 1),
    Check((this.length >= 1) & (this.length <= MAX_DATA + 1)),
    "code" / Int8ub,
    "data" / Bytes(this.length - 1),
)

# The whole frame. RawCopy keeps the body's raw bytes so Checksum both verifies (parse)
# and computes (build) the CRC over exactly LEN..DATA.
FRAME: Any = Struct(
    "start" / Const(bytes([MSG_START])),
    "body" / RawCopy(_BODY),
    "crc" / Checksum(Int16ul, crc16_ccitt_false, this.body.data),
    Terminated,
)

# construct failure -> what it means for a frame; checked in order (most specific first).
_REASONS: tuple[tuple[type[Exception], str], ...] = (
    (ConstError, "bad start byte (expected 0x04)"),
    (CheckError, "impossible length (LEN must be 1..1025)"),
    (ChecksumError, "bad CRC"),
    (TerminatedError, "trailing bytes after the CRC"),
    (StreamError, "truncated frame"),
)


@dataclass(frozen=True, slots=True)
class ParsedFrame:
    """One decoded frame: the code byte, the data and the (verified) CRC."""

    code: int
    data: bytes
    crc: int

    @property
    def answer_code(self) -> int:
        """The answer code without the warning bit (low 7 bits, §1.3)."""
        return self.code & 0x7F

    @property
    def warning(self) -> bool:
        """True when bit 7 is set: the drive raised a warning flag; read them with 30h (§1.3)."""
        return bool(self.code & 0x80)


def _reason(exc: ConstructError) -> str:
    for kind, reason in _REASONS:
        if isinstance(exc, kind):
            return reason
    return "malformed frame"


def build_frame(code: int, data: bytes = b"") -> bytes:
    """Return the frame carrying `code` and `data`, LEN and CRC filled in.

    :raises FrameFormatError: `code` is outside 0..255 or `data` is longer than MAX_DATA.
    """
    if not 0 <= code <= 0xFF:
        raise FrameFormatError(f"code {code} outside 0..255")
    if len(data) > MAX_DATA:
        raise FrameFormatError(f"data of {len(data)} bytes exceeds {MAX_DATA}")
    try:
        raw = FRAME.build({"body": {"value": {"code": code, "data": bytes(data)}}})
    except ConstructError as exc:  # unreachable after the checks above; keep errors typed
        raise FrameFormatError(_reason(exc)) from exc
    return bytes(raw)


def parse_frame(raw: bytes) -> ParsedFrame:
    """Decode exactly one frame (no leading or trailing bytes).

    :raises FrameFormatError: bad start, impossible length, truncation, bad CRC or trailing
        bytes; the message says which.
    """
    try:
        obj = FRAME.parse(bytes(raw))
    except ConstructError as exc:
        raise FrameFormatError(_reason(exc)) from exc
    body = obj.body.value
    return ParsedFrame(code=int(body.code), data=bytes(body.data), crc=int(obj.crc))
