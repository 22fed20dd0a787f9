# micropython
# Portable tests of the register runtime's pure parts and of its decisions (firmware/counters.py,
# firmware/register.py): counters and their 1194 form, the QR string, digests, field building,
# and what recover() and handle() decide against a scripted fake drive (method level: no
# bytes), over the flash model. Run by pytest on CPython and by tools/mprun.mjs on MicroPython.
from mpsupport import FakeClock, raises

from firmware import counters as ctr
from firmware.errors import DriveError, LinkTimeout, UsageError
from firmware.flashmodel import FlashModel, Lcg
from firmware.journal import BEGUN, FAILED, MADE, Journal
from firmware.register import (
    Register,
    cashier_fields,
    digest,
    fit_budget,
    id_ok,
    iso_local,
    qr_text,
    rnm_ok,
)
from firmware.tlv import decode, encode, size_of

AT = (2024, 1, 15, 10, 30)
FN = "9999078900001234"


class FakeDrive:
    """A fiscal drive at the level of FiscalDrive's methods: an archive of documents, the
    shift, an open document; `calls` lists every method called, `dead` makes every call
    time out. Documents are made for real (numbered without gaps, 40h records, TLVs)."""

    def __init__(self):
        self.utc_offset_min = 180
        self.calls = []
        self.docs = []  # [{"type", "record", "tlv": [fields]}]
        self.phase = 3
        self.shift_open = 0
        self.shift = 0
        self.receipts = 0
        self.open_doc = 0  # 30h byte 1 of the open document
        self.data = []
        self.begun_at = None
        self.dead = False
        self.cursor = None

    def _call(self, name):
        self.calls.append(name)
        if self.dead:
            raise LinkTimeout(0x30)

    # -- reads
    def status(self):
        self._call("status")
        last = self.docs[-1]["record"]["date_time"] if self.docs else None
        return {
            "phase": self.phase,
            "current_document": self.open_doc,
            "document_data": 0,
            "shift_open": self.shift_open,
            "warnings": 0,
            "last_date_time": last,
            "fn_number": FN,
            "last_fd": len(self.docs),
        }

    def shift_parameters(self):
        self._call("shift_parameters")
        return {
            "shift_open": self.shift_open,
            "shift_number": self.shift,
            "receipt_number": self.receipts,
        }

    def find_document(self, fd):
        self._call("find_document")
        if not 1 <= fd <= len(self.docs):
            raise DriveError(0x08, False, 0x40)
        d = self.docs[fd - 1]
        return {"document_type": d["type"], "ofd_receipt": 0, "data": b"", "record": d["record"]}

    def document_tlv_begin(self, fd):
        self._call("document_tlv_begin")
        tlv = self.docs[fd - 1]["tlv"]
        self.cursor = [encode([f]) for f in tlv]
        return {"document_tag": self.docs[fd - 1]["type"], "length": size_of(tlv)}

    def document_tlv_read(self):
        self._call("document_tlv_read")
        return self.cursor.pop(0) if self.cursor else None

    def registration_totals(self):
        return {"inn": "7702203276  ", "rnm": "0000000005008570    "}

    # -- documents
    def cancel_document(self):
        self._call("cancel_document")
        self.open_doc = 0

    def _begin(self, name, code, at):
        self._call(name)
        self.open_doc = code
        self.data = []
        self.begun_at = at

    def open_shift_begin(self, at=None):
        self._begin("open_shift_begin", 0x02, at)

    def close_shift_begin(self, at=None):
        self._begin("close_shift_begin", 0x08, at)

    def receipt_begin(self, at=None):
        self._begin("receipt_begin", 0x04, at)

    def correction_receipt_begin(self, at=None):
        self._begin("correction_receipt_begin", 0x14, at)

    def settlement_report_begin(self, at=None):
        self._begin("settlement_report_begin", 0x17, at)

    def send_data(self, data):
        self._call("send_data")
        for f in data:
            self.data.append(f)
        return 0

    def _make(self, doc_type, record, extra):
        fd = len(self.docs) + 1
        record["date_time"] = self.begun_at
        record["fd"] = fd
        record["fp"] = 1000000 + fd
        self.docs.append({"type": doc_type, "record": record, "tlv": extra + self.data})
        self.open_doc = 0
        self.data = []
        return fd, record["fp"]

    def open_shift(self):
        self._call("open_shift")
        self.shift += 1
        fd, fp = self._make(2, {"shift_number": self.shift}, [(1038, self.shift)])
        self.shift_open = 1
        self.receipts = 0
        return {"shift_number": self.shift, "fd": fd, "fp": fp}

    def close_shift(self):
        self._call("close_shift")
        fd, fp = self._make(5, {"shift_number": self.shift}, [(1038, self.shift)])
        self.shift_open = 0
        return {"shift_number": self.shift, "fd": fd, "fp": fp}

    def receipt_make(self, operation, total_kop, at=None):
        self._call("receipt_make")
        self.receipts += 1
        doc_type = 31 if self.open_doc == 0x14 else 3
        extra = [(1038, self.shift), (1042, self.receipts), (1054, operation), (1020, total_kop)]
        rec = {"operation": operation, "total_kop": total_kop}
        fd, fp = self._make(doc_type, rec, extra)
        return {"receipt_number": self.receipts, "fd": fd, "fp": fp}

    def settlement_report_make(self):
        self._call("settlement_report_make")
        rec = {"unconfirmed_count": 0, "first_unconfirmed": None}
        fd, fp = self._make(21, rec, [])
        return {"fd": fd, "fp": fp, "unconfirmed_count": 0, "first_unconfirmed": None}


