"""FN-1.2 marked goods: code checks (B0h–B7h) and sale notifications (BAh–BFh).

PROVISIONAL throughout: the FNS protocol for FN-1.2 was not available (reference §7).
Commands, answer codes 32h–35h and layouts follow the QEMU FN-1.2 slave model (S4) and
the reference §1.7 [2nd]; the behaviour is a plausible, testable model:

- Marking works only on a drive registered for FFD 1.2 (A2h/A3h with version 4) with the
  "маркировка" extended-mode bit (§1.9); otherwise every B-command answers 32h.
- Check cycle: B1h checks a code (types 2 and 4 are checked in the drive, tag 2100),
  then optionally B5h forms a request to the marking system and B6h takes its answer,
  then B2h saves (or discards) the result; a B1h before B2h, B5h without B1h, B6h
  without B5h answer 33h; a full table of saved results answers 35h (B3h clears it).
- B7h adds TLVs of marked items to an open receipt (like 07h); making that receipt
  queues a notification (document 82) for the marking system, read with BBh/BCh/BEh
  and confirmed with BFh, like an OFD message (34h when the notification store is full).

Check result byte (tag 2004) [rec]: bit 0 "checked by the drive", bit 1 "positive".
"""

from __future__ import annotations

import datetime as dt
from typing import Final

from protocol import fiscalsign
from protocol.errors import ProtocolError
from protocol.fn.codes import AnswerCode, ExtendedMode, FfdVersion, Phase
from protocol.fn.commands import build_answer
from protocol.fn.frame import MAX_DATA
from protocol.ofd import CONTAINER_HEADER_SIZE, parse_container
from protocol.tlv import encode
from protocol.tree import Field
from simulator.fn.core import DriveCore
from simulator.fn.documents import (
    KINDS,
    TlvStructureError,
    build_container,
    local_unixtime,
    split_tlvs,
    stlv,
)
from simulator.fn.errors import CommandRefusedError
from simulator.fn.state import Notification

__all__ = ["MarkingUnit"]

_CHECKED_IN_DRIVE: Final = frozenset({2, 4})  # tag 2100: КМ 88 / 44 symbols "проверяется в ФН"
_CODE_TYPES: Final = range(6)  # tag 2100 values 0..5 (§1.7, S9)
_RESULT_CHECKED: Final = 0x01
_RESULT_POSITIVE: Final = 0x02
_REASON_OK: Final = 0
_REASON_NOT_CHECKABLE: Final = 1  # S9: "type not checkable in FN"
_REASON_BAD_CODE: Final = 4  # S9: "other"
_GS: Final = 0x1D  # GS1 group separator inside a code
_NOTIFICATION: Final = 82
_NOTIFICATION_ACK: Final = 84
_KM_REQUEST: Final = 81
_RECEIPT_KINDS: Final = frozenset(
    KINDS[k].doc_type for k in ("receipt", "bso", "correction", "correction_bso")
)


