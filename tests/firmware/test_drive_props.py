"""Properties of firmware.drive and firmware.clock, with protocol.fn (construct) as the oracle.

CPython only (hypothesis). What is asserted:

- requests: for random parameters, the frame the driver writes for a command is exactly
  ``build_frame(code, build_request(code, **values))``;
- answers: values built by ``build_answer`` parse in the driver to what ``parse_answer`` gives
  (datetimes as tuples), 40h archive records to what ``parse_archive`` gives;
- random answer data: where the spec parses it, the driver gives the same values; where the
  spec refuses it, the driver raises AnswerError (a make command: it reconciles and raises
  NotMade caused by the AnswerError); a non-zero answer code is always a DriveError;
- random bytes on the line give a result or a typed firmware error, never anything else;
- the DATE_TIME helpers agree with datetime over the whole range.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from construct import ConstructError, Container
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy
from mpsupport import FakeClock

from firmware import clock as fclock
from firmware.drive import FiscalDrive, parse_archive
from firmware.errors import AnswerError, DriveError, NotMade, RegisterError
from protocol.fn.commands import (
    ARCHIVE_FORMATS,
    ARCHIVE_TYPE_MASK,
    COMMANDS,
    as_dict,
    build_answer,
    build_request,
    parse_answer,
)
from protocol.fn.commands import parse_archive as spec_archive
from protocol.fn.fields import (
    DateAdapter,
    DateTimeAdapter,
    FixedAscii,
    OptionalField,
    drive_minute,
    encode_date_time,
)
from protocol.fn.frame import build_frame

MAKE = (0x03, 0x05, 0x12, 0x14, 0x16, 0x19, 0xA3)
T0 = 1705303800.0  # 2024-01-15 07:30 UTC
NOW = dt.datetime(2024, 1, 15, 10, 30)  # T0 in Moscow
fast = settings(max_examples=40, deadline=None)

# ---- a drive that answers from a table, framed by the oracle --------------------------------


class Responder:
    """Transport contract: answers every request frame from `answers` {code: (answer, data)};
    ENQ repeats the last answer; 30h answers a status with the last FD unchanged."""

    def __init__(self, answers: dict[int, tuple[int, bytes]]) -> None:
        self.answers = {0x30: (0, STATUS), **answers}
        self.writes: list[bytes] = []
        self.rx = bytearray()
        self.last = b""

    def write(self, buf: bytes | memoryview) -> int:
        b = bytes(buf)
        self.writes.append(b)
        if b != b"\x05":
            code, data = self.answers.get(b[3], (0, b""))
            self.last = build_frame(code, data)
        self.rx += self.last
        return len(b)

    def readinto(self, buf: bytearray) -> int:
        n = min(len(buf), len(self.rx))
        buf[:n] = self.rx[:n]
        del self.rx[:n]
        return n


def fw_at(value: dt.datetime) -> tuple[int, ...]:
    return (value.year, value.month, value.day, value.hour, value.minute)


STATUS = build_answer(
    0x30,
    phase=3,
    current_document=4,
    document_data=1,
    shift_open=1,
    warnings=0,
    last_date_time=NOW,
    fn_number="9999078900001234",
    last_fd=41,
)
REG = {
    "inn": "7702203276",
    "rnm": "0000000001012345",
    "tax_systems": 1,
    "work_mode": 0x21,
}
# A valid answer to every command that has one, for the request properties.
VALID: dict[int, bytes] = {
    0x03: build_answer(0x03, fd=42, fp=1),
    0x05: build_answer(0x05, fd=42, fp=1),
    0x10: build_answer(0x10, shift_open=1, shift_number=2, receipt_number=3),
    0x12: build_answer(0x12, shift_number=2, fd=42, fp=1),
    0x14: build_answer(0x14, shift_number=2, fd=42, fp=1),
    0x16: build_answer(0x16, receipt_number=3, fd=42, fp=1),
    0x19: build_answer(0x19, fd=42, fp=1, unconfirmed_count=0, first_unconfirmed=None),
    0x20: build_answer(
        0x20, status=0, read_started=0, message_count=0, first_fd=0, first_date_time=None
    ),
    0x22: build_answer(0x22, message_length=10),
    0x26: build_answer(0x26, ofd_answer_code=0, operator_message=b""),
    0x31: build_answer(0x31, fn_number="9999078900001234"),
    0x32: build_answer(
        0x32, valid_until=dt.date(2026, 1, 1), reregistrations_left=11, reregistrations_done=1
    ),
    0x33: build_answer(0x33, version="v1", software_type=1),
    0x3A: build_answer(0x3A, ffd_current=2, ffd_max=4),
    0x3B: build_answer(0x3B, days_left=100),
    0x3D: build_answer(0x3D, archive_docs_left=1, ofd_storage_kib_left=2, notifications_percent=3),
    0x40: build_answer(0x40, document_type=7, ofd_receipt=0, data=b""),
    0x41: build_answer(0x41, date_time=NOW, ofd_fp=bytes(18), fd=1),
    0x42: build_answer(0x42, count=0),
    0x43: build_answer(0x43, date_time=NOW, **REG, reason=None, fd=1, fp=2),
    0x45: build_answer(0x45, document_tag=3, length=0),
    0xA3: build_answer(0xA3, fd=42, fp=1),
    0xB0: build_answer(
        0xB0,
        check_state=1,
        notification_state=0,
        command_flags=0xFF,
        saved_results=0,
        codes_in_notification=0,
        notification_storage_percent=0,
        notification_queue=0,
        reserved=0,
    ),
    0xB1: build_answer(0xB1, result=3, reason=0),
    0xB2: build_answer(0xB2, check_result=3),
    0xB5: build_answer(0xB5, request=b"\x51\x00\x00\x00"),
    0xB6: build_answer(0xB6, result=0),
}

# ---- parameters: protocol values -> the driver call ---------------------------------------

u8 = st.integers(0, 0xFF)
u16 = st.integers(0, 0xFFFF)
u32 = st.integers(0, 0xFFFFFFFF)
when = st.datetimes(dt.datetime(2000, 1, 1), dt.datetime(2255, 12, 31, 23, 59)).map(drive_minute)


def ascii_text(width: int) -> SearchStrategy[str]:
    return st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=width)


def one_tlv() -> SearchStrategy[bytes]:
    # One whole TLV (tag u16, length u16, value) that fits one 07h frame.
    return st.tuples(u16, st.binary(max_size=200)).map(
        lambda tv: tv[0].to_bytes(2, "little") + len(tv[1]).to_bytes(2, "little") + tv[1]
    )


Call = Callable[[FiscalDrive, dict[str, Any]], Any]
NONE: SearchStrategy[dict[str, Any]] = st.just({})


def _at(v: dict[str, Any]) -> tuple[int, ...]:
    return fw_at(v["date_time"])


# B1h: the code (its length said before it) and any further parameters, as the spec's fields.
marking_code = st.tuples(u8, st.binary(max_size=255), st.binary(max_size=64)).map(
    lambda t: {"code_type": t[0], "code_length": len(t[1]), "marking_code": t[1] + t[2]}
)


def _check(d: FiscalDrive, v: dict[str, Any]) -> Any:
    n = v["code_length"]
    return d.marking_check(v["code_type"], v["marking_code"][:n], v["marking_code"][n:])


REQUESTS: dict[int, tuple[SearchStrategy[dict[str, Any]], Call]] = {
    0x02: (
        st.fixed_dictionaries({}, optional={"registration_type": u8}),
        lambda d, v: d.registration_begin(v.get("registration_type")),
    ),
    0x03: (
        st.fixed_dictionaries(
            {
                "date_time": when,
                "inn": ascii_text(12),
                "rnm": ascii_text(20),
                "tax_systems": u8,
                "work_mode": u8,
            },
            optional={"reason": u8},
        ),
        lambda d, v: d.registration_make(
            v["inn"], v["rnm"], v["tax_systems"], v["work_mode"], v.get("reason"), _at(v)
        ),
    ),
    0x04: (NONE, lambda d, v: d.close_fiscal_mode_begin()),
    0x05: (
        st.fixed_dictionaries({"date_time": when, "rnm": ascii_text(20)}),
        lambda d, v: d.close_fiscal_mode(v["rnm"], _at(v)),
    ),
    0x06: (NONE, lambda d, v: d.cancel_document()),
    0x07: (st.fixed_dictionaries({"tlv": one_tlv()}), lambda d, v: d.send_data(v["tlv"])),
    0x10: (NONE, lambda d, v: d.shift_parameters()),
    0x11: (st.fixed_dictionaries({"date_time": when}), lambda d, v: d.open_shift_begin(_at(v))),
    0x12: (NONE, lambda d, v: d.open_shift()),
    0x13: (st.fixed_dictionaries({"date_time": when}), lambda d, v: d.close_shift_begin(_at(v))),
    0x14: (NONE, lambda d, v: d.close_shift()),
    0x15: (st.fixed_dictionaries({"date_time": when}), lambda d, v: d.receipt_begin(_at(v))),
    0x16: (
        st.fixed_dictionaries(
            {"date_time": when, "operation": u8, "total_kop": st.integers(0, 2**40 - 1)}
        ),
        lambda d, v: d.receipt_make(v["operation"], v["total_kop"], _at(v)),
    ),
    0x17: (
        st.fixed_dictionaries({"date_time": when}),
        lambda d, v: d.correction_receipt_begin(_at(v)),
    ),
    0x18: (
        st.fixed_dictionaries({"date_time": when}),
        lambda d, v: d.settlement_report_begin(_at(v)),
    ),
    0x19: (NONE, lambda d, v: d.settlement_report_make()),
    0x20: (NONE, lambda d, v: d.ofd_exchange_status()),
    0x21: (
        st.fixed_dictionaries({"connected": u8}),
        lambda d, v: d.transport_status(v["connected"]),
    ),
    0x22: (NONE, lambda d, v: d.ofd_message_read_begin()),
    0x23: (
        st.fixed_dictionaries({"offset": u16, "length": u16}),
        lambda d, v: d.ofd_message_read_block(v["offset"], v["length"]),
    ),
    0x24: (NONE, lambda d, v: d.ofd_message_read_cancel()),
    0x25: (NONE, lambda d, v: d.ofd_message_read_finish()),
    0x26: (
        st.fixed_dictionaries({"message": st.binary(max_size=1024)}),
        lambda d, v: d.ofd_receipt(v["message"]),
    ),
    0x30: (NONE, lambda d, v: d.status()),
    0x31: (NONE, lambda d, v: d.fn_number()),
    0x32: (NONE, lambda d, v: d.validity()),
    0x33: (NONE, lambda d, v: d.version()),
    0x35: (NONE, lambda d, v: d.last_errors()),
    0x3A: (NONE, lambda d, v: d.ffd_versions()),
    0x3B: (st.fixed_dictionaries({"date_time": when}), lambda d, v: d.days_left(_at(v))),
    0x3D: (NONE, lambda d, v: d.free_resource()),
    0x40: (st.fixed_dictionaries({"fd": u32}), lambda d, v: d.find_document(v["fd"])),
    0x41: (st.fixed_dictionaries({"fd": u32}), lambda d, v: d.document_ofd_receipt(v["fd"])),
    0x42: (NONE, lambda d, v: d.unconfirmed_count()),
    0x43: (
        st.fixed_dictionaries({}, optional={"report_index": u8}),
        lambda d, v: d.registration_totals(v.get("report_index")),
    ),
    0x44: (
        st.fixed_dictionaries({"tag": u16}, optional={"report_index": u8}),
        lambda d, v: d.registration_parameter(v["tag"], v.get("report_index")),
    ),
    0x45: (st.fixed_dictionaries({"fd": u32}), lambda d, v: d.document_tlv_begin(v["fd"])),
    0x46: (NONE, lambda d, v: d.document_tlv_read()),
    0x47: (NONE, lambda d, v: d.registration_tlv_read()),
    0x60: (NONE, lambda d, v: d.reset()),
    0xA2: (
        st.fixed_dictionaries({"registration_type": u8, "ffd_version": u8}),
        lambda d, v: d.registration_begin_ext(v["registration_type"], v["ffd_version"]),
    ),
    0xA3: (
        st.fixed_dictionaries(
            {
                "date_time": when,
                "inn": ascii_text(12),
                "rnm": ascii_text(20),
                "tax_systems": u8,
                "work_mode": u8,
                "extended_mode": u8,
                "ofd_inn": ascii_text(12),
                "reason_codes": u32,
            }
        ),
        lambda d, v: d.registration_make_ext(
            v["inn"],
            v["rnm"],
            v["tax_systems"],
            v["work_mode"],
            v["extended_mode"],
            v["ofd_inn"],
            v["reason_codes"],
            _at(v),
        ),
    ),
    0xB0: (NONE, lambda d, v: d.marking_status()),
    0xB1: (marking_code, _check),
    0xB2: (
        st.fixed_dictionaries({"save": st.integers(0, 1)}),
        lambda d, v: d.marking_save(bool(v["save"])),
    ),
    0xB3: (NONE, lambda d, v: d.marking_clear()),
    0xB5: (
        st.fixed_dictionaries({"date_time": when, "tlv": one_tlv()}),
        lambda d, v: d.marking_request(v["tlv"], _at(v)),
    ),
    0xB6: (
        st.fixed_dictionaries({"answer": st.binary(max_size=1024)}),
        lambda d, v: d.marking_answer(v["answer"]),
    ),
    0xB7: (
        st.fixed_dictionaries({"extra_code": u8, "tlv": one_tlv()}),
        lambda d, v: d.marking_send_data(v["extra_code"], v["tlv"]),
    ),
}

# Fixed parameters for the answer properties.
FIXED: dict[int, dict[str, Any]] = {
    0x03: {"date_time": NOW, **REG},
    0x05: {"date_time": NOW, "rnm": REG["rnm"]},
    0x07: {"tlv": b"\x01\x00\x00\x00"},
    0x11: {"date_time": NOW},
    0x13: {"date_time": NOW},
    0x15: {"date_time": NOW},
    0x16: {"date_time": NOW, "operation": 1, "total_kop": 100},
    0x17: {"date_time": NOW},
    0x18: {"date_time": NOW},
    0x21: {"connected": 1},
    0x23: {"offset": 0, "length": 512},
    0x26: {"message": b"\x00"},
    0x3B: {"date_time": NOW},
    0x40: {"fd": 1},
    0x41: {"fd": 1},
    0x44: {"tag": 1018},
    0x45: {"fd": 1},
    0xA2: {"registration_type": 0, "ffd_version": 4},
    0xA3: {"date_time": NOW, **REG, "extended_mode": 0, "ofd_inn": "7704358518", "reason_codes": 0},
    0xB1: {"code_type": 2, "code_length": 3, "marking_code": b"010"},
    0xB2: {"save": 1},
    0xB5: {"date_time": NOW, "tlv": b"\x01\x00\x00\x00"},
    0xB6: {"answer": b"\x01\x00\x00\x00"},
    0xB7: {"extra_code": 1, "tlv": b"\x01\x00\x00\x00"},
}

# Methods returning one value: the field of the spec's answer it is.
SCALAR = {
    0x22: "message_length",
    0x23: "data",
    0x31: "fn_number",
    0x35: "data",
    0x3B: "days_left",
    0x42: "count",
    0x44: "tlv",
    0x46: "tlv",
    0x47: "tlv",
    0xB2: "check_result",
    0xB5: "request",
    0xB6: "result",
}


def test_every_command_of_the_spec_has_a_method() -> None:
    # The B0h..B7h marking checks are in the driver (provisional layouts); the BAh..BFh
    # notifications not yet.
    assert {c for c in COMMANDS if c < 0xB8} == set(REQUESTS)
    assert set(FIXED) <= set(REQUESTS)


def new_drive(answers: dict[int, tuple[int, bytes]]) -> tuple[Responder, FiscalDrive]:
    link = Responder(answers)
    timeouts = dict.fromkeys(range(256), 0.05)
    return link, FiscalDrive(link, FakeClock(T0), timeouts=timeouts, poll_s=0.01)


def norm(value: Any) -> Any:
    """Spec values in the driver's shapes: datetimes and dates as tuples."""
    if isinstance(value, dict):
        return {k: norm(v) for k, v in value.items()}
    if isinstance(value, dt.datetime):
        return fw_at(value)
    if isinstance(value, dt.date):
        return (value.year, value.month, value.day)
    return value


