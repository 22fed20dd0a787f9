# micropython
# Portable tests of firmware.storage, firmware.journal and firmware.flashmodel: run by pytest
# on CPython and by tools/mprun.mjs on MicroPython 1.27 (in the WebAssembly port FileStorage
# works on its in-memory filesystem). Power-cut properties: test_journal_faults.py.
from mpsupport import raises

from firmware.errors import JournalError, JournalFullError, UsageError
from firmware.flashmodel import FlashModel, Lcg, PowerCut
from firmware.journal import (
    BEGUN,
    FAILED,
    MADE,
    RECEIVED,
    REPORTED,
    Journal,
    encode_record,
    parse_record,
)
from firmware.storage import FileStorage

UUID = "0f8fad5b-d9cb-469f-a165-70867728950e"  # a fleet request id as it will look


def _scratch(tag):
    # A fresh directory: unique per process on CPython (hash randomisation and ASLR); the
    # WebAssembly port's filesystem is private to the run.
    return "/tmp/oblako-journal-%s-%x" % (tag, (hash(tag) ^ id(tag)) & 0xFFFFFFFFFFFF)


def _receipt(j, rid, fd, report=True):
    j.received(rid, "ref-" + rid)
    j.begun(rid, 3, fd - 1)
    j.made(rid, 3, fd, 3000000000 + fd, 7, fd)
    if report:
        j.reported(rid)


def _with_dir(tag, fn):
    st = FileStorage(_scratch(tag))
    try:
        fn(st)
    finally:
        st.wipe()


def test_record_frame_and_crc():
    frame = encode_record([1, "a", "b"])
    assert frame[:2] == b"OJ" and frame[2] | (frame[3] << 8) == len(frame) - 6
    rec, end = parse_record(frame, 0)
    assert rec == [1, "a", "b"] and end == len(frame)
    two = frame + encode_record([5, "a"])
    assert parse_record(two, end)[0] == [5, "a"]
    for i in range(len(frame)):  # any single damaged byte is refused
        bad = bytearray(frame)
        bad[i] ^= 0x10
        assert parse_record(bytes(bad), 0) == (None, 0)
    for n in range(len(frame)):  # any torn prefix is refused
        assert parse_record(frame[:n], 0)[0] is None


def test_lifecycle_survives_reopen():
    def run(st):
        j = Journal(st)
        assert j.received(UUID, "sha1-1f2e") is None
        j.begun(UUID, 3, 41)
        j.made(UUID, 3, 42, 4012345678, 17, 5)
        st.close()
        j2 = Journal(FileStorage(st.root))
        e = j2.get(UUID)
        assert e.step == MADE and e.ref == "sha1-1f2e" and e.fd_before == 41
        assert (e.doc_type, e.fd, e.fp, e.shift, e.number) == (3, 42, 4012345678, 17, 5)
        assert e.outcome() == "made" and j2.state() == [e] and j2.dropped_bytes == 0
        assert j2.reported(UUID) and not j2.reported(UUID)
        assert j2.state() == [] and j2.finished() == [UUID]

    _with_dir("life", run)


def test_state_after_restart_lists_each_step():
    def run(st):
        j = Journal(st)
        j.received("r1", "a")
        j.received("r2", "b")
        j.begun("r2", 3, 10)
        j.received("r3", "c")
        j.begun("r3", 3, 10)
        j.made("r3", 3, 11, 99, 1, 1)
        j.received("r4", "d")
        j.failed("r4", "Неверная сумма\n\x00", False)
        j.received("r5", "e")
        j.begun("r5", 2, 11)
        j.failed("r5", "drive busy", True)
        j.sync()
        st.close()
        j2 = Journal(FileStorage(st.root))
        got = [(e.rid, e.step) for e in j2.state()]
        assert got == [
            ("r1", RECEIVED),
            ("r2", BEGUN),
            ("r3", MADE),
            ("r4", FAILED),
            ("r5", FAILED),
        ]
        assert j2.get("r2").fd_before == 10 and j2.get("r2").doc_type == 3
        assert j2.get("r4").reason == "Неверная сумма\n\x00" and j2.get("r4").retryable is False
        assert j2.get("r5").retryable is True and j2.get("r5").outcome() == "failed"
        j2.begun("r5", 2, 11)  # a retryable failure may begin again
        raises(UsageError, j2.begun, "r4", 3, 11)  # a final one may not

    _with_dir("state", run)