def _sale(rid, total, op="sale"):
    return {
        "id": rid,
        "operation": op,
        "tax_system": "osn",
        "items": [
            {
                "name": "Хлеб",
                "price": total,
                "quantity": "1",
                "measure": 0,
                "sum": total,
                "vat": "vat20",
                "type": 1,
                "method": "full_payment",
            }
        ],
        "payments": {"cash": total},
    }


def _rig(drive=None, trusted=True):
    drive = drive or FakeDrive()
    flash = FlashModel(Lcg(7))
    reg = Register(drive, Journal(flash), FakeClock(), None, storage=flash)
    if trusted:
        reg.trust_time("test")
    return drive, flash, reg


# ---- pure parts -----------------------------------------------------------------------------


def test_qr_iso_and_ids():
    assert qr_text(AT, 12345, FN, 42, 3000000001, 1) == (
        "t=20240115T1030&s=123.45&fn=9999078900001234&i=42&fp=3000000001&n=1"
    )
    assert qr_text(AT, 7, FN, 1, 0, 4).startswith("t=20240115T1030&s=0.07&")
    assert iso_local(AT) == "2024-01-15T10:30"
    assert iso_local(AT, 180) == "2024-01-15T10:30:00+03:00"
    assert iso_local(AT, -90) == "2024-01-15T10:30:00-01:30"
    assert id_ok("0f8fad5b-d9cb-469f-a165-70867728950e") and id_ok("a")
    for bad in ("", "a" * 65, 'quo"te', "back\\slash", "tab\t", 7, None):
        assert not id_ok(bad)


def test_digest_is_canonical():
    a = {"id": "x", "items": [{"b": 1, "a": "Хлеб"}], "n": None, "t": True}
    b = {"t": True, "n": None, "items": [{"a": "Хлеб", "b": 1}], "id": "x"}
    assert digest(a) == digest(b) and digest(a, "report")[0] == "x"
    assert digest(a) != digest({"id": "x", "items": [{"b": 2, "a": "Хлеб"}], "n": None, "t": True})
    assert digest({"s": "1"}) != digest({"s": 1})
    assert len(digest(a)) <= 64 and id_ok(digest(a))


def test_digest_is_pinned():
    # The journal's refs on flash: the same string on MicroPython (the portable loops) and on
    # CPython (zlib.adler32, binascii.crc_hqx), as the code before them computed it.
    a = {"id": "x", "items": [{"b": 1, "a": "Хлеб"}], "n": None, "t": True}
    a["q"] = [-7, 2**40, False]
    a["p"] = 1.5
    assert digest(a) == "r89.10a3f5a61f88"
    assert digest(a, "report") == "x89.10a3f5a61f88"


def test_rnm_check_digits():
    # reference §3.2 [V-calc]: INN 7702203276, serial 000000000002 -> 0000000005008570
    assert rnm_ok("0000000005008570", "7702203276", "000000000002")
    assert not rnm_ok("0000000005008571", "7702203276", "000000000002")
    assert not rnm_ok("000000000500857", "7702203276", "000000000002")


def test_field_building():
    assert cashier_fields(None) == [] and cashier_fields({"name": None}) == []
    assert cashier_fields({"name": "Кассир", "inn": "500100732259"}) == [
        (1021, "Кассир"),
        (1203, "500100732259"),
    ]
    fields = [(1048, "x" * 256), (1009, "y" * 256), (1187, "z" * 256), (1021, "Кассир")]
    out, dropped = fit_budget(fields, 400, (1187, 1009, 1048))
    assert dropped == [1187, 1009] and size_of(out) <= 400
    out, dropped = fit_budget(fields, 2048, (1187,))
    assert dropped == [] and out == fields


