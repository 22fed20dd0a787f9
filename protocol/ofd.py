"""OFD exchange framing: the session header (30 bytes) and the FN container (32-byte header).

Session header, reference §4.1 ([V] S2 §4.2 tables 1-2; S3 `SessionHeader` '<IHH16sHHH'):

    off len
     0   4  signature 2A 08 41 0A
     4   2  S-protocol version (81 A2 = 1.1)
     6   2  P-protocol version (01 00 FFD 1.0, 01 05, 01 10; 00 01/00 02 legacy)
     8  16  FN number, ASCII
    24   2  body size, u16 LE (the container's length)
    26   2  flags, u16 LE: bits 7-6 priority, 5-4 answer expected, 2 body is a
            container, 1-0 CRC mode (00 none, 01 header, 10 header + body)
    28   2  CRC-16/CCITT-FALSE of the header without this field [+ body], 0 if none

Container header, reference §4.2 ([V] S2 table 3; S3 `FrameHeader` '<HHBBB2s8s3s12s'):

    off len
     0   2  length of the whole container including this header, u16 LE (<= 32 KB)
     2   2  CRC-16/CCITT-FALSE over bytes[0:2] + bytes[4:] (all but itself)
     4   1  container type A5
     5   1  document type (1 registration, 3 receipt, 7 operator ack, ...)
     6   1  container format version (01: 32-byte header)
     7   2  service data 1 (opaque)
     9   8  FN number, packed BCD, F-filled
    17   3  FD number, big-endian (yandex/ofd#6: ASCII breaks real drives)
    20  12  service data 2 (opaque)

After the header: the document as one STLV, then a trailer the drive appends (in the
real V1 vector 10 bytes; its meaning is undocumented, it is kept verbatim).

The construct declarations below are the spec; parsing and building go through struct and
the struct TLV codec (protocol/tlvfast.py) on the OFD's and the drive's hot paths, checked
against the declarations by tests/protocol/test_ofd_struct.py. An input the struct path
does not take (a value the header cannot hold) is built by the declaration, for its error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from struct import Struct as Layout
from typing import Final

from construct import (
    BitsInteger,
    BitStruct,
    Bytes,
    Checksum,
    Const,
    ConstructError,
    Flag,
    Int8ul,
    Int16ul,
    Int24ub,
    PaddedString,
    Padding,
    Pointer,
    RawCopy,
    Struct,
    Terminated,
    this,
)

from protocol.crc import crc16_ccitt_false
from protocol.errors import ContainerError, TlvError
from protocol.tlv import HEADER_SIZE
from protocol.tlvfast import decode, encode
from protocol.tree import Field

SIGNATURE = bytes.fromhex("2a08410a")
S_VERSION_1_1 = bytes.fromhex("81a2")
SESSION_HEADER_SIZE = 30
CONTAINER_HEADER_SIZE = 32
CONTAINER_TYPE = 0xA5
MAX_CONTAINER = 32 * 1024

#: Session flags (u16 LE; only the low byte is defined).
SESSION_FLAGS = BitStruct(
    "priority" / BitsInteger(2),
    "answer_expected" / BitsInteger(2),
    Padding(1),
    "container" / Flag,
    "crc_mode" / BitsInteger(2),
    Padding(8),
)

SESSION_HEADER = Struct(
    "signature" / Const(SIGNATURE),
    "s_version" / Bytes(2),
    "p_version" / Bytes(2),
    "fn_number" / PaddedString(16, "ascii"),
    "body_size" / Int16ul,
    "flags" / Int16ul,
    "crc" / Int16ul,
)

#: The whole container, with construct checking and building the CRC over everything but
#: the CRC field itself: the field sits at offset 2 but covers bytes that follow it, so it
#: is declared last and placed with a Pointer.
CONTAINER = Struct(
    "length" / RawCopy(Int16ul),
    Padding(2),
    "rest"
    / RawCopy(
        Struct(
            "container_type" / Const(CONTAINER_TYPE, Int8ul),
            "doc_type" / Int8ul,
            "version" / Int8ul,
            "service1" / Bytes(2),
            "fn_bcd" / Bytes(8),
            "fd_number" / Int24ub,
            "service2" / Bytes(12),
            "body" / Bytes(this._.length.value - CONTAINER_HEADER_SIZE),
        )
    ),
    Terminated,
    "crc"
    / Pointer(
        2,
        Checksum(Int16ul, crc16_ccitt_false, lambda ctx: ctx.length.data + ctx.rest.data),
    ),
)


#: The same layouts for struct: session header '<IHH16sHHH' as S3 has it, the signature and
#: versions kept as bytes; the container header '<HHBBB2s8s3s12s' (the FD number's 3 bytes
#: big-endian).
_SESSION: Final = Layout("<4s2s2s16sHHH")
_CONTAINER_HEAD: Final = Layout("<HHBBB2s8s3s12s")


def _bcd_decode(raw: bytes) -> str:
    return raw.hex().rstrip("f")


def _bcd_encode(fn_number: str) -> bytes:
    if not fn_number.isdigit() or len(fn_number) > 16:
        raise ContainerError(f"FN number must be up to 16 digits, got {fn_number!r}")
    return bytes.fromhex(fn_number.ljust(16, "f"))


def container_crc(raw: bytes | bytearray) -> int:
    """CRC of a container: over bytes[0:2] + bytes[4:] (reference §4.2, [V-calc] on V1)."""
    return crc16_ccitt_false(bytes(raw[0:2]) + bytes(raw[4:]))


@dataclass(frozen=True)
class FnContainer:
    """An FN container: header fields, the document as fields, and the drive's trailer."""

    doc_type: int
    fn_number: str
    fd_number: int
    document: tuple[Field, ...]
    trailer: bytes = b""
    version: int = 1
    service1: bytes = b"\x00\x00"
    service2: bytes = b"\x00" * 12

    def build(self) -> bytes:
        """Container bytes with its length and CRC computed."""
        try:
            body = encode(self.document) + self.trailer
        except TlvError as e:
            raise ContainerError(f"document cannot be encoded: {e}") from e
        length = CONTAINER_HEADER_SIZE + len(body)
        if length > MAX_CONTAINER:
            raise ContainerError(f"container of {length} bytes exceeds {MAX_CONTAINER}")
        fn_bcd = _bcd_encode(self.fn_number)
        if (
            0 <= self.doc_type <= 0xFF
            and 0 <= self.version <= 0xFF
            and 0 <= self.fd_number <= 0xFFFFFF
            and len(self.service1) == 2
            and len(self.service2) == 12
        ):
            out = bytearray(
                _CONTAINER_HEAD.pack(
                    length,
                    0,
                    CONTAINER_TYPE,
                    self.doc_type,
                    self.version,
                    bytes(self.service1),
                    fn_bcd,
                    self.fd_number.to_bytes(3, "big"),
                    bytes(self.service2),
                )
            )
            out += body
            out[2:4] = container_crc(out).to_bytes(2, "little")
            return bytes(out)
        rest = {
            "doc_type": self.doc_type,
            "version": self.version,
            "service1": self.service1,
            "fn_bcd": fn_bcd,
            "fd_number": self.fd_number,
            "service2": self.service2,
            "body": body,
        }
        try:
            raw: bytes = CONTAINER.build({"length": {"value": length}, "rest": {"value": rest}})
        except ConstructError as e:
            raise ContainerError(f"container cannot be built: {e}") from e
        return raw


