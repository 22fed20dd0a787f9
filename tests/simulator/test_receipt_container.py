"""The drive simulator's check of the OFD receipt's container header (simulator/fn/exchange.py
`_container`, struct instead of protocol.ofd.parse_container's construct decode): on any header
bytes it accepts what parse_container accepts, with the same fields, and refuses the rest with
the reason parse_container's error meant (a CRC error: 5, anything else: 2)."""

from __future__ import annotations

import datetime as dt
import struct

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protocol.errors import ProtocolError
from protocol.fn.codes import OfdRejectReason
from protocol.ofd import container_crc, parse_container
from simulator.fn import build_receipt
from simulator.fn.exchange import _container, _RejectError
from tests.simulator.test_ofd_exchange import REJECTED, _receipt, _setup

GOOD = build_receipt("9999078900000001", 17, dt.datetime(2026, 11, 29, 12, 0), algorithm="sha256")


def _old(message: bytes) -> tuple[int, str, int] | OfdRejectReason:
    # what _check_receipt made of parse_container before (stop 21)
    if len(message) < 36:
        return OfdRejectReason.BAD_FORMAT
    try:
        c = parse_container(message)
    except ProtocolError as exc:
        return OfdRejectReason.BAD_CRC if "CRC" in str(exc) else OfdRejectReason.BAD_FORMAT
    return c.doc_type, c.fn_number, c.fd_number


def _new(message: bytes) -> tuple[int, str, int] | OfdRejectReason:
    try:
        doc_type, fn, fd, body = _container(message)
    except _RejectError as rej:
        return rej.reason
    assert body == message[32:]
    return doc_type, fn, fd


def test_the_good_receipt() -> None:
    assert _new(GOOD) == _old(GOOD) == (7, "9999078900000001", 17)


@given(
    st.lists(st.tuples(st.integers(0, 31), st.integers(0, 255)), min_size=1, max_size=4),
    st.booleans(),
    st.integers(-3, 3),
)
def test_header_mutations_agree(edits: list[tuple[int, int]], fix_crc: bool, cut: int) -> None:
    raw = bytearray(GOOD)
    for pos, value in edits:
        raw[pos] = value
    if cut < 0:
        del raw[cut:]
    elif cut:
        raw += b"\x00" * cut
    if fix_crc and len(raw) >= 4:
        struct.pack_into("<H", raw, 2, container_crc(raw))
    assert _new(bytes(raw)) == _old(bytes(raw))


@pytest.mark.parametrize("size", [0, 10, 35, 36])
def test_short_messages(size: int) -> None:
    assert _new(GOOD[:size]) == OfdRejectReason.BAD_FORMAT


_KKT = _setup()
_KKT.ok(0x21, connected=1)
_KKT.read_message()


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_body_mutations_never_pass(data: st.DataObject) -> None:
    # The document's own bytes (no longer decoded against the tag registry by construct): any
    # change with the CRC made good again is refused, as a bad shape or by the ФПО.
    raw = bytearray(_receipt(_KKT, 1))
    pos = data.draw(st.integers(32, len(raw) - 1))
    raw[pos] ^= data.draw(st.integers(1, 255))
    struct.pack_into("<H", raw, 2, container_crc(raw))
    answer = _KKT.call(0x26, message=bytes(raw))
    assert answer.code == REJECTED
    assert answer.data[0] in (
        OfdRejectReason.BAD_FORMAT,
        OfdRejectReason.BAD_FP,
        OfdRejectReason.BAD_FN_NUMBER,
        OfdRejectReason.BAD_FD_NUMBER,
    )