# ---- counters -------------------------------------------------------------------------------


def test_counters_feed_once_per_document():
    c = ctr.Counters()
    c.start(FN, 5, 100, 1000)
    assert c.apply(101, 3, 1, 1000, [(1031, 400), (1081, 600), (1102, 167)])
    assert not c.apply(101, 3, 1, 1000, [(1031, 400)])  # the same FD: nothing
    assert not c.apply(100, 3, 1, 1000, [])  # before the watermark: nothing
    assert c.apply(102, 4, 2, 300, [(1081, 300), (1105, 300)])  # a BSO counts as a receipt
    assert c.apply(103, 31, 3, 50, [(1031, 50), (1103, 5)])
    assert not c.apply(104, 21, 0, 0, [])  # a report: only the watermark moves
    assert c.note(105) and not c.note(105)
    assert c.last_fd == 105 and c.documents == 6 and c.receipts() == 3 and c.corrections() == 1
    row = c.rows[0]
    assert row[:4] == [1, 1000, 400, 600] and row[7] == 167
    assert c.rows[1][12] == 300 and c.rows[6][8] == 5
    s = c.summary()
    assert s["operations"]["sale"] == {
        "count": 1,
        "total": 1000,
        "cash": 400,
        "electronic": 600,
        "vat20": 167,
    }
    assert s["corrections"]["expense"]["vat10"] == 5
    assert c.finish(106) and not c.open and c.documents == 7
    back = ctr.load(c.dump())
    assert back is not None and back.dump() == c.dump()
    for bad in (b"", b"[]", b'{"v":2}', b'{"v":1}', b"\xff\xfe"):
        assert ctr.load(bad) is None


def test_counters_1194_form():
    c = ctr.Counters()
    c.start(FN, 1, 1, 0)
    c.apply(2, 3, 1, 500, [(1031, 500), (1102, 83)])
    c.apply(3, 31, 1, 0x123456789, [(1031, 0x123456789), (1081, 0), (1102, 0x5555555)])
    tag, members = c.tlv()
    assert tag == 1194 and members[0] == (1134, 2)
    assert members[1] == (1129, [(1135, 1), (1201, 500), (1136, 500), (1139, 83)])
    corr = members[2]
    assert corr[0] == 1133 and corr[1][0] == (1144, 1)
    # 1145 may hold 32 bytes (registry [2nd]): count, total and cash fit; the VAT does not
    assert corr[1][1] == (1145, [(1135, 1), (1201, 0x123456789), (1136, 0x123456789)])
    raw = encode([c.tlv()])
    assert decode(raw) == [c.tlv()]  # the codec takes it (every STLV within its maximum)


def test_counters_compare_with_the_drive():
    c = ctr.Counters()
    c.start(FN, 4, 10, 0)
    c.apply(11, 3, 1, 100, [])
    c.apply(12, 3, 2, 40, [])
    rows = ctr.tally([(3, 1, 100), (3, 2, 40), (21, 0, 0)])
    assert ctr.compare(c, {"shift_number": 4, "receipt_number": 2}, rows) == []
    rows[0][1] = 90
    assert ctr.compare(c, {"shift_number": 4, "receipt_number": 3}, rows) == [
        {"what": "receipts", "runtime": 2, "drive": 3},
        {"what": "sale.total", "runtime": 100, "drive": 90},
    ]
    c.complete = False
    assert ctr.compare(c)[-1]["what"] == "complete"


# ---- handle() against the fake drive -----------------------------------------------------------


def test_receipt_opens_the_shift_and_counts():
    drive, _flash, reg = _rig()
    assert reg.recover() == []
    r = reg.handle(_sale("s-1", 1000))
    assert r["status"] == "made" and r["fd"] == 2 and r["number"] == 1, r
    assert [d["kind"] for d in r["shift_documents"]] == ["open_shift"]
    assert r["qr"] == "t=20240115T1030&s=10.00&fn=%s&i=2&fp=1000002&n=1" % FN
    assert reg.journal.get("s-1").step == MADE
    assert reg.counters.rows[0][:3] == [1, 1000, 1000]
    calls = drive.calls
    # begun is synced before the first command of the receipt; one 30h for both documents
    assert calls.count("status") == 1 and calls[-3:] == [
        "receipt_begin",
        "send_data",
        "receipt_make",
    ]
    dup = reg.handle(_sale("s-1", 1000))
    assert dup["duplicate"] and dup["fd"] == 2 and len(drive.docs) == 2


