"""The simulated fiscal drive (ФН), sans-IO: request frames in, answer frames out.

An independent implementation of the FNS "Протокол информационного обмена между ФН и
ККТ" v1.1 (reference fiscal-protocols.md §1) plus the FN-1.2 registration and marking
commands (§1.7 [2nd]). It imports protocol/ only, never firmware/: it is the oracle that
catches the register's bugs.

    drive = DriveModel(DriveConfig(...), clock=SimClock(), state_file="fn.json")
    answer = drive.handle(build_frame(0x30))      # one frame -> one answer frame
    out = drive.feed(stream_bytes)                # bytes -> answer bytes (ENQ, noise)
    drive.power_off(); drive.power_on()           # a power cut: volatile state is lost

Order of checks for every command [rec; the protocol does not fix one]: unknown command
01h → data layout 01h / value 09h → phase and document state 02h → resources (05h,
06h, 15h, 14h) → time rules (07h, 17h, 16h) → remaining parameter values 09h. The
warning bit (§1.3) is set on every answer while a warning flag is raised.
"""

from __future__ import annotations

import datetime as dt
import os
import struct
from collections.abc import Callable
from typing import Any, Final

from construct import ConstructError, Container, ValidationError

from protocol.crc import crc16_ccitt_false
from protocol.errors import FrameFormatError
from protocol.fn.codes import (
    WARNING_BIT,
    AnswerCode,
    CommandCode,
    ExtendedMode,
    FfdVersion,
    OperationType,
    Phase,
    RegistrationType,
    ReregistrationReason,
    SoftwareType,
    TaxSystem,
    WorkMode,
)
from protocol.fn.commands import COMMANDS, build_archive
from protocol.fn.frame import ENQ, MAX_DATA, MSG_START
from protocol.tree import Field
from simulator.clock import Clock, SystemClock
from simulator.fn import documents as docs
from simulator.fn.config import DriveConfig
from simulator.fn.core import DriveCore, OpenDocument, fresh_state
from simulator.fn.documents import KINDS, TlvStructureError, assemble, split_tlvs
from simulator.fn.errors import CommandRefusedError, PoweredOffError
from simulator.fn.exchange import OfdExchange
from simulator.fn.fastcodec import build_answer, parse_request
from simulator.fn.marking import MarkingUnit
from simulator.fn.state import ArchivedDocument, DriveState, Registration, StateStore
from simulator.fn.stream import BadFrame, Enq, Event, FrameReceiver

__all__ = ["DriveModel"]

_C = CommandCode
_U16_MAX: Final = 0xFFFF
_ENUMERATE_ALL: Final = 0xFFFF  # 44h tag FFFFh: start enumerating with 47h (§1.6)
_TAX_BITS: Final = int(
    TaxSystem.OSN
    | TaxSystem.USN_INCOME
    | TaxSystem.USN_INCOME_EXPENSE
    | TaxSystem.ENVD
    | TaxSystem.ESKHN
    | TaxSystem.PATENT
)
# 03h mode flags (FFD 1.05 tags) from the work-mode byte (§1.9 table 21).
_MODE_TAGS: Final = (
    (WorkMode.ENCRYPTION, 1056),
    (WorkMode.AUTONOMOUS, 1002),
    (WorkMode.AUTOMATIC, 1001),
    (WorkMode.SERVICES, 1109),
    (WorkMode.BSO, 1110),
    (WorkMode.INTERNET, 1108),
)
# A3h with FFD 1.1: the extended-mode bits as FFD 1.1 flags [2nd S4, §1.9].
_EXTENDED_TAGS_1_1: Final = (
    (ExtendedMode.EXCISE, 1207),
    (ExtendedMode.GAMBLING, 1193),
    (ExtendedMode.LOTTERY, 1126),
    (ExtendedMode.PRINTER_IN_MACHINE, 1221),
)
_RECEIPT_KIND_NAMES: Final = frozenset({"receipt", "bso", "correction", "correction_bso"})


def _digits(text: str, sizes: tuple[int, ...]) -> bool:
    value = text.strip()
    return value.isdigit() and len(value) in sizes and text.rstrip() == value