def driver_answer(code: int, result: Any) -> Any:
    """The driver's result as the spec's answer dict (None: a command without answer data)."""
    if code in SCALAR:
        return {SCALAR[code]: result}
    if code == 0x40:
        return {k: v for k, v in result.items() if k != "record"}
    return result


# ---- requests ------------------------------------------------------------------------------


@pytest.mark.parametrize("code", sorted(REQUESTS), ids=lambda c: f"{c:02X}h")
@fast
@given(data=st.data())
def test_request_bytes_match_the_spec(code: int, data: st.DataObject) -> None:
    strategy, call = REQUESTS[code]
    values = data.draw(strategy)
    link, drive = new_drive({c: (0, v) for c, v in VALID.items()})
    call(drive, values)
    sent = [b for b in link.writes if b != b"\x05" and b[3] == code]
    expected = build_frame(code, build_request(code, **values))
    assert sent == [expected]
    if code in MAKE:
        assert [b[3] for b in link.writes] == [0x30, code]  # status first, the make once


@given(wall=st.floats(946684800, 8993721599), offset=st.integers(-720, 840))
def test_request_time_from_the_clock(wall: float, offset: int) -> None:
    link = Responder({})
    drive = FiscalDrive(link, FakeClock(wall), utc_offset_min=offset)
    local = dt.datetime.fromtimestamp(int(wall) + offset * 60, dt.UTC).replace(tzinfo=None)
    if not 2000 <= local.year <= 2255:
        return
    drive.receipt_begin()
    assert link.writes == [build_frame(0x15, encode_date_time(drive_minute(local)))]


