"""Capacity and lifetime: archive (06h), expiry (05h), OFD block (15h), storage (14h), flags."""

from __future__ import annotations

import dataclasses
import datetime as dt

from protocol.fn.codes import AnswerCode, WarningFlag
from tests.simulator.kkt import FAST, RNM, make_drive, text

DAY = 86400.0


def test_archive_full_keeps_room_to_close() -> None:
    _, kkt, _ = make_drive(dataclasses.replace(FAST, archive_capacity=8))
    kkt.register()  # 1
    kkt.open_shift()  # 2
    kkt.receipt()  # 3
    kkt.receipt()  # 4
    kkt.receipt()  # 5
    kkt.receipt()  # 6 — two places left: for closing the shift and the fiscal mode
    assert kkt.code(0x15, date_time=kkt.now()) == AnswerCode.ARCHIVE_FULL
    assert kkt.code(0x18, date_time=kkt.now()) == AnswerCode.ARCHIVE_FULL
    assert not kkt.call(0x30).warning  # 6 of 8 is below the 90 % warning
    kkt.close_shift()  # 7
    assert kkt.code(0x11, date_time=kkt.now()) == AnswerCode.ARCHIVE_FULL
    kkt.ok(0x04)
    kkt.ok(0x05, date_time=kkt.now(), rnm=RNM)  # 8: the last place
    assert kkt.ok(0x3D)["archive_docs_left"] == 0


def test_memory_warning_at_90_percent() -> None:
    _, kkt, _ = make_drive(dataclasses.replace(FAST, archive_capacity=20))
    kkt.register()
    kkt.open_shift()
    while kkt.ok(0x30)["last_fd"] < 17:
        assert not kkt.call(0x30).warning
        kkt.receipt()
    kkt.receipt()  # 18 of 20 = 90 %
    answer = kkt.call(0x30)
    assert answer.warning and answer.fields is not None
    assert answer.fields["warnings"] == WarningFlag.MEMORY_FULL
    # The warning bit rides on every answer, errors included (§1.3).
    failed = kkt.call(0x12)
    assert failed.code == AnswerCode.WRONG_STATE and failed.warning


def test_expiry_flags_and_refusal() -> None:
    config = dataclasses.replace(FAST, expires_on=dt.date(2024, 2, 20))
    _, kkt, clock = make_drive(config)
    kkt.register()  # 2024-01-15
    kkt.deliver_all()
    assert kkt.ok(0x30)["warnings"] == 0
    clock.advance(7 * DAY)  # 2024-01-22: 29 days left
    kkt.open_shift()
    assert kkt.ok(0x30)["warnings"] == WarningFlag.RESOURCE_EXHAUSTION
    kkt.close_shift()
    clock.advance(26 * DAY)  # 2024-02-17: 3 days left; two reports undelivered
    assert kkt.ok(0x30)["warnings"] == (
        WarningFlag.RESOURCE_EXHAUSTION | WarningFlag.URGENT_REPLACEMENT | WarningFlag.OFD_TIMEOUT
    )
    kkt.open_shift()
    clock.advance(3 * DAY + 3600)  # 2024-02-20 14:30 is the last valid day
    assert kkt.code(0x15, date_time=kkt.now()) == AnswerCode.SHIFT_OVER_24H
    clock.advance(DAY)  # 2024-02-21: expired
    assert kkt.code(0x18, date_time=kkt.now()) == AnswerCode.FN_EXPIRED
    kkt.close_shift()  # closing still works
    assert kkt.code(0x11, date_time=kkt.now()) == AnswerCode.FN_EXPIRED
    kkt.ok(0x04)
    kkt.ok(0x05, date_time=kkt.now(), rnm=RNM)


def test_validity_defaults_to_registration_plus_lifetime() -> None:
    _, kkt, _ = make_drive(dataclasses.replace(FAST, lifetime_days=100))
    kkt.register()
    assert kkt.ok(0x32)["valid_until"] == dt.date(2024, 1, 15) + dt.timedelta(days=100)
    assert kkt.ok(0x32)["reregistrations_left"] == 30


def test_ofd_30_day_block_15h() -> None:
    _, kkt, clock = make_drive()
    kkt.register()
    clock.advance(2 * DAY + 60)
    answer = kkt.call(0x30)
    assert answer.fields is not None and answer.fields["warnings"] == WarningFlag.OFD_TIMEOUT
    clock.advance(28 * DAY)  # the registration report is 30 days and 1 minute old
    assert kkt.code(0x11, date_time=kkt.now()) == AnswerCode.OFD_WAIT_EXHAUSTED
    kkt.ok(0x18, date_time=kkt.now())  # a settlement report is still possible
    kkt.ok(0x19)
    kkt.deliver_all()
    assert kkt.ok(0x30)["warnings"] == 0
    kkt.open_shift()


def test_ofd_storage_exhausted_14h() -> None:
    _, kkt, _ = make_drive(dataclasses.replace(FAST, ofd_storage_bytes=600))
    kkt.register()
    kkt.open_shift()
    while kkt.call(0x15, date_time=kkt.now()).ok:
        kkt.ok(0x07, tlv=text(1030, "x" * 100))
        kkt.ok(0x16, date_time=kkt.now(), operation=1, total_kop=1)
    assert kkt.code(0x15, date_time=kkt.now()) == AnswerCode.STORAGE_EXHAUSTED
    assert kkt.ok(0x3D)["ofd_storage_kib_left"] == 0
    kkt.close_shift()
    kkt.deliver_all()
    assert kkt.ok(0x3D)["ofd_storage_kib_left"] == 0  # 600 bytes are less than 1 KiB
    kkt.open_shift()
    kkt.receipt()


def test_autonomous_mode_queues_nothing() -> None:
    _, kkt, clock = make_drive()
    kkt.register(work_mode=0x02)
    kkt.open_shift()
    kkt.receipt()
    assert kkt.ok(0x20)["message_count"] == 0
    assert kkt.ok(0x42)["count"] == 0
    clock.advance(40 * DAY)
    kkt.close_shift()
    kkt.open_shift()  # no 30-day block without an OFD
    kkt.close_shift()
    kkt.ok(0x04)
    kkt.ok(0x05, date_time=kkt.now(), rnm=RNM)
    assert kkt.ok(0x30)["phase"] == 0x0F  # nothing to deliver: straight to the archive


def test_reregistration_limit() -> None:
    _, kkt, _ = make_drive(dataclasses.replace(FAST, max_reregistrations=1))
    kkt.register()
    for expected in (AnswerCode.OK, AnswerCode.WRONG_STATE):
        code = kkt.code(0x02, registration_type=2)
        assert code == expected
        if code == AnswerCode.OK:
            kkt.ok(0x03, date_time=kkt.now(), inn="7702203276", rnm=RNM, tax_systems=1,
                   work_mode=0, reason=4)  # fmt: skip
    assert kkt.ok(0x32)["reregistrations_left"] == 0
