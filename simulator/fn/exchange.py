"""Information exchange with the OFD: commands 20h–26h (reference §1.6, §4.3).

Flow: 20h status → 21h(1) transport up → 22h begin reading (length) → 23h blocks →
25h finish (24h cancels) → the register sends the message → 26h passes the OFD's receipt.

The message is the FN container of the oldest unconfirmed document (documents.
build_container). The receipt is a container holding document 7 «Подтверждение
оператора» with 1017, 1041, 1040 (the confirmed document), 1012, 1068 {1022, …} and 1078
ФПО; the drive checks, in this order [rec]: container CRC (reason 5), type/shape (2), FN
number (4), FD number = the message last read (3), ФПО under the drive's OFD key (1).
A receipt with any 1022 code confirms delivery; the code is returned to the register.
Reading state and "awaiting receipt" are volatile; the receipt wait ends after 300 s
(§4.5 [V]).
"""

from __future__ import annotations

import datetime as dt
import struct
from typing import Final

from protocol import fiscalsign
from protocol.fn.codes import AnswerCode, OfdExchangeStatus, OfdRejectReason, Phase
from protocol.fn.frame import MAX_DATA
from protocol.ofd import CONTAINER_HEADER_SIZE, CONTAINER_TYPE, container_crc
from simulator.fn.core import DriveCore
from simulator.fn.documents import build_container, split_tlvs, stlv
from simulator.fn.errors import CommandRefusedError
from simulator.fn.fastcodec import build_answer
from simulator.fn.state import OfdAck

__all__ = ["OfdExchange"]

_EXCHANGE_PHASES: Final = (Phase.READY, Phase.FISCAL, Phase.POST_FISCAL)  # §1.5 table 6
_OPERATOR_ACK: Final = 7
_U16_MAX: Final = 0xFFFF
_U16: Final = struct.Struct("<H")


class _RejectError(Exception):
    def __init__(self, reason: OfdRejectReason) -> None:
        self.reason = reason


