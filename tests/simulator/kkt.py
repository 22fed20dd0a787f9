"""A tiny test-side register: talks to a DriveModel in frames built with protocol/.

Deliberately naive (no retries, no journal): the tests check the drive, not a register.
"""

from __future__ import annotations

import datetime as dt
import struct
from dataclasses import dataclass
from typing import Any

from protocol.fn.commands import as_dict, build_request, parse_answer
from protocol.fn.fields import drive_minute
from protocol.fn.frame import build_frame, parse_frame
from protocol.ofd import parse_container
from simulator.clock import SimClock
from simulator.fn import DriveConfig, DriveModel, build_receipt

FAST = DriveConfig(sign_algorithm="sha256")
INN = "7702203276"
SERIAL = "000000000002"
RNM = "0000000005008570"  # §3.2 [V-calc] for INN and SERIAL above


def tlv(tag: int, value: bytes) -> bytes:
    """One raw TLV."""
    return struct.pack("<HH", tag, len(value)) + value


def text(tag: int, value: str) -> bytes:
    """A CP866 string TLV."""
    return tlv(tag, value.encode("cp866"))


@dataclass
class Answer:
    """One decoded answer."""

    code: int  # without the warning bit
    warning: bool
    data: bytes
    fields: dict[str, Any] | None  # parsed success data

    @property
    def ok(self) -> bool:
        return self.code == 0


class Kkt:
    """Sends commands to ``drive`` and decodes the answers."""

    def __init__(self, drive: DriveModel, clock: SimClock) -> None:
        self.drive = drive
        self.clock = clock

    def now(self) -> dt.datetime:
        """The drive's local time, to the minute: what a correct register sends."""
        return drive_minute(self.drive.now())

    def raw(self, code: int, data: bytes = b"") -> Answer:
        frame = self.drive.handle(build_frame(code, data))
        assert frame is not None, f"no answer to {code:02X}h"
        parsed = parse_frame(frame)
        fields = None
        if parsed.answer_code == 0:
            fields = as_dict(parse_answer(code, parsed.data))
        return Answer(parsed.answer_code, parsed.warning, parsed.data, fields)

    def call(self, code: int, **values: Any) -> Answer:
        return self.raw(code, build_request(code, **values))

    def ok(self, code: int, **values: Any) -> dict[str, Any]:
        answer = self.call(code, **values)
        assert answer.ok, f"{code:02X}h answered {answer.code:02X}h"
        assert answer.fields is not None
        return answer.fields

    def code(self, code: int, **values: Any) -> int:
        return self.call(code, **values).code

    # ---- flows -----------------------------------------------------------------------------

    def register(
        self, *, work_mode: int = 0, extra: bytes = b"", tax_systems: int = 1
    ) -> dict[str, Any]:
        self.ok(0x02, registration_type=None)
        self.ok(0x07, tlv=text(1013, SERIAL) + text(1048, "ООО Облако") + extra)
        return self.ok(
            0x03,
            date_time=self.now(),
            inn=INN,
            rnm=RNM,
            tax_systems=tax_systems,
            work_mode=work_mode,
            reason=None,
        )

    def register_12(self, *, extended_mode: int = 0x10, work_mode: int = 0) -> dict[str, Any]:
        self.ok(0xA2, registration_type=0, ffd_version=4)
        self.ok(0x07, tlv=text(1013, SERIAL))
        return self.ok(
            0xA3,
            date_time=self.now(),
            inn=INN,
            rnm=RNM,
            tax_systems=1,
            work_mode=work_mode,
            extended_mode=extended_mode,
            ofd_inn="7704358518",
            reason_codes=0,
        )

    def open_shift(self) -> dict[str, Any]:
        self.ok(0x11, date_time=self.now())
        self.ok(0x07, tlv=text(1021, "Кассир"))
        return self.ok(0x12)

    def close_shift(self) -> dict[str, Any]:
        self.ok(0x13, date_time=self.now())
        return self.ok(0x14)

    def receipt(
        self, operation: int = 1, total: int = 12345, data: bytes | None = None
    ) -> dict[str, Any]:
        self.ok(0x15, date_time=self.now())
        body = data if data is not None else text(1030, "Хлеб") + tlv(1079, b"\x39\x30")
        if body:
            self.ok(0x07, tlv=body)
        return self.ok(0x16, date_time=self.now(), operation=operation, total_kop=total)

    def read_message(self, block: int = 200) -> bytes:
        """22h, 23h…, 25h: the OFD message of the oldest unconfirmed document."""
        length = self.ok(0x22)["message_length"]
        out = b""
        while len(out) < length:
            out += self.ok(0x23, offset=len(out), length=block)["data"]
        self.ok(0x25)
        return out

    def deliver_one(self) -> int:
        """Read one message and confirm it with a valid receipt; returns its FD."""
        message = self.read_message()
        fd = parse_container(message).fd_number
        receipt = build_receipt(
            self.drive.config.fn_number,
            fd,
            self.now(),
            ofd_secret=self.drive.config.ofd_secret,
            algorithm=self.drive.config.sign_algorithm,
        )
        self.ok(0x26, message=receipt)
        return fd

    def deliver_all(self) -> list[int]:
        self.ok(0x21, connected=1)
        delivered = []
        while self.ok(0x20)["message_count"]:
            delivered.append(self.deliver_one())
        return delivered


def make_drive(
    config: DriveConfig = FAST, clock: SimClock | None = None, **kwargs: Any
) -> tuple[DriveModel, Kkt, SimClock]:
    clock = clock or SimClock()
    drive = DriveModel(config, clock=clock, **kwargs)
    return drive, Kkt(drive, clock), clock
