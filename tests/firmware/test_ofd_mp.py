# micropython
# Portable tests of firmware.ofd (reference fiscal-protocols.md §4): the session header
# bytes, and the exchange state machine against a scripted fake drive and a fake
# connection, on a fake clock. Run by pytest on CPython and by tools/mprun.mjs on
# MicroPython 1.27.
from mpsupport import T0, FakeClock, raises, unhex

from firmware.crc16 import crc16
from firmware.errors import (
    DriveError,
    LinkError,
    OfdProtocolError,
    UsageError,
)
from firmware.ofd import (
    FLAGS_MESSAGE,
    FLAGS_SERVICE,
    OfdClient,
    container_ids,
    parse_session_header,
    session_crc_ok,
    session_header,
)

FN = "9999078900001234"


def container(fd, doc_type=3, size=40):
    # A container header (§4.2) and filler: enough for the client, which only reads the
    # document type (byte 5) and the FD number (bytes 17..19, big-endian).
    c = bytearray(size)
    c[0] = size & 0xFF
    c[1] = size >> 8
    c[4] = 0xA5
    c[5] = doc_type
    c[17] = (fd >> 16) & 0xFF
    c[18] = (fd >> 8) & 0xFF
    c[19] = fd & 0xFF
    return bytes(c)


def receipt_answer(fd, flags=0x0004, body_size=None, size=50):
    body = container(fd, 7, size)
    n = len(body) if body_size is None else body_size
    return session_header(FN, n, flags, body=body) + body


class FakeDrive:
    """The drive's OFD commands, scripted: `pending` FDs wait; 26h answers `codes`."""

    def __init__(self, pending, codes=None, first=(2024, 1, 15, 10, 30)):
        self.pending = list(pending)
        self.codes = dict(codes or {})
        self.first = first
        self.log = []
        self.reading = None
        self.awaiting = None
        self.refuse = {}  # fd -> DriveError to raise on 26h
        self.received = []

    def ofd_exchange_status(self):
        self.log.append("20")
        n = len(self.pending)
        return {
            "status": 2 if n else 0,
            "read_started": 0,
            "message_count": n,
            "first_fd": self.pending[0] if n else 0,
            "first_date_time": self.first if n else None,
        }

    def fn_number(self):
        self.log.append("31")
        return FN

    def transport_status(self, connected):
        self.log.append("21(%d)" % connected)

    def read_ofd_message(self, block=512):
        self.log.append("22")
        if not self.pending:
            raise DriveError(0x08, False, 0x22)
        self.reading = self.pending[0]
        return container(self.reading)

    def ofd_message_read_finish(self):
        self.log.append("25")
        self.awaiting = self.reading

    def ofd_receipt(self, message):
        self.log.append("26")
        self.received.append(bytes(message))
        fd = self.awaiting
        if fd in self.refuse:
            raise self.refuse[fd]
        self.pending.remove(fd)
        self.awaiting = None
        return {"ofd_answer_code": self.codes.get(fd, 0), "operator_message": b""}


class FakeConn:
    """A connection whose answers are scripted per message sent; `chunk` limits reads."""

    def __init__(self, net, chunk=0):
        self.net = net
        self.chunk = chunk
        self.rx = b""
        self.sent = []
        self.closed = False

    def send(self, buf):
        self.sent.append(bytes(buf))
        answer = self.net.answers.pop(0) if self.net.answers else None
        if answer == "close":
            self.rx = None
        elif answer is not None:
            self.rx += answer

    def recv_into(self, buf):
        if self.rx is None:
            return 0
        if not self.rx:
            return None
        n = min(len(buf), len(self.rx))
        if self.chunk:
            n = min(n, self.chunk)
        buf[:n] = self.rx[:n]
        self.rx = self.rx[n:]
        return n

    def close(self):
        self.closed = True


class FakeNet:
    def __init__(self, answers=(), chunk=0, fail=0):
        self.answers = list(answers)
        self.chunk = chunk
        self.fail = fail  # connects that fail first
        self.conns = []

    def connect(self, host, port, timeout):
        if self.fail:
            self.fail -= 1
            raise OSError(111, "connection refused")
        c = FakeConn(self, self.chunk)
        self.conns.append(c)
        return c


def client(drive, net, clock, **kw):
    return OfdClient(drive, net.connect, "ofd.test", 7777, clock, **kw)


# ---- the session header (§4.1) -------------------------------------------------------------


def test_session_header_vector():
    # S3 TestSessionHeader (§4.7): FN "9999078950      ", body 305, flags 0x14, no CRC.
    want = unhex("2a08410a81a2000139393939303738393530202020202020310114000000")
    got = session_header("9999078950      ", 305, 0x14, b"\x00\x01")
    assert got == want
    h = parse_session_header(got)
    assert h["fn_number"] == "9999078950      "
    assert h["body_size"] == 305 and h["flags"] == 0x14 and h["crc"] == 0
    assert h["p_version"] == b"\x00\x01" and h["s_version"] == b"\x81\xa2"