class OfdExchange:
    """The drive's side of the OFD exchange; volatile parts reset on power cut."""

    def __init__(self, core: DriveCore) -> None:
        """Attach to ``core``."""
        self.core = core
        self.transport_up = False
        self._reading: tuple[int, bytes] | None = None  # (fd, message)
        self._awaiting: tuple[int, float] | None = None  # (fd, since: drive timer)

    def reset(self) -> None:
        """Forget transport, reading and receipt wait (power cut)."""
        self.transport_up = False
        self._reading = None
        self._awaiting = None

    def message_for(self, fd: int) -> bytes:
        """The OFD message (container) of archived document ``fd``."""
        doc = self.core.state.document(fd)
        if doc is None:
            raise CommandRefusedError(AnswerCode.NO_DATA)
        config = self.core.config
        return build_container(
            doc.doc_type,
            config.fn_number,
            doc.fd,
            doc.stlv,
            msg_key=self.core.keys.msg,
            algorithm=config.sign_algorithm,
        )

    def _awaited(self) -> int | None:
        if self._awaiting is None:
            return None
        fd, since = self._awaiting
        if self.core.clock.monotonic() - since > self.core.config.ofd_receipt_timeout:
            self._awaiting = None  # §4.5: no receipt in 300 s, the message is due again
            return None
        return fd

    # ---- commands ------------------------------------------------------------------------

    def status(self) -> bytes:
        """20h: exchange status, number and first of the unconfirmed documents."""
        core = self.core
        flags = 0
        if self.transport_up:
            flags |= OfdExchangeStatus.TRANSPORT_UP
        awaited = self._awaited()
        if awaited is not None:
            flags |= OfdExchangeStatus.AWAITING_RECEIPT
        elif core.unconfirmed_count():
            flags |= OfdExchangeStatus.MESSAGE_PENDING
        oldest = core.oldest_unconfirmed()
        return build_answer(
            0x20,
            status=int(flags),
            read_started=int(self._reading is not None),
            message_count=min(core.unconfirmed_count(), _U16_MAX),
            first_fd=oldest.fd if oldest else 0,
            first_date_time=oldest.date_time if oldest else None,
        )

    def set_transport(self, connected: int) -> bytes:
        """21h: the register reports its connection to the OFD (0 down, 1 up)."""
        if connected not in (0, 1):
            raise CommandRefusedError(AnswerCode.BAD_PARAMETER)
        self.core.require_phase(*_EXCHANGE_PHASES)
        self.transport_up = bool(connected)
        return b""

    def read_begin(self) -> bytes:
        """22h: start reading the message of the oldest unconfirmed document."""
        self.core.require_phase(*_EXCHANGE_PHASES)
        if not self.transport_up:
            raise CommandRefusedError(AnswerCode.NO_TRANSPORT)
        oldest = self.core.oldest_unconfirmed()
        if oldest is None:
            raise CommandRefusedError(AnswerCode.NO_DATA)
        message = self.message_for(oldest.fd)
        self._reading = (oldest.fd, message)
        self._awaiting = None
        return build_answer(0x22, message_length=len(message))

    def read_block(self, offset: int, length: int) -> bytes:
        """23h: a block of the message; a short or empty block at the end."""
        if self._reading is None:
            raise CommandRefusedError(AnswerCode.WRONG_STATE, detail="no message being read")
        message = self._reading[1]
        if offset > len(message):
            raise CommandRefusedError(AnswerCode.BAD_PARAMETER, detail="offset past the message")
        return message[offset : offset + min(length, MAX_DATA)]

    def read_cancel(self) -> bytes:
        """24h: stop reading; the message stays due."""
        self._reading = None
        return b""

    def read_finish(self) -> bytes:
        """25h: the register has the whole message; the drive now waits for a receipt."""
        if self._reading is None:
            raise CommandRefusedError(AnswerCode.WRONG_STATE, detail="no message being read")
        self._awaiting = (self._reading[0], self.core.clock.monotonic())
        self._reading = None
        return b""

    def receipt(self, message: bytes) -> bytes:
        """26h: check the OFD's receipt and mark the document delivered."""
        core = self.core
        core.require_phase(*_EXCHANGE_PHASES)
        awaited = self._awaited()
        if awaited is None:
            raise CommandRefusedError(AnswerCode.WRONG_STATE, detail="no message awaits a receipt")
        try:
            ack, code, extra = self._check_receipt(message, awaited)
        except _RejectError as rej:
            raise CommandRefusedError(
                AnswerCode.OFD_MESSAGE_REJECTED, reason=int(rej.reason)
            ) from None
        doc = core.state.document(awaited)
        if doc is None:  # cannot happen: awaited documents are archived
            raise CommandRefusedError(AnswerCode.FN_FAILURE)
        doc.ack = ack
        self._awaiting = None
        core.confirm_oldest()
        core.save()
        return build_answer(0x26, ofd_answer_code=code, operator_message=extra)

    def _check_receipt(self, message: bytes, awaited: int) -> tuple[OfdAck, int, bytes]:
        config = self.core.config
        doc_type, fn_number, fd_number, body = _container(message)
        try:
            (tag, ack_stlv), *_ = split_tlvs(body[: 4 + int.from_bytes(body[2:4], "little")])
            fields = dict((t, raw[4:]) for t, raw in split_tlvs(ack_stlv[4:]))
        except ValueError as exc:
            raise _RejectError(OfdRejectReason.BAD_FORMAT) from exc
        if doc_type != _OPERATOR_ACK or tag != _OPERATOR_ACK:
            raise _RejectError(OfdRejectReason.BAD_FORMAT)
        if len(fields.get(1040, b"")) != 4:  # 1040 is a u32 (ФФД table 1): the shape
            raise _RejectError(OfdRejectReason.BAD_FORMAT)
        fn_tag = fields.get(1041, b"").decode("ascii", "replace").strip()
        if fn_number != config.fn_number or fn_tag != config.fn_number:
            raise _RejectError(OfdRejectReason.BAD_FN_NUMBER)
        fd_tag = int.from_bytes(fields[1040], "little")
        if fd_number != awaited or fd_tag != awaited:
            raise _RejectError(OfdRejectReason.BAD_FD_NUMBER)
        if not fiscalsign.verify_ofd_fp(self.core.keys.ofd, ack_stlv, config.sign_algorithm):
            raise _RejectError(OfdRejectReason.BAD_FP)
        raw_time = fields.get(1012)
        if raw_time is None or len(raw_time) != 4:
            raise _RejectError(OfdRejectReason.BAD_FORMAT)
        when = dt.datetime.fromtimestamp(int.from_bytes(raw_time, "little"), dt.UTC)
        operator = fields.get(1068, b"")
        try:
            inner = dict((t, raw[4:]) for t, raw in split_tlvs(operator))
        except ValueError as exc:
            raise _RejectError(OfdRejectReason.BAD_FORMAT) from exc
        code_raw = inner.get(1022, b"\x00")
        code = code_raw[0] if len(code_raw) == 1 else 0
        # The operator message goes back to the register only when it says more than 1022.
        extra = b"" if set(inner) <= {1022} else stlv(1068, operator)
        ack = OfdAck(
            date_time=when.replace(tzinfo=None, second=0),
            ofd_fp=fields[fiscalsign.OFD_FP_TAG].ljust(fiscalsign.OFD_FP_SIZE, b"\x00"),
            answer_code=code,
        )
        return ack, code, extra


def _container(message: bytes) -> tuple[int, str, int, bytes]:
    """(document type, FN number, FD number, body) of the OFD's receipt container, checked as
    protocol.ofd.parse_container checks the header (length, type A5h, CRC over bytes 0–1 and
    4–, reference §4.2) and that the document fits its body; the document's fields are then
    split and checked by `_check_receipt` (the ФПО under the drive's OFD key covers their
    bytes). Not parse_container itself: decoding every TLV against the tag registry with
    construct cost this drive ~15 % of its CPU a receipt, to read three header fields."""
    n = len(message)
    if n < CONTAINER_HEADER_SIZE + 4:
        raise _RejectError(OfdRejectReason.BAD_FORMAT)
    if _U16.unpack_from(message, 0)[0] != n or message[4] != CONTAINER_TYPE:
        raise _RejectError(OfdRejectReason.BAD_FORMAT)
    if _U16.unpack_from(message, 2)[0] != container_crc(message):
        raise _RejectError(OfdRejectReason.BAD_CRC)
    body = message[CONTAINER_HEADER_SIZE:]
    if CONTAINER_HEADER_SIZE + 4 + _U16.unpack_from(body, 2)[0] > n:
        raise _RejectError(OfdRejectReason.BAD_FORMAT)  # the document runs past the container
    fn_number = message[9:17].hex().rstrip("f")  # BCD, F-padded (protocol.ofd._bcd_decode)
    return message[5], fn_number, int.from_bytes(message[17:20], "big"), body