class MarkingDrive(FakeDrive):
    """FakeDrive with the marking commands: codes starting "BAD" check negative."""

    def __init__(self):
        FakeDrive.__init__(self)
        self.saved = 0

    def marking_clear(self):
        self._call("marking_clear")
        self.saved = 0

    def marking_check(self, code_type, code, extra=b""):
        self._call("marking_check")
        return {"result": 1 if code[:3] == b"BAD" else 3, "reason": 0}

    def marking_save(self, save=True):
        self._call("marking_save")
        self.saved += 1
        return 3

    def marking_send_data(self, extra_code, data):
        self._call("marking_send_data")
        for f in data:
            self.data.append(f)
        return 0


def _marked(rid, code):
    r = _sale(rid, 1000)
    r["items"][0]["type"] = 33
    r["items"][0]["marking"] = {"code": code, "type": 2, "planned_status": 1}
    return r


def test_marked_goods_flow_and_refusals():
    drive, _flash, reg = _rig(MarkingDrive())
    assert reg.recover() == []
    no = reg.handle(_marked("m-0", "0104601234567890"))
    assert no["status"] == "failed" and no["errors"][0]["code"] == "flag_marking", no
    reg.profile = {"tax_systems": ["osn"], "marking": True}
    r = reg.handle(_marked("m-1", "0104601234567890"))
    assert r["status"] == "made", r
    calls = drive.calls
    i = calls.index("marking_clear")
    assert calls[i : i + 3] == ["marking_clear", "marking_check", "marking_save"]
    assert calls[-3:] == ["marking_send_data", "send_data", "receipt_make"]
    item = next(f[1] for f in drive.docs[-1]["tlv"] if f[0] == 1059)
    assert (2000, "0104601234567890") in item and (2106, 3) in item and (2110, 1) in item
    bad = reg.handle(_marked("m-2", "BAD4601234567890"))
    assert bad["status"] == "failed", bad
    assert [(e["path"], e["code"]) for e in bad["errors"]] == [
        ("items[0].marking", "marking_negative")
    ]
    assert drive.calls[-1] == "marking_clear" and len(drive.docs) == 2
    m = _marked("m-3", "BAD4601234567890")
    m["allow_negative_marking"] = True
    assert reg.handle(m)["status"] == "made"


def test_refusals_touch_nothing():
    drive, flash, reg = _rig(trusted=False)
    reg.recover()
    calls = len(drive.calls)
    writes = flash.writes
    r = reg.handle(_sale("s-1", 1000))
    assert r["status"] == "failed" and r["retryable"] and r["errors"][0]["code"] == "time_untrusted"
    reg.trust_time("ntp")
    bad = _sale("s-2", 1000)
    bad["items"][0]["sum"] = 999
    bad["payments"] = {}
    r = reg.handle(bad)
    assert r["status"] == "failed" and not r["retryable"] and len(r["errors"]) >= 2
    assert reg.handle({"id": "k", "kind": "dance"})["errors"][0]["path"] == "kind"
    assert len(drive.calls) == calls and flash.writes == writes


# ---- recover(): the decision table ---------------------------------------------------------------


def _journal_with(flash, steps):
    j = Journal(flash)
    for rid, step, fd_before in steps:
        j.received(rid, digest({"id": rid}))
        if step >= BEGUN:
            j.begun(rid, 3, fd_before)
    return j


def _drive_with_receipt():
    drive = FakeDrive()
    drive.open_shift_begin(AT)
    drive.open_shift()
    drive.receipt_begin(AT)
    drive.send_data([(1031, 500)])
    drive.receipt_make(1, 500, AT)
    drive.calls = []
    return drive


def test_recover_received_and_begun_not_made():
    drive = _drive_with_receipt()
    flash = FlashModel(Lcg(3))
    j = _journal_with(flash, [("a", 1, 0), ("b", BEGUN, 2)])
    drive.receipt_begin(AT)  # b's document is still open on the drive
    reg = Register(drive, j, FakeClock(), None, storage=flash)
    out = reg.recover()
    assert [r["status"] for r in out] == ["failed", "failed"]
    assert out[0]["retryable"] and out[1]["retryable"] and out[1]["kind"] == "receipt"
    assert "cancel_document" in drive.calls and drive.open_doc == 0
    assert j.get("a").step == FAILED and j.get("b").step == FAILED
    assert len(drive.docs) == 2  # nothing made


