"""Random command sequences against a small, independent reference model of the drive.

The model knows only the protocol's rules (reference §1.5–1.8): phases, which document
is open, FD numbering, shift and receipt numbers, the time rules and the OFD queue. Every
answer must be a well-formed frame; success answers must parse with protocol/'s layouts;
the answer code must be the one the model predicts; nothing may raise.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from protocol import fiscalsign
from protocol.fn.commands import COMMANDS, as_dict, build_request, parse_answer
from protocol.fn.frame import build_frame, parse_frame
from simulator.clock import SimClock
from simulator.fn import DriveModel, build_receipt, inproc_pair
from tests.simulator.kkt import FAST, INN, RNM, SERIAL, text

OK, UNKNOWN, STATE, BAD_TIME, NO_DATA, NO_TRANSPORT = 0x00, 0x01, 0x02, 0x07, 0x08, 0x11
OFD_BLOCKED, SHIFT_24H, DRIFT = 0x15, 0x16, 0x17
LOCAL = dt.timedelta(hours=3)  # DriveConfig's default UTC offset
DAY = dt.timedelta(days=1)

# Begin commands: code -> (document name, current-document code in 30h, TLV budget)
BEGINS = {
    0x11: ("open_shift", 0x02, 1024),
    0x13: ("close_shift", 0x08, 1024),
    0x15: ("receipt", 0x04, 30 * 1024),
    0x17: ("correction", 0x14, 30 * 1024),
    0x18: ("settlement", 0x17, 2048),
}
DOC_CODES = {name: current for name, current, _ in BEGINS.values()}
MAKES = {"open_shift": 0x12, "close_shift": 0x14, "settlement": 0x19}
UNKNOWN_CODES = sorted(set(range(256)) - set(COMMANDS) - {0x60})
SAFE_TAGS = (1008, 1021, 1030, 1192)


@dataclass
class Reference:
    """What the protocol says the drive's state is."""

    phase: int = 1
    last_fd: int = 0
    last_time: dt.datetime | None = None
    shift_open: bool = False
    shift_number: int = 0
    receipt_number: int = 0
    opened_at: dt.datetime | None = None
    doc: str | None = None
    doc_begun: dt.datetime | None = None
    doc_size: int = 0
    doc_budget: int = 0
    unconfirmed: list[dt.datetime] = field(default_factory=list)
    transport: bool = False


class DriveMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.clock = SimClock()
        self.drive = DriveModel(FAST, clock=self.clock)
        self.port, self.endpoint = inproc_pair(self.drive)
        self.model = Reference()
        self.last_answer = b""

    # ---- plumbing ------------------------------------------------------------------------

    def now(self) -> dt.datetime:
        # The clock only ever moves in whole minutes, so this is exact.
        return (self.clock.now() + LOCAL).replace(tzinfo=None)

    def send(self, code: int, data: bytes = b"") -> tuple[int, dict[str, Any] | None, bytes]:
        self.port.write(build_frame(code, data))
        raw = self.port.read(2048)
        parsed = parse_frame(raw)  # a well-formed frame, CRC and all
        self.last_answer = raw
        fields = None
        if parsed.answer_code == OK:
            fields = as_dict(parse_answer(code, parsed.data))
        return parsed.answer_code, fields, parsed.data

    def call(self, code: int, expected: int, **values: Any) -> dict[str, Any] | None:
        got, fields, _ = self.send(code, build_request(code, **values))
        assert got == expected, f"{code:02X}h answered {got:02X}h, model says {expected:02X}h"
        return fields

    def time_code(self, when: dt.datetime, *, receipt: bool, floor: dt.datetime | None) -> int:
        m = self.model
        last = m.last_time
        if floor is not None and (last is None or floor > last):
            last = floor
        if last is not None and when < last:
            return BAD_TIME
        if abs(when - self.now()) > dt.timedelta(minutes=5):
            return DRIFT
        if receipt and m.opened_at is not None and when > m.opened_at + DAY:
            return SHIFT_24H
        return OK

    def made(self, fields: dict[str, Any] | None, when: dt.datetime) -> None:
        m = self.model
        assert fields is not None and fields["fd"] == m.last_fd + 1  # no gaps
        m.last_fd += 1
        m.last_time = when
        m.unconfirmed.append(when)
        m.doc = None
        doc = self.drive.document(m.last_fd)
        assert doc is not None and doc.fp == fields["fp"]
        assert fiscalsign.verify_document(FAST.fp_secret, FAST.fn_number, doc.stlv,
                                          algorithm="sha256")  # fmt: skip

    # ---- rules -----------------------------------------------------------------------------

    @initialize(start=st.sampled_from(["new", "registered", "shift", "shift"]))
    def start(self, start: str) -> None:
        """Most runs start in the fiscal mode, so they get to receipts and the OFD."""
        if start != "new":
            self.register()
        if start == "shift":
            self.begin(0x11, 0)
            self.make()

    @rule(operation=st.integers(1, 4), items=st.integers(0, 3))
    def receipt_cycle(self, operation: int, items: int) -> None:
        """A whole receipt at the right time, as a correct register makes it."""
        self.begin(0x15, 0)
        if self.model.doc == "receipt":
            for _ in range(items):
                self.data(1030, 20)
            self.make_receipt(operation, 100 * operation, 0)

    @rule()
    def register(self) -> None:
        m = self.model
        ok = m.phase == 1 and m.doc is None
        self.call(0x02, OK if ok else STATE, registration_type=None)
        if not ok:
            return
        self.call(0x07, OK, tlv=text(1013, SERIAL))
        when = self.now()
        fields = self.call(0x03, OK, date_time=when, inn=INN, rnm=RNM, tax_systems=1,
                           work_mode=0, reason=None)  # fmt: skip
        self.made(fields, when)
        m.phase = 3

    @rule(code=st.sampled_from(sorted(BEGINS)), skew=st.sampled_from([0, 0, 0, -10, 10]))
    def begin(self, code: int, skew: int) -> None:
        m = self.model
        name, _, budget = BEGINS[code]
        when = self.now() + dt.timedelta(minutes=skew)
        receipt = name in ("receipt", "correction")
        # §1.5 table 6 and the shift state: open needs a closed shift, the rest an open one.
        needs_shift = name in ("close_shift", "receipt", "correction")
        wrong_shift = (name == "open_shift" and m.shift_open) or (needs_shift and not m.shift_open)
        if m.phase != 3 or m.doc is not None or wrong_shift:
            expected = STATE
        elif (
            name in ("open_shift", "receipt", "correction")
            and m.unconfirmed
            and self.now() - m.unconfirmed[0] > 30 * DAY
        ):
            expected = OFD_BLOCKED
        else:
            expected = self.time_code(when, receipt=receipt, floor=None)
        self.call(code, expected, date_time=when)
        if expected == OK:
            m.doc, m.doc_begun, m.doc_size, m.doc_budget = name, when, 0, budget

    @rule(tag=st.sampled_from(SAFE_TAGS), size=st.integers(0, 300))
    def data(self, tag: int, size: int) -> None:
        m = self.model
        value = text(tag, "ы" * size)
        if m.doc is None:
            expected = STATE
        elif m.doc_size + len(value) > m.doc_budget:
            expected = 0x10
        else:
            expected = OK
        self.call(0x07, expected, tlv=value)
        if expected == OK:
            m.doc_size += len(value)

    @rule()
    def make(self) -> None:
        m = self.model
        if m.doc in MAKES:
            code = MAKES[m.doc]
            fields = self.call(code, OK)
            assert m.doc_begun is not None
            name = m.doc
            self.made(fields, m.doc_begun)
            assert fields is not None
            if name == "open_shift":
                m.shift_open, m.shift_number, m.receipt_number = True, m.shift_number + 1, 0
                m.opened_at = m.last_time
                assert fields["shift_number"] == m.shift_number
            elif name == "close_shift":
                m.shift_open, m.opened_at = False, None
                assert fields["shift_number"] == m.shift_number
            else:
                assert fields["unconfirmed_count"] == len(m.unconfirmed) - 1
        elif m.doc is None:
            self.call(0x12, STATE)

    @rule(operation=st.integers(0, 5), total=st.integers(0, 2**40 - 1),
          skew=st.sampled_from([0, 0, -10, 10]))  # fmt: skip
    def make_receipt(self, operation: int, total: int, skew: int) -> None:
        m = self.model
        when = self.now() + dt.timedelta(minutes=skew)
        if m.doc not in ("receipt", "correction"):
            expected = STATE
        else:
            expected = self.time_code(when, receipt=True, floor=m.doc_begun)
            if expected == OK and not 1 <= operation <= 4:
                expected = 0x09
        fields = self.call(0x16, expected, date_time=when, operation=operation, total_kop=total)
        if expected == OK:
            assert fields is not None
            m.receipt_number += 1
            assert fields["receipt_number"] == m.receipt_number
            self.made(fields, when)

    @rule()
    def cancel(self) -> None:
        self.call(0x06, OK)
        self.model.doc = None

    @rule(minutes=st.sampled_from([1, 7, 60, 600, 1440, 4 * 1440, 12 * 1440]))
    def advance(self, minutes: int) -> None:
        self.clock.advance(60 * minutes)

    @rule()
    def deliver(self) -> None:
        m = self.model
        exchange_phase = m.phase in (1, 3, 7)
        self.call(0x21, OK if exchange_phase else STATE, connected=1)
        if not exchange_phase:
            return
        m.transport = True
        if not m.unconfirmed:
            self.call(0x22, NO_DATA)
            return
        fields = self.call(0x22, OK)
        assert fields is not None
        message = b""
        while len(message) < fields["message_length"]:
            block = self.call(0x23, OK, offset=len(message), length=300)
            assert block is not None
            message += block["data"]
        self.call(0x25, OK)
        # The drive does no format-logic check (§1.8): a document may hold values the
        # registry refuses, so read the container header raw (FD: 3 bytes BE, §4.2).
        fd = int.from_bytes(message[17:20], "big")
        assert fd == m.last_fd - len(m.unconfirmed) + 1  # the oldest unconfirmed
        doc = self.drive.document(fd)
        assert doc is not None and message[32 : 32 + len(doc.stlv)] == doc.stlv
        receipt = build_receipt(FAST.fn_number, fd, self.now(), ofd_secret=FAST.ofd_secret,
                                algorithm="sha256")  # fmt: skip
        self.call(0x26, OK, message=receipt)
        m.unconfirmed.pop(0)
        if m.phase == 7 and not m.unconfirmed:
            m.phase = 15

    @precondition(lambda self: self.model.phase == 3 and self.model.last_fd >= 6)
    @rule()
    def close_fn(self) -> None:
        m = self.model
        ok = m.doc is None and not m.shift_open
        self.call(0x04, OK if ok else STATE)
        if not ok:
            return
        when = self.now()
        expected = self.time_code(when, receipt=False, floor=None)
        fields = self.call(0x05, expected, date_time=when, rnm=RNM)
        if expected == OK:
            self.made(fields, when)
            m.phase = 7
        else:
            self.call(0x06, OK)
        m.doc = None

    @rule()
    def enq(self) -> None:
        before = self.last_answer
        self.port.write(b"\x05")
        assert self.port.read(2048) == before

    @rule(code=st.sampled_from(UNKNOWN_CODES), data=st.binary(max_size=40))
    def unknown_command(self, code: int, data: bytes) -> None:
        got, _, _ = self.send(code, data)
        assert got == UNKNOWN

    @rule(noise=st.binary(max_size=20).map(lambda b: bytes(x for x in b if x not in (4, 5))))
    def line_noise(self, noise: bytes) -> None:
        self.port.write(noise)  # between frames the drive drops it silently
        assert self.port.read(100) == b""

    @rule(data=st.binary(min_size=1, max_size=12))
    def bad_length(self, data: bytes) -> None:
        got, _, _ = self.send(0x30, data)  # 30h takes no data
        assert got == UNKNOWN

    @rule()
    def power_cut(self) -> None:
        self.endpoint.power_off()
        self.endpoint.power_on()
        self.model.doc = None
        self.model.transport = False
        self.last_answer = b""

    # ---- invariants ------------------------------------------------------------------------

    @invariant()
    def status_matches_the_model(self) -> None:
        m = self.model
        got, fields, _ = self.send(0x30)
        assert got == OK and fields is not None
        current = 0 if m.doc is None else DOC_CODES[m.doc]
        assert (fields["phase"], fields["last_fd"], fields["shift_open"]) == (
            m.phase,
            m.last_fd,
            int(m.shift_open),
        )
        assert fields["current_document"] == current
        assert fields["last_date_time"] == m.last_time
        got, shift, _ = self.send(0x10)
        assert shift == {
            "shift_open": int(m.shift_open),
            "shift_number": m.shift_number,
            "receipt_number": m.receipt_number,
        }
        got, count, _ = self.send(0x42)
        assert count == {"count": len(m.unconfirmed)}


DriveMachine.TestCase.settings = settings(
    max_examples=120,
    stateful_step_count=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestDriveMachine = DriveMachine.TestCase