# ---- answers -------------------------------------------------------------------------------


def field_strategy(sc: Any) -> SearchStrategy[Any] | None:
    """A strategy for one named field of a construct answer Struct."""
    inner = sc.subcon
    if isinstance(inner, OptionalField):
        sub = field_strategy(inner)
        return None if sub is None else st.none() | sub
    if isinstance(inner, DateTimeAdapter):
        return st.none() | when if inner.zero_is_none else when
    if isinstance(inner, DateAdapter):
        dates = st.dates(dt.date(2000, 1, 1), dt.date(2255, 12, 31))
        return st.none() | dates if inner.zero_is_none else dates
    if isinstance(inner, FixedAscii):
        hi = 0x7E if inner.printable else 0x7F
        lo = 0x20 if inner.printable else 0x00
        size = None if inner.pad else inner.width
        return st.text(
            st.characters(min_codepoint=lo, max_codepoint=hi),
            min_size=size or 0,
            max_size=inner.width,
        )
    name = type(inner).__name__
    if name == "GreedyBytes":
        return st.binary(max_size=64)
    if name in ("FormatField", "BytesInteger"):
        return st.integers(0, 2 ** (8 * inner.length) - 1)
    if name == "Bytes":
        return st.binary(min_size=inner.length, max_size=inner.length)
    raise AssertionError(f"no strategy for {sc}")


