"""The simulator's struct path for hot requests and answers (simulator/fn/fastcodec.py)
against the construct declarations (protocol/fn/commands.py), the spec and oracle: on random
and layout-shaped inputs both give the same Container, the same bytes, or the same error."""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from protocol.fn import commands
from protocol.fn.codes import OperationType, Phase, WarningFlag
from simulator.fn import fastcodec

REQUEST_CODES = sorted(fastcodec._REQUESTS)
ANSWER_CODES = sorted(fastcodec._ANSWERS)


def _outcome(f: Any, *args: Any, **kw: Any) -> tuple[str, Any]:
    try:
        out = f(*args, **kw)
    except Exception as e:  # the error itself is what is compared
        return ("error", (type(e), str(e)))
    if isinstance(out, dict):
        return ("value", {k: (type(v), v) for k, v in out.items() if not k.startswith("_")})
    return ("value", (type(out), out))


def _date_time_bytes() -> st.SearchStrategy[bytes]:
    # mostly calendar minutes, some not (month 13, day 31 of a short month, zeros)
    return st.one_of(
        st.tuples(
            st.integers(0, 255),
            st.integers(1, 12),
            st.integers(1, 28),
            st.integers(0, 23),
            st.integers(0, 59),
        ).map(bytes),
        st.binary(min_size=5, max_size=5),
    )


def _request_data(code: int) -> st.SearchStrategy[bytes]:
    shaped = {
        0x11: _date_time_bytes(),
        0x15: _date_time_bytes(),
        0x16: st.tuples(_date_time_bytes(), st.binary(min_size=6, max_size=6)).map(
            lambda t: t[0] + t[1]
        ),
    }
    return st.one_of(shaped.get(code, st.nothing()), st.binary(max_size=14))


@st.composite
def _requests(draw: st.DrawFn) -> tuple[int, bytes]:
    code = draw(st.sampled_from(REQUEST_CODES))
    return code, draw(_request_data(code))


@settings(max_examples=3000, deadline=None)
@given(_requests())
def test_requests_parse_as_construct_parses_them(req: tuple[int, bytes]) -> None:
    code, data = req
    assert _outcome(fastcodec.parse_request, code, data) == _outcome(
        commands.parse_request, code, data
    )


def _odd() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.none(), st.booleans(), st.text(max_size=3), st.floats(allow_nan=False), st.just(b"x")
    )


def _uint(bits: int) -> st.SearchStrategy[Any]:
    return st.one_of(
        st.sampled_from([*Phase, *WarningFlag, *OperationType]),  # the model passes enums
        st.integers(0, (1 << bits) - 1),
        st.integers(0, (1 << bits) - 1),
        st.integers(-5, (1 << bits) + 5),
        _odd(),
    )


def _when(maybe: bool = True) -> st.SearchStrategy[Any]:
    minute = st.datetimes(dt.datetime(2000, 1, 1), dt.datetime(2255, 12, 31)).map(
        lambda d: d.replace(second=0, microsecond=0)
    )
    out = st.one_of(
        minute,
        minute,
        st.datetimes(dt.datetime(1990, 1, 1), dt.datetime(2300, 1, 1)),
        st.datetimes(timezones=st.just(dt.UTC)),
        st.dates(),
        _odd(),
    )
    return st.one_of(st.none(), out) if maybe else out


def _fn_number() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.text("0123456789", min_size=16, max_size=16),
        st.text(min_size=15, max_size=17),
        st.text(st.characters(max_codepoint=0x80), min_size=16, max_size=16),
        _odd(),
    )


def _bytes() -> st.SearchStrategy[Any]:
    return st.one_of(st.binary(max_size=40), st.binary(max_size=40), _odd(), st.just(bytearray(3)))


FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "phase": _uint(8),
    "current_document": _uint(8),
    "document_data": _uint(8),
    "shift_open": _uint(8),
    "warnings": _uint(8),
    "last_date_time": _when(),
    "fn_number": _fn_number(),
    "last_fd": _uint(32),
    "status": _uint(8),
    "read_started": _uint(8),
    "message_count": _uint(16),
    "first_fd": _uint(32),
    "first_date_time": _when(),
    "receipt_number": _uint(16),
    "shift_number": _uint(16),
    "fd": _uint(32),
    "fp": _uint(32),
    "message_length": _uint(16),
    "data": _bytes(),
    "ofd_answer_code": _uint(8),
    "operator_message": _bytes(),
    "document_type": _uint(8),
    "ofd_receipt": _uint(8),
}


@st.composite
def _answers(draw: st.DrawFn) -> tuple[int, dict[str, Any]]:
    code = draw(st.sampled_from(ANSWER_CODES))
    names = set(fastcodec._ANSWERS[code][0])
    if draw(st.integers(0, 9)) == 0:  # a field missing or one too many
        names ^= {draw(st.sampled_from(sorted(FIELDS)))}
    return code, {n: draw(FIELDS[n]) for n in sorted(names)}


@settings(max_examples=3000, deadline=None)
@given(_answers())
def test_answers_build_as_construct_builds_them(ans: tuple[int, dict[str, Any]]) -> None:
    code, values = ans
    assert _outcome(fastcodec.build_answer, code, **values) == _outcome(
        commands.build_answer, code, **values
    )


def test_the_hot_path_is_taken() -> None:
    # the fast path answers these itself (no construct Container, which carries `_io`)
    assert "_io" not in fastcodec.parse_request(0x16, bytes([26, 11, 29, 10, 5, 1, 1, 0, 0, 0, 0]))
    assert "_io" in commands.parse_request(0x16, bytes([26, 11, 29, 10, 5, 1, 1, 0, 0, 0, 0]))
    status = {
        "phase": Phase.FISCAL,
        "current_document": 0,
        "document_data": 0,
        "shift_open": 1,
        "warnings": 0,
        "last_date_time": dt.datetime(2026, 11, 29, 10, 5),
        "fn_number": "9999078900000001",
        "last_fd": 7,
    }
    assert fastcodec._status(status) is not None  # enums as the model passes them
    assert fastcodec.build_answer(0x30, **status) == commands.build_answer(0x30, **status)