def parse_container(raw: bytes) -> FnContainer:
    """Parse and check a container (length, type, CRC), decoding its document.

    Raises ContainerError for a bad header or CRC, TlvDecodeError (with offsets into
    `raw`) for a bad document.
    """
    if len(raw) < CONTAINER_HEADER_SIZE:
        raise ContainerError(f"a container has a 32-byte header, got {len(raw)} bytes")
    length = int.from_bytes(raw[0:2], "little")
    if length != len(raw):
        raise ContainerError(f"container length field says {length}, got {len(raw)} bytes")
    if raw[4] != CONTAINER_TYPE:
        raise ContainerError(f"container type must be A5h, byte 4 is {raw[4]:02X}h")
    crc = int.from_bytes(raw[2:4], "little")
    computed = container_crc(raw)
    if crc != computed:
        raise ContainerError(f"container CRC {crc:04X}h does not match computed {computed:04X}h")
    _, _, _, doc_type, version, service1, fn_bcd, fd, service2 = _CONTAINER_HEAD.unpack_from(raw)
    body = raw[CONTAINER_HEADER_SIZE:]
    if len(body) < HEADER_SIZE:
        raise ContainerError("container holds no document")
    doc_len = HEADER_SIZE + int.from_bytes(body[2:4], "little")
    if doc_len > len(body):
        raise ContainerError(
            f"document of {doc_len} bytes runs past the container ({len(body)} left)"
        )
    document = decode(body[:doc_len], offset=CONTAINER_HEADER_SIZE)
    return FnContainer(
        doc_type=doc_type,
        fn_number=_bcd_decode(fn_bcd),
        fd_number=int.from_bytes(fd, "big"),
        document=tuple(document),
        trailer=bytes(body[doc_len:]),
        version=version,
        service1=service1,
        service2=service2,
    )


