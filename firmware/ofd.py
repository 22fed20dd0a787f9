# firmware/ofd.py: the register's OFD client: fiscal documents from the drive to the OFD.
# MIT license; Oblako register runtime.
#
# The FN <-> OFD exchange as the register drives it (reference fiscal-protocols.md §4.3,
# §1.6 commands 20h-26h, [V] S1 §4.6 and S2 §4.3-4.5):
#
#   1. 20h  exchange status: how many documents wait for the OFD, the oldest one's date
#   2.      connect to the OFD (TCP), then 21h(1): "transport up"
#   3. 22h  begin reading the message (its length), 23h blocks, 25h finish reading
#   4.      send the 30-byte session header + the message (the FN container, §4.2)
#   5.      read the 30-byte answer header + its body (the OFD's receipt container)
#   6. 26h  pass the receipt to the drive: it checks the ФПО and marks the document delivered
#   7.      20h again: while documents remain, back to 3 on the same connection
#   8. 21h(0) and close the connection; with linger_s, only after that long without a new
#      document (the drive keeps "transport up" meanwhile, §4.3 step 5 allows it): a register
#      selling a receipt every few seconds saves per document the TCP connect and close on
#      both ends, 21h(1), 21h(0) and the opening 20h. The OFD may close a kept connection
#      (its idle timeout): the first message on it failing before any answer is not counted
#      as a failure; the client hangs up and goes again on a new connection at once.
#
# Several documents in one message are not possible: the drive gives one container at a
# time (22h reads the oldest unconfirmed one) and waits for its receipt (26h) first.
#
# The session header (§4.1) is built here with struct; it equals protocol/ofd.py
# SessionHeader.build byte for byte (tests/firmware/test_ofd_client.py proves it). Like real
# registers we send flags 0x0014 (an answer is expected, the body is a container) with no
# CRC; an answer's CRC is checked when its flags ask for one (modes 01 and 10).
#
# OfdClient is a state machine that never blocks longer than one network read: step() does
# the next bounded piece of work and returns how many clock seconds may pass before it
# wants to run again, so the runtime interleaves it with receipts (the drive is only used
# inside step(), between the runtime's own commands). The waits are on the injected clock
# (DESIGN decision 6): the 300 s receipt wait (§4.5, configurable), the exponential
# backoff after a failure, the 60 s poll of 20h (§4.3 "Таймер ФН" 0-60 s). The client keeps
# going while the OFD is down: a failure is recorded in status() and retried, never raised.
# Only the drive link's own failures (LinkError, AnswerError) are raised, after the
# network connection is closed.
#
# The network is a tiny contract (firmware/net.py implements it over `socket`):
#   connect(host, port, timeout) -> conn;  conn.send(buf);  conn.recv_into(buf) -> n
#   (n > 0 bytes, 0 the peer closed, None nothing yet);  conn.close()
#
# What the OFD says about a document comes back through the drive (26h answer: the OFD's
# code 1022). Code 0 is a delivery; any other code (14 «Ошибка ФЛК») is a document the
# drive counts as delivered but the OFD rejected: a "rejected" event for the runtime and the
# fleet (the reason is in the OFD's gateway, DESIGN decision 10). A receipt the drive
# refuses (26h answers 20h + reason) is OfdReceiptRefused: the document stays unsent.
from struct import pack_into, unpack_from

from firmware.clock import unix_from_local
from firmware.compat import const
from firmware.crc16 import crc16
from firmware.errors import (
    DriveError,
    OfdError,
    OfdProtocolError,
    OfdReceiptRefused,
    OfdTimeout,
    RegisterError,
    UsageError,
)

# mypy treats `if TYPE_CHECKING:` as true; MicroPython folds const(0) and drops the block.
TYPE_CHECKING = const(0)
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Protocol

    from firmware.drive import FiscalDrive

    class Connection(Protocol):
        """One connection to the OFD (firmware/net.py)."""

        def send(self, buf: bytes | bytearray | memoryview) -> None: ...
        def recv_into(self, buf: bytearray | memoryview) -> int | None: ...
        def close(self) -> None: ...

    class Clock(Protocol):
        """The project's clock contract (firmware/clock.py, DESIGN decision 6)."""

        def wall(self) -> float: ...
        def monotonic(self) -> float: ...
        def sleep(self, seconds: float) -> None: ...