def test_transitions_refused_write_nothing():
    flash = FlashModel()
    j = Journal(flash)
    j.received("a", "")
    writes = flash.writes
    raises(UsageError, j.made, "a", 3, 1, 1)  # not begun
    raises(UsageError, j.reported, "a")  # no outcome yet
    raises(UsageError, j.begun, "zz", 3, 0)  # unknown
    raises(UsageError, j.begun, "a", 3, -1)  # bad fd_before
    raises(UsageError, j.received, "", "x")  # empty id
    raises(UsageError, j.received, "x" * 65, "")  # too long
    raises(UsageError, j.received, 'a"b', "")  # not a plain id
    raises(UsageError, j.received, "ид", "")  # not ASCII
    j.begun("a", 3, 0)
    j.made("a", 3, 1, 5)
    raises(UsageError, j.failed, "a", "too late")
    raises(UsageError, j.begun, "a", 3, 1)
    assert flash.writes == writes + 2 and j.get("a").step == MADE


def test_duplicate_ids_are_idempotent():
    flash = FlashModel()
    j = Journal(flash, keep_done=2, max_done=3)
    _receipt(j, "dup", 1)
    writes = flash.writes
    e = j.received("dup", "ref-dup")  # the fleet sent it again: answer from the journal
    assert e is not None and e.step == REPORTED and e.fd == 1 and e.fp == 3000000001
    assert flash.writes == writes  # nothing written
    raises(JournalError, j.received, "dup", "another request")
    j.received("live", "x")
    assert j.received("live", "x").step == RECEIVED
    for i in range(2, 7):  # push "dup" out of the remembered window
        _receipt(j, "n%d" % i, i)
    assert j.get("dup") is None and len(j.finished()) <= 3
    assert j.received("dup", "ref-dup") is None  # forgotten: new to the register


def test_torn_tail_is_dropped_and_rewritten():
    def run(st):
        j = Journal(st)
        _receipt(j, "a", 1)
        j.received("b", "rb")
        j.begun("b", 3, 1)
        good = st.read("journal")
        torn = encode_record([3, "b", 3, 2, 777, 1, 2])
        st.append("journal", torn[:9])  # the make record, torn by a power cut
        st.sync()
        st.close()
        j2 = Journal(FileStorage(st.root))
        assert j2.dropped_bytes == 9 and j2.lost_records == 0 and j2.size == len(good)
        assert j2.get("b").step == BEGUN and j2.get("a").step == REPORTED
        j2.made("b", 3, 2, 777, 1, 2)  # the next write rewrites the file: no torn bytes inside
        assert j2.compactions == 1
        st2 = FileStorage(st.root)
        j3 = Journal(st2)
        assert j3.dropped_bytes == 0 and j3.get("b").fd == 2 and j3.get("a").fd == 1

    _with_dir("torn", run)


def test_damage_before_valid_records_is_reported():
    flash = FlashModel()
    j = Journal(flash)
    for i in range(1, 4):
        _receipt(j, "r%d" % i, i)
    data = bytearray(flash.read("journal"))
    first = parse_record(bytes(data), 0)[1]  # the header
    data[first + 8] ^= 0x01  # damage the first request's record: not a torn tail
    flash.write("journal", bytes(data))
    j2 = Journal(flash)
    assert j2.size == first and j2.lost_records == 11 and j2.state() == []
    assert flash.read("journal.bad") == bytes(data)  # kept for the operator


def test_unknown_format_is_refused():
    flash = FlashModel()
    flash.write("journal", encode_record([0, 2, 0, 0]) + encode_record([1, "a", ""]))
    raises(JournalError, Journal, flash)
    flash.write("journal", encode_record([1, "a", ""]))
    raises(JournalError, Journal, flash)
    flash.write("journal", b"\xff" * 40)  # erased flash: an empty journal
    j = Journal(flash)
    assert j.dropped_bytes == 40 and j.state() == []


def test_compaction_keeps_the_file_small():
    def run(st):
        j = Journal(st, keep_done=4, max_done=8, max_bytes=2048)
        biggest = 0
        for i in range(1, 121):
            _receipt(j, "%s-%d" % (UUID[:24], i), i)
            size = len(st.read("journal"))
            assert size == j.size
            if size > biggest:
                biggest = size
        j.received("open", "x")
        j.begun("open", 3, 120)
        assert biggest <= 2048 and j.compactions >= 10
        assert len(j.finished()) <= 8
        st.close()
        j2 = Journal(FileStorage(st.root))
        assert [e.rid for e in j2.state()] == ["open"]
        assert j2.finished() == j.finished() and j2.get("open").fd_before == 120

    _with_dir("compact", run)