def answer_values(code: int) -> SearchStrategy[dict[str, Any]]:
    answer = COMMANDS[code].answer
    if answer is None:
        return NONE
    fields = {sc.name: field_strategy(sc) for sc in answer.subcons if sc.name}
    return st.fixed_dictionaries({k: v for k, v in fields.items() if v is not None})


def run(code: int, answer: int, data: bytes) -> tuple[Any, RegisterError | None, FiscalDrive]:
    """Call the command's method with the drive answering `answer`, `data` to it."""
    _, drive = new_drive({code: (answer, data)})
    try:
        return REQUESTS[code][1](drive, FIXED.get(code, {})), None, drive
    except RegisterError as e:
        return None, e, drive


ANSWERED = sorted(REQUESTS)


@pytest.mark.parametrize("code", ANSWERED, ids=lambda c: f"{c:02X}h")
@fast
@given(data=st.data(), warning=st.booleans())
def test_built_answers_parse_to_the_same_values(
    code: int, data: st.DataObject, warning: bool
) -> None:
    values = data.draw(answer_values(code))
    raw = build_answer(code, **values)
    expected = norm(as_dict(parse_answer(code, raw)))
    result, error, drive = run(code, 0x80 if warning else 0x00, raw)
    if code == 0x40 and error is not None:
        # The spec keeps the archive record raw; the driver also parses it.
        assert isinstance(error, AnswerError)
        with pytest.raises(ConstructError):
            spec_archive(values["document_type"], values["data"])
        return
    assert error is None, error
    assert drive.warning is warning
    if COMMANDS[code].answer is None:
        assert result == (4 if code in (0x07, 0xB7) else None)  # 07h, B7h: the bytes sent
        return
    assert driver_answer(code, result) == expected


