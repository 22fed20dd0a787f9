"""The drive's shared core: state, timer, time rules, resources, warnings, the archive.

`DriveModel` (commands), `OfdExchange` (20h–26h) and `MarkingUnit` (B0h–BFh) all work
on one `DriveCore`. Nothing here does I/O except `save` (the state file).
"""

from __future__ import annotations

import datetime as dt
from collections import deque
from dataclasses import dataclass, field
from typing import Final

from protocol import fiscalsign
from protocol.fn.codes import AnswerCode, Phase, WarningFlag, WorkMode
from simulator.clock import Clock
from simulator.fn.config import DriveConfig
from simulator.fn.documents import DocKind
from simulator.fn.errors import CommandRefusedError, StateFileError
from simulator.fn.state import ArchivedDocument, DriveState, Registration, StateStore

__all__ = ["DriveCore", "Keys", "OpenDocument", "fresh_state"]

# Places kept free in the archive for the documents that end a life (§1.8 [rec]):
# closing the shift needs one, closing the fiscal mode needs the last.
_RESERVED_FOR_CLOSING: Final = 2
_MEMORY_WARNING_SHARE: Final = 0.9  # §1.5 table 9 [V]: "Архив ФН заполнен на 90 %"
_URGENT_DAYS: Final = 3  # §1.5 table 9 [V]
_EXHAUSTION_DAYS: Final = 30  # §1.5 table 9 [V]
_BLOCKED_BY_OFD: Final = frozenset({"open_shift", "receipt", "bso", "correction", "correction_bso"})
_CLOSING: Final = frozenset({"close_shift", "close_fn"})


@dataclass(frozen=True)
class Keys:
    """Per-drive keys derived from the configured secrets (protocol.fiscalsign)."""

    fp: bytes  # document sign ФП
    ofd: bytes  # the OFD's receipts ФПО (shared with the OFD)
    msg: bytes  # message sign in the container trailer

    @classmethod
    def derive(cls, config: DriveConfig) -> Keys:
        """Derive the three keys of ``config``'s drive."""
        algo = config.sign_algorithm
        return cls(
            fp=fiscalsign.derive_key(config.fp_secret, config.fn_number, "fp", algo),
            ofd=fiscalsign.derive_key(config.ofd_secret, config.fn_number, "ofd", algo),
            msg=fiscalsign.derive_key(config.fp_secret, config.fn_number, "msg", algo),
        )


@dataclass
class OpenDocument:
    """The document being formed: volatile, lost on a power cut (§1.8)."""

    kind: DocKind
    refused_tags: frozenset[int]
    begun_at: dt.datetime | None = None
    data: bytearray = field(default_factory=bytearray)
    has_data: bool = False
    registration_type: int = 0
    ffd_version: int = 2
    extended: bool = False  # opened by A2h (finished by A3h), not 02h (03h)
    marked: bytearray = field(default_factory=bytearray)  # B7h TLVs (marked goods)


def fresh_state(config: DriveConfig) -> DriveState:
    """The state of a drive as it leaves the factory."""
    return DriveState(fn_number=config.fn_number, phase=int(config.initial_phase))