class DriveModel:
    """One simulated fiscal drive. Not thread-safe: links serialise access to it."""

    def __init__(
        self,
        config: DriveConfig | None = None,
        *,
        clock: Clock | None = None,
        state_file: str | os.PathLike[str] | StateStore | None = None,
    ) -> None:
        """Create a drive and power it on (reading ``state_file`` if it exists).

        :raises StateFileError: the state file is corrupt or belongs to another drive.
        """
        self.config = config or DriveConfig()
        self.clock: Clock = clock or SystemClock()
        if state_file is None or isinstance(state_file, StateStore):
            store = state_file
        else:
            store = StateStore(state_file)
        self.core = DriveCore(self.config, self.clock, store)
        self.exchange = OfdExchange(self.core)
        self.marking = MarkingUnit(self.core)
        self._receiver = FrameReceiver(self.config.idle_timeout)
        self._last_answer: bytes | None = None
        self._powered = False
        self._tlv_cursor: list[bytes] | None = None  # 46h
        self._param_cursor: list[bytes] | None = None  # 47h
        self._handlers: dict[int, Callable[[Container], bytes]] = self._dispatch_table()
        self.power_on()

    # ---- power -----------------------------------------------------------------------------

    @property
    def powered(self) -> bool:
        """True while the drive has power."""
        return self._powered

    def power_on(self) -> None:
        """Apply power: read the state file, start with no open document.

        :raises StateFileError: the state file is corrupt or belongs to another drive.
        """
        self.core.load()
        self._reset_volatile()
        self._powered = True

    def power_off(self) -> None:
        """Cut the power: the open document, reading states and the last answer are lost."""
        self._powered = False
        self._reset_volatile()

    def _reset_volatile(self) -> None:
        self.core.forget_volatile()
        self.exchange.reset()
        self.marking.reset()
        self._receiver.reset()
        self._last_answer = None
        self._tlv_cursor = None
        self._param_cursor = None

    # ---- read-only views for tests and tools -------------------------------------------------

    @property
    def state(self) -> DriveState:
        """The persistent state (treat as read-only)."""
        return self.core.state

    @property
    def open_document(self) -> OpenDocument | None:
        """The document being formed, if any."""
        return self.core.document

    def now(self) -> dt.datetime:
        """The drive's local time (its timer), the time a register should send."""
        return self.core.now()

    def document(self, fd: int) -> ArchivedDocument | None:
        """Archived document ``fd``."""
        return self.core.state.document(fd)

    def ofd_message(self, fd: int) -> bytes:
        """The OFD message (FN container) of document ``fd``, as 22h/23h would give it."""
        if self.core.state.document(fd) is None:
            raise KeyError(fd)
        return self.exchange.message_for(fd)

    # ---- byte level ------------------------------------------------------------------------

    def feed(self, data: bytes) -> bytes:
        """Receive ``data`` from the register; return every answer byte it produces."""
        out = bytearray()
        for event in self.receive(data):
            answer = self.respond(event)
            if answer is not None:
                out += answer
        return bytes(out)

    def receive(self, data: bytes) -> list[Event]:
        """Split received bytes into events (for links that schedule answers themselves)."""
        if not self._powered:
            return []
        return self._receiver.feed(bytes(data), self.clock.monotonic())

    def respond(self, event: Event) -> bytes | None:
        """The answer frame for one event, or None when the drive stays silent."""
        if not self._powered:
            return None
        if isinstance(event, Enq):
            return self._last_answer  # §1.1: ENQ repeats the previous answer
        if isinstance(event, BadFrame):
            if self.config.bad_crc == "ignore":
                return None
            return self._frame(AnswerCode.UNKNOWN_COMMAND, b"")
        code, data = self.execute(event.code, event.data)
        return self._frame_raw(code, data)

    def handle(self, frame: bytes) -> bytes | None:
        """Answer one complete request frame (or a bare ENQ byte).

        Returns None when the drive would stay silent: powered off, not a whole frame, or
        a bad CRC with ``bad_crc="ignore"``.
        """
        if not self._powered:
            return None
        if bytes(frame) == bytes([ENQ]):
            return self._last_answer
        events = FrameReceiver(self.config.idle_timeout).feed(bytes(frame), 0.0)
        if len(events) != 1 or isinstance(events[0], Enq):
            return None
        return self.respond(events[0])

    def force_answer(self, code: int, data: bytes = b"") -> bytes:
        """An answer frame with ``code`` that executes nothing (fault injection: 03h, 04h).

        It becomes the last answer, as any answer does, so ENQ repeats it.
        """
        return self._frame(code, data)

    def _frame(self, code: int, data: bytes) -> bytes:
        return self._frame_raw(code | (WARNING_BIT if self.core.warnings() else 0), data)

    def _frame_raw(self, answer_byte: int, data: bytes) -> bytes:
        frame = pack_frame(answer_byte, data)
        self._last_answer = frame
        return frame

    # ---- command level ---------------------------------------------------------------------

    def execute(self, code: int, data: bytes) -> tuple[int, bytes]:
        """Run one command: (answer byte with the warning bit, answer data).

        :raises PoweredOffError: the drive is powered off.
        """
        if not self._powered:
            raise PoweredOffError("the drive has no power")
        try:
            payload = self._run(code, bytes(data))
            answer = int(AnswerCode.OK)
        except CommandRefusedError as refused:
            answer = refused.code
            payload = bytes([refused.reason]) if refused.reason is not None else b""
            self.core.recent_errors.append(answer)
        warning = WARNING_BIT if self.core.warnings() else 0
        return answer | warning, payload

    def _run(self, code: int, data: bytes) -> bytes:
        handler = self._handlers.get(code)
        if handler is None or code not in COMMANDS:
            raise CommandRefusedError(AnswerCode.UNKNOWN_COMMAND, detail=f"command {code:02X}h")
        try:
            request = parse_request(code, data)
        except ValidationError as exc:  # calendar, ASCII: a value the layout cannot hold
            raise CommandRefusedError(AnswerCode.BAD_PARAMETER, detail=str(exc)) from exc
        except ConstructError as exc:  # wrong length, trailing bytes, wrong constant
            raise CommandRefusedError(AnswerCode.UNKNOWN_COMMAND, detail=str(exc)) from exc
        return handler(request)

    def _dispatch_table(self) -> dict[int, Callable[[Container], bytes]]:
        ex, mk = self.exchange, self.marking
        table: dict[int, Callable[[Container], bytes]] = {
            _C.REGISTRATION_BEGIN: lambda r: self._registration_begin(
                r.registration_type or 0, int(FfdVersion.FFD_1_05), extended=False
            ),
            _C.REGISTRATION_BEGIN_EXT: lambda r: self._registration_begin(
                r.registration_type, r.ffd_version, extended=True
            ),
            _C.REGISTRATION_MAKE: lambda r: self._registration_make(r, extended=False),
            _C.REGISTRATION_MAKE_EXT: lambda r: self._registration_make(r, extended=True),
            _C.CLOSE_FISCAL_MODE_BEGIN: lambda r: self._close_fn_begin(),
            _C.CLOSE_FISCAL_MODE: self._close_fn,
            _C.CANCEL_DOCUMENT: lambda r: self._cancel(),
            _C.SEND_DOCUMENT_DATA: lambda r: self._add_data(r.tlv, marked=False),
            _C.SHIFT_PARAMETERS: lambda r: self._shift_parameters(),
            _C.OPEN_SHIFT_BEGIN: lambda r: self._begin("open_shift", r.date_time),
            _C.OPEN_SHIFT: lambda r: self._open_shift(),
            _C.CLOSE_SHIFT_BEGIN: lambda r: self._begin("close_shift", r.date_time),
            _C.CLOSE_SHIFT: lambda r: self._close_shift(),
            _C.RECEIPT_BEGIN: lambda r: self._begin(self._receipt_kind(False), r.date_time),
            _C.RECEIPT_MAKE: self._receipt_make,
            _C.CORRECTION_RECEIPT_BEGIN: lambda r: self._begin(
                self._receipt_kind(True), r.date_time
            ),
            _C.SETTLEMENT_REPORT_BEGIN: lambda r: self._begin("settlement", r.date_time),
            _C.SETTLEMENT_REPORT_MAKE: lambda r: self._settlement_make(),
            _C.OFD_EXCHANGE_STATUS: lambda r: ex.status(),
            _C.TRANSPORT_STATUS: lambda r: ex.set_transport(r.connected),
            _C.OFD_MESSAGE_READ_BEGIN: lambda r: ex.read_begin(),
            _C.OFD_MESSAGE_READ_BLOCK: lambda r: ex.read_block(r.offset, r.length),
            _C.OFD_MESSAGE_READ_CANCEL: lambda r: ex.read_cancel(),
            _C.OFD_MESSAGE_READ_FINISH: lambda r: ex.read_finish(),
            _C.OFD_RECEIPT: lambda r: ex.receipt(r.message),
            _C.FN_STATUS: lambda r: self._status(),
            _C.FN_NUMBER: lambda r: build_answer(0x31, fn_number=self.config.fn_number),
            _C.FN_VALIDITY: lambda r: self._validity(),
            _C.FN_VERSION: lambda r: build_answer(
                0x33,
                version=self.config.version,
                software_type=int(
                    SoftwareType.DEBUG if self.config.debug_build else SoftwareType.SERIAL
                ),
            ),
            _C.FN_LAST_ERRORS: lambda r: bytes(self.core.recent_errors),
            _C.FN_FFD_VERSIONS: lambda r: self._ffd_versions(),
            _C.FN_DAYS_LEFT: lambda r: build_answer(
                0x3B, days_left=min(self.core.days_left(r.date_time.date()), _U16_MAX)
            ),
            _C.FN_FREE_RESOURCE: lambda r: self._free_resource(),
            _C.FIND_DOCUMENT: lambda r: self._find_document(r.fd),
            _C.DOCUMENT_OFD_RECEIPT: lambda r: self._document_receipt(r.fd),
            _C.UNCONFIRMED_COUNT: lambda r: build_answer(
                0x42, count=min(self.core.unconfirmed_count(), _U16_MAX)
            ),
            _C.REGISTRATION_TOTALS: lambda r: self._registration_totals(r.report_index),
            _C.REGISTRATION_PARAMETER: lambda r: self._registration_parameter(
                r.report_index, r.tag
            ),
            _C.DOCUMENT_TLV_BEGIN: lambda r: self._document_tlv_begin(r.fd),
            _C.DOCUMENT_TLV_READ: lambda r: self._next_from("_tlv_cursor"),
            _C.REGISTRATION_TLV_READ: lambda r: self._next_from("_param_cursor"),
            _C.MARKING_STATUS: lambda r: mk.status(),
            _C.MARKING_CODE_CHECK: lambda r: mk.check(r.code_type, r.code_length, r.marking_code),
            _C.MARKING_CHECK_SAVE: lambda r: mk.save(r.save),
            _C.MARKING_CHECK_CLEAR: lambda r: mk.clear(),
            _C.MARKING_REQUEST_MAKE: lambda r: mk.make_request(r.date_time, r.tlv),
            _C.MARKING_ANSWER: lambda r: mk.take_answer(r.answer),
            _C.MARKING_DOCUMENT_DATA: self._marked_data,
            _C.NOTIFICATION_STATUS: lambda r: mk.notification_status(),
            _C.NOTIFICATION_READ_BEGIN: lambda r: mk.read_begin(),
            _C.NOTIFICATION_READ_BLOCK: lambda r: mk.read_block(r.offset, r.length),
            _C.NOTIFICATION_READ_CANCEL: lambda r: mk.read_cancel(),
            _C.NOTIFICATION_READ_FINISH: lambda r: mk.read_finish(),
            _C.NOTIFICATION_RECEIPT: lambda r: mk.receipt(r.receipt),
        }
        if self.config.debug_build:  # §1.6: 60h exists only in debug firmware
            table[_C.RESET_FN] = lambda r: self._reset()
        return table

    # ---- documents: common -----------------------------------------------------------------

    def _open(
        self,
        kind: str,
        begun_at: dt.datetime | None,
        *,
        refused: frozenset[int] | None = None,
        **extra: Any,
    ) -> None:
        spec = KINDS[kind]
        tags = spec.drive_tags if refused is None else refused
        self.core.document = OpenDocument(spec, tags, begun_at, **extra)

    def _require_document(self, *kinds: str) -> OpenDocument:
        doc = self.core.document
        if doc is None or doc.kind.name not in kinds:
            raise CommandRefusedError(AnswerCode.WRONG_STATE, detail=f"no {'/'.join(kinds)} open")
        return doc

    def _cancel(self) -> bytes:
        """06h: drop the document being formed (nothing to cancel is not an error [rec])."""
        self.core.document = None
        return b""

    def _add_data(self, tlvs: bytes, *, marked: bool) -> bytes:
        """07h (and B7h): whole TLVs for the open document, within its budget (§1.8)."""
        doc = self.core.document
        if doc is None:
            raise CommandRefusedError(AnswerCode.WRONG_STATE, detail="no document open")
        try:
            parts = split_tlvs(tlvs)
        except TlvStructureError as exc:
            raise CommandRefusedError(AnswerCode.UNKNOWN_COMMAND, detail=str(exc)) from exc
        if self.config.refuse_drive_tags:
            for tag, _ in parts:
                if tag in doc.refused_tags:
                    raise CommandRefusedError(
                        AnswerCode.FORBIDDEN_TAG, detail=f"tag {tag} is formed by the drive"
                    )
        if len(doc.data) + len(tlvs) > doc.kind.budget:
            raise CommandRefusedError(AnswerCode.TLV_TOO_LARGE, detail=f"budget {doc.kind.budget}")
        doc.data += tlvs
        if marked:
            doc.marked += tlvs
        if parts:
            doc.has_data = True
        return b""

    def _marked_data(self, request: Container) -> bytes:
        self.marking.document_data(request.extra_code, request.tlv)
        return self._add_data(request.tlv, marked=True)

    def _begin(self, kind: str, when: dt.datetime) -> bytes:
        """11h 13h 15h 17h 18h: open a document dated ``when``."""
        core = self.core
        core.require_phase(Phase.FISCAL)
        core.require_no_document()
        shift_open = core.state.shift_open
        if kind == "open_shift" and shift_open:
            raise CommandRefusedError(AnswerCode.WRONG_STATE, detail="the shift is open")
        if kind in _RECEIPT_KIND_NAMES | {"close_shift"} and not shift_open:
            raise CommandRefusedError(AnswerCode.WRONG_STATE, detail="the shift is closed")
        core.check_resources(kind)
        core.check_time(when, shift_bound=kind in _RECEIPT_KIND_NAMES)
        core.accept_time(when)
        self._open(kind, when)
        return b""

    def _receipt_kind(self, correction: bool) -> str:
        reg = self.core.registration
        bso = reg is not None and bool(reg.work_mode & WorkMode.BSO)
        if correction:
            return "correction_bso" if bso else "correction"
        return "bso" if bso else "receipt"

    def _make(
        self,
        doc: OpenDocument,
        when: dt.datetime,
        *,
        identity: list[Field] | None = None,
        extra: list[Field],
        record: dict[str, Any],
        queued: bool | None = None,
    ) -> ArchivedDocument:
        """Number, sign, archive and queue the open document; the caller saves.

        ``queued``: send it to the OFD (default: unless registered in autonomous mode).
        """
        core = self.core
        doc_type = int(doc.kind.doc_type)
        fd = core.state.last_fd + 1
        stlv, fp = assemble(
            doc_type,
            identity=[Field(1041, self.config.fn_number), *(identity or [])],
            fd=fd,
            date_time=when,
            extra=extra,
            register_tlvs=bytes(doc.data),
            key=core.keys.fp,
            algorithm=self.config.sign_algorithm,
        )
        archive = build_archive(doc_type, date_time=when, fd=fd, fp=fp, **record)
        core.document = None
        if queued is None:
            queued = not core.autonomous
        return core.commit_document(doc_type, when, stlv, fp, archive, queued=queued)

    def _unsent_fields(self) -> list[Field]:
        """1097 (count) and 1098 (first date) of unconfirmed documents [rec]."""
        out = [Field(1097, self.core.unconfirmed_count())]
        oldest = self.core.oldest_unconfirmed()
        if oldest is not None:
            out.append(Field(1098, docs.local_unixtime(oldest.date_time)))
        return out

    # ---- registration (02h/03h, A2h/A3h) and closing (04h/05h) -------------------------------

    def _registration_begin(self, rtype: int, ffd: int, *, extended: bool) -> bytes:
        core = self.core
        if rtype not in (0, 1, 2):
            raise CommandRefusedError(AnswerCode.BAD_PARAMETER, detail="registration type")
        if extended and (
            ffd not in (FfdVersion.FFD_1_1, FfdVersion.FFD_1_2) or ffd > self.config.ffd_max
        ):
            raise CommandRefusedError(AnswerCode.BAD_PARAMETER, detail=f"FFD version {ffd}")
        core.require_no_document()
        if core.state.phase == Phase.SETUP:  # [2nd] S4: the first 02h/A2h completes setup
            core.state.phase = Phase.READY
            core.save()
        if rtype == RegistrationType.REREGISTRATION:
            core.require_phase(Phase.FISCAL)
            if core.state.shift_open:
                raise CommandRefusedError(AnswerCode.WRONG_STATE, detail="close the shift first")
        else:
            core.require_phase(Phase.READY)
        done = sum(1 for r in core.state.registrations if r.report_type != 0)
        if rtype != 0 and done >= self.config.max_reregistrations:
            raise CommandRefusedError(AnswerCode.WRONG_STATE, detail="no re-registrations left")
        kind = ("registration", "reregistration_fn_replacement", "reregistration")[rtype]
        core.check_resources(kind)
        refused = docs.REGISTRATION_EXT_TAGS if extended else docs.REGISTRATION_TAGS
        self._open(
            kind,
            None,
            refused=refused,
            registration_type=rtype,
            ffd_version=ffd,
            extended=extended,
        )
        return b""

    def _registration_make(self, req: Container, *, extended: bool) -> bytes:
        core = self.core
        doc = self._require_document(
            "registration", "reregistration_fn_replacement", "reregistration"
        )
        if doc.extended != extended:
            raise CommandRefusedError(
                AnswerCode.WRONG_STATE, detail="02h pairs with 03h, A2h with A3h"
            )
        rtype = doc.registration_type
        reason: int | None = None if extended else req.reason
        if not extended and (reason is not None) != (rtype == RegistrationType.REREGISTRATION):
            raise CommandRefusedError(AnswerCode.UNKNOWN_COMMAND, detail="reason byte iff type 2")
        when: dt.datetime = req.date_time
        core.check_time(when)
        core.accept_time(when)
        inn: str = req.inn
        rnm: str = req.rnm
        if not _digits(inn, (10, 12)):
            raise CommandRefusedError(AnswerCode.BAD_PARAMETER, detail="INN")
        serial = self._tag_text(doc.data, 1013)
        if not _digits(rnm, (16,)) or (
            serial is not None and not docs.rnm_is_valid(rnm, inn, serial)
        ):
            raise CommandRefusedError(AnswerCode.BAD_PARAMETER, detail="RNM check digits (§3.2)")
        tax: int = req.tax_systems
        if not tax or tax & ~_TAX_BITS:
            raise CommandRefusedError(AnswerCode.BAD_PARAMETER, detail="tax systems")
        if reason is not None and reason not in {int(r) for r in ReregistrationReason}:
            raise CommandRefusedError(AnswerCode.BAD_PARAMETER, detail="re-registration reason")
        work: int = req.work_mode
        ext_mode = req.extended_mode if extended else 0
        ofd_inn: str = req.ofd_inn if extended else ""
        codes: int = req.reason_codes if extended else 0
        if extended:
            if ofd_inn.strip() and not _digits(ofd_inn, (10, 12)):
                raise CommandRefusedError(AnswerCode.BAD_PARAMETER, detail="OFD INN")
            if rtype != 0 and not codes:
                raise CommandRefusedError(AnswerCode.BAD_PARAMETER, detail="reasons (1205) missing")
        extra = [Field(1062, tax)]
        flags = (
            _MODE_TAGS if not extended or doc.ffd_version == FfdVersion.FFD_1_1 else _MODE_TAGS[:3]
        )
        extra += [Field(tag, int(bool(work & bit))) for bit, tag in flags]
        if extended:
            if doc.ffd_version == FfdVersion.FFD_1_2:
                extra.append(Field(1290, docs.pack_usage_conditions(work, ext_mode)))
            else:
                extra += [Field(t, int(bool(ext_mode & b))) for b, t in _EXTENDED_TAGS_1_1]
            if ofd_inn.strip():
                extra.append(Field(1017, ofd_inn))
            if rtype != 0:
                extra.append(Field(1205, codes))
        elif rtype != 0:
            extra.append(
                Field(
                    1101, reason if reason is not None else int(ReregistrationReason.FN_REPLACEMENT)
                )
            )
        extra.append(Field(1190, doc.ffd_version))
        record: dict[str, Any] = {
            "inn": inn,
            "rnm": rnm,
            "tax_systems": tax,
            "work_mode": work,
            "reason": reason,
        }
        registration = Registration(
            fd=0, fp=0, date_time=when, report_type=rtype, ffd_version=doc.ffd_version,
            inn=inn, rnm=rnm, tax_systems=tax, work_mode=work, extended_mode=ext_mode,
            ofd_inn=ofd_inn, reason=reason, reason_codes=codes,
        )  # fmt: skip
        made = self._make(
            doc,
            when,
            identity=[Field(1037, rnm), Field(1018, inn)],
            extra=extra,
            record=record,
            queued=not work & WorkMode.AUTONOMOUS,  # the new registration's mode counts
        )
        core.state.registrations.append(registration)
        registration.fd, registration.fp = made.fd, made.fp
        registration.fields = made.stlv[4:]
        core.state.phase = Phase.FISCAL
        if core.state.expires_on is None:
            core.state.expires_on = when.date() + dt.timedelta(days=self.config.lifetime_days)
        core.save()
        return build_answer(0xA3 if extended else 0x03, fd=made.fd, fp=made.fp)

    @staticmethod
    def _tag_text(data: bytes | bytearray, tag: int) -> str | None:
        for t, raw in split_tlvs(bytes(data)):
            if t == tag:
                return raw[4:].decode("cp866", "replace")
        return None

    def _close_fn_begin(self) -> bytes:
        core = self.core
        core.require_phase(Phase.FISCAL)
        core.require_no_document()
        if core.state.shift_open:
            raise CommandRefusedError(AnswerCode.WRONG_STATE, detail="close the shift first")
        core.check_resources("close_fn")
        self._open("close_fn", None)
        return b""

    def _close_fn(self, req: Container) -> bytes:
        core = self.core
        doc = self._require_document("close_fn")
        when: dt.datetime = req.date_time
        core.check_time(when)
        core.accept_time(when)
        reg = core.registration
        if reg is None or req.rnm.strip() != reg.rnm.strip():
            raise CommandRefusedError(
                AnswerCode.BAD_PARAMETER, detail="RNM differs from registration"
            )
        made = self._make(
            doc,
            when,
            identity=[Field(1037, reg.rnm), Field(1018, reg.inn)],
            extra=[Field(1038, core.state.shift_number)],
            record={"inn": reg.inn, "rnm": reg.rnm},
        )
        core.state.phase = Phase.POST_FISCAL
        core.finish_post_fiscal()  # autonomous: nothing to deliver
        core.save()
        return build_answer(0x05, fd=made.fd, fp=made.fp)

    # ---- shifts, receipts, settlement report -------------------------------------------------

    def _shift_parameters(self) -> bytes:
        state = self.core.state
        return build_answer(
            0x10,
            shift_open=int(state.shift_open),
            shift_number=state.shift_number & _U16_MAX,
            receipt_number=state.receipt_number & _U16_MAX,
        )

    def _open_shift(self) -> bytes:
        core = self.core
        doc = self._require_document("open_shift")
        when = doc.begun_at or core.now()
        number = core.state.shift_number + 1
        made = self._make(doc, when, extra=[Field(1038, number)], record={"shift_number": number})
        state = core.state
        state.shift_open = True
        state.shift_number = number
        state.receipt_number = 0
        state.shift_opened_at = when
        state.shift_documents = 1
        state.shift_receipts = 0
        core.save()
        return build_answer(0x12, shift_number=number, fd=made.fd, fp=made.fp)

    def _close_shift(self) -> bytes:
        core = self.core
        doc = self._require_document("close_shift")
        when = doc.begun_at or core.now()
        state = core.state
        extra = [
            Field(1038, state.shift_number),
            Field(1111, state.shift_documents + 1),
            Field(1118, state.shift_receipts),
            *self._unsent_fields(),
        ]
        made = self._make(doc, when, extra=extra, record={"shift_number": state.shift_number})
        state.shift_open = False
        state.shift_opened_at = None
        core.save()
        return build_answer(0x14, shift_number=state.shift_number, fd=made.fd, fp=made.fp)

    def _receipt_make(self, req: Container) -> bytes:
        core = self.core
        doc = self._require_document(*_RECEIPT_KIND_NAMES)
        when: dt.datetime = req.date_time
        core.check_time(when, not_before=doc.begun_at, shift_bound=True)
        core.accept_time(when)
        operation: int = req.operation
        if operation not in {int(o) for o in OperationType}:
            raise CommandRefusedError(AnswerCode.BAD_PARAMETER, detail="operation type")
        state = core.state
        number = state.receipt_number + 1
        if number > _U16_MAX:
            raise CommandRefusedError(AnswerCode.BAD_PARAMETER, detail="receipt numbers exhausted")
        total: int = req.total_kop
        marked = bytes(doc.marked)
        extra = [
            Field(1038, state.shift_number),
            Field(1042, number),
            Field(1054, operation),
            Field(1020, total),
        ]
        made = self._make(
            doc, when, extra=extra, record={"operation": operation, "total_kop": total}
        )
        state.receipt_number = number
        state.shift_receipts += 1
        self.marking.notify(made.fd, operation, when, marked)
        core.save()
        return build_answer(0x16, receipt_number=number, fd=made.fd, fp=made.fp)

    def _settlement_make(self) -> bytes:
        core = self.core
        doc = self._require_document("settlement")
        when = doc.begun_at or core.now()
        oldest = core.oldest_unconfirmed()
        count = core.unconfirmed_count()
        extra = [Field(1038, core.state.shift_number), *self._unsent_fields()]
        if oldest is not None:
            extra.append(Field(1116, oldest.fd))
        first = oldest.date_time if oldest is not None else None
        made = self._make(
            doc,
            when,
            extra=extra,
            record={"unconfirmed_count": count, "first_unconfirmed": first},
        )
        core.save()
        return build_answer(
            0x19,
            fd=made.fd,
            fp=made.fp,
            unconfirmed_count=count,
            first_unconfirmed=first.date() if first is not None else None,
        )

    # ---- drive information -------------------------------------------------------------------

    def _status(self) -> bytes:
        core = self.core
        doc = core.document
        return build_answer(
            0x30,
            phase=core.state.phase,
            current_document=int(doc.kind.current) if doc is not None else 0,
            document_data=int(doc is not None and doc.has_data),
            shift_open=int(core.state.shift_open),
            warnings=core.warnings(),
            last_date_time=core.state.last_date_time,
            fn_number=self.config.fn_number,
            last_fd=core.state.last_fd,
        )

    def _validity(self) -> bytes:
        done = sum(1 for r in self.core.state.registrations if r.report_type != 0)
        return build_answer(
            0x32,
            valid_until=self.core.valid_until(),
            reregistrations_left=max(0, min(self.config.max_reregistrations - done, 0xFF)),
            reregistrations_done=min(done, 0xFF),
        )

    def _ffd_versions(self) -> bytes:
        reg = self.core.registration
        return build_answer(
            0x3A, ffd_current=reg.ffd_version if reg else 0, ffd_max=self.config.ffd_max
        )

    def _free_resource(self) -> bytes:
        core = self.core
        storage_left = max(0, self.config.ofd_storage_bytes - core.unconfirmed_bytes())
        return build_answer(
            0x3D,
            archive_docs_left=max(0, self.config.archive_capacity - len(core.state.archive)),
            ofd_storage_kib_left=storage_left // 1024,
            notifications_percent=self.marking._storage_percent(),
        )

    # ---- archive -------------------------------------------------------------------------------

    def _archived(self, fd: int) -> ArchivedDocument:
        doc = self.core.state.document(fd)
        if doc is None:
            raise CommandRefusedError(AnswerCode.NO_DATA, detail=f"no document {fd}")
        return doc

    def _find_document(self, fd: int) -> bytes:
        doc = self._archived(fd)
        return build_answer(
            0x40, document_type=doc.doc_type, ofd_receipt=int(doc.ack is not None), data=doc.record
        )

    def _document_receipt(self, fd: int) -> bytes:
        doc = self._archived(fd)
        if doc.ack is None:
            raise CommandRefusedError(AnswerCode.NO_DATA, detail=f"no OFD receipt for {fd}")
        return build_answer(0x41, date_time=doc.ack.date_time, ofd_fp=doc.ack.ofd_fp, fd=fd)

    def _registration_for(self, index: int | None) -> Registration:
        regs = self.core.state.registrations
        if index is None:
            if not regs:
                raise CommandRefusedError(AnswerCode.NO_DATA, detail="not registered")
            return regs[-1]
        if not 1 <= index <= len(regs):
            raise CommandRefusedError(AnswerCode.NO_DATA, detail=f"no registration {index}")
        return regs[index - 1]

    def _registration_totals(self, index: int | None) -> bytes:
        reg = self._registration_for(index)
        return build_answer(
            0x43,
            date_time=reg.date_time,
            inn=reg.inn,
            rnm=reg.rnm,
            tax_systems=reg.tax_systems,
            work_mode=reg.work_mode,
            reason=reg.reason,
            fd=reg.fd,
            fp=reg.fp,
        )

    def _registration_parameter(self, index: int | None, tag: int) -> bytes:
        reg = self._registration_for(index)
        parts = [raw for _, raw in split_tlvs(reg.fields)]
        if tag == _ENUMERATE_ALL:
            self._param_cursor = parts
            return b""
        for t, raw in split_tlvs(reg.fields):
            if t == tag:
                return raw
        raise CommandRefusedError(AnswerCode.NO_DATA, detail=f"no tag {tag}")

    def _document_tlv_begin(self, fd: int) -> bytes:
        doc = self._archived(fd)
        body = doc.stlv[4:]
        self._tlv_cursor = [raw for _, raw in split_tlvs(body)]
        return build_answer(0x45, document_tag=doc.doc_type, length=len(body))

    def _next_from(self, cursor_name: str) -> bytes:
        cursor: list[bytes] | None = getattr(self, cursor_name)
        if cursor is None:
            raise CommandRefusedError(AnswerCode.WRONG_STATE, detail="no reading started")
        if not cursor:
            setattr(self, cursor_name, None)
            raise CommandRefusedError(AnswerCode.NO_DATA, detail="end of the list")
        return cursor.pop(0)

    # ---- debug -----------------------------------------------------------------------------------

    def _reset(self) -> bytes:
        """60h (debug firmware): wipe everything back to «Готовность к фискализации»."""
        core = self.core
        core.state = fresh_state(self.config)
        core.state.phase = Phase.READY
        core.rebuild_indexes()
        self._reset_volatile()
        core.save()
        return b""


_HEAD: Final = struct.Struct("<BHB")  # MSG_START, LEN, CODE (§1.2)
_CRC: Final = struct.Struct("<H")


def pack_frame(code: int, data: bytes = b"") -> bytes:
    """The frame of `code` and `data`, byte for byte protocol.fn.frame.build_frame (the
    construct declaration, the spec and oracle: tests/simulator check one against the other)
    at a fraction of its cost — building every answer through construct was ~30 % of the
    simulator's CPU in the receipts bench (docs/benchmarks.md, issue 8).

    :raises FrameFormatError: `code` is outside 0..255 or `data` is longer than MAX_DATA.
    """
    if not 0 <= code <= 0xFF:
        raise FrameFormatError(f"code {code} outside 0..255")
    n = len(data)
    if n > MAX_DATA:
        raise FrameFormatError(f"data of {n} bytes exceeds {MAX_DATA}")
    head = _HEAD.pack(MSG_START, n + 1, code)
    return head + data + _CRC.pack(crc16_ccitt_false(head[1:] + data))
