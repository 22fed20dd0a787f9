"""Time rules (reference §1.8 [V]): monotonic 07h, timer agreement 17h, 24-hour shift 16h."""

from __future__ import annotations

import dataclasses
import datetime as dt

from protocol.fn.codes import AnswerCode
from simulator.clock import SimClock
from tests.simulator.kkt import FAST, RNM, make_drive

MINUTE = dt.timedelta(minutes=1)
HOUR = 3600.0


def test_drive_time_is_the_clock_in_local_time() -> None:
    clock = SimClock(dt.datetime(2024, 1, 15, 7, 30, tzinfo=dt.UTC))
    drive, kkt, _ = make_drive(clock=clock)
    assert kkt.now() == dt.datetime(2024, 1, 15, 10, 30)  # UTC+3 by default
    other, _, _ = make_drive(dataclasses.replace(FAST, utc_offset=dt.timedelta(0)), clock=clock)
    assert other.now() == dt.datetime(2024, 1, 15, 7, 30)
    clock.advance(90)
    assert drive.now() == dt.datetime(2024, 1, 15, 10, 31, 30)


def test_time_must_not_go_back_07h() -> None:
    _, kkt, clock = make_drive()
    kkt.register()
    kkt.open_shift()
    clock.advance(10 * 60)
    kkt.receipt()
    last = kkt.ok(0x30)["last_date_time"]
    # A time before the last document is refused even when close to the timer.
    assert kkt.code(0x15, date_time=last - MINUTE) == AnswerCode.BAD_DATE_TIME
    kkt.ok(0x15, date_time=last)  # the same minute is fine
    assert (
        kkt.code(0x16, date_time=last - MINUTE, operation=1, total_kop=1)
        == AnswerCode.BAD_DATE_TIME
    )


def test_time_must_agree_with_the_drive_timer_17h() -> None:
    _, kkt, clock = make_drive()
    kkt.register()
    now = kkt.now()
    assert kkt.code(0x11, date_time=now + 6 * MINUTE) == AnswerCode.BAD_TIME_DELTA
    assert kkt.code(0x11, date_time=now + 5 * MINUTE) == AnswerCode.OK  # within ±5 min
    kkt.ok(0x06)
    clock.advance(2 * HOUR)
    # The register's clock stepped (NTP): the timer did not.
    clock.set_wall(clock.wall() + 3600)
    assert kkt.code(0x11, date_time=kkt.now()) == AnswerCode.OK
    kkt.ok(0x06)
    wall_now = (clock.now() + dt.timedelta(hours=3)).replace(tzinfo=None, second=0)
    assert kkt.code(0x11, date_time=wall_now) == AnswerCode.BAD_TIME_DELTA


def test_first_document_anchor_accepts_any_time_once() -> None:
    config = dataclasses.replace(FAST, time_anchor="first_document")
    drive, kkt, clock = make_drive(config)
    when = dt.datetime(2030, 6, 1, 12, 0)
    kkt.ok(0x02, registration_type=None)
    kkt.ok(0x03, date_time=when, inn="7702203276", rnm=RNM, tax_systems=1, work_mode=0,
           reason=None)  # fmt: skip
    assert drive.now() == when
    clock.advance(3600)
    assert kkt.code(0x11, date_time=when + dt.timedelta(minutes=30)) == AnswerCode.BAD_TIME_DELTA
    kkt.ok(0x11, date_time=when + dt.timedelta(minutes=60))


def test_shift_longer_than_24_hours_16h() -> None:
    _, kkt, clock = make_drive()
    kkt.register()
    kkt.open_shift()
    clock.advance(23 * HOUR + 59 * 60)
    kkt.receipt()
    clock.advance(2 * 60)
    assert kkt.code(0x15, date_time=kkt.now()) == AnswerCode.SHIFT_OVER_24H
    assert kkt.code(0x17, date_time=kkt.now()) == AnswerCode.SHIFT_OVER_24H
    kkt.ok(0x18, date_time=kkt.now())  # reports are not bound to the shift
    kkt.ok(0x19)
    kkt.close_shift()  # closing is always allowed
    kkt.open_shift()
    kkt.receipt()


def test_receipt_begun_in_time_but_made_late() -> None:
    _, kkt, clock = make_drive()
    kkt.register()
    kkt.open_shift()
    clock.advance(24 * HOUR - 30)
    kkt.ok(0x15, date_time=kkt.now())
    clock.advance(120)
    answer = kkt.call(0x16, date_time=kkt.now(), operation=1, total_kop=1)
    assert answer.code == AnswerCode.SHIFT_OVER_24H
    assert kkt.ok(0x30)["current_document"] == 0x04  # still open; cancel or close
    kkt.ok(0x06)
    kkt.close_shift()


def test_days_left_and_validity_follow_the_given_date() -> None:
    config = dataclasses.replace(FAST, expires_on=dt.date(2024, 2, 14))
    _, kkt, _ = make_drive(config)
    assert kkt.ok(0x32)["valid_until"] == dt.date(2024, 2, 14)
    assert kkt.ok(0x3B, date_time=dt.datetime(2024, 2, 4, 12, 0))["days_left"] == 10
    assert kkt.ok(0x3B, date_time=dt.datetime(2024, 3, 1, 12, 0))["days_left"] == 0