# ---- the session header (§4.1 [V] S2 §4.2 tables 1-2) -------------------------------------
#
#   off len
#    0   4  signature 2A 08 41 0A
#    4   2  S-protocol version (81 A2 = 1.1)
#    6   2  P-protocol version (01 05 FFD 1.05; 01 10 FFD 1.1; 00 01/00 02 legacy)
#    8  16  FN number, ASCII (NUL-padded when shorter, as construct's PaddedString)
#   24   2  body size, u16 LE
#   26   2  flags, u16 LE: bits 5-4 answer expected (01), bit 2 container, bits 1-0 CRC mode
#   28   2  CRC-16/CCITT-FALSE of bytes 0..27 [+ body for mode 10], 0 without CRC

SESSION_HEADER_SIZE = const(30)
CONTAINER_HEADER_SIZE = const(32)  # §4.2
SIGNATURE = b"\x2a\x08\x41\x0a"
S_VERSION = b"\x81\xa2"  # S-protocol 1.1
# P-protocol version: 01 05 (FFD 1.05), as protocol/ofd.py's default. For FFD 1.2 a
# third-party client sends 01 20 [2nd]; the FFD 1.2 OFD protocol was not available (§0).
P_VERSION = b"\x01\x05"
FLAGS_MESSAGE = const(0x0014)  # answer expected + container, no CRC: real registers (§4.1)
FLAGS_SERVICE = const(0x0010)  # connectivity test: header only, answer expected (§4.5)
MAX_CONTAINER = const(32768)  # §4.2: a container is at most 32 KB
MAX_RECEIPT = const(1024)  # 26h carries the receipt in one frame (§1.2: 1024 data bytes)
RECEIPT_TIMEOUT_S = 300.0  # §4.5 [V]: the drive and the register wait 300 s for a receipt
OFD_BLOCK_S = 30 * 86400  # §1.4 15h [V]: the drive blocks receipts 30 days after the oldest
OFD_CODE_FLK = const(14)  # tag 1022 «Ошибка ФЛК» [V] S3

_CRC_MODE = const(0x03)
_CONTAINER_BIT = const(0x04)
_NO_DATA = const(0x08)  # 22h: nothing to send (§1.6)
_WRONG_STATE = const(0x02)  # 26h: the drive awaits no receipt (its 300 s ran out)
_REJECTED = const(0x20)  # 26h: the drive refuses the OFD's message (§1.4)

# Client states (status()["state"]).
_IDLE = const(0)  # nothing to send, or waiting for the next 20h poll
_BACKOFF = const(1)  # the last attempt failed; waiting before the next one
_SEND = const(2)  # connected: read the next message from the drive and send it
_WAIT = const(3)  # waiting for the OFD's answer
_STATE_NAMES = ("idle", "backoff", "sending", "waiting")


