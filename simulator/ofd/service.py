"""The OFD's processing of one message, without I/O: checks, ФЛК, store, receipt.

A message is the 30-byte session header and its body (reference §4.1, §4.2). In order:

1. Session header ([V] §4.1): signature 2A 08 41 0A, S-protocol 81 A2, a P-protocol
   version this OFD speaks, the body size, CRC modes 01 (header) and 10 (header + body)
   checked, 11 refused.
2. A header-only message is a service (connectivity-test) message ([V] §4.5): answered
   header-only, flags 0x0001 when it came with a CRC (0x0011), else 0x0000 (0x0010); a
   header-only message that expects no answer gets none.
3. The FN container ([V] §4.2): length, type A5h, CRC, the document STLV whose tag is the
   container's document type, the FN number equal to the session header's, 1040 = the
   container's FD number.
4. Signs ([rec] protocol/fiscalsign.py, docs/simulator.md): the container's message sign
   (trailer ``81 06`` + 6 bytes + ``00 00``) under the drive's "msg" key, and the ФП (1077)
   under its "fp" key, both derived from the configured secret and the FN number.
5. Redelivery: a document already stored under (FN, FD) with the same bytes gets the same
   receipt again (idempotent); other bytes under a known identity are refused.
6. ФЛК (simulator/ofd/flk.py): code 0, or 14 «Ошибка ФЛК» with the reasons.
7. The receipt: document 7 signed with the ФПО under the drive's "ofd" key
   (simulator/ofd/ack.py, byte for byte simulator/fn/receipts.py build_receipt, which the
   simulated drive accepts with 26h).

A message failing steps 1, 3, 4 or 5 is refused: no receipt (an OFD cannot vouch for a
message it cannot authenticate [rec]); the refusal is recorded for the gateway and the
connection is closed. The drive keeps the document and sends it again.
"""

from __future__ import annotations

import datetime as dt
import struct
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Final, Literal

from protocol import fiscalsign
from protocol.errors import ContainerError
from protocol.ofd import (
    CONTAINER_HEADER_SIZE,
    CONTAINER_TYPE,
    MAX_CONTAINER,
    S_VERSION_1_1,
    SESSION_HEADER_SIZE,
    SessionHeader,
    container_crc,
    parse_session_header,
)
from simulator.clock import Clock, SystemClock
from simulator.fn.config import DEV_FP_SECRET, DEV_OFD_SECRET
from simulator.fn.documents import TlvStructureError, split_tlvs
from simulator.ofd.ack import operator_ack
from simulator.ofd.flk import FLK_CODE, check_document
from simulator.ofd.store import OfdGateway, OfdStore, Origin, Refusal, StoredDocument

__all__ = ["P_VERSIONS", "OfdConfig", "OfdService", "Outcome", "RefusedError"]

#: P-protocol versions accepted (§4.1 [V]: 01 00, 01 05, 01 10; legacy 00 01 / 00 02,
#: which §6 asks to accept for FFD 1.05; 01 20 for FFD 1.2 [2nd]).
P_VERSIONS: Final = frozenset(
    {b"\x00\x01", b"\x00\x02", b"\x01\x00", b"\x01\x05", b"\x01\x10", b"\x01\x20"}
)
_TRAILER: Final = 10  # 81 06 + message sign (6) + 00 00, vector V1 [rec]
_ANSWER_EXPECTED: Final = 0x10  # flags bits 5-4 = 01 (§4.1)
_CONTAINER_FLAG: Final = 0x04

#: Per-drive keys ("fp", "msg", "ofd"), derived once per drive and kept: an HMAC each, and
#: HMAC-Streebog is pure Python (protocol/fiscalsign.py).
_drive_key: Final = lru_cache(maxsize=4096)(fiscalsign.derive_key)


@dataclass(frozen=True)
class OfdConfig:
    """The simulated OFD's keys and policies."""

    # protocol/fiscalsign.py: per-drive keys derive from these (the drive simulator's).
    fp_secret: bytes = DEV_FP_SECRET
    ofd_secret: bytes = DEV_OFD_SECRET
    sign_algorithm: fiscalsign.Algorithm = "streebog256"
    ofd_inn: str = "7704358518"  # 1017 in receipts (S3's mock OFD INN)
    # The OFD's local time for the receipt's 1012 (§2.1: local wall time as if UTC).
    utc_offset: dt.timedelta = dt.timedelta(hours=3)
    p_versions: frozenset[bytes] = P_VERSIONS
    require_message_sign: bool = True
    strict: bool = False  # ФЛК warnings reject too

    def local_now(self, clock: Clock) -> dt.datetime:
        """The OFD's local time to the minute, naive (what 1012 encodes)."""
        now = dt.datetime.fromtimestamp(clock.wall(), dt.UTC) + self.utc_offset
        return now.replace(tzinfo=None, second=0, microsecond=0)