@pytest.mark.parametrize("doc_type", sorted(ARCHIVE_FORMATS))
@fast
@given(data=st.data())
def test_archive_records_parse_to_the_same_values(doc_type: int, data: st.DataObject) -> None:
    fmt = ARCHIVE_FORMATS[doc_type]
    fields = {sc.name: field_strategy(sc) for sc in fmt.subcons if sc.name}
    values = data.draw(st.fixed_dictionaries({k: v for k, v in fields.items() if v is not None}))
    raw = bytes(fmt.build(values))
    flags = data.draw(st.sampled_from([0, 0x40, 0x80, 0xC0]))  # FFD bits of the type byte
    assert parse_archive(doc_type | flags, raw) == norm(as_dict(spec_archive(doc_type, raw)))


def spec_view(code: int, data: bytes) -> dict[str, Any] | None:
    """What the spec makes of successful answer data; None when it refuses it."""
    try:
        parsed: Container = parse_answer(code, data)
        if code == 0x40 and parsed.document_type & ARCHIVE_TYPE_MASK in ARCHIVE_FORMATS:
            spec_archive(parsed.document_type, parsed.data)  # the driver parses it too
    except ConstructError:
        return None
    return norm(as_dict(parsed))


def sample_sizes(code: int) -> list[int]:
    raw = VALID.get(code, b"")
    return [len(raw)] if raw else [0]