def test_recover_begun_and_made_is_reported_once():
    drive = _drive_with_receipt()
    flash = FlashModel(Lcg(3))
    j = _journal_with(flash, [("a", BEGUN, 1)])  # began at FD 1; the drive made FD 2
    reg = Register(drive, j, FakeClock(), None, storage=flash)
    out = reg.recover()
    r = out[0]
    assert r["status"] == "made" and r["recovered"] and r["fd"] == 2 and r["number"] == 1
    assert r["total"] == 500 and r["qr"].endswith("&i=2&fp=1000002&n=1")
    assert "receipt_make" not in drive.calls  # never made again
    e = j.get("a")
    assert e.step == MADE and (e.fd, e.shift, e.number) == (2, 1, 1)
    assert reg.counters.receipts() == 1  # the counters read it back from the drive
    again = reg.recover()
    assert again[0]["fd"] == 2 and "recovered" not in again[0]  # MADE: reported again
    reg.ack("a")
    assert reg.recover() == []


def test_recover_anomaly_blocks_until_resolved():
    drive = _drive_with_receipt()
    flash = FlashModel(Lcg(3))
    j = _journal_with(flash, [("a", BEGUN, 0)])  # began at FD 0: FD 1 is a shift, not a receipt
    reg = Register(drive, j, FakeClock(), None, storage=flash)
    r = reg.recover()[0]
    assert r["status"] == "unknown" and r["retryable"] and reg.alarms
    reg.trust_time("t")
    blocked = reg.handle(_sale("b", 100))
    assert blocked["status"] == "failed" and blocked["errors"][0]["code"] == "outcome_pending"
    assert "receipt_begin" not in drive.calls
    raises(UsageError, reg.resolve, "b", None)
    done = reg.resolve("a", 2)
    assert done["status"] == "made" and done["fd"] == 2 and j.get("a").step == MADE
    assert reg.handle(_sale("b", 100))["status"] == "made"


def test_recover_claimed_fd_is_not_taken_twice():
    drive = _drive_with_receipt()
    flash = FlashModel(Lcg(3))
    j = _journal_with(flash, [("a", BEGUN, 1)])
    j.made("a", 3, 2, 1000002, 1, 1)
    j.received("b", "r")
    j.begun("b", 3, 1)  # a stale fd_before: FD 2 already belongs to "a"
    reg = Register(drive, j, FakeClock(), None, storage=flash)
    out = reg.recover()
    assert out[0]["status"] == "made" and out[1]["status"] == "unknown"
    assert j.get("b").step == BEGUN


def test_lost_answer_then_settled_in_session():
    drive, _flash, reg = _rig()
    reg.recover()
    reg.handle(_sale("s-1", 100))
    real_make = drive.receipt_make

    def make_then_die(operation, total_kop, at=None):
        real_make(operation, total_kop, at)
        drive.dead = True
        from firmware.errors import OutcomeUnknown

        raise OutcomeUnknown(0x16, 2, "status (30h) failed")

    drive.receipt_make = make_then_die
    r = reg.handle(_sale("s-2", 200))
    assert r["status"] == "unknown" and reg.journal.get("s-2").step == BEGUN
    drive.receipt_make = real_make
    r = reg.handle(_sale("s-3", 300))  # the drive is still dark: refused, nothing begun
    assert r["status"] == "failed" and r["retryable"] and reg.journal.get("s-3").step == FAILED
    drive.dead = False
    r = reg.handle(_sale("s-2", 200))
    assert r["status"] == "made" and r["recovered"] and r["fd"] == 3
    assert len([d for d in drive.docs if d["type"] == 3]) == 2
    assert reg.handle(_sale("s-3", 300))["status"] == "made"  # a retryable failure, re-sent
    assert reg.counters.receipts() == 3


def test_handle_before_recover_recovers_first():
    drive = _drive_with_receipt()
    flash = FlashModel(Lcg(3))
    j = _journal_with(flash, [("a", BEGUN, 1)])
    reg = Register(drive, j, FakeClock(), None, storage=flash)
    reg.trust_time("t")
    r = reg.handle(_sale("b", 100))
    assert r["status"] == "made" and r["fd"] == 3
    assert j.get("a").step == MADE and reg.outbox()[0]["id"] == "a"
    assert reg.counters.receipts() == 2
    drive2 = FakeDrive()
    drive2.dead = True
    reg2 = Register(drive2, Journal(FlashModel(Lcg(4))), FakeClock(), None)
    reg2.trust_time("t")
    r = reg2.handle(_sale("c", 100))
    assert r["status"] == "failed" and r["retryable"]
    assert r["errors"][0]["code"] == "drive_unreachable"