def test_session_header_crc_modes():
    body = b"\x01\x02\x03"
    h1 = session_header(FN, 3, 0x15, body=body)
    assert h1[28] | h1[29] << 8 == crc16(h1[:28])
    h2 = session_header(FN, 3, 0x16, body=body)
    assert h2[28] | h2[29] << 8 == crc16(h2[:28] + body)
    assert session_crc_ok(h1, body) and session_crc_ok(h2, body)
    assert not session_crc_ok(h2, b"\x01\x02\x04")
    assert session_crc_ok(session_header(FN, 3), b"anything")  # mode 00: nothing to check
    # Short FN numbers are NUL-padded (as construct's PaddedString) and read back.
    short = session_header("123", 0)
    assert short[8:24] == b"123" + bytes(13)
    assert parse_session_header(short)["fn_number"] == "123"


def test_session_header_refuses_what_it_cannot_hold():
    raises(UsageError, session_header, "12345678901234567", 0)
    raises(UsageError, session_header, "Ф", 0)
    raises(UsageError, session_header, FN, 0x10000)
    raises(UsageError, session_header, FN, 1, 0x17)  # CRC mode 11
    raises(OfdProtocolError, parse_session_header, b"\x00" * 30)
    raises(OfdProtocolError, parse_session_header, session_header(FN, 0)[:29])


def test_container_ids():
    assert container_ids(container(0x012345, 3)) == (3, 0x012345)
    assert container_ids(b"\x00" * 10) == (-1, -1)


# ---- the state machine -------------------------------------------------------------------


def test_two_documents_on_one_connection():
    clock = FakeClock()
    drive = FakeDrive([1, 2])
    net = FakeNet([receipt_answer(1), receipt_answer(2)])
    c = client(drive, net, clock)
    assert c.flush(60)
    assert drive.log == [
        "20", "31", "21(1)", "22", "25", "26", "20", "22", "25", "26", "20", "21(0)",
    ]  # fmt: skip
    assert len(net.conns) == 1 and net.conns[0].closed
    sent = net.conns[0].sent
    assert sent[0] == session_header(FN, 40, FLAGS_MESSAGE) + container(1)
    assert sent[1][30:] == container(2)
    assert drive.received[0] == container(1, 7, 50)
    events = c.events()
    assert [(e["event"], e["fd"], e["code"]) for e in events] == [
        ("delivered", 1, 0),
        ("delivered", 2, 0),
    ]
    assert c.events() == []
    s = c.status()
    assert s["state"] == "idle" and s["unsent"] == 0 and s["delivered"] == 2
    assert s["failures"] == 0 and s["last_error"] is None and not s["connected"]


def test_idle_polls_every_minute_and_kick_wakes_it():
    clock = FakeClock()
    drive = FakeDrive([])
    c = client(drive, FakeNet(), clock)
    assert c.step() == 60.0
    assert c.step() == 60.0  # not due: the drive is not asked again
    assert drive.log == ["20"]
    c.kick()
    c.step()
    assert drive.log == ["20", "20"]


def test_rejected_document_is_an_event():
    clock = FakeClock()
    drive = FakeDrive([5], codes={5: 14})
    c = client(drive, FakeNet([receipt_answer(5)]), clock)
    assert c.flush(60)
    (ev,) = c.events()
    assert ev["event"] == "rejected" and ev["fd"] == 5 and ev["code"] == 14
    assert c.status()["rejected"] == 1 and c.status()["delivered"] == 0


def test_refused_receipt_backs_off_and_retries():
    clock = FakeClock()
    drive = FakeDrive([3])
    drive.refuse[3] = DriveError(0x20, False, 0x26, b"\x01")  # bad ФПО
    net = FakeNet([receipt_answer(3), receipt_answer(3)])
    c = client(drive, net, clock, backoff_s=10.0)
    while c.status()["failures"] == 0:
        c.step()
    s = c.status()
    assert s["state"] == "backoff" and s["refused"] == 1
    assert "OfdReceiptRefused" in s["last_error"]
    assert c.events()[0] == {"event": "receipt_refused", "fd": 3, "reason": 1, "at": T0}
    assert drive.log[-1] == "21(0)" and net.conns[0].closed
    assert c.step() == 10.0  # waits out the backoff
    del drive.refuse[3]
    assert c.flush(60)
    assert c.status()["delivered"] == 1 and len(net.conns) == 2