@dataclass(frozen=True)
class SessionHeader:
    """The 30-byte header in front of every message between a register and the OFD."""

    fn_number: str
    body_size: int
    flags: int = 0x0014  # answer expected + container, no CRC: what real registers send
    p_version: bytes = b"\x01\x05"
    s_version: bytes = S_VERSION_1_1
    crc: int = 0

    @property
    def crc_mode(self) -> int:
        """0 no CRC, 1 header only, 2 header and body."""
        return self.flags & 0x3

    @property
    def has_container(self) -> bool:
        """Bit 2: the body is a container."""
        return bool(self.flags & 0x4)

    @property
    def answer_expected(self) -> bool:
        """Bits 5-4 = 01: the client expects an answer."""
        return (self.flags >> 4) & 0x3 == 1

    def build(self, body: bytes = b"") -> bytes:
        """Header bytes; computes the CRC when the flags ask for one."""
        if (
            self.fn_number.isascii()
            and len(self.fn_number) <= 16
            and len(self.s_version) == 2
            and len(self.p_version) == 2
            and 0 <= self.body_size <= 0xFFFF
            and 0 <= self.flags <= 0xFFFF
        ):
            raw = bytearray(
                _SESSION.pack(
                    SIGNATURE,
                    bytes(self.s_version),
                    bytes(self.p_version),
                    self.fn_number.encode("ascii"),
                    self.body_size,
                    self.flags,
                    0,
                )
            )
        else:
            raw = self._build_by_spec()
        crc = _session_crc(bytes(raw), body, self.crc_mode) if self.crc_mode else self.crc
        raw[28:30] = crc.to_bytes(2, "little")
        return bytes(raw)

    def _build_by_spec(self) -> bytearray:
        # What the struct path does not take; the declaration builds it or says why not.
        values = {
            "s_version": self.s_version,
            "p_version": self.p_version,
            "fn_number": self.fn_number,
            "body_size": self.body_size,
            "flags": self.flags,
            "crc": 0,
        }
        try:
            return bytearray(SESSION_HEADER.build(values))
        except (ConstructError, UnicodeError) as e:
            raise ContainerError(f"session header cannot be built: {e}") from e


def _session_crc(header: bytes, body: bytes, mode: int) -> int:
    return crc16_ccitt_false(header[:28] + (body if mode == 2 else b""))


def parse_session_header(raw: bytes, body: bytes = b"") -> SessionHeader:
    """Parse a session header, checking its CRC when its flags say there is one."""
    if len(raw) < SESSION_HEADER_SIZE:
        raise ContainerError(f"a session header is 30 bytes, got {len(raw)}")
    signature, s_version, p_version, fn, body_size, flags, crc = _SESSION.unpack_from(raw)
    if signature != SIGNATURE:
        raise ContainerError("not an OFD session header: signature is not 2A 08 41 0A")
    try:
        fn_number = fn.rstrip(b"\x00").decode("ascii")  # PaddedString: NULs padded right
    except UnicodeError as e:
        raise ContainerError("session header FN number is not ASCII") from e
    header = SessionHeader(
        fn_number=fn_number,
        body_size=body_size,
        flags=flags,
        p_version=p_version,
        s_version=s_version,
        crc=crc,
    )
    mode = header.crc_mode
    if mode in (1, 2):
        expected = _session_crc(bytes(raw[:SESSION_HEADER_SIZE]), body, mode)
        if expected != crc:
            raise ContainerError(f"session CRC {crc:04X}h does not match {expected:04X}h")
    return header


@dataclass(frozen=True)
class OfdMessage:
    """A whole message: session header and (unless a service message) an FN container."""

    header: SessionHeader
    container: FnContainer | None = field(default=None)


def parse_message(raw: bytes) -> OfdMessage:
    """Parse session header + container, checking sizes and both CRCs."""
    body = raw[SESSION_HEADER_SIZE:]
    header = parse_session_header(raw, body)
    if header.body_size != len(body):
        raise ContainerError(
            f"session header says the body is {header.body_size} bytes, got {len(body)}"
        )
    if not body:
        return OfdMessage(header)
    if not header.has_container:
        raise ContainerError("the body is not flagged as a container (flags bit 2)")
    return OfdMessage(header, parse_container(body))
