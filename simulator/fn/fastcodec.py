"""The drive simulator's struct path for the hot requests and answers.

Every command the simulator serves went through protocol/fn/commands.py's construct
declarations both ways: the request parsed into a Container, the answer built from values
(~0.55 ms a receipt of the register hop's ~11 commands, docs/benchmarks.md). The
declarations stay the spec and the oracle: this module handles only the commands a receipt
and its OFD exchange use, with fixed layouts, and gives anything irregular (a length that
does not fit, a value a field cannot hold, a date that is not one) to construct, so refusals
are construct's own. tests/simulator/test_fastcodec.py compares both on random and mutated
inputs (hypothesis).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from struct import Struct
from typing import Any, Final

from construct import Container

from protocol.fn import commands
from protocol.fn.codes import CommandCode
from protocol.fn.fields import YEAR_BASE, YEAR_MAX

__all__ = ["build_answer", "parse_request"]

_U16: Final = Struct("<H")
_U32: Final = Struct("<I")
_OFFSET_LENGTH: Final = Struct("<HH")
_RECEIPT_ANS: Final = Struct("<HII")
_SHIFT_ANS: Final = Struct("<HII")
_FD_FP: Final = Struct("<II")
_STATUS_HEAD: Final = Struct("<5B")
_EXCHANGE_HEAD: Final = Struct("<BBHI")


def _date_time(raw: bytes) -> dt.datetime | None:
    # None: not a calendar minute, construct's adapter raises the refusal
    try:
        return dt.datetime(YEAR_BASE + raw[0], raw[1], raw[2], raw[3], raw[4])
    except ValueError:
        return None


def _no_data(data: bytes) -> Container | None:
    return Container() if not data else None


def _at_time(data: bytes) -> Container | None:
    if len(data) != 5:
        return None
    when = _date_time(data)
    return None if when is None else Container(date_time=when)


def _tlv(data: bytes) -> Container:
    return Container(tlv=data)


def _receipt_make(data: bytes) -> Container | None:
    if len(data) != 11:
        return None
    when = _date_time(data)
    if when is None:
        return None
    total = int.from_bytes(data[6:11], "little")
    return Container(date_time=when, operation=data[5], total_kop=total)


def _transport(data: bytes) -> Container | None:
    return Container(connected=data[0]) if len(data) == 1 else None


def _read_block(data: bytes) -> Container | None:
    if len(data) != 4:
        return None
    offset, length = _OFFSET_LENGTH.unpack(data)
    return Container(offset=offset, length=length)


def _message(data: bytes) -> Container:
    return Container(message=data)


def _by_fd(data: bytes) -> Container | None:
    return Container(fd=_U32.unpack(data)[0]) if len(data) == 4 else None


_C = CommandCode
_REQUESTS: Final[dict[int, Callable[[bytes], Container | None]]] = {
    _C.FN_STATUS: _no_data,
    _C.SHIFT_PARAMETERS: _no_data,
    _C.OPEN_SHIFT: _no_data,
    _C.CANCEL_DOCUMENT: _no_data,
    _C.OFD_EXCHANGE_STATUS: _no_data,
    _C.OFD_MESSAGE_READ_BEGIN: _no_data,
    _C.OFD_MESSAGE_READ_CANCEL: _no_data,
    _C.OFD_MESSAGE_READ_FINISH: _no_data,
    _C.OPEN_SHIFT_BEGIN: _at_time,
    _C.RECEIPT_BEGIN: _at_time,
    _C.SEND_DOCUMENT_DATA: _tlv,
    _C.RECEIPT_MAKE: _receipt_make,
    _C.TRANSPORT_STATUS: _transport,
    _C.OFD_MESSAGE_READ_BLOCK: _read_block,
    _C.OFD_RECEIPT: _message,
    _C.FIND_DOCUMENT: _by_fd,
}


def parse_request(code: int, data: bytes) -> Container:
    """protocol.fn.commands.parse_request, by struct for the hot commands (same Container,
    same refusals: anything irregular is construct's)."""
    fast = _REQUESTS.get(code)
    if fast is not None:
        out = fast(data)
        if out is not None:
            return out
    return commands.parse_request(code, data)


def _u(v: object, bits: int) -> bool:
    # an int (the model's IntEnum/IntFlag values too) the field holds; not a bool
    return isinstance(v, int) and type(v) is not bool and 0 <= v < 1 << bits


def _dt_bytes(v: object) -> bytes | None:
    # MAYBE_DATE_TIME's bytes; None: not a value the fast path takes
    if v is None:
        return bytes(5)
    if type(v) is not dt.datetime or v.tzinfo is not None or v.second or v.microsecond:
        return None
    if not YEAR_BASE <= v.year <= YEAR_MAX:
        return None
    return bytes((v.year - YEAR_BASE, v.month, v.day, v.hour, v.minute))


def _status(v: dict[str, Any]) -> bytes | None:
    head = (v["phase"], v["current_document"], v["document_data"], v["shift_open"])
    fn = v["fn_number"]
    if not all(_u(x, 8) for x in (*head, v["warnings"])) or not _u(v["last_fd"], 32):
        return None
    if type(fn) is not str or len(fn) != 16 or not fn.isascii() or not fn.isprintable():
        return None
    when = _dt_bytes(v["last_date_time"])
    if when is None:
        return None
    return (
        _STATUS_HEAD.pack(*head, v["warnings"])
        + when
        + fn.encode("ascii")
        + _U32.pack(v["last_fd"])
    )


def _exchange(v: dict[str, Any]) -> bytes | None:
    ints = (v["status"], v["read_started"], v["message_count"], v["first_fd"])
    if not (_u(ints[0], 8) and _u(ints[1], 8) and _u(ints[2], 16) and _u(ints[3], 32)):
        return None
    when = _dt_bytes(v["first_date_time"])
    return None if when is None else _EXCHANGE_HEAD.pack(*ints) + when


def _receipt(v: dict[str, Any]) -> bytes | None:
    n, fd, fp = v["receipt_number"], v["fd"], v["fp"]
    return _RECEIPT_ANS.pack(n, fd, fp) if _u(n, 16) and _u(fd, 32) and _u(fp, 32) else None


def _shift(v: dict[str, Any]) -> bytes | None:
    n, fd, fp = v["shift_number"], v["fd"], v["fp"]
    return _SHIFT_ANS.pack(n, fd, fp) if _u(n, 16) and _u(fd, 32) and _u(fp, 32) else None


def _read_begin(v: dict[str, Any]) -> bytes | None:
    n = v["message_length"]
    return _U16.pack(n) if _u(n, 16) else None


def _read_data(v: dict[str, Any]) -> bytes | None:
    d = v["data"]
    return bytes(d) if type(d) is bytes else None


def _ofd_receipt(v: dict[str, Any]) -> bytes | None:
    code, extra = v["ofd_answer_code"], v["operator_message"]
    return bytes((code,)) + extra if _u(code, 8) and type(extra) is bytes else None


def _found(v: dict[str, Any]) -> bytes | None:
    t, r, d = v["document_type"], v["ofd_receipt"], v["data"]
    return bytes((t, r)) + d if _u(t, 8) and _u(r, 8) and type(d) is bytes else None


# answer code -> (the exact field names, the packer)
_ANSWERS: Final[dict[int, tuple[frozenset[str], Callable[[dict[str, Any]], bytes | None]]]] = {
    _C.FN_STATUS: (
        frozenset(
            (
                "phase",
                "current_document",
                "document_data",
                "shift_open",
                "warnings",
                "last_date_time",
                "fn_number",
                "last_fd",
            )
        ),
        _status,
    ),
    _C.OFD_EXCHANGE_STATUS: (
        frozenset(("status", "read_started", "message_count", "first_fd", "first_date_time")),
        _exchange,
    ),
    _C.RECEIPT_MAKE: (frozenset(("receipt_number", "fd", "fp")), _receipt),
    _C.OPEN_SHIFT: (frozenset(("shift_number", "fd", "fp")), _shift),
    _C.OFD_MESSAGE_READ_BEGIN: (frozenset(("message_length",)), _read_begin),
    _C.OFD_MESSAGE_READ_BLOCK: (frozenset(("data",)), _read_data),
    _C.OFD_RECEIPT: (frozenset(("ofd_answer_code", "operator_message")), _ofd_receipt),
    _C.FIND_DOCUMENT: (frozenset(("document_type", "ofd_receipt", "data")), _found),
}


def build_answer(code: int, **values: Any) -> bytes:
    """protocol.fn.commands.build_answer, by struct for the hot answers (same bytes, same
    refusals: anything irregular is construct's)."""
    fast = _ANSWERS.get(code)
    if fast is not None and values.keys() == fast[0]:
        out = fast[1](values)
        if out is not None:
            return out
    return commands.build_answer(code, **values)