def session_header(
    fn_number: str,
    body_size: int,
    flags: int = FLAGS_MESSAGE,
    p_version: bytes = P_VERSION,
    s_version: bytes = S_VERSION,
    body: "bytes | bytearray | memoryview" = b"",
) -> bytes:
    """The 30-byte session header; CRC mode 01 covers the header, 10 also `body` (§4.1).

    Raises UsageError for a value the header cannot hold (FN number over 16 ASCII bytes,
    sizes, CRC mode 11).
    """
    raw = fn_number.encode() if isinstance(fn_number, str) else b""
    if not isinstance(fn_number, str) or len(raw) != len(fn_number) or len(raw) > 16:
        raise UsageError("FN number must be at most 16 ASCII characters: %r" % (fn_number,))
    if type(body_size) is not int or not 0 <= body_size <= 0xFFFF:
        raise UsageError("body size must be a u16: %r" % (body_size,))
    if type(flags) is not int or not 0 <= flags <= 0xFFFF or flags & _CRC_MODE == _CRC_MODE:
        raise UsageError("flags must be a u16 with CRC mode 00, 01 or 10: %r" % (flags,))
    if len(p_version) != 2 or len(s_version) != 2:
        raise UsageError("protocol versions are 2 bytes each")
    buf = bytearray(SESSION_HEADER_SIZE)
    buf[0:4] = SIGNATURE
    buf[4:6] = s_version
    buf[6:8] = p_version
    buf[8 : 8 + len(raw)] = raw  # the rest stays NUL
    pack_into("<HH", buf, 24, body_size, flags)
    mode = flags & _CRC_MODE
    if mode:
        crc = crc16(memoryview(buf)[:28])
        if mode == 2:
            crc = crc16(body, crc)
        pack_into("<H", buf, 28, crc)
    return bytes(buf)


def parse_session_header(buf: "bytes | bytearray | memoryview") -> dict:
    """{"s_version", "p_version", "fn_number", "body_size", "flags", "crc"} of a header.

    Raises OfdProtocolError for a short buffer, a wrong signature or a non-ASCII FN number.
    The CRC is checked separately (session_crc_ok), once the body is there.
    """
    if len(buf) < SESSION_HEADER_SIZE:
        raise OfdProtocolError("a session header is 30 bytes, got %d" % len(buf))
    if bytes(buf[0:4]) != SIGNATURE:
        raise OfdProtocolError("not an OFD session header: signature %r" % bytes(buf[0:4]))
    fn = bytes(buf[8:24])
    end = 16
    while end and fn[end - 1] == 0:
        end -= 1
    for b in fn[:end]:
        if b > 0x7F:
            raise OfdProtocolError("session header FN number is not ASCII")
    size, flags, crc = unpack_from("<HHH", buf, 24)
    return {
        "s_version": bytes(buf[4:6]),
        "p_version": bytes(buf[6:8]),
        "fn_number": fn[:end].decode(),
        "body_size": size,
        "flags": flags,
        "crc": crc,
    }


def session_crc_ok(header: "bytes | bytearray | memoryview", body: "bytes | bytearray") -> bool:
    """True when the header's CRC is right for its CRC mode (00: nothing to check)."""
    flags = header[26] | header[27] << 8
    mode = flags & _CRC_MODE
    if not mode:
        return True
    if mode == _CRC_MODE:
        return False  # 11 is not a CRC mode (§4.1)
    crc = crc16(memoryview(header)[:28])
    if mode == 2:
        crc = crc16(body, crc)
    return crc == (header[28] | header[29] << 8)


def container_ids(container: "bytes | bytearray") -> tuple:
    """(document type, FD number) from an FN container header (§4.2): byte 5, bytes 17..19
    big-endian; (-1, -1) when it is not a container."""
    if len(container) < CONTAINER_HEADER_SIZE or container[4] != 0xA5:
        return -1, -1
    return container[5], container[17] << 16 | container[18] << 8 | container[19]