class RefusedError(Exception):
    """A message the OFD refuses outright (no receipt)."""

    def __init__(self, reason: str, fn_number: str | None = None, fd: int | None = None):
        """``reason`` in words; the document's identity when known."""
        super().__init__(reason)
        self.reason = reason
        self.fn_number = fn_number
        self.fd = fd


@dataclass(frozen=True)
class Outcome:
    """What to do with one message: the answer bytes (None: none) and what happened."""

    kind: Literal["receipt", "service", "silent", "refused"]
    answer: bytes | None = None
    document: StoredDocument | None = None
    redelivery: bool = False
    reason: str = ""
    extra: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class _Envelope:
    doc_type: int
    fn_number: str
    fd: int
    document: bytes
    signed: bytes  # header + document: what the message sign covers
    trailer: bytes


def _envelope(raw: bytes) -> _Envelope:
    # §4.2 header; the document is located by its own STLV length.
    if len(raw) < CONTAINER_HEADER_SIZE + 4:
        raise RefusedError(f"a container needs a 32-byte header and a document ({len(raw)} B)")
    length = struct.unpack_from("<H", raw, 0)[0]
    if length != len(raw) or length > MAX_CONTAINER:
        raise RefusedError(f"container length field {length} ≠ {len(raw)} bytes received")
    if raw[4] != CONTAINER_TYPE:
        raise RefusedError(f"container type {raw[4]:02X}h is not A5h")
    crc = struct.unpack_from("<H", raw, 2)[0]
    if crc != container_crc(raw):
        raise RefusedError(f"container CRC {crc:04X}h does not match {container_crc(raw):04X}h")
    digits = raw[9:17].hex().rstrip("f")
    fd = int.from_bytes(raw[17:20], "big")
    if not digits.isdigit():
        raise RefusedError(f"container FN number {raw[9:17].hex()} is not BCD", None, fd)
    body = raw[CONTAINER_HEADER_SIZE:]
    tag, doc_len = struct.unpack_from("<HH", body, 0)
    end = 4 + doc_len
    if end > len(body):
        raise RefusedError("the document runs past the container", digits, fd)
    if tag != raw[5]:
        raise RefusedError(f"document {tag} in a container of type {raw[5]}", digits, fd)
    return _Envelope(
        raw[5],
        digits,
        fd,
        bytes(body[:end]),
        bytes(raw[: CONTAINER_HEADER_SIZE + end]),
        bytes(body[end:]),
    )


def _fields(document: bytes) -> dict[int, bytes]:
    try:
        (_, whole), *_ = split_tlvs(document)
        return {t: raw[4:] for t, raw in reversed(split_tlvs(whole[4:]))}
    except (TlvStructureError, ValueError) as e:
        raise RefusedError(f"the document is not whole TLVs: {e}") from e


