"""Tests of the drive command declarations (protocol.fn.fields / codes / commands).

Golden vectors from protocol/vectors/fn_frames.json, hypothesis round trips for every
declared Struct (strategies derived from the Struct fields, bytes encoded independently),
and the error contract: malformed data raises construct errors, never ValueError etc.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from construct import (
    Bytes,
    BytesInteger,
    Const,
    ConstError,
    ConstructError,
    FormatField,
    GreedyBytes,
    Renamed,
    Terminated,
    ValidationError,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol.fn import codes, fields
from protocol.fn.codes import (
    ANSWER_BYTE,
    ANSWER_INFO,
    AnswerCode,
    CommandCode,
    Phase,
    WarningFlag,
    answer_message,
    flag_names,
    split_answer_byte,
)
from protocol.fn.commands import (
    ARCHIVE_FORMATS,
    COMMANDS,
    UnknownCodeError,
    as_dict,
    build_answer,
    build_archive,
    build_request,
    parse_answer,
    parse_archive,
    parse_error_answer,
    parse_request,
)
from protocol.fn.fields import DateAdapter, DateTimeAdapter, FixedAscii, OptionalField

VECTORS = Path(__file__).resolve().parents[2] / "protocol" / "vectors" / "fn_frames.json"

# ---- the declared layouts, as (id, parse, build, fmt) ------------------------------------

Layout = tuple[str, Any, Any, Any]


def _layouts() -> list[Layout]:
    out: list[Layout] = []
    for code, cmd in sorted(COMMANDS.items()):
        if cmd.request is not None:
            out.append(
                (
                    f"{code:02X}h-request",
                    lambda d, c=code: parse_request(c, d),
                    lambda v, c=code: build_request(c, **v),
                    cmd.request,
                )
            )
        if cmd.answer is not None:
            out.append(
                (
                    f"{code:02X}h-answer",
                    lambda d, c=code: parse_answer(c, d),
                    lambda v, c=code: build_answer(c, **v),
                    cmd.answer,
                )
            )
    for doc_type, fmt in sorted(ARCHIVE_FORMATS.items()):
        out.append(
            (
                f"archive-{doc_type}",
                lambda d, t=doc_type: parse_archive(t, d),
                lambda v, t=doc_type: build_archive(t, **v),
                fmt,
            )
        )
    return out


LAYOUTS = _layouts()
LAYOUT_IDS = [layout[0] for layout in LAYOUTS]


def _fields(fmt: Any) -> list[tuple[str, Any]]:
    """Named fields of a top-level Struct; checks it ends with Terminated."""
    subcons = list(fmt.subcons)
    assert subcons and subcons[-1] is Terminated, "every layout must end with Terminated"
    out = []
    for sc in subcons[:-1]:
        assert isinstance(sc, Renamed), f"unnamed field {sc!r}"
        out.append((sc.name, sc.subcon))
    return out


# ---- strategies derived from the field types ---------------------------------------------

DATETIMES = st.datetimes(
    min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2255, 12, 31, 23, 59)
).map(fields.drive_minute)
DATES = st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2255, 12, 31))
PRINTABLE = "".join(chr(c) for c in range(0x20, 0x7F))
SEVEN_BIT = "".join(chr(c) for c in range(0x80))


def _datetime_bytes(v: dt.datetime | None) -> bytes:
    # Independent encoder: YY MM DD hh mm, binary, year - 2000 (§1.5).
    if v is None:
        return b"\0" * 5
    return bytes([v.year - 2000, v.month, v.day, v.hour, v.minute])


def _date_bytes(v: dt.date | None) -> bytes:
    if v is None:
        return b"\0" * 3
    return bytes([v.year - 2000, v.month, v.day])


def _value_and_bytes(con: Any) -> st.SearchStrategy[tuple[Any, bytes]]:
    """Strategy of (field value, its wire bytes) for one field construct."""
    if isinstance(con, OptionalField):
        return st.one_of(st.just((None, b"")), _value_and_bytes(con.subcon))
    if isinstance(con, DateTimeAdapter):
        dts = st.one_of(st.none(), DATETIMES) if con.zero_is_none else DATETIMES
        return dts.map(lambda v: (v, _datetime_bytes(v)))
    if isinstance(con, DateAdapter):
        ds = st.one_of(st.none(), DATES) if con.zero_is_none else DATES
        return ds.map(lambda v: (v, _date_bytes(v)))
    if isinstance(con, FixedAscii):
        alphabet = PRINTABLE if con.printable else SEVEN_BIT
        text = st.text(alphabet=alphabet, min_size=con.width, max_size=con.width)
        return text.map(lambda v: (v, v.encode("ascii")))
    if isinstance(con, Const):
        return st.just((con.value, con.subcon.build(con.value)))
    if isinstance(con, FormatField | BytesInteger):
        n = con.length
        return st.integers(0, 2 ** (8 * n) - 1).map(lambda v: (v, v.to_bytes(n, "little")))
    if con is GreedyBytes:
        return st.binary(max_size=64).map(lambda v: (v, v))
    if isinstance(con, Bytes):
        return st.binary(min_size=con.length, max_size=con.length).map(lambda v: (v, v))
    raise AssertionError(f"no strategy for field construct {con!r}")


def _layout_strategy(fmt: Any) -> st.SearchStrategy[tuple[dict[str, Any], bytes]]:
    named = _fields(fmt)
    parts = st.tuples(*(_value_and_bytes(con) for _, con in named))
    return parts.map(
        lambda vs: (
            {name: v for (name, _), (v, _) in zip(named, vs, strict=True)},
            b"".join(b for _, b in vs),
        )
    )


def _sample(con: Any, *, optional: bool) -> tuple[Any, bytes]:
    """Return a fixed (value, bytes) for a field; ``optional``: include optional fields."""
    if isinstance(con, OptionalField):
        return _sample(con.subcon, optional=optional) if optional else (None, b"")
    if isinstance(con, DateTimeAdapter):
        v = dt.datetime(2024, 1, 15, 10, 30)
        return v, _datetime_bytes(v)
    if isinstance(con, DateAdapter):
        d = dt.date(2024, 1, 15)
        return d, _date_bytes(d)
    if isinstance(con, FixedAscii):
        return "1" * con.width, b"1" * con.width
    if isinstance(con, Const):
        return con.value, con.subcon.build(con.value)
    if isinstance(con, FormatField | BytesInteger):
        return 1, (1).to_bytes(con.length, "little")
    if con is GreedyBytes:
        return b"", b""
    if isinstance(con, Bytes):
        return b"\0" * con.length, b"\0" * con.length
    raise AssertionError(f"no sample for field construct {con!r}")


def _sample_bytes(fmt: Any, *, optional: bool) -> bytes:
    return b"".join(_sample(con, optional=optional)[1] for _, con in _fields(fmt))


def _has_greedy(fmt: Any) -> bool:
    return any(con is GreedyBytes for _, con in _fields(fmt))


# ---- golden vectors ----------------------------------------------------------------------

# What each request vector's DATA means (the "meaning" text of fn_frames.json).
EXPECTED_REQUESTS: dict[int, dict[str, Any]] = {
    0x30: {},
    0x02: {"registration_type": None},
    0x31: {},
    0x32: {},
    0x33: {},
    0x10: {},
    0x20: {},
    0x21: {"connected": 1},
    0x23: {"offset": 0, "length": 512},
    0x11: {"date_time": dt.datetime(2024, 1, 15, 10, 30)},
    0x15: {"date_time": dt.datetime(2024, 1, 15, 10, 30)},
    0x16: {"date_time": dt.datetime(2024, 1, 15, 10, 31), "operation": 1, "total_kop": 12345},
    0x40: {"fd": 1},
}


def _frames(direction: str) -> list[dict[str, Any]]:
    data = json.loads(VECTORS.read_text(encoding="utf-8"))
    return [f for f in data["frames"] if f["dir"] == direction]


def _data_of(frame_hex: str) -> bytes:
    frame = bytes.fromhex(frame_hex)
    data = frame[4:-2]  # strip 04, LEN(2), CMD(1) and CRC(2)
    assert int.from_bytes(frame[1:3], "little") == len(data) + 1  # §1.2 LEN = N + 1
    return data


@pytest.mark.parametrize("frame", _frames("request"), ids=lambda f: f"{f['code']}h")
def test_request_vector_parses_to_its_meaning_and_rebuilds(frame: dict[str, Any]) -> None:
    code = int(frame["code"], 16)
    data = _data_of(frame["hex"])
    parsed = parse_request(code, data)
    assert as_dict(parsed) == EXPECTED_REQUESTS[code]
    assert build_request(code, **as_dict(parsed)) == data
    assert build_request(code, **EXPECTED_REQUESTS[code]) == data


@pytest.mark.parametrize("frame", _frames("answer"), ids=lambda f: f"{f['code']}h")
def test_answer_vectors_answer_byte(frame: dict[str, Any]) -> None:
    raw = bytes.fromhex(frame["hex"])
    code, warning = split_answer_byte(raw[3])
    parsed = ANSWER_BYTE.parse(raw[3:4])
    assert (parsed.code, parsed.warning) == (code, warning) == (0, raw[3] == 0x80)
    assert ANSWER_BYTE.build({"warning": warning, "code": code}) == raw[3:4]
    assert as_dict(parse_error_answer(_data_of(frame["hex"]))) == {"reason": None}
    # An empty successful answer is what every data-less answer looks like.
    assert as_dict(parse_answer(CommandCode.CANCEL_DOCUMENT, _data_of(frame["hex"]))) == {}


def test_every_request_vector_has_an_expected_meaning() -> None:
    codes_seen = {int(f["code"], 16) for f in _frames("request")}
    assert codes_seen == set(EXPECTED_REQUESTS)


# ---- registry ----------------------------------------------------------------------------


def test_registry_matches_command_enum() -> None:
    assert set(COMMANDS) == {int(c) for c in CommandCode}
    for code, cmd in COMMANDS.items():
        assert cmd.code == code and isinstance(cmd.code, CommandCode)
        assert cmd.name_ru and cmd.name_en
        assert cmd.source in {"V", "2nd"}
        for fmt in (cmd.request, cmd.answer):
            if fmt is not None:
                _fields(fmt)  # named fields, ends with Terminated


def test_unknown_command_code_is_a_construct_error() -> None:
    with pytest.raises(UnknownCodeError):
        parse_request(0x99, b"")
    with pytest.raises(ConstructError):
        build_answer(0x99)


# ---- round trips over every layout -------------------------------------------------------


@settings(max_examples=40, deadline=None)
@pytest.mark.parametrize("layout", LAYOUTS, ids=LAYOUT_IDS)
@given(data=st.data())
def test_parse_then_build_is_identity(layout: Layout, data: st.DataObject) -> None:
    _, parse, build, fmt = layout
    value, raw = data.draw(_layout_strategy(fmt))
    parsed = as_dict(parse(raw))
    assert parsed == value  # independent encoder and the Struct agree
    assert build(parsed) == raw


@settings(max_examples=40, deadline=None)
@pytest.mark.parametrize("layout", LAYOUTS, ids=LAYOUT_IDS)
@given(data=st.data())
def test_build_then_parse_is_identity(layout: Layout, data: st.DataObject) -> None:
    _, parse, build, fmt = layout
    value, raw = data.draw(_layout_strategy(fmt))
    built = build(value)
    assert built == raw
    assert as_dict(parse(built)) == value


@settings(max_examples=30, deadline=None)
@pytest.mark.parametrize("code", sorted(COMMANDS), ids=lambda c: f"{c:02X}h")
@given(raw=st.binary(max_size=64))
def test_arbitrary_bytes_parse_or_raise_construct_error(code: int, raw: bytes) -> None:
    for parse in (parse_request, parse_answer):
        try:
            parsed = parse(code, raw)
        except ConstructError:
            continue
        except Exception as exc:  # pragma: no cover - this is the failure being tested
            pytest.fail(f"{type(exc).__name__} instead of a construct error: {exc}")
        # Whatever parses must rebuild to the same bytes.
        build = build_request if parse is parse_request else build_answer
        assert build(code, **as_dict(parsed)) == raw


# ---- lengths ---------------------------------------------------------------------------------


@pytest.mark.parametrize("layout", LAYOUTS, ids=LAYOUT_IDS)
def test_short_data_is_a_construct_error(layout: Layout) -> None:
    _, parse, _, fmt = layout
    minimal = _sample_bytes(fmt, optional=False)
    for n in range(len(minimal)):
        with pytest.raises(ConstructError) as info:
            parse(minimal[:n])
        assert not isinstance(info.value, ValueError | IndexError)


@pytest.mark.parametrize(
    "layout", [x for x in LAYOUTS if not _has_greedy(x[3])], ids=lambda x: x[0]
)
def test_trailing_bytes_are_a_construct_error(layout: Layout) -> None:
    _, parse, _, fmt = layout
    full = _sample_bytes(fmt, optional=True)
    parse(full)
    for extra in (b"\0", b"\x01\x02", b"\xff" * 7):
        with pytest.raises(ConstructError):
            parse(full + extra)


# Data sizes stated in the reference (§1.5 table 7, §1.6, §1.6a, §1.7): (without, with optionals).
FIXED_SIZES: dict[str, tuple[int, int]] = {
    "03h-request": (39, 40),
    "03h-answer": (8, 8),
    "05h-request": (25, 25),
    "10h-answer": (5, 5),
    "12h-answer": (10, 10),
    "16h-request": (11, 11),
    "16h-answer": (10, 10),
    "19h-answer": (15, 15),
    "20h-answer": (13, 13),
    "23h-request": (4, 4),
    "30h-answer": (30, 30),
    "32h-answer": (5, 5),
    "33h-answer": (17, 17),
    "41h-answer": (27, 27),
    "43h-answer": (47, 48),
    "44h-request": (2, 3),
    "3Dh-answer": (9, 9),
    "A2h-request": (2, 2),
    "A3h-request": (56, 56),
    "archive-1": (47, 48),
    "archive-2": (15, 15),
    "archive-3": (19, 19),
    "archive-6": (45, 45),
    "archive-21": (22, 22),
}


@pytest.mark.parametrize("layout_id", sorted(FIXED_SIZES))
def test_layout_sizes_match_the_reference(layout_id: str) -> None:
    fmt = LAYOUTS[LAYOUT_IDS.index(layout_id)][3]
    sizes = (len(_sample_bytes(fmt, optional=False)), len(_sample_bytes(fmt, optional=True)))
    assert sizes == FIXED_SIZES[layout_id]


@pytest.mark.parametrize("code", [c for c, cmd in COMMANDS.items() if cmd.request is None])
def test_commands_without_request_data_accept_only_empty_data(code: int) -> None:
    assert as_dict(parse_request(code, b"")) == {}
    assert build_request(code) == b""
    with pytest.raises(ConstructError):
        parse_request(code, b"\0")


def test_optional_forms() -> None:
    # 02h: the seen frame has no type byte; the type byte is optional.
    assert parse_request(0x02, b"").registration_type is None
    assert parse_request(0x02, b"\x02").registration_type == 2
    # 43h: v1 without data, v2 with the report index byte.
    assert parse_request(0x43, b"").report_index is None
    assert parse_request(0x43, b"\x01").report_index == 1
    # 44h: v1 tag only, v2 index + tag; FFFFh starts the enumeration.
    assert as_dict(parse_request(0x44, b"\xff\xff")) == {"report_index": None, "tag": 0xFFFF}
    assert as_dict(parse_request(0x44, b"\x02\x25\x04")) == {"report_index": 2, "tag": 1061}
    # 03h: reason byte only after 02h type 2.
    base = _sample_bytes(COMMANDS[0x03].request, optional=False)
    assert parse_request(0x03, base).reason is None
    assert parse_request(0x03, base + b"\x04").reason == 4
    # 26h answer: the operator message STLV is optional.
    assert as_dict(parse_answer(0x26, b"\x00")) == {"ofd_answer_code": 0, "operator_message": b""}


# ---- field types -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        bytes([24, 13, 1, 10, 30]),  # month 13
        bytes([24, 0, 1, 10, 30]),  # month 0
        bytes([24, 2, 30, 10, 30]),  # 30 February
        bytes([24, 1, 32, 10, 30]),  # day 32
        bytes([24, 1, 15, 24, 0]),  # hour 24
        bytes([24, 1, 15, 10, 60]),  # minute 60
        bytes(5),  # all zero: not a date in a request
    ],
)
def test_invalid_date_time_is_a_validation_error(raw: bytes) -> None:
    for code in (0x11, 0x13, 0x15, 0x17, 0x18, 0x3B):
        with pytest.raises(ValidationError) as info:
            parse_request(code, raw)
        assert not isinstance(info.value, ValueError | IndexError)


@pytest.mark.parametrize("raw", [bytes([24, 2, 30]), bytes([24, 13, 1]), bytes(3)])
def test_invalid_date_is_a_validation_error(raw: bytes) -> None:
    with pytest.raises(ValidationError):
        parse_answer(0x32, raw + b"\x01\x00")


@given(raw=st.binary(min_size=5, max_size=5))
def test_any_five_bytes_are_a_datetime_or_a_validation_error(raw: bytes) -> None:
    yy, mo, dd, hh, mi = raw
    try:
        expected: dt.datetime | None = dt.datetime(2000 + yy, mo, dd, hh, mi)
    except ValueError:
        expected = None
    if expected is None:
        with pytest.raises(ValidationError):
            fields.DATE_TIME.parse(raw)
    else:
        assert fields.DATE_TIME.parse(raw) == expected


def test_zero_dates_in_answers_mean_none() -> None:
    status = bytes([1, 0, 0, 0, 0]) + bytes(5) + b"9999078900005488" + bytes(4)
    parsed = parse_answer(0x30, status)
    assert parsed.last_date_time is None and parsed.fn_number == "9999078900005488"
    assert build_answer(0x30, **as_dict(parsed)) == status
    assert parse_answer(0x19, bytes(15)).first_unconfirmed is None


@pytest.mark.parametrize(
    "bad",
    [
        dt.datetime(2024, 1, 15, 10, 30, 5),  # seconds are not representable
        dt.datetime(2024, 1, 15, 10, 30, 0, 1),
        dt.datetime(2024, 1, 15, 10, 30, tzinfo=dt.UTC),  # drive time is naive local time
        dt.datetime(1999, 12, 31, 23, 59),
        dt.datetime(2256, 1, 1),
        dt.date(2024, 1, 15),
        "2024-01-15 10:30",
        None,
    ],
)
def test_bad_date_time_values_refuse_to_build(bad: Any) -> None:
    with pytest.raises(ValidationError):
        build_request(0x11, date_time=bad)


def test_date_refuses_a_datetime() -> None:
    with pytest.raises(ValidationError):
        fields.DATE.build(dt.datetime(2024, 1, 15))
    assert fields.DATE.build(dt.date(2024, 1, 15)) == b"\x18\x01\x0f"


def test_drive_minute_truncates() -> None:
    moment = dt.datetime(2024, 1, 15, 10, 30, 59, 999)
    assert fields.drive_minute(moment) == dt.datetime(2024, 1, 15, 10, 30)
    assert fields.encode_date_time(fields.drive_minute(moment)) == bytes.fromhex("18010f0a1e")


def test_ascii_fields() -> None:
    # Padded fields: the wire string keeps its spaces; building pads shorter values.
    assert fields.INN.build("7702203276") == b"7702203276  "
    assert fields.INN.parse(b"7702203276  ") == "7702203276  "
    assert fields.RNM.build("0000000005008570") == b"0000000005008570    "
    with pytest.raises(ValidationError):
        fields.INN.build("7" * 13)
    # The FN number is exactly 16 characters.
    assert fields.FN_NUMBER.build("9999078900005488") == b"9999078900005488"
    with pytest.raises(ValidationError):
        fields.FN_NUMBER.build("999907890000548")
    for bad in ("№999078900005488", 9999078900005488, b"9999078900005488"):
        with pytest.raises(ValidationError):
            fields.FN_NUMBER.build(bad)
    for raw in (b"\xfc" + b"9" * 15, b"\0" + b"9" * 15):
        with pytest.raises(ValidationError):
            fields.FN_NUMBER.parse(raw)
    # The version string may hold NUL fill.
    assert fields.VERSION_ASCII.parse(b"fn 1.2 mgm 03\0\0\0") == "fn 1.2 mgm 03\0\0\0"


def test_money_is_an_int_uint40() -> None:
    assert fields.UINT40.parse(bytes.fromhex("3930000000")) == 12345
    assert fields.UINT40.build(2**40 - 1) == b"\xff" * 5
    for bad in (2**40, -1):
        with pytest.raises(ConstructError):
            build_request(0x16, date_time=dt.datetime(2024, 1, 1), operation=1, total_kop=bad)


def test_build_checks_field_names() -> None:
    with pytest.raises(ValidationError):
        build_request(0x16, date_time=dt.datetime(2024, 1, 1), operation=1, total=1)
    with pytest.raises(ValidationError):
        build_request(0x16, date_time=dt.datetime(2024, 1, 1), operation=1)
    with pytest.raises(ValidationError):
        build_request(0x30, anything=1)


def test_reset_requires_its_magic_byte() -> None:
    assert build_request(0x60) == b"\x16"
    assert parse_request(0x60, b"\x16").magic == 0x16
    with pytest.raises(ConstError):
        parse_request(0x60, b"\x17")


# ---- archive records (40h) ---------------------------------------------------------------


def test_find_document_answer_carries_an_archive_record() -> None:
    record = build_archive(
        3, date_time=dt.datetime(2024, 1, 15, 10, 31), fd=7, fp=476807588, operation=1,
        total_kop=12345,
    )  # fmt: skip
    answer = build_answer(0x40, document_type=3, ofd_receipt=1, data=record)
    parsed = parse_answer(0x40, answer)
    assert (parsed.document_type, parsed.ofd_receipt) == (3, 1)
    inner = as_dict(parse_archive(parsed.document_type, parsed.data))
    assert inner["total_kop"] == 12345 and inner["fd"] == 7
    # [2nd] FFD-version bits in the document type are ignored.
    assert as_dict(parse_archive(0xC3, parsed.data)) == inner


def test_archive_without_format_is_unknown() -> None:
    with pytest.raises(UnknownCodeError):
        parse_archive(7, b"")  # operator ack: no archive format in §1.6a


# ---- codes -------------------------------------------------------------------------------


def test_answer_byte_bits() -> None:
    assert split_answer_byte(0x80) == (0, True)
    assert split_answer_byte(0xA0) == (0x20, True)
    assert split_answer_byte(0x11) == (0x11, False)
    assert ANSWER_BYTE.parse(b"\xa0").code == AnswerCode.OFD_MESSAGE_REJECTED
    assert ANSWER_BYTE.build({"warning": False, "code": 0x16}) == b"\x16"


def test_answer_texts() -> None:
    assert set(ANSWER_INFO) == set(AnswerCode)
    assert codes.ANSWER_MESSAGES_RU[AnswerCode.OK] == "Успешное выполнение команды"
    assert answer_message(0x85) == "Закончен срок эксплуатации ФН"
    assert answer_message(0x05, CommandCode.OFD_RECEIPT) == "Неверное CRC16"
    assert answer_message(0x05, fn12=True).startswith("Параметры команды")
    assert answer_message(0x7E).endswith("7Eh")
    assert ANSWER_INFO[AnswerCode.NO_TRANSPORT].retryable
    assert ANSWER_INFO[AnswerCode.MARKING_TABLE_FULL].source == "2nd"


def test_phases_and_flags() -> None:
    assert [int(p) for p in Phase] == [0, 1, 3, 7, 15]
    assert set(codes.PHASE_RU) == set(Phase)
    assert int(WarningFlag.CRITICAL_ERROR) == 0x80
    assert flag_names(0x09, codes.WARNING_FLAG_RU) == [
        codes.WARNING_FLAG_RU[WarningFlag.URGENT_REPLACEMENT],
        codes.WARNING_FLAG_RU[WarningFlag.OFD_TIMEOUT],
    ]
    assert flag_names(0x40, codes.WARNING_FLAG_RU) == ["неизвестные биты 0x40"]
    for enum, names in (
        (codes.TaxSystem, codes.TAX_SYSTEM_RU),
        (codes.WorkMode, codes.WORK_MODE_RU),
        (codes.ExtendedMode, codes.EXTENDED_MODE_RU),
        (codes.OfdExchangeStatus, codes.OFD_EXCHANGE_STATUS_RU),
        (codes.CurrentDocument, codes.CURRENT_DOCUMENT_RU),
        (codes.DocumentType, codes.DOCUMENT_TYPE_RU),
    ):
        assert set(names) == set(enum)