class MarkingUnit:
    """Marking-code checks and notifications of one drive."""

    def __init__(self, core: DriveCore) -> None:
        """Attach to ``core``."""
        self.core = core
        self.reset()

    def reset(self) -> None:
        """Forget checks and notification reading (power cut; results are volatile)."""
        self._pending: int | None = None  # check result awaiting B2h
        self._request_open = False  # B5h done, B6h not yet
        self._saved: list[int] = []
        self._reading: tuple[int, bytes] | None = None
        self._awaiting: int | None = None

    @property
    def enabled(self) -> bool:
        """FFD 1.2 registration with the marking extended mode."""
        reg = self.core.registration
        return (
            reg is not None
            and reg.ffd_version == FfdVersion.FFD_1_2
            and bool(reg.extended_mode & ExtendedMode.MARKING)
        )

    def _require(self) -> None:
        if not self.enabled:
            raise CommandRefusedError(AnswerCode.MARKING_FORBIDDEN)

    def _unacked(self) -> list[Notification]:
        return [n for n in self.core.state.notifications if not n.acked]

    def _storage_percent(self) -> int:
        share = len(self._unacked()) * 100 // self.core.config.notification_capacity
        return min(100, share)

    # ---- B0h–B3h: checks -------------------------------------------------------------------

    def status(self) -> bytes:
        """B0h."""
        self._require()
        doc = self.core.document
        in_notification = len(doc.marked) if doc is not None and doc.marked else 0
        return build_answer(
            0xB0,
            check_state=1 if self._pending is None else 2,
            notification_state=1 if in_notification else 0,
            command_flags=0xFF,
            saved_results=min(len(self._saved), 0xFF),
            codes_in_notification=min(in_notification, 0xFF),
            notification_storage_percent=self._storage_percent(),
            notification_queue=min(len(self._unacked()), 0xFFFF),
            reserved=0,
        )

    def check(self, code_type: int, code_length: int, payload: bytes) -> bytes:
        """B1h: check one marking code in the drive."""
        self._require()
        self.core.require_phase(Phase.FISCAL)
        if not self.core.state.shift_open:
            raise CommandRefusedError(AnswerCode.WRONG_STATE, detail="shift closed")
        if self._pending is not None:
            raise CommandRefusedError(AnswerCode.MARKING_SEQUENCE, detail="save the last check")
        if code_length > len(payload):
            raise CommandRefusedError(AnswerCode.UNKNOWN_COMMAND, detail="code shorter than said")
        code = payload[:code_length]
        if code_type not in _CODE_TYPES or not code:
            raise CommandRefusedError(AnswerCode.BAD_PARAMETER)
        if code_type not in _CHECKED_IN_DRIVE:
            result, reason = 0, _REASON_NOT_CHECKABLE
        elif all(b == _GS or 0x20 <= b < 0x7F for b in code):
            result, reason = _RESULT_CHECKED | _RESULT_POSITIVE, _REASON_OK
        else:
            result, reason = _RESULT_CHECKED, _REASON_BAD_CODE
        self._pending = result
        self._request_open = False
        return build_answer(0xB1, result=result, reason=reason)

    def save(self, save: int) -> bytes:
        """B2h: keep (1) or drop (0) the last check result."""
        self._require()
        if save not in (0, 1):
            raise CommandRefusedError(AnswerCode.BAD_PARAMETER)
        if self._pending is None:
            raise CommandRefusedError(AnswerCode.MARKING_SEQUENCE, detail="nothing checked")
        result = self._pending
        if save == 1:
            if len(self._saved) >= self.core.config.marking_table_size:
                raise CommandRefusedError(AnswerCode.MARKING_TABLE_FULL)
            self._saved.append(result)
        self._pending = None
        self._request_open = False
        return build_answer(0xB2, check_result=result if save == 1 else None)

    def clear(self) -> bytes:
        """B3h: forget every saved result."""
        self._require()
        self._saved.clear()
        self._pending = None
        self._request_open = False
        return b""

    # ---- B5h/B6h: the request to the marking system ---------------------------------------

    def make_request(self, when: dt.datetime, tlvs: bytes) -> bytes:
        """B5h: form the request (document 81) about the code being checked."""
        self._require()
        if self._pending is None:
            raise CommandRefusedError(AnswerCode.MARKING_SEQUENCE, detail="check a code first")
        try:
            split_tlvs(tlvs)
        except TlvStructureError as exc:
            raise CommandRefusedError(AnswerCode.UNKNOWN_COMMAND, detail=str(exc)) from exc
        self.core.check_time(when)
        self.core.accept_time(when)
        state = self.core.state
        state.marking_request_number += 1
        head = encode(
            [
                Field(1041, self.core.config.fn_number),
                Field(2001, state.marking_request_number),
                Field(2114, local_unixtime(when)),
            ]
        )
        request = stlv(_KM_REQUEST, head + tlvs)
        if len(request) > MAX_DATA:
            raise CommandRefusedError(AnswerCode.TLV_TOO_LARGE)
        self._request_open = True
        self.core.save()
        return build_answer(0xB5, request=request)

    def take_answer(self, answer: bytes) -> bytes:
        """B6h: the marking system's answer (document 83) to the last request."""
        self._require()
        if not self._request_open:
            raise CommandRefusedError(AnswerCode.MARKING_SEQUENCE, detail="no request formed")
        try:
            split_tlvs(answer)
        except TlvStructureError as exc:
            raise CommandRefusedError(AnswerCode.BAD_PARAMETER, detail=str(exc)) from exc
        self._request_open = False
        return build_answer(0xB6, result=0)

    # ---- B7h: marked items in a receipt ----------------------------------------------------

    def document_data(self, extra_code: int, tlvs: bytes) -> bytes:
        """B7h: TLVs of marked items for the open receipt (counted in its budget)."""
        self._require()
        doc = self.core.document
        if doc is None or doc.kind.doc_type not in _RECEIPT_KINDS:
            raise CommandRefusedError(AnswerCode.WRONG_STATE, detail="no receipt is open")
        if extra_code not in (1, 2, 3):
            raise CommandRefusedError(AnswerCode.BAD_PARAMETER)
        if len(self._unacked()) >= self.core.config.notification_capacity:
            raise CommandRefusedError(AnswerCode.MARKING_STORAGE_EXHAUSTED)
        return b""

    def notify(self, receipt_fd: int, operation: int, when: dt.datetime, marked: bytes) -> None:
        """Queue the notification of a receipt with marked items (saved with the receipt)."""
        if not self.enabled or not marked:
            return
        state = self.core.state
        state.notification_number += 1
        head = encode(
            [
                Field(1041, self.core.config.fn_number),
                Field(2002, state.notification_number),
                Field(1012, local_unixtime(when)),
                Field(1040, receipt_fd),
                Field(1054, operation),
            ]
        )
        state.notifications.append(
            Notification(state.notification_number, when, stlv(_NOTIFICATION, head + marked))
        )
        self._saved.clear()

    # ---- BAh–BFh: notifications --------------------------------------------------------------

    def notification_status(self) -> bytes:
        """BAh."""
        self._require()
        queue = self._unacked()
        first = queue[0] if queue else None
        if self._awaiting is not None:
            state = 2
        elif self._reading is not None:
            state = 1
        else:
            state = 0
        return build_answer(
            0xBA,
            state=state,
            queue_count=min(len(queue), 0xFFFF),
            first_number=first.number if first else 0,
            first_date_time=first.date_time if first else None,
            storage_percent=self._storage_percent(),
        )

    def read_begin(self) -> bytes:
        """BBh: start reading the oldest unconfirmed notification."""
        self._require()
        queue = self._unacked()
        if not queue:
            raise CommandRefusedError(AnswerCode.NO_DATA)
        first = queue[0]
        message = build_container(
            _NOTIFICATION,
            self.core.config.fn_number,
            first.number,
            first.stlv,
            msg_key=self.core.keys.msg,
            algorithm=self.core.config.sign_algorithm,
        )
        self._reading = (first.number, message)
        self._awaiting = None
        return build_answer(0xBB, notification_length=len(message))

    def read_block(self, offset: int, length: int) -> bytes:
        """BCh."""
        self._require()
        if self._reading is None:
            raise CommandRefusedError(AnswerCode.WRONG_STATE)
        message = self._reading[1]
        if offset > len(message):
            raise CommandRefusedError(AnswerCode.BAD_PARAMETER)
        return message[offset : offset + min(length, MAX_DATA)]

    def read_cancel(self) -> bytes:
        """BDh."""
        self._require()
        self._reading = None
        return b""

    def read_finish(self) -> bytes:
        """BEh."""
        self._require()
        if self._reading is None:
            raise CommandRefusedError(AnswerCode.MARKING_SEQUENCE)
        self._awaiting = self._reading[0]
        self._reading = None
        return b""

    def receipt(self, message: bytes) -> bytes:
        """BFh: the marking system's receipt (document 84) for the notification read."""
        self._require()
        if self._awaiting is None:
            raise CommandRefusedError(AnswerCode.WRONG_STATE)
        config = self.core.config
        try:
            container = parse_container(message)
            body = message[CONTAINER_HEADER_SIZE:]
            (tag, ack), *_ = split_tlvs(body[: 4 + int.from_bytes(body[2:4], "little")])
            fields = dict((t, raw[4:]) for t, raw in split_tlvs(ack[4:]))
        except (ProtocolError, ValueError) as exc:
            reason = 5 if "CRC" in str(exc) else 2
            raise CommandRefusedError(AnswerCode.OFD_MESSAGE_REJECTED, reason=reason) from exc
        if container.doc_type != _NOTIFICATION_ACK or tag != _NOTIFICATION_ACK:
            raise CommandRefusedError(AnswerCode.OFD_MESSAGE_REJECTED, reason=2)
        if container.fn_number != config.fn_number:
            raise CommandRefusedError(AnswerCode.OFD_MESSAGE_REJECTED, reason=4)
        if int.from_bytes(fields.get(2002, b""), "little") != self._awaiting:
            raise CommandRefusedError(AnswerCode.OFD_MESSAGE_REJECTED, reason=3)
        if not fiscalsign.verify_ofd_fp(self.core.keys.ofd, ack, config.sign_algorithm):
            raise CommandRefusedError(AnswerCode.OFD_MESSAGE_REJECTED, reason=1)
        for n in self.core.state.notifications:
            if n.number == self._awaiting:
                n.acked = True
        self._awaiting = None
        self.core.save()
        return b""