@pytest.mark.parametrize("code", ANSWERED, ids=lambda c: f"{c:02X}h")
@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_random_answer_data_agrees_with_the_spec(code: int, data: st.DataObject) -> None:
    size = sample_sizes(code)[0]
    raw = data.draw(
        st.binary(min_size=size, max_size=size)
        | st.binary(min_size=max(0, size - 2), max_size=size + 2)
        | st.binary(max_size=48),
        label="answer data",
    )
    expected = spec_view(code, raw)
    result, error, _ = run(code, 0, raw)
    if expected is None:
        if code in MAKE:
            assert isinstance(error, NotMade) and isinstance(error.cause, AnswerError)
        else:
            assert isinstance(error, AnswerError), (error, result)
        return
    assert error is None, error
    got = None if COMMANDS[code].answer is None else driver_answer(code, result)
    assert got == (expected if COMMANDS[code].answer is not None else None)


@pytest.mark.parametrize("code", ANSWERED, ids=lambda c: f"{c:02X}h")
@settings(max_examples=15, deadline=None)
@given(answer=st.integers(1, 0xFF).filter(lambda a: a != 0x80), data=st.binary(max_size=2))
def test_non_zero_answer_codes_are_drive_errors(code: int, answer: int, data: bytes) -> None:
    result, error, _ = run(code, answer, data)
    if code in (0x46, 0x47) and answer & 0x7F == 0x08:
        assert result is None and error is None  # end of the list
        return
    assert isinstance(error, DriveError)
    assert error.code == answer & 0x7F and error.warning is bool(answer & 0x80)
    assert error.command == code and error.ru and error.en


class Garbage:
    """A line that answers every write with the same bytes."""

    def __init__(self, noise: bytes, chunk: int) -> None:
        self.noise = noise
        self.chunk = chunk
        self.rx = bytearray()

    def write(self, buf: bytes | memoryview) -> int:
        self.rx += self.noise
        return len(buf)

    def readinto(self, buf: bytearray) -> int:
        n = min(len(buf), len(self.rx), self.chunk)
        buf[:n] = self.rx[:n]
        del self.rx[:n]
        return n


