# micropython
# Portable tests of firmware.drive and firmware.clock (reference fiscal-protocols.md §1):
# a scripted fake drive on the transport contract (write / readinto) and a fake clock, so
# nothing waits for real. Run by pytest on CPython and by tools/mprun.mjs on MicroPython.
import struct

from mpsupport import T0, FakeClock, load_vector, raises, unhex

from firmware import clock as fclock
from firmware.drive import (
    TIMEOUT_INFO,
    TIMEOUT_LONG,
    TIMEOUT_MAKE,
    FiscalDrive,
    default_timeout,
    parse_archive,
    warning_texts,
)
from firmware.errors import (
    AnswerError,
    DriveError,
    FrameError,
    LinkError,
    LinkTimeout,
    MakeOutcomeError,
    NotMade,
    OutcomeUnknown,
    RegisterError,
    TlvError,
    UsageError,
)
from firmware.framing import ENQ, MAX_DATA, Framer, encode
from firmware.tlv import encode as tlv_encode

AT = (2024, 1, 15, 10, 30)
AT2 = (2024, 1, 15, 10, 31)
DT = unhex("18010f0a1e")  # DATE_TIME of AT (§1.5)
DT2 = unhex("18010f0a1f")
FN = b"9999078900001234"


class FakeDrive:
    """The drive's end of the link, scripted one answer per request frame.

    reply(data, code, fate) queues the answer to the next request: fate "ok" delivers it,
    "lose" loses it on the line (the drive still ran the command and keeps the answer for
    ENQ), "crc" delivers it with a bad CRC, "cut" delivers half of it, "noise" puts garbage
    before it, "late" delivers it after `late_reads` empty reads. drop() loses the next
    request itself (the drive never sees it). ENQ repeats the last answer; enq_fates sets
    the fate of each ENQ's answer. chunk limits the bytes per readinto.
    """

    def __init__(self, chunk=0):
        self.writes = []
        self.script = []
        self.enq_fates = []
        self.last = None
        self.rx = b""
        self.chunk = chunk
        self.reads = 0
        self.late = []  # (read count when due, bytes)
        self.late_reads = 50
        self.fail = None  # an exception readinto raises

    def reply(self, data=b"", code=0, fate="ok"):
        self.script.append((encode(code, data), fate))
        return self

    def drop(self):
        self.script.append((None, "drop"))
        return self

    def write(self, buf):
        b = bytes(buf)  # the driver reuses its buffer
        self.writes.append(b)
        if b == ENQ:
            if self.last is not None:
                self._send(self.last, self.enq_fates.pop(0) if self.enq_fates else "ok")
            return len(b)
        if not self.script:
            return len(b)  # a silent drive
        frame, fate = self.script.pop(0)
        if frame is not None:
            self.last = frame
            self._send(frame, fate)
        return len(b)

    def _send(self, frame, fate):
        if fate == "ok":
            self.rx += frame
        elif fate == "crc":
            self.rx += frame[:-1] + bytes([frame[-1] ^ 0x5A])
        elif fate == "cut":
            self.rx += frame[: len(frame) // 2]
        elif fate == "noise":
            self.rx += b"\x00\xff\x04\xff\xff\x13" + frame  # 04 FF FF: impossible LEN
        elif fate == "late":
            self.late.append((self.reads + self.late_reads, frame))

    def readinto(self, buf):
        self.reads += 1
        if self.fail is not None:
            raise self.fail
        while self.late and self.late[0][0] <= self.reads:
            self.rx += self.late.pop(0)[1]
        if not self.rx:
            return None
        n = min(len(buf), len(self.rx))
        if self.chunk:
            n = min(n, self.chunk)
        buf[:n] = self.rx[:n]
        self.rx = self.rx[n:]
        return n

    def codes(self):
        """Command codes written, "ENQ" for the bare ENQ byte."""
        return ["ENQ" if b == ENQ else b[3] for b in self.writes]

    def frames(self):
        """(code, data) of every request frame written, checked by the firmware framer."""
        out = []
        for b in self.writes:
            if b != ENQ:
                got = Framer().feed(b)
                assert len(got) == 1
                out.append(got[0])
        return out


def make(chunk=0, **kw):
    link = FakeDrive(chunk)
    clk = FakeClock()
    kw.setdefault("poll_s", 0.01)
    return link, FiscalDrive(link, clk, **kw)


def status_data(phase=3, doc=0, docdata=0, shift=1, warnings=0, dt=DT, fn=FN, last_fd=41) -> bytes:
    return bytes((phase, doc, docdata, shift, warnings)) + dt + fn + struct.pack("<I", last_fd)


def u32(v):
    return struct.pack("<I", v)


def receipt_record(fd, fp=0x01020304, dt=DT2, op=1, total=12345):
    return (
        dt + u32(fd) + u32(fp) + bytes((op,)) + struct.pack("<IB", total & 0xFFFFFFFF, total >> 32)
    )


# ---- clock -------------------------------------------------------------------------------


def test_date_time_from_wall_and_offset():
    assert fclock.local_fields(T0, 180) == AT
    assert fclock.local_fields(T0 + 59.9, 180) == AT  # seconds dropped, not rounded
    assert fclock.date_time_bytes(T0, 180) == DT  # 18 01 0F 0A 1E (§1.5)
    assert fclock.local_fields(T0, 0) == (2024, 1, 15, 7, 30)
    assert fclock.local_fields(T0, -480) == (2024, 1, 14, 23, 30)
    assert fclock.unix_from_local(AT, 180) == T0
    assert fclock.local_fields(fclock.unix_from_local((2024, 2, 29, 23, 59), 600), 600) == (
        2024,
        2,
        29,
        23,
        59,
    )


def test_civil_days_known_dates():
    assert fclock.days_from_civil(1970, 1, 1) == 0
    assert fclock.days_from_civil(2000, 1, 1) == 10957
    assert fclock.days_from_civil(1969, 12, 31) == -1
    assert fclock.civil_from_days(-1) == (1969, 12, 31)
    assert fclock.civil_from_days(11016) == (2000, 2, 29)  # 2000 is a leap year
    assert fclock.civil_from_days(fclock.days_from_civil(2100, 3, 1) - 1) == (2100, 2, 28)
    assert fclock.civil_from_days(fclock.days_from_civil(2255, 12, 31)) == (2255, 12, 31)
    for days in range(-800, 120000, 997):
        y, m, d = fclock.civil_from_days(days)
        assert fclock.days_from_civil(y, m, d) == days


def test_utc_fields_gmtime_and_civil_agree():
    for s in (0, 946684800, 951782400, T0, 2**31 - 1, 2**31, 4102444800, 8993721599):
        assert fclock.utc_fields(s) == fclock.utc_fields_civil(s)
    assert fclock.utc_fields(8993721599) == (2254, 12, 31, 23, 59, 59)
    assert fclock.utc_fields_civil(-1) == (1969, 12, 31, 23, 59, 59)


def test_pack_date_time_refuses_what_the_drive_cannot_hold():
    assert fclock.pack_date_time((2255, 12, 31, 23, 59)) == b"\xff\x0c\x1f\x17\x3b"
    for bad in (
        (1999, 12, 31, 23, 59),  # an untrusted clock
        (2256, 1, 1, 0, 0),
        (2023, 2, 29, 0, 0),
        (2024, 13, 1, 0, 0),
        (2024, 1, 1, 24, 0),
        (2024, 1, 1, 0, 60),
        (2024, 1, 1, 0),
        [2024, 1, 1, 0, 0],
    ):
        raises(UsageError, fclock.pack_date_time, bad)
    raises(UsageError, fclock.date_time_bytes, 0, 180)  # 1970: never reaches the drive


def test_system_clock():
    c = fclock.SystemClock()
    assert c.wall() > 1.6e9  # Unix time whatever the port's epoch
    a = c.monotonic()
    c.sleep(0.002)
    c.sleep(0)
    assert c.monotonic() >= a


# ---- requests: golden frames -------------------------------------------------------------


def _golden():
    return dict([(v["code"], unhex(v["hex"])) for v in load_vector("fn_frames.json")["frames"]])


def test_golden_request_frames():
    g = _golden()
    cases = (
        ("30", lambda d: d.status(), status_data()),
        ("02", lambda d: d.registration_begin(), b""),
        ("31", lambda d: d.fn_number(), FN),
        ("32", lambda d: d.validity(), unhex("1a0c1f0500")),
        ("33", lambda d: d.version(), b"fn-1.1 v.2.05   \x01"),
        ("10", lambda d: d.shift_parameters(), unhex("0107000300")),
        ("20", lambda d: d.ofd_exchange_status(), bytes(13)),
        ("21", lambda d: d.transport_status(1), b""),
        ("23", lambda d: d.ofd_message_read_block(0, 512), b"\x01\x02"),
        ("11", lambda d: d.open_shift_begin(AT), b""),
        ("15", lambda d: d.receipt_begin(), b""),  # `at` from the clock: 10:30 Moscow
        ("40", lambda d: d.find_document(1), b"\x07\x00"),
    )
    for code, call, answer in cases:
        link, drive = make()
        link.reply(answer)
        call(drive)
        assert link.writes == [g[code]], code


def test_golden_receipt_make_frame():
    link, drive = make()
    link.reply(status_data(doc=0x04, docdata=1)).reply(unhex("0100") + u32(42) + u32(7))
    assert drive.receipt_make(1, 12345, AT2) == {"receipt_number": 1, "fd": 42, "fp": 7}
    assert link.writes == [_golden()["30"], _golden()["16"]]  # 30h first, then 16h once


# ---- requests and answers of every command -----------------------------------------------


def _reg_totals(reason):
    tail = bytes((reason,)) if reason is not None else b""
    return DT + b"7702203276  " + b"0000000001012345    " + b"\x01\x21" + tail + u32(1) + u32(99)


def test_every_command_request_and_answer():
    fifth = unhex("1a0c1f")
    cases = (
        # (call, command, request data, answer data, result)
        (lambda d: d.registration_begin(2), 0x02, b"\x02", b"", None),
        (lambda d: d.registration_begin_ext(0, 4), 0xA2, b"\x00\x04", b"", None),
        (lambda d: d.close_fiscal_mode_begin(), 0x04, b"", b"", None),
        (lambda d: d.cancel_document(), 0x06, b"", b"", None),
        (
            lambda d: d.shift_parameters(),
            0x10,
            b"",
            unhex("0107000300"),
            {"shift_open": 1, "shift_number": 7, "receipt_number": 3},
        ),
        (lambda d: d.close_shift_begin(AT), 0x13, DT, b"", None),
        (lambda d: d.correction_receipt_begin(AT), 0x17, DT, b"", None),
        (lambda d: d.settlement_report_begin(AT), 0x18, DT, b"", None),
        (
            lambda d: d.ofd_exchange_status(),
            0x20,
            b"",
            b"\x03\x00\x02\x00" + u32(40) + DT,
            {
                "status": 3,
                "read_started": 0,
                "message_count": 2,
                "first_fd": 40,
                "first_date_time": AT,
            },
        ),
        (lambda d: d.transport_status(0), 0x21, b"\x00", b"", None),
        (lambda d: d.ofd_message_read_begin(), 0x22, b"", b"\x31\x01", 305),
        (lambda d: d.ofd_message_read_block(512, 100), 0x23, unhex("00026400"), b"ab", b"ab"),
        (lambda d: d.ofd_message_read_cancel(), 0x24, b"", b"", None),
        (lambda d: d.ofd_message_read_finish(), 0x25, b"", b"", None),
        (
            lambda d: d.ofd_receipt(b"\xa5\x01"),
            0x26,
            b"\xa5\x01",
            b"\x00\x07\x00",
            {"ofd_answer_code": 0, "operator_message": b"\x07\x00"},
        ),
        (lambda d: d.fn_number(), 0x31, b"", FN, FN.decode()),
        (
            lambda d: d.validity(),
            0x32,
            b"",
            fifth + b"\x0b\x01",
            {"valid_until": (2026, 12, 31), "reregistrations_left": 11, "reregistrations_done": 1},
        ),
        (
            lambda d: d.version(),
            0x33,
            b"",
            b"fn v2\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01",
            {"version": "fn v2" + "\x00" * 11, "software_type": 1},
        ),
        (lambda d: d.last_errors(), 0x35, b"", b"\x01\x02\x03", b"\x01\x02\x03"),
        (lambda d: d.ffd_versions(), 0x3A, b"", b"\x02\x04", {"ffd_current": 2, "ffd_max": 4}),
        (lambda d: d.days_left(AT), 0x3B, DT, b"\x6d\x01", 365),
        (
            lambda d: d.free_resource(),
            0x3D,
            b"",
            u32(250000) + u32(1024) + b"\x05",
            {"archive_docs_left": 250000, "ofd_storage_kib_left": 1024, "notifications_percent": 5},
        ),
        (
            lambda d: d.document_ofd_receipt(5),
            0x41,
            u32(5),
            DT + bytes(range(18)) + u32(5),
            {"date_time": AT, "ofd_fp": bytes(range(18)), "fd": 5},
        ),
        (lambda d: d.unconfirmed_count(), 0x42, b"", b"\x02\x01", 258),
        (
            lambda d: d.registration_totals(),
            0x43,
            b"",
            _reg_totals(None),
            {
                "date_time": AT,
                "inn": "7702203276  ",
                "rnm": "0000000001012345    ",
                "tax_systems": 1,
                "work_mode": 0x21,
                "reason": None,
                "fd": 1,
                "fp": 99,
            },
        ),
        (
            lambda d: d.registration_totals(1)["reason"],
            0x43,
            b"\x01",
            _reg_totals(4),
            4,
        ),
        (lambda d: d.registration_parameter(1018), 0x44, b"\xfa\x03", b"\xfa\x03\x00\x00", None),
        (lambda d: d.registration_parameter(0xFFFF, 2), 0x44, b"\x02\xff\xff", b"", b""),
        (
            lambda d: d.document_tlv_begin(3),
            0x45,
            u32(3),
            b"\x03\x00\x10\x00",
            {"document_tag": 3, "length": 16},
        ),
        (
            lambda d: d.document_tlv_read(),
            0x46,
            b"",
            b"\x12\x04\x01\x00\x05",
            b"\x12\x04\x01\x00\x05",
        ),
        (lambda d: d.registration_tlv_read(), 0x47, b"", b"\x01\x02", b"\x01\x02"),
        (lambda d: d.reset(), 0x60, b"\x16", b"", None),
        (lambda d: d.command(0x35, b"\x01"), 0x35, b"\x01", b"\x09", b"\x09"),
    )
    for call, code, req, answer, result in cases:
        link, drive = make()
        link.reply(answer)
        got = call(drive)
        assert link.frames() == [(code, req)], hex(code)
        if result is not None or code != 0x44:
            assert got == result, (hex(code), got)
        assert not drive.warning and link.codes().count("ENQ") == 0


def test_make_commands_requests_and_answers():
    rnm = "0000000001012345"
    cases = (
        (
            lambda d: d.registration_make("7702203276", rnm, 1, 0x21, None, AT),
            0x03,
            DT + b"7702203276  " + b"0000000001012345    " + b"\x01\x21",
            u32(1) + u32(99),
            {"fd": 1, "fp": 99},
        ),
        (
            lambda d: d.registration_make("7702203276", rnm, 1, 0x21, 3, AT),
            0x03,
            DT + b"7702203276  " + b"0000000001012345    " + b"\x01\x21\x03",
            u32(2) + u32(98),
            {"fd": 2, "fp": 98},
        ),
        (
            lambda d: d.registration_make_ext(
                "7702203276", rnm, 2, 0x20, 0x10, "7704358518", 5, AT
            ),
            0xA3,
            DT
            + b"7702203276  "
            + b"0000000001012345    "
            + b"\x02\x20\x10"
            + b"7704358518  "
            + u32(5),
            u32(1) + u32(0xFFFFFFFF),
            {"fd": 1, "fp": 0xFFFFFFFF},
        ),
        (
            lambda d: d.close_fiscal_mode(rnm, AT),
            0x05,
            DT + b"0000000001012345    ",
            u32(90) + u32(1),
            {"fd": 90, "fp": 1},
        ),
        (
            lambda d: d.open_shift(),
            0x12,
            b"",
            b"\x08\x00" + u32(42) + u32(5),
            {"shift_number": 8, "fd": 42, "fp": 5},
        ),
        (
            lambda d: d.close_shift(),
            0x14,
            b"",
            b"\x08\x00" + u32(43) + u32(6),
            {"shift_number": 8, "fd": 43, "fp": 6},
        ),
        (
            lambda d: d.receipt_make(4, 2**40 - 1, AT),
            0x16,
            DT + b"\x04\xff\xff\xff\xff\xff",
            b"\x02\x00" + u32(44) + u32(7),
            {"receipt_number": 2, "fd": 44, "fp": 7},
        ),
        (
            lambda d: d.settlement_report_make(),
            0x19,
            b"",
            u32(45) + u32(8) + u32(3) + unhex("180110"),
            {"fd": 45, "fp": 8, "unconfirmed_count": 3, "first_unconfirmed": (2024, 1, 16)},
        ),
        (
            lambda d: d.settlement_report_make()["first_unconfirmed"],
            0x19,
            b"",
            u32(45) + u32(8) + u32(0) + bytes(3),
            None,
        ),
    )
    for call, code, req, answer, result in cases:
        link, drive = make()
        link.reply(status_data(last_fd=0)).reply(answer)
        assert call(drive) == result, hex(code)
        assert link.frames() == [(0x30, b""), (code, req)], hex(code)


def test_status_fields_and_warning_flags():
    link, drive = make()
    link.reply(
        status_data(phase=7, doc=0x14, docdata=1, shift=0, warnings=0x89, last_fd=70000), 0x80
    )
    st = drive.status()
    assert st == {
        "phase": 7,
        "current_document": 0x14,
        "document_data": 1,
        "shift_open": 0,
        "warnings": 0x89,
        "last_date_time": AT,
        "fn_number": "9999078900001234",
        "last_fd": 70000,
    }
    assert drive.warning and drive.answer == 0x80
    texts = warning_texts(st["warnings"])
    assert texts[0].startswith("Срочная замена КС")
    assert texts[1] == "Превышено время ожидания ответа ОФД"
    assert texts[2] == "Критическая ошибка ФН"
    assert warning_texts(0x40) == ["неизвестные биты 0x40"]
    link.reply(status_data(dt=bytes(5)))  # no document yet: zero date is None
    assert drive.status()["last_date_time"] is None
    assert not drive.warning


def test_warning_bit_is_success():
    # 04 01 00 80 24 6A: success with the warning bit (§1.3), the golden answer frame.
    link, drive = make()
    link.rx = b""
    link.script.append((unhex("04010080246a"), "ok"))
    assert drive.cancel_document() is None
    assert drive.warning and drive.answer == 0x80


def test_find_document_and_archive_records():
    link, drive = make()
    link.reply(b"\x03\x01" + receipt_record(42))
    doc = drive.find_document(42)
    assert doc["document_type"] == 3 and doc["ofd_receipt"] == 1
    assert doc["record"] == {
        "date_time": AT2,
        "fd": 42,
        "fp": 0x01020304,
        "operation": 1,
        "total_kop": 12345,
    }
    shift = DT + u32(2) + u32(3) + b"\x09\x00"
    assert parse_archive(2, shift)["shift_number"] == 9
    assert parse_archive(0x85, shift)["fd"] == 2  # FFD bits above 3Fh are ignored
    reg = DT + u32(1) + u32(2) + b"7702203276  " + b"0000000001012345    " + b"\x01\x21"
    assert (
        parse_archive(1, reg)["reason"] is None and parse_archive(11, reg + b"\x02")["reason"] == 2
    )
    assert parse_archive(6, reg[:45])["rnm"] == "0000000001012345    "
    settle = DT + u32(5) + u32(6) + u32(0) + bytes(5)
    assert parse_archive(21, settle)["first_unconfirmed"] is None
    assert parse_archive(7, b"\x01\x02") is None  # operator ack: no record layout
    raises(AnswerError, parse_archive, 3, receipt_record(1)[:-1])
    raises(AnswerError, parse_archive, 3, b"\x18\x0d\x01\x00\x00" + receipt_record(1)[5:])


# ---- answer codes: typed errors with Russian text ----------------------------------------


def test_drive_error_codes():
    link, drive = make()
    link.reply(code=0x02)
    e = raises(DriveError, drive.open_shift_begin, AT)
    assert e.code == 2 and not e.warning and e.command == 0x11 and e.reason == -1
    assert e.ru == "Неверное состояние ФН" and "state" in e.en and not e.retryable
    assert "Неверное состояние ФН" in str(e)
    assert isinstance(e, RegisterError)

    link.reply(status_data(doc=4)).reply(code=0x89)  # 16h: its own wording of 09h, + warning
    e = raises(DriveError, drive.receipt_make, 1, 100, AT)
    assert e.code == 9 and e.warning and e.command == 0x16
    assert e.ru == "Переполнение итогов смены"
    assert link.codes() == [0x11, 0x30, 0x16]  # a refused make is not reconciled

    link.reply(b"\x03", 0x20)  # 26h: OFD receipt rejected, reason 3 (§4.3)
    e = raises(DriveError, drive.ofd_receipt, b"\x00")
    assert e.code == 0x20 and e.reason == 3 and e.ru == "Сообщение от ОФД не может быть принято"

    link.reply(code=0x05)
    assert raises(DriveError, drive.ofd_receipt, b"\x00").ru == "Неверное CRC16"
    link.reply(code=0x11)
    assert raises(DriveError, drive.ofd_message_read_begin).retryable
    link.reply(code=0x7E)
    e = raises(DriveError, drive.fn_number)
    assert e.ru == "Неизвестный код ответа 7Eh" and e.code == 0x7E


def test_fn12_wording():
    link, drive = make()
    link.reply(b"\x04\x04").reply(code=0x12)
    drive.ffd_versions()
    assert drive.fn12
    assert raises(DriveError, drive.status).ru == "Исчерпан ресурс ФН"


def test_answer_layout_errors():
    link, drive = make()
    for call, answer in (
        (drive.status, status_data()[:-1]),
        (drive.status, status_data(fn=b"99990789\x8000001234")),
        (drive.status, status_data(dt=unhex("180d0f0a1e"))),
        (drive.fn_number, FN + b"\x00"),
        (drive.validity, unhex("18021e0000")),  # 2024-02-30
        (drive.ofd_exchange_status, bytes(12)),
        (drive.document_ofd_receipt, bytes(27)),  # zero date where one is required
    ):
        link.reply(answer)
        e = raises(AnswerError, call, *((1,) if call == drive.document_ofd_receipt else ()))
        assert isinstance(e, FrameError) and e.data == answer


# ---- ENQ, resynchronisation, resend ------------------------------------------------------


def test_enq_after_timeout():
    link, drive = make()
    link.reply(FN, fate="lose")
    assert drive.fn_number() == FN.decode()
    assert link.codes() == [0x31, "ENQ"]
    assert TIMEOUT_INFO <= drive.clock.t < 2 * TIMEOUT_INFO
    assert drive.enq_sent == 1 and drive.timed_out == 1


def test_bad_crc_answer_sends_enq_at_once():
    link, drive = make()
    link.reply(FN, fate="crc")
    assert drive.fn_number() == FN.decode()
    assert link.codes() == [0x31, "ENQ"]
    assert drive.clock.t < 0.5 and drive.broken == 1


def test_cut_answer_sends_enq_after_idle():
    link, drive = make()
    link.reply(FN, fate="cut")
    assert drive.fn_number() == FN.decode()
    assert link.codes() == [0x31, "ENQ"] and drive.clock.t < 0.5


def test_garbage_and_byte_by_byte_chunks():
    link, drive = make(chunk=1)
    link.reply(status_data(), fate="noise")
    assert drive.status()["last_fd"] == 41
    assert link.codes() == [0x30]


def test_late_answer_within_timeout():
    link, drive = make()
    link.late_reads = 60  # 0.6 s at 10 ms a poll
    link.reply(FN, fate="late")
    assert drive.fn_number() == FN.decode()
    assert link.codes() == [0x31]


def test_late_duplicate_after_enq_is_not_taken_for_the_next_answer():
    link, drive = make()
    link.late_reads = 105  # just after the 1 s timeout: the ENQ answer comes as well
    link.reply(FN, fate="late")
    assert drive.fn_number() == FN.decode()
    link.reply(status_data(last_fd=77))
    assert drive.status()["last_fd"] == 77  # not the stale 31h duplicate


def test_stale_input_is_drained():
    link, drive = make()
    link.rx = encode(0, FN)  # a late answer to something else
    link.reply(status_data(last_fd=5))
    assert drive.status()["last_fd"] == 5
    assert drive.stale_bytes == len(FN) + 6


def test_resend_after_enq_fails():
    link, drive = make()
    link.reply(FN, fate="lose")
    link.enq_fates = ["lose", "lose"]
    link.reply(FN)
    assert drive.fn_number() == FN.decode()
    assert link.codes() == [0x31, "ENQ", "ENQ", 0x31]
    assert drive.resent == 1


def test_link_timeout():
    link, drive = make(enq_tries=1, resends=2)
    e = raises(LinkTimeout, drive.status)
    assert isinstance(e, LinkError) and e.command == 0x30 and e.enq == 3 and e.resends == 2
    assert link.codes() == [0x30, "ENQ", 0x30, "ENQ", 0x30, "ENQ"]


def test_timeouts_per_command():
    assert default_timeout(0x30) == TIMEOUT_INFO == 1.0
    assert default_timeout(0x16) == default_timeout(0xA3) == TIMEOUT_MAKE == 10.0
    assert default_timeout(0x26) == TIMEOUT_MAKE
    assert default_timeout(0x60) == default_timeout(0x46) == TIMEOUT_LONG == 30.0
    _, drive = make(timeouts={0x31: 0.2}, enq_tries=0, resends=0)
    raises(LinkTimeout, drive.fn_number)
    assert 0.2 <= drive.clock.t < 0.3
    assert drive.timeout_for(0x30) == 1.0 and drive.timeout_for(0x31) == 0.2
    _, drive = make(enq_tries=0, resends=0)
    raises(LinkTimeout, drive.reset)
    assert 30.0 <= drive.clock.t < 30.1


def test_transport_errors_are_link_errors():
    link, drive = make()
    link.fail = OSError(5)
    e = raises(LinkError, drive.status)
    assert e.command == 0x30


def test_partial_writes_are_completed():
    class Slow(FakeDrive):
        def write(self, buf):
            if len(buf) > 2:
                self.writes.append(bytes(buf[:2]))
                return 2
            FakeDrive.write(self, buf)
            return len(buf)

    link = Slow()
    drive = FiscalDrive(link, FakeClock(), poll_s=0.01)
    link.reply(b"", 0)
    drive.transport_status(1)
    assert b"".join(link.writes) == _golden()["21"]


# ---- make commands: never a second document ----------------------------------------------


def _receipt_drive():
    link, drive = make()
    link.reply(status_data(doc=0x04, docdata=1, last_fd=41))  # 30h before the make
    return link, drive


def test_make_answer_lost_enq_recovers_it():
    link, drive = _receipt_drive()
    link.reply(unhex("0300") + u32(42) + u32(7), fate="lose")
    assert drive.receipt_make(1, 12345, AT2) == {"receipt_number": 3, "fd": 42, "fp": 7}
    assert link.codes() == [0x30, 0x16, "ENQ"]
    assert TIMEOUT_MAKE <= drive.clock.t < TIMEOUT_MAKE + 1


def test_make_answer_lost_for_good_is_recovered_from_the_archive():
    link, drive = _receipt_drive()
    link.reply(unhex("0300") + u32(42) + u32(7), fate="lose")
    link.enq_fates = ["lose", "lose"]
    link.reply(status_data(doc=0, last_fd=42))  # 30h: FD 42 made, no open document
    link.reply(b"\x03\x00" + receipt_record(42, fp=7))  # 40h(42): our receipt
    link.reply(unhex("0107000300"))  # 10h: last receipt number 3
    got = drive.receipt_make(1, 12345, AT2)
    assert got == {"receipt_number": 3, "fd": 42, "fp": 7, "recovered": True}
    assert link.codes() == [0x30, 0x16, "ENQ", "ENQ", 0x30, 0x40, 0x10]
    assert link.frames()[3] == (0x40, u32(42))
    assert link.codes().count(0x16) == 1  # never a second 16h
    assert drive.reconciled == 1


def test_make_request_lost_is_not_made():
    # The drive never saw 16h: ENQ repeats the 30h answer before it, which is no 16h answer.
    link, drive = _receipt_drive()
    link.drop()
    link.reply(status_data(doc=0x04, docdata=1, last_fd=41))
    e = raises(NotMade, drive.receipt_make, 1, 12345, AT2)
    assert e.still_open and e.fd_before == 41 and e.command == 0x16
    assert isinstance(e, MakeOutcomeError) and isinstance(e.cause, AnswerError)
    assert e.status["current_document"] == 4
    assert link.codes() == [0x30, 0x16, "ENQ", 0x30]


def test_make_dropped_by_the_drive_is_not_made_and_not_open():
    link, drive = _receipt_drive()
    link.reply(b"", fate="lose")
    link.enq_fates = ["lose", "lose"]
    link.reply(status_data(doc=0, last_fd=41))  # drive restarted: the document is gone
    e = raises(NotMade, drive.receipt_make, 1, 12345, AT2)
    assert not e.still_open and link.codes().count(0x16) == 1


def test_make_outcome_unknown_when_the_drive_stays_silent():
    link, drive = _receipt_drive()
    link.enq_fates = ["lose"] * 20  # the drive ran 16h, or not: nothing more comes back
    e = raises(OutcomeUnknown, drive.receipt_make, 1, 12345, AT2)
    assert e.fd_before == 41 and isinstance(e.cause, LinkTimeout)
    assert link.codes().count(0x16) == 1
    assert link.codes()[:4] == [0x30, 0x16, "ENQ", "ENQ"]


def test_make_outcome_unknown_when_the_archive_disagrees():
    for archive in (
        b"\x03\x00" + receipt_record(42, total=99999),  # another total
        b"\x02\x00" + DT + u32(42) + u32(7) + b"\x01\x00",  # a shift report
    ):
        link, drive = _receipt_drive()
        link.reply(b"", fate="lose")
        link.enq_fates = ["lose", "lose"]
        link.reply(status_data(doc=0, last_fd=42)).reply(archive)
        raises(OutcomeUnknown, drive.receipt_make, 1, 12345, AT2)
        assert link.codes().count(0x16) == 1
    link, drive = _receipt_drive()
    link.reply(b"", fate="lose")
    link.enq_fates = ["lose", "lose"]
    link.reply(status_data(doc=0, last_fd=44))  # two documents more: not ours alone
    assert "44" in raises(OutcomeUnknown, drive.receipt_make, 1, 12345, AT2).detail


def test_make_unreadable_answer_is_reconciled():
    link, drive = _receipt_drive()
    link.reply(b"\x01\x02\x03")  # a success answer of the wrong size
    link.reply(status_data(doc=0, last_fd=42))
    link.reply(b"\x03\x00" + receipt_record(42, fp=7))
    link.reply(code=0x02)  # 10h refused: the receipt number stays unknown
    got = drive.receipt_make(1, 12345, AT2)
    assert got == {"receipt_number": None, "fd": 42, "fp": 7, "recovered": True}


def test_open_shift_recovered_with_the_begin_time():
    link, drive = make()
    link.reply(b"")  # 11h
    link.reply(status_data(doc=0x02, shift=0, last_fd=10))
    link.reply(b"", fate="lose")
    link.enq_fates = ["lose", "lose"]
    link.reply(status_data(doc=0, last_fd=11))
    link.reply(b"\x02\x00" + DT + u32(11) + u32(5) + b"\x08\x00")
    drive.open_shift_begin(AT)
    got = drive.open_shift()
    assert got == {"shift_number": 8, "fd": 11, "fp": 5, "recovered": True}
    assert link.codes() == [0x11, 0x30, 0x12, "ENQ", "ENQ", 0x30, 0x40]


def test_settlement_report_recovered():
    link, drive = make()
    link.reply(b"")
    link.reply(status_data(doc=0x17, last_fd=10))
    link.reply(b"", fate="lose")
    link.enq_fates = ["lose", "lose"]
    link.reply(status_data(doc=0, last_fd=11))
    link.reply(b"\x15\x00" + DT + u32(11) + u32(5) + u32(2) + DT2)
    drive.settlement_report_begin(AT)
    got = drive.settlement_report_make()
    assert got == {
        "fd": 11,
        "fp": 5,
        "unconfirmed_count": 2,
        "first_unconfirmed": (2024, 1, 15),
        "recovered": True,
    }


def test_make_needs_its_method():
    link, drive = make()
    for code in (0x03, 0x05, 0x12, 0x14, 0x16, 0x19, 0xA3):
        raises(UsageError, drive.command, code)
    assert link.writes == []


# ---- 07h: whole TLVs, at most 1024 bytes a frame -----------------------------------------


def _items(n):
    # n receipt items (tag 1059) of about 60 bytes each
    out = []
    for i in range(n):
        out.append(
            (
                1059,
                [
                    (1030, "Товар номер %d" % i),
                    (1079, 10000 + i),
                    (1023, "1.000"),
                    (1043, 10000 + i),
                ],
            )
        )
    return out


def test_send_data_fields_streamed_in_whole_tlvs():
    fields = _items(40)
    link, drive = make()
    for _ in range(5):
        link.reply(b"")
    sent = drive.send_data(iter(fields))
    frames = link.frames()
    assert [c for c, _ in frames] == [0x07] * len(frames) and len(frames) > 1
    whole = tlv_encode(fields)
    assert sent == len(whole) and b"".join([d for _, d in frames]) == whole
    for _, d in frames:
        assert len(d) <= MAX_DATA
        pos = 0
        while pos < len(d):  # every frame is a run of whole TLVs
            pos += 4 + (d[pos + 2] | d[pos + 3] << 8)
        assert pos == len(d)


def test_send_data_encoded_bytes():
    whole = tlv_encode(_items(40))
    link, drive = make()
    for _ in range(5):
        link.reply(b"")
    assert drive.send_data(whole) == len(whole)
    frames = link.frames()
    assert b"".join([d for _, d in frames]) == whole
    assert max([len(d) for _, d in frames]) <= MAX_DATA and len(frames) == 2
    link, drive = make()
    link.reply(b"")
    assert drive.send_data(memoryview(whole)[:0]) == 0 and link.writes == []


def test_marking_commands_b0_to_b7():
    # FN-1.2 marked goods (provisional layouts, protocol/fn/commands.py).
    link, drive = make()
    link.reply(bytes((1, 0, 0xFF, 2, 0, 5)) + struct.pack("<H", 3) + b"\x00")
    link.reply(b"\x03\x00")
    link.reply(b"\x03")
    link.reply(b"")
    link.reply(b"")
    link.reply(b"\x51\x00\x00\x00")
    link.reply(b"\x00")
    st = drive.marking_status()
    assert st["saved_results"] == 2 and st["notification_queue"] == 3 and st["command_flags"] == 255
    assert drive.marking_check(2, b"0104\x1d93", b"\x07") == {"result": 3, "reason": 0}
    assert drive.marking_save() == 3 and drive.marking_save(False) is None
    drive.marking_clear()
    assert drive.marking_request(b"\x01\x00\x00\x00", AT) == b"\x51\x00\x00\x00"
    assert drive.marking_answer(b"\x02\x00\x00\x00") == 0
    assert link.frames() == [
        (0xB0, b""),
        (0xB1, b"\x02\x07" + b"0104\x1d93" + b"\x07"),
        (0xB2, b"\x01"),
        (0xB2, b"\x00"),
        (0xB3, b""),
        (0xB5, DT + b"\x01\x00\x00\x00"),
        (0xB6, b"\x02\x00\x00\x00"),
    ]
    raises(UsageError, drive.marking_check, 256, b"x")
    raises(UsageError, drive.marking_check, 2, "text")
    raises(UsageError, drive.marking_send_data, 1, b"\x01\x00\x05")


def test_marking_send_data_leads_each_frame_with_the_extra_code():
    fields = _items(40)
    whole = tlv_encode(fields)
    for data in (iter(fields), whole):
        link, drive = make()
        for _ in range(5):
            link.reply(b"")
        assert drive.marking_send_data(2, data) == len(whole)
        frames = link.frames()
        assert [c for c, _ in frames] == [0xB7] * len(frames) and len(frames) > 1
        assert max([len(d) for _, d in frames]) <= MAX_DATA
        assert [d[0] for _, d in frames] == [2] * len(frames)
        assert b"".join([d[1:] for _, d in frames]) == whole


def test_send_data_refuses_bad_input_before_sending():
    whole = tlv_encode(_items(20))
    link, drive = make()
    raises(UsageError, drive.send_data, whole[:-1])  # last TLV cut short
    raises(UsageError, drive.send_data, whole + b"\x01\x00")
    big = b"\xfc\x03\x00\x04" + bytes(1024)  # one TLV of 1028 bytes
    raises(UsageError, drive.send_data, big)
    raises(TlvError, drive.send_data, [(1008, "x" * 64)] * 0 + [(1030, "y" * 2000)])
    assert link.writes == []


def test_send_data_timeout_is_not_repeated():
    # 07h after plain silence: ENQ could fetch the answer to the 07h before: no ENQ, no resend.
    link, drive = make()
    link.reply(b"", fate="lose")
    raises(LinkTimeout, drive.send_data, tlv_encode(_items(2)))
    assert link.codes() == [0x07]
    link, drive = make()
    link.reply(b"", fate="crc")  # a broken answer proves the drive answered: ENQ is safe
    drive.send_data(tlv_encode(_items(2)))
    assert link.codes() == [0x07, "ENQ"]


def test_read_document_and_lists():
    link, drive = make()
    link.reply(b"\x03\x00\x0d\x00")
    link.reply(b"\x12\x04\x01\x00\x05")
    link.reply(b"\x10\x04\x04\x00\x01\x00\x00\x00")
    link.reply(code=0x08)
    got = drive.read_document(7)
    assert got == {
        "document_tag": 3,
        "length": 13,
        "tlv": b"\x12\x04\x01\x00\x05\x10\x04\x04\x00\x01\x00\x00\x00",
    }
    link.reply(code=0x08)
    assert drive.registration_tlv_read() is None
    link.reply(code=0x02)
    assert raises(DriveError, drive.document_tlv_read).code == 2


def test_read_ofd_message():
    link, drive = make()
    msg = bytes(range(256)) * 3
    link.reply(struct.pack("<H", len(msg)))
    link.reply(msg[:512]).reply(msg[512:])
    assert drive.read_ofd_message() == msg
    assert link.frames()[1:] == [(0x23, unhex("00000002")), (0x23, unhex("00020001"))]


def test_usage_errors_send_nothing():
    link, drive = make()
    rnm = "0000000001012345"
    for call in (
        lambda: drive.receipt_make(256, 1, AT),
        lambda: drive.receipt_make(1, 2**40, AT),
        lambda: drive.receipt_make(1, -1, AT),
        lambda: drive.receipt_make(True, 1, AT),
        lambda: drive.receipt_make(1, 1, (2024, 2, 30, 0, 0)),
        lambda: drive.registration_make("7702203276123", rnm, 1, 1, None, AT),  # ИНН > 12
        lambda: drive.registration_make("770220327Ж", rnm, 1, 1, None, AT),
        lambda: drive.registration_make("7702203276", rnm + "\n", 1, 1, None, AT),
        lambda: drive.registration_make(7702203276, rnm, 1, 1, None, AT),
        lambda: drive.find_document(2**32),
        lambda: drive.ofd_message_read_block(0, 65536),
        lambda: drive.command(0x35, bytes(1025)),
    ):
        raises(UsageError, call)
    assert link.writes == []
    drive = FiscalDrive(link, FakeClock(wall=0))  # a clock not yet trusted: 1970
    raises(UsageError, drive.receipt_begin)
    assert link.writes == []