class DriveCore:
    """State and rules shared by every command group of one drive."""

    def __init__(self, config: DriveConfig, clock: Clock, store: StateStore | None) -> None:
        """Set up a powered-off core; `load` brings the state in."""
        self.config = config
        self.clock = clock
        self.store = store
        self.keys = Keys.derive(config)
        self.state = fresh_state(config)
        self.document: OpenDocument | None = None
        self.recent_errors: deque[int] = deque(maxlen=16)
        self._unconfirmed: deque[int] = deque()
        self._anchor: tuple[dt.datetime, float] | None = None

    # ---- persistence -------------------------------------------------------------------

    def load(self) -> None:
        """Read the state file (if any) and rebuild the derived indexes.

        :raises StateFileError: unreadable file, or a file of another drive.
        """
        if self.store is not None:
            saved = self.store.load()
            if saved is not None:
                if saved.fn_number != self.config.fn_number:
                    raise StateFileError(
                        f"state file belongs to drive {saved.fn_number}, "
                        f"not {self.config.fn_number}"
                    )
                self.state = saved
        self.rebuild_indexes()

    def rebuild_indexes(self) -> None:
        """Recompute what is derived from the state (the OFD queue)."""
        self._unconfirmed = deque(d.fd for d in self.state.archive if d.unconfirmed)

    def save(self) -> None:
        """Write the state file (atomic); without a store the state stays in memory."""
        if self.store is not None:
            self.store.save(self.state)

    def forget_volatile(self) -> None:
        """Drop what a power cut loses: the open document and the timer anchor."""
        self.document = None
        self._anchor = None
        if self.config.time_anchor == "clock":
            self._anchor = (self._clock_local(), self.clock.monotonic())

    # ---- time ----------------------------------------------------------------------------

    def _clock_local(self) -> dt.datetime:
        utc = dt.datetime.fromtimestamp(self.clock.wall(), dt.UTC)
        return (utc + self.config.utc_offset).replace(tzinfo=None)

    def now(self) -> dt.datetime:
        """The drive's local time: its timer (clock.monotonic) from the last anchor."""
        if self._anchor is None:
            return self._clock_local()
        when, mono = self._anchor
        return when + dt.timedelta(seconds=self.clock.monotonic() - mono)

    def accept_time(self, when: dt.datetime) -> None:
        """Re-anchor the timer on a time the drive accepted (§1.8: checks run per step)."""
        self._anchor = (when, self.clock.monotonic())

    def check_time(
        self,
        when: dt.datetime,
        *,
        not_before: dt.datetime | None = None,
        shift_bound: bool = False,
    ) -> None:
        """Apply the time rules of §1.8 [V] to a DATE_TIME from the register.

        07h: earlier than the last document (or ``not_before``); 17h: differs from the
        drive's timer by more than 5 min; 16h (``shift_bound``): more than 24 h after
        the shift was opened.
        """
        floor = self.state.last_date_time
        if not_before is not None and (floor is None or not_before > floor):
            floor = not_before
        if floor is not None and when < floor:
            raise CommandRefusedError(AnswerCode.BAD_DATE_TIME, detail=f"{when} before {floor}")
        if self._anchor is not None and abs(when - self.now()) > self.config.max_time_drift:
            raise CommandRefusedError(
                AnswerCode.BAD_TIME_DELTA, detail=f"{when} vs drive timer {self.now()}"
            )
        opened = self.state.shift_opened_at
        shift_on = shift_bound and self.state.shift_open and opened is not None
        if shift_on and opened is not None and when > opened + self.config.max_shift:
            raise CommandRefusedError(AnswerCode.SHIFT_OVER_24H)

    # ---- lifetime and resources ----------------------------------------------------------

    def valid_until(self) -> dt.date:
        """Last day of validity (32h)."""
        if self.config.expires_on is not None:
            return self.config.expires_on
        if self.state.expires_on is not None:
            return self.state.expires_on
        return self.now().date() + dt.timedelta(days=self.config.lifetime_days)

    def days_left(self, today: dt.date) -> int:
        """Whole days of validity left on ``today`` (0 once expired)."""
        return max(0, (self.valid_until() - today).days)

    def expired(self) -> bool:
        """True once the drive's date is past its validity (05h)."""
        return self.now().date() > self.valid_until()

    def check_resources(self, kind: str) -> None:
        """Refuse to open a document of ``kind`` when a resource is exhausted.

        05h expired (closing documents still allowed), 06h archive full (places kept
        for closing), 15h oldest unconfirmed document older than 30 days (receipts and
        shifts only, transfer mode only), 14h OFD storage full.
        """
        closing = kind in _CLOSING
        if self.expired() and not closing:
            raise CommandRefusedError(AnswerCode.FN_EXPIRED)
        count = len(self.state.archive)
        room = self.config.archive_capacity - count
        needed = 1 if kind == "close_fn" else (2 if kind == "close_shift" else 1)
        if room < needed or (not closing and room <= _RESERVED_FOR_CLOSING):
            raise CommandRefusedError(AnswerCode.ARCHIVE_FULL)
        if self.autonomous:
            return
        oldest = self.oldest_unconfirmed()
        overdue = oldest is not None and self.now() - oldest.date_time > self.config.ofd_block
        if kind in _BLOCKED_BY_OFD and overdue:
            raise CommandRefusedError(AnswerCode.OFD_WAIT_EXHAUSTED)
        if not closing and self.unconfirmed_bytes() >= self.config.ofd_storage_bytes:
            raise CommandRefusedError(AnswerCode.STORAGE_EXHAUSTED)

    def warnings(self) -> int:
        """Warning flags of status byte 4 (§1.5 table 9), also bit 7 of every answer."""
        flags = 0
        if self.state.phase == Phase.FISCAL:
            left = self.days_left(self.now().date())
            if left <= _EXHAUSTION_DAYS:
                flags |= WarningFlag.RESOURCE_EXHAUSTION
            if left <= _URGENT_DAYS:
                flags |= WarningFlag.URGENT_REPLACEMENT
        if len(self.state.archive) >= _MEMORY_WARNING_SHARE * self.config.archive_capacity:
            flags |= WarningFlag.MEMORY_FULL
        oldest = self.oldest_unconfirmed()
        if oldest is not None and self.now() - oldest.date_time > self.config.ofd_warning:
            flags |= WarningFlag.OFD_TIMEOUT
        return int(flags)

    # ---- registration facts --------------------------------------------------------------

    @property
    def registration(self) -> Registration | None:
        """The registration in force (the last report), if any."""
        return self.state.registrations[-1] if self.state.registrations else None

    @property
    def autonomous(self) -> bool:
        """Registered in autonomous mode: documents are not sent to the OFD (§1.9)."""
        reg = self.registration
        return reg is not None and bool(reg.work_mode & WorkMode.AUTONOMOUS)

    def require_phase(self, *phases: Phase) -> None:
        """Refuse with 02h unless the drive is in one of ``phases`` (§1.5 table 6)."""
        if self.state.phase not in phases:
            raise CommandRefusedError(AnswerCode.WRONG_STATE, detail=f"phase {self.state.phase}")

    def require_no_document(self) -> None:
        """Refuse with 02h while a document is being formed."""
        if self.document is not None:
            raise CommandRefusedError(AnswerCode.WRONG_STATE, detail="a document is open")

    # ---- the archive and the OFD queue ---------------------------------------------------

    def oldest_unconfirmed(self) -> ArchivedDocument | None:
        """The oldest document still waiting for an OFD receipt."""
        return self.state.document(self._unconfirmed[0]) if self._unconfirmed else None

    def unconfirmed_count(self) -> int:
        """Documents waiting for an OFD receipt."""
        return len(self._unconfirmed)

    def unconfirmed_bytes(self) -> int:
        """Bytes of documents waiting for an OFD receipt (14h, 3Dh)."""
        total = 0
        for fd in self._unconfirmed:
            doc = self.state.document(fd)
            if doc is not None:
                total += len(doc.stlv)
        return total

    def confirm_oldest(self) -> None:
        """Drop the oldest document from the OFD queue (its receipt was accepted)."""
        if self._unconfirmed:
            self._unconfirmed.popleft()
        self.finish_post_fiscal()

    def finish_post_fiscal(self) -> None:
        """Post-fiscal mode ends when the OFD has confirmed everything (§1.5 bit 3)."""
        if self.state.phase == Phase.POST_FISCAL and not self._unconfirmed:
            self.state.phase = Phase.ARCHIVE

    def commit_document(
        self,
        doc_type: int,
        date_time: dt.datetime,
        stlv: bytes,
        fp: int,
        record: bytes,
        *,
        queued: bool,
    ) -> ArchivedDocument:
        """Append a made document to the archive and, if ``queued``, the OFD queue.

        The caller saves the state once its own changes are done.
        """
        doc = ArchivedDocument(
            fd=self.state.last_fd + 1,
            doc_type=doc_type,
            date_time=date_time,
            fp=fp,
            stlv=stlv,
            record=record,
            queued=queued,
        )
        self.state.archive.append(doc)
        self.state.last_fd = doc.fd
        self.state.last_date_time = date_time
        if self.state.shift_open:
            self.state.shift_documents += 1
        if queued:
            self._unconfirmed.append(doc.fd)
        return doc