class OfdClient:
    """The register's OFD exchange (see the module comment).

    drive: a FiscalDrive (firmware/drive.py); connect: connect(host, port, timeout) -> conn
    (firmware/net.py); clock: the injected clock. fn_number: the drive's number (read with
    31h on first use when None). receipt_timeout_s: the wait for an answer (§4.5);
    connect_timeout_s: passed to connect; poll_s: clock time between reads while waiting
    for the answer; idle_poll_s: the 20h poll period when idle (§4.3: at most 60 s);
    backoff_s / backoff_max_s: the first and the longest wait after failures (doubling);
    block: 23h block size; flags / p_version: the session header's (§4.1); utc_offset_min:
    the register's local time (the drive's dates); on_event: called with each event dict;
    linger_s: how long the connection is kept after the last document (0: hang up at once).
    """

    def __init__(
        self,
        drive: "FiscalDrive",
        connect: "Callable[[str, int, float], Connection]",
        host: str,
        port: int,
        clock: "Clock",
        fn_number: str | None = None,
        receipt_timeout_s: float = RECEIPT_TIMEOUT_S,
        connect_timeout_s: float = 10.0,
        poll_s: float = 0.05,
        idle_poll_s: float = 60.0,
        backoff_s: float = 10.0,
        backoff_max_s: float = 600.0,
        block: int = 512,
        flags: int = FLAGS_MESSAGE,
        p_version: bytes = P_VERSION,
        utc_offset_min: int = 180,
        max_events: int = 64,
        on_event: "Callable[[dict], object] | None" = None,
        linger_s: float = 0.0,
    ) -> None:
        if backoff_s <= 0 or backoff_max_s < backoff_s or receipt_timeout_s <= 0:
            raise UsageError("backoff and receipt timeout must be positive, max >= first")
        if not 0 < block <= 1024:
            raise UsageError("block must be 1..1024 bytes (one 23h answer)")
        session_header("", 0, flags, p_version)  # refuses bad flags and versions now
        self.drive = drive
        self.connect = connect
        self.host = host
        self.port = port
        self.clock = clock
        self.fn_number = fn_number
        self.receipt_timeout_s = receipt_timeout_s
        self.connect_timeout_s = connect_timeout_s
        self.poll_s = poll_s
        self.idle_poll_s = idle_poll_s
        self.backoff_s = backoff_s
        self.backoff_max_s = backoff_max_s
        self.block = block
        self.flags = flags
        self.p_version = p_version
        self.utc_offset_min = utc_offset_min
        self.max_events = max_events
        self.on_event = on_event
        self.linger_s = linger_s
        # counters for status() and the fleet
        self.delivered = 0  # documents the OFD confirmed with code 0
        self.rejected = 0  # documents the OFD answered with another code (14: ФЛК)
        self.refused = 0  # receipts the drive refused (26h 20h)
        self.failures = 0  # consecutive failed attempts
        self.attempts = 0  # connections opened
        self.dropped_events = 0
        self.last_error: str | None = None
        self.last_attempt: float | None = None  # wall time
        self.last_success: float | None = None  # wall time
        self._exchange: dict | None = None  # the last 20h answer
        self._events: list = []
        self._state = _IDLE
        self._next_at = clock.monotonic()
        self._conn: "Connection | None" = None
        self._transport = False  # 21h(1) sent
        self._linger_until = 0.0  # a kept connection is closed at this monotonic time
        self._reused = False  # the message in flight went on a kept connection, no answer yet
        self._fd = -1
        self._doc_type = -1
        self._sent_at = 0.0
        self._hdr = bytearray(SESSION_HEADER_SIZE)
        self._rx = memoryview(self._hdr)
        self._got = 0
        self._body: bytearray | None = None

    # ---- the state machine -------------------------------------------------------------

    def step(self) -> float:
        """Do the next bounded piece of the exchange; return the clock seconds until the
        client wants to run again (0: at once). Never raises for the OFD or the network;
        raises the drive link's errors (LinkError, AnswerError) after closing the connection.
        """
        now = self.clock.monotonic()
        try:
            st = self._state
            if st == _IDLE or st == _BACKOFF:
                if now < self._next_at:
                    return self._next_at - now
                return self._begin()
            if st == _SEND:
                self._send_next()
                return 0.0
            return self._wait()
        except OfdError as e:
            if self._stale():
                return 0.0
            self._fail(e)
        except DriveError as e:
            if self._stale():  # e.g. the drive restarted meanwhile: its transport is down
                return 0.0
            self._fail(e)
        except OSError as e:  # the network: refused, reset, unreachable, DNS
            if self._stale():
                return 0.0
            self._fail(OfdError("network: %s" % (e,)))
        except RegisterError:
            self._hang_up(False)  # the drive link failed: do not talk to it again now
            self._state = _IDLE
            raise
        return max(0.0, self._next_at - self.clock.monotonic())

    def set_endpoint(self, host: str, port: int) -> bool:
        """Use host:port from the next connection (the fleet's desired state, docs/mqtt.md); a
        session under way ends on the old one. A client backing off after failures on the old
        endpoint tries the new one at its next step. Returns whether it changed."""
        if host == self.host and port == self.port:
            return False
        self.host = host
        self.port = port
        if self._state == _IDLE and self._conn is not None:
            self._hang_up(True)  # a kept connection is to the old endpoint
        if self._state == _BACKOFF:
            self.failures = 0
            self._state = _IDLE
            self._next_at = self.clock.monotonic()
        return True

    def kick(self) -> None:
        """Poll the drive at the next step (a new document was made); backoff still holds."""
        if self._state == _IDLE:
            self._next_at = self.clock.monotonic()

    def run(self, seconds: float) -> int:
        """Step for `seconds` of clock time, sleeping on the clock between steps; return the
        documents delivered or rejected meanwhile."""
        clock = self.clock
        end = clock.monotonic() + seconds
        before = self.delivered + self.rejected
        while True:
            wait = self.step()
            now = clock.monotonic()
            if now >= end:
                break
            if wait > 0:
                clock.sleep(min(wait, end - now))
        return self.delivered + self.rejected - before

    def flush(self, max_s: float = 3600.0) -> bool:
        """Step until the drive has nothing unsent (True) or max_s clock seconds passed
        (False): for tests and a clean shutdown."""
        clock = self.clock
        end = clock.monotonic() + max_s
        self.kick()
        while True:
            wait = self.step()
            ex = self._exchange
            if self._state == _IDLE and ex is not None and not ex["message_count"]:
                return True
            now = clock.monotonic()
            if now >= end:
                return False
            if wait > 0:
                clock.sleep(min(wait, end - now))

    def close(self) -> None:
        """Hang up: 21h(0) if the drive was told the transport is up, close the socket."""
        self._hang_up(True)
        self._state = _IDLE

    # ---- one session ---------------------------------------------------------------------

    def _read_status(self) -> dict:
        st = self.drive.ofd_exchange_status()  # 20h
        self._exchange = st
        return st

    def _begin(self) -> float:
        # Poll 20h; with documents waiting, connect and tell the drive (21h(1)), or go on on
        # the kept connection; with none, close a kept connection whose time is up.
        if not self._read_status()["message_count"]:
            now = self.clock.monotonic()
            if self._conn is not None and now >= self._linger_until:
                self._hang_up(True)
            self._state = _IDLE
            self._next_at = now + self.idle_poll_s
            if self._conn is not None:
                self._next_at = min(self._next_at, self._linger_until)
            return self._next_at - now
        if self._conn is not None:
            self._reused = True
            self._state = _SEND
            return 0.0
        if self.fn_number is None:
            self.fn_number = self.drive.fn_number()  # 31h
        self.attempts += 1
        self.last_attempt = self.clock.wall()
        self._conn = self.connect(self.host, self.port, self.connect_timeout_s)
        self.drive.transport_status(1)  # 21h
        self._transport = True
        self._state = _SEND
        return 0.0

    def _send_next(self) -> None:
        # 22h 23h.. 25h, then the session header and the container in one send.
        drive = self.drive
        try:
            message = drive.read_ofd_message(self.block)
        except DriveError as e:
            if e.code == _NO_DATA:  # confirmed meanwhile: nothing left
                self._done()
                return
            raise
        drive.ofd_message_read_finish()  # 25h: the drive now waits for the receipt
        self._doc_type, self._fd = container_ids(message)
        if len(message) > MAX_CONTAINER:
            raise OfdProtocolError("the drive's message of %d bytes is too long" % len(message))
        fn = self.fn_number or ""
        out = session_header(fn, len(message), self.flags, self.p_version, body=message)
        self._connection().send(out + message)
        self._sent_at = self.clock.monotonic()
        self._rx = memoryview(self._hdr)
        self._got = 0
        self._body = None
        self._state = _WAIT

    def _wait(self) -> float:
        # Read the answer header, then its body; then 26h.
        if self.clock.monotonic() - self._sent_at > self.receipt_timeout_s:
            raise OfdTimeout(
                "no answer from the OFD in %d s (FD %d)" % (self.receipt_timeout_s, self._fd)
            )
        rx = self._rx
        n = self._connection().recv_into(rx[self._got :])
        if n is None:
            return self.poll_s
        if n == 0:
            raise OfdError("the OFD closed the connection before answering (FD %d)" % self._fd)
        self._reused = False  # it answers: whatever fails now is the OFD's
        self._got += n
        if self._got < len(rx):
            return 0.0
        if self._body is None:
            h = parse_session_header(self._hdr)
            size = h["body_size"]
            if not size or not h["flags"] & _CONTAINER_BIT:
                raise OfdProtocolError("the OFD's answer carries no receipt container")
            if size > MAX_RECEIPT:
                raise OfdProtocolError("a receipt of %d bytes does not fit 26h" % size)
            self._body = bytearray(size)
            self._rx = memoryview(self._body)
            self._got = 0
            return 0.0
        body = self._body
        if not session_crc_ok(self._hdr, body):
            raise OfdProtocolError("the OFD's answer has a bad session CRC")
        if self.clock.monotonic() - self._sent_at > self.receipt_timeout_s:
            raise OfdTimeout("the OFD's answer came after %d s" % self.receipt_timeout_s)
        self._receipt(bytes(body))
        return 0.0

    def _receipt(self, body: bytes) -> None:
        # 26h: the drive checks the receipt; its answer carries the OFD's code (1022).
        fd = self._fd
        try:
            r = self.drive.ofd_receipt(body)
        except DriveError as e:
            if e.code == _REJECTED:
                self.refused += 1
                self._event({"event": "receipt_refused", "fd": fd, "reason": e.reason})
                raise OfdReceiptRefused(fd, e.reason, e)
            if e.code == _WRONG_STATE:
                raise OfdTimeout("the drive no longer awaits a receipt for FD %d" % fd)
            raise
        code = r["ofd_answer_code"]
        ev = {"event": "delivered", "fd": fd, "doc_type": self._doc_type, "code": code}
        if code:
            self.rejected += 1
            ev["event"] = "rejected"
            ev["operator_message"] = r["operator_message"]
        else:
            self.delivered += 1
        self._event(ev)
        self.failures = 0
        self.last_error = None
        self.last_success = self.clock.wall()
        if self._read_status()["message_count"]:
            self._state = _SEND  # more on the same connection (§4.3 step 5)
        else:
            self._done()

    def _connection(self) -> "Connection":
        conn = self._conn
        if conn is None:  # cannot happen: _SEND and _WAIT run connected
            raise OfdError("not connected")
        return conn

    def _done(self) -> None:
        self._state = _IDLE
        now = self.clock.monotonic()
        self._next_at = now + self.idle_poll_s
        if self.linger_s > 0 and self._conn is not None:
            self._linger_until = now + self.linger_s
            self._next_at = min(self._next_at, self._linger_until)
            return
        self._hang_up(True)

    def _stale(self) -> bool:
        # The first message on a kept connection failed before any answer: the OFD closed
        # it meanwhile (its idle timeout), or the drive restarted and forgot 21h(1). Not a
        # failure: a new connection, and 21h(1), at once.
        if not self._reused:
            return False
        self._reused = False
        self._hang_up(True)
        self._state = _IDLE
        self._next_at = self.clock.monotonic()
        return True

    def _fail(self, e: Exception) -> None:
        # The state is set first: if 21h(0) then fails on the drive link, that error
        # propagates with the client already backing off.
        self.failures += 1
        self.last_error = "%s: %s" % (type(e).__name__, e)
        self._state = _BACKOFF
        self._next_at = self.clock.monotonic() + self.backoff()
        self._hang_up(True)

    def _hang_up(self, tell_drive: bool) -> None:
        conn = self._conn
        self._conn = None
        self._reused = False
        if conn is not None:
            try:
                conn.close()
            except OSError:
                pass
        if self._transport and tell_drive:
            self._transport = False
            try:
                self.drive.transport_status(0)  # 21h(0), §4.3 step 5
            except DriveError:
                pass
        self._transport = False

    def backoff(self) -> float:
        """The wait after the current run of failures: backoff_s doubling to backoff_max_s."""
        wait = self.backoff_s
        for _ in range(1, self.failures):
            wait *= 2
            if wait >= self.backoff_max_s:
                return self.backoff_max_s
        return wait

    # ---- what the runtime and the fleet read ---------------------------------------------

    def _event(self, ev: dict) -> None:
        ev["at"] = self.clock.wall()
        if self.on_event is not None:
            self.on_event(ev)
        if len(self._events) >= self.max_events:
            self._events.pop(0)
            self.dropped_events += 1
        self._events.append(ev)

    def events(self) -> list:
        """The events since the last call, oldest first (then forgotten): dicts with "event"
        "delivered" (code 0), "rejected" (the OFD's code, e.g. 14, and "operator_message"),
        or "receipt_refused" ("reason" of 26h); "fd", "at" (wall time)."""
        out = self._events
        self._events = []
        return out

    def refresh(self) -> dict:
        """Read 20h now (the drive must be free) and return status()."""
        self._read_status()
        return self.status()

    def status(self) -> dict:
        """The exchange for the fleet: state, unsent documents (from the last 20h), the age
        of the oldest and the time left before the drive's 30-day block (§1.4 15h)."""
        ex = self._exchange or {}
        oldest = ex.get("first_date_time")
        age = None
        block_in = None
        if oldest is not None:
            age = int(self.clock.wall() - unix_from_local(oldest, self.utc_offset_min))
            block_in = max(0, OFD_BLOCK_S - age)
        now = self.clock.monotonic()
        return {
            "state": _STATE_NAMES[self._state],
            "connected": self._conn is not None,
            "ofd": "%s:%d" % (self.host, self.port),
            "unsent": ex.get("message_count"),
            "first_unsent_fd": ex.get("first_fd"),
            "oldest_unsent": oldest,
            "oldest_unsent_age_s": age,
            "block_in_s": block_in,
            "delivered": self.delivered,
            "rejected": self.rejected,
            "refused": self.refused,
            "failures": self.failures,
            "attempts": self.attempts,
            "last_error": self.last_error,
            "last_attempt": self.last_attempt,
            "last_success": self.last_success,
            "next_attempt_in_s": max(0.0, self._next_at - now) if self._state < _SEND else 0.0,
        }

    # ---- connectivity test (§4.5) ---------------------------------------------------------

    def probe(self) -> float:
        """Send a service message (header only, flags 0x0010) and wait for the OFD's
        header-only answer; return the round trip in clock seconds. Raises OfdError."""
        fn = self.fn_number if self.fn_number is not None else ""
        clock = self.clock
        try:
            conn = self.connect(self.host, self.port, self.connect_timeout_s)
        except OSError as e:
            raise OfdError("network: %s" % (e,))
        try:
            start = clock.monotonic()
            conn.send(session_header(fn, 0, FLAGS_SERVICE, self.p_version))
            buf = bytearray(SESSION_HEADER_SIZE)
            mv = memoryview(buf)
            got = 0
            while got < SESSION_HEADER_SIZE:
                if clock.monotonic() - start > self.connect_timeout_s:
                    raise OfdTimeout("no answer to the service message")
                n = conn.recv_into(mv[got:])
                if n is None:
                    clock.sleep(self.poll_s)
                    continue
                if n == 0:
                    raise OfdError("the OFD closed the connection")
                got += n
            h = parse_session_header(buf)
            if h["body_size"] or not session_crc_ok(buf, b""):
                raise OfdProtocolError("the answer to a service message is a bare header")
            return clock.monotonic() - start
        except OSError as e:
            raise OfdError("network: %s" % (e,))
        finally:
            conn.close()