class OfdService:
    """The OFD's processing core (sans-IO): ``handle(header, body)`` -> `Outcome`."""

    def __init__(
        self,
        config: OfdConfig | None = None,
        clock: Clock | None = None,
        store: OfdStore | None = None,
    ) -> None:
        """A service over ``store`` (a new one by default) reading ``clock``."""
        self.config = config or OfdConfig()
        self.clock: Clock = clock or SystemClock()
        self.store = store or OfdStore()
        self.gateway = OfdGateway(self.store)
        self.counters: dict[str, int] = {
            "messages": 0,
            "service": 0,
            "accepted": 0,
            "rejected": 0,
            "redelivered": 0,
            "refused": 0,
        }

    # ---- one message ------------------------------------------------------------------------

    def handle(self, header: bytes, body: bytes, *, peer: str = "") -> Outcome:
        """Process one message (session header + body) as §4 and the module doc say."""
        self.counters["messages"] += 1
        try:
            session = self._session(header, body)
            if not body:
                return self._service(session)
            if not session.has_container:
                raise RefusedError("the body is not flagged as a container (flags bit 2)")
            outcome = self._container(body, "network", peer, session.fn_number.strip())
        except RefusedError as e:
            return self._refused(e, peer)
        receipt = outcome.answer or b""  # a container outcome always carries its receipt
        answer = SessionHeader(
            fn_number=session.fn_number,
            body_size=len(receipt),
            flags=_CONTAINER_FLAG | session.crc_mode,
            p_version=session.p_version,
        ).build(receipt)
        return Outcome(outcome.kind, answer + receipt, outcome.document, outcome.redelivery)

    def inject(self, container: bytes, *, peer: str = "stationary") -> Outcome:
        """Accept a container as if a register had sent it (no session header).

        The merchant's own registers use it (simulator/ofd/merchant.py). The outcome's
        answer is the receipt container (no session header); refusals as for a message.
        """
        self.counters["messages"] += 1
        try:
            return self._container(container, "injected", peer, None)
        except RefusedError as e:
            return self._refused(e, peer)

    def _refused(self, e: RefusedError, peer: str) -> Outcome:
        self.counters["refused"] += 1
        self.store.refuse(Refusal(self.clock.wall(), peer, e.reason, e.fn_number, e.fd))
        return Outcome("refused", None, reason=e.reason)

    def _session(self, header: bytes, body: bytes) -> SessionHeader:
        if len(header) != SESSION_HEADER_SIZE:
            raise RefusedError(f"a session header is 30 bytes, got {len(header)}")
        try:
            session = parse_session_header(header, body)
        except ContainerError as e:
            raise RefusedError(str(e)) from e
        if session.s_version != S_VERSION_1_1:
            raise RefusedError(f"S-protocol version {session.s_version.hex()} is not 81a2")
        if session.p_version not in self.config.p_versions:
            raise RefusedError(f"P-protocol version {session.p_version.hex()} not supported")
        if session.crc_mode == 3:
            raise RefusedError("CRC mode 11 is not defined (§4.1)")
        if session.body_size != len(body):
            raise RefusedError(f"body size {session.body_size} ≠ {len(body)} bytes received")
        return session

    def _service(self, session: SessionHeader) -> Outcome:
        # §4.5: header-only answer, flags 0x0001 (CRC) or 0x0000, no crypto.
        self.counters["service"] += 1
        if (session.flags & 0x30) != _ANSWER_EXPECTED:
            return Outcome("silent")
        answer = SessionHeader(
            fn_number=session.fn_number,
            body_size=0,
            flags=session.crc_mode & 1,
            p_version=session.p_version,
        ).build()
        return Outcome("service", answer)

    # ---- the container ----------------------------------------------------------------------

    def _container(self, raw: bytes, origin: Origin, peer: str, session_fn: str | None) -> Outcome:
        config = self.config
        algo = config.sign_algorithm
        env = _envelope(raw)
        fn, fd = env.fn_number, env.fd
        if session_fn is not None and session_fn != fn:
            raise RefusedError(f"session FN {session_fn} ≠ container FN {fn}", fn, fd)
        fields = _fields(env.document)
        if fields.get(1040) is None or int.from_bytes(fields[1040], "little") != fd:
            raise RefusedError("1040 does not match the container's FD number", fn, fd)
        if fields.get(1041, b"").decode("ascii", "replace").strip() != fn:
            raise RefusedError("1041 does not match the container's FN number", fn, fd)
        if config.require_message_sign:
            key = _drive_key(config.fp_secret, fn, "msg", algo)
            t = env.trailer
            if len(t) != _TRAILER or t[:2] != b"\x81\x06" or t[8:] != b"\x00\x00":
                raise RefusedError("no message sign (trailer 81 06 … 00 00)", fn, fd)
            if not fiscalsign.verify_message_sign(key, env.signed, t[2:8], algo):
                raise RefusedError("the message sign does not verify", fn, fd)
        fp_key = _drive_key(config.fp_secret, fn, "fp", algo)
        if not fiscalsign.verify_fp(fp_key, env.document, algorithm=algo):
            raise RefusedError("the fiscal sign (1077) does not verify", fn, fd)
        known = self.store.get(fn, fd)
        if known is not None:
            if known.document != env.document:
                raise RefusedError("another document was stored under this FN and FD", fn, fd)
            self.counters["redelivered"] += 1
            again = self.store.redelivered(fn, fd) or known
            return Outcome("receipt", again.receipt, again, redelivery=True)
        _, date_time, fp = fiscalsign.document_parts(env.document)
        result = check_document(env.document, strict=config.strict)
        code = 0 if result.ok else FLK_CODE
        when = config.local_now(self.clock)
        receipt = operator_ack(
            fn,
            fd,
            when,
            key=_drive_key(config.ofd_secret, fn, "ofd", algo),
            answer_code=code,
            ofd_inn=config.ofd_inn,
            algorithm=algo,
        )
        doc = StoredDocument(
            fn_number=fn,
            fd_number=fd,
            doc_type=env.doc_type,
            date_time=date_time,
            fp=fp or 0,
            document=env.document,
            container=bytes(raw),
            answer_code=code,
            problems=result.problems,
            warnings=result.warnings,
            receipt=receipt,
            receipt_time=when,
            received_at=self.clock.wall(),
            origin=origin,
            peer=peer,
        )
        self.store.put(doc)
        self.counters["accepted" if result.ok else "rejected"] += 1
        return Outcome("receipt", receipt, doc)
