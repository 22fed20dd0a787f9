"""What a drive keeps across power cuts, and the file it lives in.

Only completed work is persistent: documents in the archive, registrations, counters,
OFD receipts, queued notifications. The document being formed, an OFD message being read
and the last answer (ENQ) are volatile and live in the model: "Формирование документа
необходимо проводить в едином цикле, без выключения питания" (reference §1.8) — a power
cut loses the open document, as on a real drive.

The file is a journal: a snapshot of the whole state (JSON) as its first line, then one
line per save with what changed (the new documents, OFD receipts, registrations,
notifications and the counters), each line `crc32 json\n`, appended and fsynced before the
drive answers. A crash mid-append leaves a torn last line, which the next load drops (and
cuts off the file): every completed document is there, nothing half-written is. When the
appended lines outgrow the snapshot (at least `compact_bytes`), the file is compacted: a
new snapshot written atomically (temporary file, fsync, rename, fsync of the directory).
Before (issue 8's third pass) the whole archive was rewritten that way on every document,
2 fsyncs and O(archive) bytes each; a file in that format (one JSON object) still loads
and becomes a snapshot at the next save.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import zlib
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from simulator.fn.errors import StateFileError

__all__ = [
    "STATE_FORMAT",
    "ArchivedDocument",
    "DriveState",
    "Notification",
    "OfdAck",
    "Registration",
    "StateStore",
    "decode_state",
    "encode_state",
]

STATE_FORMAT: Final = "oblako-fn-simulator-state"
_VERSION: Final = 1


@dataclass
class OfdAck:
    """The OFD's receipt (document 7) for one document, as accepted by 26h."""

    date_time: dt.datetime  # the receipt's 1012, drive-local minute (41h)
    ofd_fp: bytes  # ФПО, 18 bytes (41h)
    answer_code: int  # 1022 of the receipt's 1068


@dataclass
class ArchivedDocument:
    """One fiscal document in the archive: its bytes and what 40h/41h/45h report."""

    fd: int
    doc_type: int  # DocumentType = the STLV tag (§2.2)
    date_time: dt.datetime  # naive drive-local time of 1012
    fp: int
    stlv: bytes  # the whole document STLV, 1077 included
    record: bytes  # the 40h archive record (§1.6a)
    queued: bool  # sent to the OFD (False in autonomous mode)
    ack: OfdAck | None = None

    @property
    def unconfirmed(self) -> bool:
        """Queued for the OFD and no receipt yet."""
        return self.queued and self.ack is None


@dataclass
class Registration:
    """One registration or re-registration report (43h, 44h, 47h read these)."""

    fd: int
    fp: int
    date_time: dt.datetime
    report_type: int  # RegistrationType 0/1/2
    ffd_version: int  # FfdVersion (2 after 02h/03h)
    inn: str  # 12 characters with padding, as 03h gave it
    rnm: str  # 20 characters with padding
    tax_systems: int
    work_mode: int
    extended_mode: int = 0
    ofd_inn: str = ""
    reason: int | None = None  # 03h reason byte (re-registration without FN replacement)
    reason_codes: int = 0  # A3h tag 1205
    fields: bytes = b""  # the report's top-level TLVs


@dataclass
class Notification:
    """A sale notification for the marking system (document 82, FN-1.2) [2nd]."""

    number: int
    date_time: dt.datetime
    stlv: bytes
    acked: bool = False


@dataclass
class DriveState:
    """The persistent state of one drive."""

    fn_number: str
    phase: int
    last_fd: int = 0
    last_date_time: dt.datetime | None = None
    shift_open: bool = False
    shift_number: int = 0
    receipt_number: int = 0  # last receipt number in the current/last shift (10h)
    shift_opened_at: dt.datetime | None = None
    shift_documents: int = 0  # tag 1111
    shift_receipts: int = 0  # tag 1118
    expires_on: dt.date | None = None
    registrations: list[Registration] = field(default_factory=list)
    archive: list[ArchivedDocument] = field(default_factory=list)
    notifications: list[Notification] = field(default_factory=list)
    notification_number: int = 0
    marking_request_number: int = 0

    def document(self, fd: int) -> ArchivedDocument | None:
        """The archived document number ``fd`` (FD numbers run 1, 2, 3 … without gaps)."""
        if 1 <= fd <= len(self.archive):
            return self.archive[fd - 1]
        return None