def test_outage_backoff_doubles_to_the_cap():
    clock = FakeClock()
    drive = FakeDrive([1])
    net = FakeNet(fail=6)
    c = client(drive, net, clock, backoff_s=10.0, backoff_max_s=60.0)
    waits = []
    for _ in range(6):
        while True:
            w = c.step()
            if c.status()["state"] == "backoff":
                break
        waits.append(w)
        clock.sleep(w)
    assert waits == [10.0, 20.0, 40.0, 60.0, 60.0, 60.0]
    s = c.status()
    assert s["failures"] == 6 and s["attempts"] == 6 and s["unsent"] == 1
    assert "refused" in s["last_error"]
    assert s["oldest_unsent"] == (2024, 1, 15, 10, 30)
    assert s["oldest_unsent_age_s"] == int(clock.t)
    assert s["block_in_s"] == 30 * 86400 - int(clock.t)
    assert "21(1)" not in drive.log  # never told the drive the transport was up
    net.answers = [receipt_answer(1)]  # the OFD is back
    assert c.flush(600)
    assert c.status()["failures"] == 0 and c.status()["delivered"] == 1


def test_a_new_endpoint_is_tried_at_once_after_failures_on_the_old():
    clock = FakeClock()
    drive = FakeDrive([1])
    net = FakeNet(fail=2)
    tried = []

    def connect(host, port, timeout):
        tried.append((host, port))
        return net.connect(host, port, timeout)

    c = OfdClient(drive, connect, "ofd.old", 7777, clock, backoff_s=10.0)
    assert c.step() == 10.0
    clock.sleep(10.0)
    assert c.step() == 20.0 and c.status()["state"] == "backoff"
    assert not c.set_endpoint("ofd.old", 7777)  # the same: nothing changes
    assert c.step() == 20.0
    net.answers = [receipt_answer(1)]
    assert c.set_endpoint("ofd.new", 19081)
    assert c.status()["ofd"] == "ofd.new:19081" and c.status()["failures"] == 0
    assert c.flush(1)  # no backoff wait: the new endpoint at the next step
    assert tried == [("ofd.old", 7777), ("ofd.old", 7777), ("ofd.new", 19081)]
    assert c.status()["delivered"] == 1


def test_closed_or_silent_ofd_is_a_failure():
    clock = FakeClock()
    drive = FakeDrive([1])
    net = FakeNet(["close"])
    c = client(drive, net, clock, receipt_timeout_s=300.0, poll_s=5.0)
    while c.status()["failures"] == 0:
        c.step()
    assert "closed" in c.status()["last_error"]
    clock.sleep(c.backoff())
    net.answers = [None]  # the OFD says nothing: the clock runs out
    while c.status()["failures"] == 1:
        clock.sleep(c.step())
    assert "OfdTimeout" in c.status()["last_error"]
    assert clock.t > 300


def test_answer_in_small_chunks_and_with_crc():
    clock = FakeClock()
    drive = FakeDrive([9])
    net = FakeNet([receipt_answer(9, flags=0x0006)], chunk=7)  # CRC over header + body
    c = client(drive, net, clock)
    assert c.flush(60)
    assert c.status()["delivered"] == 1


def test_broken_answers_are_protocol_errors():
    bad_crc = bytearray(receipt_answer(1, flags=0x0005))
    bad_crc[28] ^= 1
    for answer, text in (
        (bytes(bad_crc), "OfdProtocolError"),  # header CRC (mode 01) does not match
        (b"\x00" * 30, "OfdProtocolError"),  # no signature
        (session_header(FN, 0, 0x0004), "OfdProtocolError"),  # no receipt in the answer
        (session_header(FN, 2000, 0x0004) + bytes(2000), "OfdProtocolError"),  # too big
    ):
        clock = FakeClock()
        drive = FakeDrive([1])
        c = client(drive, FakeNet([answer]), clock)
        while c.status()["failures"] == 0:
            c.step()
        assert text in c.status()["last_error"], c.status()["last_error"]
        assert drive.log[-1] == "21(0)"


def test_drive_link_failure_is_raised_after_hanging_up():
    class DeadDrive(FakeDrive):
        def read_ofd_message(self, block=512):
            raise LinkError("the drive is gone", 0x22)

    clock = FakeClock()
    net = FakeNet()
    c = client(DeadDrive([1]), net, clock)
    raises(LinkError, c.run, 10)
    assert net.conns[0].closed and c.status()["state"] == "idle"


def test_probe_is_a_service_message():
    clock = FakeClock()
    net = FakeNet([session_header(FN, 0, 0x0000)])
    c = client(FakeDrive([]), net, clock, fn_number=FN)
    assert c.probe() >= 0
    assert net.conns[0].sent == [session_header(FN, 0, FLAGS_SERVICE)]
    assert net.conns[0].closed