@settings(max_examples=150, deadline=None)
@given(
    code=st.sampled_from(ANSWERED),
    noise=st.binary(max_size=80)
    | st.lists(st.sampled_from([b"\x04", b"\x00", b"\x01\x00", b"\x04\x01\x00\x00\xac\xfb"])).map(
        b"".join
    ),
    chunk=st.integers(1, 64),
)
def test_random_line_bytes_give_only_typed_errors(code: int, noise: bytes, chunk: int) -> None:
    link = Garbage(noise, chunk)
    timeouts = dict.fromkeys(range(256), 0.05)
    drive = FiscalDrive(link, FakeClock(T0), timeouts=timeouts, poll_s=0.01, idle_s=0.02)
    try:
        REQUESTS[code][1](drive, FIXED.get(code, {}))
    except RegisterError:
        pass


# ---- DATE_TIME helpers vs datetime ---------------------------------------------------------

EPOCH = dt.date(1970, 1, 1)


@given(days=st.integers(dt.date.min.toordinal(), dt.date.max.toordinal()))
def test_civil_from_days_matches_datetime(days: int) -> None:
    n = days - EPOCH.toordinal()
    date = dt.date.fromordinal(days)
    assert fclock.civil_from_days(n) == (date.year, date.month, date.day)
    assert fclock.days_from_civil(date.year, date.month, date.day) == n


@given(seconds=st.integers(-62135596800, 253402300799))
def test_utc_fields_match_datetime(seconds: int) -> None:
    t = dt.datetime(1970, 1, 1) + dt.timedelta(seconds=seconds)
    expected = (t.year, t.month, t.day, t.hour, t.minute, t.second)
    assert fclock.utc_fields(seconds) == expected
    assert fclock.utc_fields_civil(seconds) == expected


@given(wall=st.floats(946684800, 8993721599, allow_nan=False), offset=st.integers(-720, 840))
def test_date_time_bytes_match_the_spec(wall: float, offset: int) -> None:
    tz = dt.timezone(dt.timedelta(minutes=offset))
    local = dt.datetime.fromtimestamp(int(wall), tz).replace(tzinfo=None)
    assert fclock.local_fields(wall, offset) == fw_at(local)
    if 2000 <= local.year <= 2255:
        assert fclock.date_time_bytes(wall, offset) == encode_date_time(drive_minute(local))
        assert fclock.unix_from_local(fw_at(local), offset) == int(wall) // 60 * 60


# ---- B7h: marked-goods data streamed like 07h, each frame led by its extra code -------------


@fast
@given(
    extra=st.integers(1, 3),
    texts=st.lists(st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=128)),
)
def test_b7_streams_fields_as_07_with_the_extra_code(extra: int, texts: list[str]) -> None:
    fields = [(1030, t) for t in texts] + [(1023, "1.000")] * 300
    link07, d07 = new_drive({})
    sent07 = d07.send_data(fields)
    linkb7, db7 = new_drive({})
    sentb7 = db7.marking_send_data(extra, fields)
    frames = [b for b in linkb7.writes if b != b"\x05" and b[3] == 0xB7]
    assert len(frames) > 1  # over one frame's 1023 TLV bytes
    data = [f[4:-2] for f in frames]  # 04 | LEN u16 | CMD | DATA | CRC u16
    assert all(len(x) <= 1024 and x[0] == extra for x in data)
    payload07 = b"".join(b[4:-2] for b in link07.writes if b != b"\x05" and b[3] == 0x07)
    assert b"".join(x[1:] for x in data) == payload07 and sentb7 == sent07 == len(payload07)
    # Encoded bytes split the same way at whole TLVs.
    linkraw, draw = new_drive({})
    assert draw.marking_send_data(extra, payload07) == len(payload07)
    raw = [b[4:-2] for b in linkraw.writes if b != b"\x05" and b[3] == 0xB7]
    assert all(x[0] == extra for x in raw) and b"".join(x[1:] for x in raw) == payload07