# ---- JSON --------------------------------------------------------------------------------


def _dt(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _parse_dt(value: Any) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value is not None else None


def _req_dt(value: Any) -> dt.datetime:
    return dt.datetime.fromisoformat(value)


def _head_json(state: DriveState) -> dict[str, Any]:
    return {
        "fn_number": state.fn_number,
        "phase": state.phase,
        "last_fd": state.last_fd,
        "last_date_time": _dt(state.last_date_time),
        "shift_open": state.shift_open,
        "shift_number": state.shift_number,
        "receipt_number": state.receipt_number,
        "shift_opened_at": _dt(state.shift_opened_at),
        "shift_documents": state.shift_documents,
        "shift_receipts": state.shift_receipts,
        "expires_on": state.expires_on.isoformat() if state.expires_on else None,
        "notification_number": state.notification_number,
        "marking_request_number": state.marking_request_number,
    }


def _registration_json(r: Registration) -> dict[str, Any]:
    return {
        "fd": r.fd,
        "fp": r.fp,
        "date_time": r.date_time.isoformat(),
        "report_type": r.report_type,
        "ffd_version": r.ffd_version,
        "inn": r.inn,
        "rnm": r.rnm,
        "tax_systems": r.tax_systems,
        "work_mode": r.work_mode,
        "extended_mode": r.extended_mode,
        "ofd_inn": r.ofd_inn,
        "reason": r.reason,
        "reason_codes": r.reason_codes,
        "fields": r.fields.hex(),
    }


def _ack_json(a: OfdAck) -> dict[str, Any]:
    return {
        "date_time": a.date_time.isoformat(),
        "ofd_fp": a.ofd_fp.hex(),
        "answer_code": a.answer_code,
    }


def _document_json(d: ArchivedDocument) -> dict[str, Any]:
    return {
        "fd": d.fd,
        "doc_type": d.doc_type,
        "date_time": d.date_time.isoformat(),
        "fp": d.fp,
        "stlv": d.stlv.hex(),
        "record": d.record.hex(),
        "queued": d.queued,
        "ack": None if d.ack is None else _ack_json(d.ack),
    }


def _notification_json(n: Notification) -> dict[str, Any]:
    return {
        "number": n.number,
        "date_time": n.date_time.isoformat(),
        "stlv": n.stlv.hex(),
        "acked": n.acked,
    }


def _to_json(state: DriveState) -> dict[str, Any]:
    return {
        "format": STATE_FORMAT,
        "version": _VERSION,
        **_head_json(state),
        "registrations": [_registration_json(r) for r in state.registrations],
        "archive": [_document_json(d) for d in state.archive],
        "notifications": [_notification_json(n) for n in state.notifications],
    }


def _apply_head(state: DriveState, h: Any) -> None:
    expires = h["expires_on"]
    state.fn_number = str(h["fn_number"])
    state.phase = int(h["phase"])
    state.last_fd = int(h["last_fd"])
    state.last_date_time = _parse_dt(h["last_date_time"])
    state.shift_open = bool(h["shift_open"])
    state.shift_number = int(h["shift_number"])
    state.receipt_number = int(h["receipt_number"])
    state.shift_opened_at = _parse_dt(h["shift_opened_at"])
    state.shift_documents = int(h["shift_documents"])
    state.shift_receipts = int(h["shift_receipts"])
    state.expires_on = dt.date.fromisoformat(expires) if expires else None
    state.notification_number = int(h["notification_number"])
    state.marking_request_number = int(h["marking_request_number"])


def _registration(r: Any) -> Registration:
    return Registration(
        fd=int(r["fd"]),
        fp=int(r["fp"]),
        date_time=_req_dt(r["date_time"]),
        report_type=int(r["report_type"]),
        ffd_version=int(r["ffd_version"]),
        inn=str(r["inn"]),
        rnm=str(r["rnm"]),
        tax_systems=int(r["tax_systems"]),
        work_mode=int(r["work_mode"]),
        extended_mode=int(r["extended_mode"]),
        ofd_inn=str(r["ofd_inn"]),
        reason=None if r["reason"] is None else int(r["reason"]),
        reason_codes=int(r["reason_codes"]),
        fields=bytes.fromhex(r["fields"]),
    )


def _ack(a: Any) -> OfdAck:
    return OfdAck(
        date_time=_req_dt(a["date_time"]),
        ofd_fp=bytes.fromhex(a["ofd_fp"]),
        answer_code=int(a["answer_code"]),
    )


def _document(d: Any) -> ArchivedDocument:
    ack = d["ack"]
    return ArchivedDocument(
        fd=int(d["fd"]),
        doc_type=int(d["doc_type"]),
        date_time=_req_dt(d["date_time"]),
        fp=int(d["fp"]),
        stlv=bytes.fromhex(d["stlv"]),
        record=bytes.fromhex(d["record"]),
        queued=bool(d["queued"]),
        ack=None if ack is None else _ack(ack),
    )


def _notification(n: Any) -> Notification:
    return Notification(
        number=int(n["number"]),
        date_time=_req_dt(n["date_time"]),
        stlv=bytes.fromhex(n["stlv"]),
        acked=bool(n["acked"]),
    )


def _check(state: DriveState) -> None:
    # FD numbers run without gaps (DESIGN.md decision 3): the archive must say so too.
    if [d.fd for d in state.archive] != list(range(1, len(state.archive) + 1)):
        raise StateFileError("archive FD numbers are not 1..N without gaps")
    if state.last_fd != len(state.archive):
        raise StateFileError(f"last FD {state.last_fd} but {len(state.archive)} documents")


def _from_json(obj: Any) -> DriveState:
    if not isinstance(obj, dict) or obj.get("format") != STATE_FORMAT:
        raise StateFileError("not a drive simulator state file")
    if obj.get("version") != _VERSION:
        raise StateFileError(f"unsupported state file version {obj.get('version')!r}")
    state = DriveState(fn_number="", phase=0)
    _apply_head(state, obj)
    state.registrations.extend(_registration(r) for r in obj["registrations"])
    state.archive.extend(_document(d) for d in obj["archive"])
    state.notifications.extend(_notification(n) for n in obj["notifications"])
    _check(state)
    return state


def encode_state(state: DriveState) -> bytes:
    """The state as the bytes of a state file."""
    return json.dumps(_to_json(state), ensure_ascii=False, separators=(",", ":")).encode()


def decode_state(raw: bytes) -> DriveState:
    """Parse state-file bytes.

    :raises StateFileError: not JSON, not a state file, or inconsistent.
    """
    try:
        return _from_json(json.loads(raw))
    except StateFileError:
        raise
    except (ValueError, KeyError, TypeError) as exc:
        raise StateFileError(f"corrupt state file: {exc!r}") from exc


def _line(obj: dict[str, Any]) -> bytes:
    payload = json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()
    return b"%08x " % zlib.crc32(payload) + payload + b"\n"


def _parse_line(raw: bytes, pos: int) -> tuple[Any, int] | None:
    """The JSON of the whole, intact line at ``pos`` and the next position; None when the
    line is torn (no newline), its CRC disagrees or its JSON does not parse."""
    end = raw.find(b"\n", pos)
    if end < 0 or end - pos < 10 or raw[pos + 8 : pos + 9] != b" ":
        return None
    payload = raw[pos + 9 : end]
    try:
        if int(raw[pos : pos + 8], 16) != zlib.crc32(payload):
            return None
        return json.loads(payload), end + 1
    except ValueError:
        return None


def _apply(state: DriveState, rec: Any) -> None:
    # One journal line onto the state (see StateStore._record for its keys).
    _apply_head(state, rec["h"])
    for d in rec.get("a", ()):
        doc = _document(d)
        if doc.fd != len(state.archive) + 1:
            raise StateFileError(f"journal: document {doc.fd} after {len(state.archive)}")
        state.archive.append(doc)
    for fd, a in rec.get("k", ()):
        acked = state.document(int(fd))
        if acked is None:
            raise StateFileError(f"journal: OFD receipt of a missing document {fd}")
        acked.ack = _ack(a)
    state.registrations.extend(_registration(r) for r in rec.get("r", ()))
    state.notifications.extend(_notification(n) for n in rec.get("n", ()))
    for i in rec.get("nk", ()):
        state.notifications[int(i)].acked = True


class StateStore:
    """The state file of one drive: a snapshot and the journal appended after it.

    ``durable=False`` skips the fsyncs (for throw-away simulations on slow disks).
    ``compact_bytes``: the journal is folded into a new snapshot once it is longer than
    the snapshot and than this. Attributes: ``saves``, ``appends``, ``compactions``,
    ``torn`` (bytes of a torn tail dropped at the last load).
    """

    def __init__(
        self, path: str | os.PathLike[str], *, durable: bool = True, compact_bytes: int = 1 << 18
    ) -> None:
        """Use the file at ``path`` (created on the first save)."""
        self.path = Path(path)
        self.durable = durable
        self.compact_bytes = compact_bytes
        self.saves = 0
        self.appends = 0
        self.compactions = 0
        self.torn = 0
        self._state: DriveState | None = None  # the object the file describes
        self._snapshot = 0  # bytes of the snapshot line
        self._journal = 0  # bytes appended after it
        self._head: dict[str, Any] = {}
        self._docs = 0
        # FDs written queued without an OFD receipt, oldest first: the drive confirms in that
        # order (26h answers the message 22h read, the oldest unconfirmed), so each save
        # looks at the front only, not at every unsent document of a long OFD outage
        self._unacked: deque[int] = deque()
        self._regs = 0
        self._notes = 0
        self._notes_unacked: deque[int] = deque()  # likewise, notifications (BFh, in order)

    def load(self) -> DriveState | None:
        """The saved state, or None when there is no file yet. A torn last line (a crash
        mid-append) is dropped and cut off the file.

        :raises StateFileError: the file exists but cannot be read or is corrupt.
        """
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StateFileError(f"cannot read {self.path}: {exc}") from exc
        if raw[:1] == b"{":  # the format before the journal: one JSON object
            state = decode_state(raw)
            self._track(state, 0, 0)
            self._state = None  # the next save writes a snapshot
            return state
        first = _parse_line(raw, 0)
        if first is None:
            raise StateFileError("corrupt state file: the snapshot line")
        try:
            state = _from_json(first[0])
            pos = first[1]
            while pos < len(raw):
                line = _parse_line(raw, pos)
                if line is None:
                    break  # a torn tail: what follows was never acknowledged
                _apply(state, line[0])
                pos = line[1]
            _check(state)
        except StateFileError:
            raise
        except (ValueError, KeyError, TypeError, IndexError) as exc:
            raise StateFileError(f"corrupt state file: {exc!r}") from exc
        self.torn = len(raw) - pos
        if self.torn:
            try:
                os.truncate(self.path, pos)
            except OSError as exc:
                raise StateFileError(f"cannot cut the torn tail of {self.path}: {exc}") from exc
        self._track(state, first[1], pos - first[1])
        return state

    def save(self, state: DriveState) -> None:
        """Append what changed since the last save (fsync), or write a new snapshot when the
        journal has grown past it or ``state`` is not the one the file describes.

        :raises StateFileError: the file cannot be written.
        """
        self.saves += 1
        if (
            state is not self._state
            or len(state.archive) < self._docs
            or len(state.registrations) < self._regs
            or len(state.notifications) < self._notes
        ):
            self._compact(state)
            return
        rec = self._record(state)
        if rec is None:
            return  # nothing changed: the file holds it already
        line = _line(rec)
        if self._journal + len(line) > max(self._snapshot, self.compact_bytes):
            self._compact(state)
            return
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)
            try:
                view = memoryview(line)
                while view:
                    view = view[os.write(fd, view) :]
                if self.durable:
                    os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            self._state = None  # what reached the file is unknown: a snapshot next time
            raise StateFileError(f"cannot write {self.path}: {exc}") from exc
        self.appends += 1
        self._journal += len(line)
        self._track(state, self._snapshot, self._journal)

    def _record(self, state: DriveState) -> dict[str, Any] | None:
        # h: the counters and flags (always); a: new documents; k: [fd, OFD receipt];
        # r: new registrations; n: new notifications; nk: indexes of notifications acked.
        head = _head_json(state)
        rec: dict[str, Any] = {"h": head}
        if len(state.archive) > self._docs:
            rec["a"] = [_document_json(d) for d in state.archive[self._docs :]]
        acks = []
        for fd in self._unacked:
            ack = state.archive[fd - 1].ack
            if ack is None:
                break
            acks.append([fd, _ack_json(ack)])
        if acks:
            rec["k"] = acks
        if len(state.registrations) > self._regs:
            rec["r"] = [_registration_json(r) for r in state.registrations[self._regs :]]
        if len(state.notifications) > self._notes:
            rec["n"] = [_notification_json(n) for n in state.notifications[self._notes :]]
        acked = []
        for i in self._notes_unacked:
            if not state.notifications[i].acked:
                break
            acked.append(i)
        if acked:
            rec["nk"] = acked
        if len(rec) == 1 and head == self._head:
            return None
        return rec

    def _track(self, state: DriveState, snapshot: int, journal: int) -> None:
        # What the file now says of ``state``, so the next save appends only the change.
        if state is not self._state or len(state.archive) < self._docs:
            self._docs = 0
            self._unacked = deque()
            self._notes = 0
            self._notes_unacked = deque()
        unacked = self._unacked
        while unacked and state.archive[unacked[0] - 1].ack is not None:
            unacked.popleft()
        unacked.extend(d.fd for d in state.archive[self._docs :] if d.unconfirmed)
        notes = self._notes_unacked
        while notes and state.notifications[notes[0]].acked:
            notes.popleft()
        notes.extend(
            i
            for i in range(self._notes, len(state.notifications))
            if not state.notifications[i].acked
        )
        self._state = state
        self._snapshot = snapshot
        self._journal = journal
        self._head = _head_json(state)
        self._docs = len(state.archive)
        self._regs = len(state.registrations)
        self._notes = len(state.notifications)

    def _compact(self, state: DriveState) -> None:
        """Replace the file with a snapshot of ``state``: temp file, fsync, rename, fsync
        of the directory."""
        data = _line(_to_json(state))
        tmp = self.path.with_name(self.path.name + ".tmp")
        try:
            with open(tmp, "wb") as fh:
                fh.write(data)
                fh.flush()
                if self.durable:
                    os.fsync(fh.fileno())
            os.replace(tmp, self.path)
            if self.durable:
                dir_fd = os.open(self.path.parent, os.O_RDONLY)
                try:
                    os.fsync(dir_fd)
                finally:
                    os.close(dir_fd)
        except OSError as exc:
            self._state = None
            raise StateFileError(f"cannot write {self.path}: {exc}") from exc
        self.compactions += 1
        self._state = None  # a snapshot: everything tracked afresh
        self._track(state, len(data), 0)