def test_wear_per_receipt():
    def run(st):
        j = Journal(st)
        for i in range(1, 11):
            _receipt(j, "w%d" % i, i)
        # received, begun, made, reported: four appends; begun and made are synced
        assert st.writes == 40 and st.syncs == 20
        assert j.get("w3").writes == 4 and j.wear()["writes"] == 40
        # exactly the four records per receipt and one header: nothing else reached flash
        want = len(encode_record([0, 1, 0, 0]))
        for i in range(1, 11):
            r = "w%d" % i
            for rec in ([1, r, "ref-" + r], [2, r, 3, i - 1], [3, r, 3, i, 3000000000 + i, 7, i]):
                want += len(encode_record(rec))
            want += len(encode_record([5, r]))
        assert st.bytes_written == want and 80 < want / 10 < 100  # 2-char ids here

    _with_dir("wear", run)


def test_reported_upto_watermark():
    flash = FlashModel()
    j = Journal(flash)
    for i in range(1, 6):
        _receipt(j, "m%d" % i, i, report=False)
    j.received("f", "")
    j.failed("f", "no paper")
    assert j.reported_upto(3) == 3 and j.reported_upto(3) == 0
    assert [e.rid for e in j.state()] == ["m4", "m5", "f"]
    j2 = Journal(flash)
    assert [e.rid for e in j2.state()] == ["m4", "m5", "f"]
    assert j2.finished() == ["m1", "m2", "m3"]


def test_back_pressure_when_full():
    j = Journal(FlashModel(), max_live=3)
    for r in ("a", "b", "c"):
        j.received(r, "")
    raises(JournalFullError, j.received, "d", "")
    assert j.received("a", "") is not None  # a duplicate still answers
    j.failed("a", "refused")
    j.reported("a")
    j.received("d", "")


def test_power_cut_mid_append_keeps_synced_steps():
    for seed in range(1, 40):
        flash = FlashModel(Lcg(seed))
        j = Journal(flash)
        j.received("s", "x")
        j.begun("s", 3, 5)  # synced: must survive
        flash.crash_at(1)
        raises(PowerCut, j.made, "s", 3, 6, 1234)
        raises(PowerCut, flash.read, "journal")  # the power stays off until restart
        flash.power_on()
        j2 = Journal(flash)
        e = j2.get("s")
        assert e.step == BEGUN or (e.step == MADE and e.fd == 6), (seed, e)
        j2.made("s", 3, 6, 1234)  # reconciliation found the document (idempotent if known)
        assert Journal(flash).get("s").step == MADE


def test_power_cut_mid_compaction_loses_nothing_synced():
    seen = []
    for seed in range(1, 30):
        flash = FlashModel(Lcg(seed))
        j = Journal(flash, keep_done=1, max_done=2)
        _receipt(j, "a", 1)
        _receipt(j, "b", 2)
        j.received("c", "")
        j.begun("c", 3, 2)
        j.made("c", 3, 3, 9)
        flash.crash_at(1)  # the third finished request compacts: cut inside write()
        raises(PowerCut, j.reported, "c")
        flash.power_on()
        j2 = Journal(flash)
        assert j2.lost_records == 0 and j2.get("c").fd == 3
        if j2.get("c").step == REPORTED:  # the compacted file made it
            assert j2.finished() == ["c"] and j2.dropped_bytes == 0
        else:  # the old file, whole
            assert j2.get("c").step == MADE and j2.finished() == ["a", "b"]
        if j2.get("c").step not in seen:
            seen.append(j2.get("c").step)
    assert len(seen) == 2  # both outcomes of the cut happened


def test_file_storage_contract():
    def run(st):
        assert st.read("f") is None
        st.append("f", b"ab")
        st.append("f", b"cd")
        assert st.read("f") == b"abcd"
        st.write("f", b"new")
        assert st.read("f") == b"new"
        st.append("g", b"1")
        st.sync()
        st.remove("g")
        st.remove("g")
        assert st.read("g") is None
        assert st.writes == 4 and st.bytes_written == 8 and st.syncs == 2
        raises(UsageError, st.read, "a/b")
        raises(UsageError, st.append, "x.tmp", b"")

    _with_dir("contract", run)


def test_file_storage_finishes_an_interrupted_write():
    def run(st):
        st.write("f", b"old")
        _raw(st.root + "/f.tmp", b"half-writ")  # cut while the new content was written
        assert FileStorage(st.root).read("f") == b"old"
        # FAT: cut after the old content was parked and before the new one was renamed in
        _raw(st.root + "/h.bak", b"old")
        _raw(st.root + "/h.tmp", b"new")
        st3 = FileStorage(st.root)
        assert st3.read("h") == b"new"
        st3.append("h", b"!")
        st3.sync()
        assert FileStorage(st.root).read("h") == b"new!"
        # ... and after the new one was renamed in, before the parked one was removed
        _raw(st.root + "/k", b"new")
        _raw(st.root + "/k.bak", b"old")
        assert FileStorage(st.root).read("k") == b"new"

    _with_dir("interrupted", run)


def _raw(path, data):
    with open(path, "wb") as f:
        f.write(data)
