# micropython
# Portable tests of firmware.ofdanswers (the OFD's answers kept until the fleet stores them):
# run by pytest on CPython and by tools/mprun.mjs on MicroPython 1.27.
from mpsupport import FakeClock, raises

from firmware.errors import StorageError
from firmware.flashmodel import FlashModel, PowerCut
from firmware.ofdanswers import OfdAnswers

FN = "9999078900012345"


def _fds(payloads):
    return [p["fd"] for p in payloads]


def test_an_answer_is_sent_until_the_fleet_names_it():
    flash, clock = FlashModel(), FakeClock()
    a = OfdAnswers(flash, clock, resend_s=30)
    a.add(FN, 7, "accepted", None, 1000)
    a.add(FN, 8, "rejected", 14, 1001)
    due = a.due()
    assert due == [
        {"fn": FN, "fd": 7, "status": "accepted", "at": 1000},
        {"fn": FN, "fd": 8, "status": "rejected", "at": 1001, "code": 14},
    ]
    for p in due:
        a.sent(p["fn"], p["fd"])
    assert a.due() == []  # in flight
    clock.sleep(31)
    assert _fds(a.due()) == [7, 8]  # not acknowledged: sent again
    assert a.stored(FN, [7]) == 1
    assert a.stored("0000000000000001", [8]) == 0  # another drive's FD 8 is not ours
    clock.sleep(31)
    assert _fds(a.due()) == [8]
    a.stored(FN, [8])
    assert len(a) == 0 and a.due() == []


def test_answers_survive_a_restart_and_a_reconnect_resends_at_once():
    flash, clock = FlashModel(), FakeClock()
    a = OfdAnswers(flash, clock)
    a.add(FN, 3, "rejected", 14, 10)
    a.sent(FN, 3)
    b = OfdAnswers(flash, clock)  # the board restarted
    assert _fds(b.due()) == [3] and b.due()[0]["code"] == 14
    b.sent(FN, 3)
    assert b.due() == []
    b.resend_now()
    assert _fds(b.due()) == [3]


def test_a_power_cut_while_saving_keeps_the_older_answers():
    flash, clock = FlashModel(), FakeClock()
    a = OfdAnswers(flash, clock)
    a.add(FN, 1, "accepted", None, 10)
    flash.crash_at(1)
    raises(PowerCut, a.add, FN, 2, "accepted", None, 11)
    flash.power_on()
    b = OfdAnswers(flash, clock)
    assert 1 in _fds(b.due())  # the write is atomic: the file is the old one or the new one


def test_full_drops_the_oldest_accepted_never_a_refusal_first():
    a = OfdAnswers(FlashModel(), FakeClock(), limit=3, window=10)
    a.add(FN, 1, "rejected", 14, 10)
    a.add(FN, 2, "accepted", None, 11)
    a.add(FN, 3, "accepted", None, 12)
    a.add(FN, 4, "accepted", None, 13)
    assert _fds(a.due()) == [1, 3, 4] and a.dropped == 1


def test_a_newer_answer_for_the_same_document_replaces_the_older():
    a = OfdAnswers(FlashModel(), FakeClock())
    a.add(FN, 5, "rejected", 14, 10)
    a.add(FN, 5, "accepted", None, 20)
    assert a.due() == [{"fn": FN, "fd": 5, "status": "accepted", "at": 20}]


def test_the_window_bounds_one_round():
    a = OfdAnswers(FlashModel(), FakeClock(), window=2)
    for fd in range(1, 6):
        a.add(FN, fd, "accepted", None, fd)
    assert _fds(a.due()) == [1, 2]


def test_a_broken_file_is_a_storage_error():
    flash = FlashModel()
    flash.write("ofdanswers", b'{"a": [["x", 1, "maybe", null, 0]]}')
    raises(StorageError, OfdAnswers, flash, FakeClock())
    flash.write("ofdanswers", b"not json")
    raises(StorageError, OfdAnswers, flash, FakeClock())
