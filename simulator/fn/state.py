"""What a drive keeps across power cuts, and the file it lives in.

Only completed work is persistent: documents in the archive, registrations, counters,
OFD receipts, queued notifications. The document being formed, an OFD message being read
and the last answer (ENQ) are volatile and live in the model: "Формирование документа
необходимо проводить в едином цикле, без выключения питания" (reference §1.8) — a power
cut loses the open document, as on a real drive.

The file is JSON, written atomically (temporary file, fsync, rename, fsync of the
directory), so after a crash at any moment it holds either the state before or the state
after the last completed document, never a mixture.
"""

from __future__ import annotations

import datetime as dt
import json
import os
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


def _to_json(state: DriveState) -> dict[str, Any]:
    return {
        "format": STATE_FORMAT,
        "version": _VERSION,
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
        "registrations": [
            {
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
            for r in state.registrations
        ],
        "archive": [
            {
                "fd": d.fd,
                "doc_type": d.doc_type,
                "date_time": d.date_time.isoformat(),
                "fp": d.fp,
                "stlv": d.stlv.hex(),
                "record": d.record.hex(),
                "queued": d.queued,
                "ack": None
                if d.ack is None
                else {
                    "date_time": d.ack.date_time.isoformat(),
                    "ofd_fp": d.ack.ofd_fp.hex(),
                    "answer_code": d.ack.answer_code,
                },
            }
            for d in state.archive
        ],
        "notifications": [
            {
                "number": n.number,
                "date_time": n.date_time.isoformat(),
                "stlv": n.stlv.hex(),
                "acked": n.acked,
            }
            for n in state.notifications
        ],
    }


def _from_json(obj: Any) -> DriveState:
    if not isinstance(obj, dict) or obj.get("format") != STATE_FORMAT:
        raise StateFileError("not a drive simulator state file")
    if obj.get("version") != _VERSION:
        raise StateFileError(f"unsupported state file version {obj.get('version')!r}")
    expires = obj["expires_on"]
    state = DriveState(
        fn_number=str(obj["fn_number"]),
        phase=int(obj["phase"]),
        last_fd=int(obj["last_fd"]),
        last_date_time=_parse_dt(obj["last_date_time"]),
        shift_open=bool(obj["shift_open"]),
        shift_number=int(obj["shift_number"]),
        receipt_number=int(obj["receipt_number"]),
        shift_opened_at=_parse_dt(obj["shift_opened_at"]),
        shift_documents=int(obj["shift_documents"]),
        shift_receipts=int(obj["shift_receipts"]),
        expires_on=dt.date.fromisoformat(expires) if expires else None,
        notification_number=int(obj["notification_number"]),
        marking_request_number=int(obj["marking_request_number"]),
    )
    for r in obj["registrations"]:
        state.registrations.append(
            Registration(
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
        )
    for d in obj["archive"]:
        ack = d["ack"]
        state.archive.append(
            ArchivedDocument(
                fd=int(d["fd"]),
                doc_type=int(d["doc_type"]),
                date_time=_req_dt(d["date_time"]),
                fp=int(d["fp"]),
                stlv=bytes.fromhex(d["stlv"]),
                record=bytes.fromhex(d["record"]),
                queued=bool(d["queued"]),
                ack=None
                if ack is None
                else OfdAck(
                    date_time=_req_dt(ack["date_time"]),
                    ofd_fp=bytes.fromhex(ack["ofd_fp"]),
                    answer_code=int(ack["answer_code"]),
                ),
            )
        )
    for n in obj["notifications"]:
        state.notifications.append(
            Notification(
                number=int(n["number"]),
                date_time=_req_dt(n["date_time"]),
                stlv=bytes.fromhex(n["stlv"]),
                acked=bool(n["acked"]),
            )
        )
    # FD numbers run without gaps (DESIGN.md decision 3): the archive must say so too.
    if [d.fd for d in state.archive] != list(range(1, len(state.archive) + 1)):
        raise StateFileError("archive FD numbers are not 1..N without gaps")
    if state.last_fd != len(state.archive):
        raise StateFileError(f"last FD {state.last_fd} but {len(state.archive)} documents")
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


class StateStore:
    """The state file of one drive: atomic replace on every save.

    ``durable=False`` skips the fsyncs (for throw-away simulations on slow disks); the
    rename is still atomic against a crash of the process, not of the machine.
    """

    def __init__(self, path: str | os.PathLike[str], *, durable: bool = True) -> None:
        """Use the file at ``path`` (created on the first save)."""
        self.path = Path(path)
        self.durable = durable
        self.saves = 0

    def load(self) -> DriveState | None:
        """The saved state, or None when there is no file yet.

        :raises StateFileError: the file exists but cannot be read or is corrupt.
        """
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StateFileError(f"cannot read {self.path}: {exc}") from exc
        return decode_state(raw)

    def save(self, state: DriveState) -> None:
        """Replace the file with ``state``: temp file, fsync, rename, fsync directory.

        :raises StateFileError: the file cannot be written.
        """
        data = encode_state(state)
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
            raise StateFileError(f"cannot write {self.path}: {exc}") from exc
        self.saves += 1
