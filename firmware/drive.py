# firmware/drive.py: the fiscal-drive (ФН) driver: every command, timeouts, ENQ, make safety.
# MIT license; Oblako register runtime.
#
# FiscalDrive(transport, clock) speaks the FN <-> KKT protocol (reference fiscal-protocols.md
# §1) over the smallest transport there is, which machine.UART and serial.Serial both are:
#
#   transport.write(buf) -> int | None     bytes taken (None: all of them); buf is reused
#                                          after the call, so copy it if you keep it
#   transport.readinto(buf) -> int | None  bytes received; 0 or None: nothing yet. It must
#                                          not block for long (pyserial: timeout=0 or small)
#
# and an injected clock (firmware/clock.py: wall, monotonic, sleep), so tests run without
# waiting. Byte layouts agree with protocol/fn/commands.py (the construct spec, CPython
# only); this file is an independent implementation with struct, checked against it.
#
# One exchange (§1.1, §1.2, §1.10):
#   1. drain: bytes that arrived since the last exchange are stale: dropped;
#   2. write the request frame;
#   3. feed what arrives to the sans-IO Framer (garbage and bad CRCs are skipped there)
#      until one whole answer frame, the command's timeout, or a broken answer: bytes came
#      (a bad CRC, or a frame cut short) and then the line stayed idle for idle_s;
#   4. no answer: send ENQ (0x05), which makes the drive send its last answer again, up to
#      enq_tries times; an answer that only came thanks to ENQ is followed by a short quiet
#      wait (settle_s) that swallows a late duplicate;
#   5. still nothing: an ordinary command is sent again (resends times); then LinkTimeout.
#
# Two kinds of command are never repeated blindly:
#   - "make" commands (03h 05h 12h 14h 16h 19h A3h) create a fiscal document, and a second
#     one is a legal error (DESIGN decision 4). The driver reads the drive status (30h) right
#     before each one. When the answer is lost even after ENQ (or arrives unreadable), it
#     reads 30h again, and 40h for the new FD: made -> the result is rebuilt from the archive
#     and returned with "recovered": True; not made -> NotMade; otherwise OutcomeUnknown.
#   - 07h (and B7h) append data to the open document, 46h/47h advance a read cursor.
#     ENQ after plain silence is ambiguous for them: if the request itself was lost,
#     the drive repeats the answer to the command before, which looks the same (an empty OK,
#     the previous TLV), and the document would silently miss data. So they get ENQ only
#     after a broken answer (the drive did answer), are never resent, and a timeout raises
#     LinkTimeout: cancel (06h) and rebuild the document, or restart the read with 45h.
#
# Answers with bit 7 set are successes with a warning (§1.3): self.warning is set, and the
# flags are in status()["warnings"]. A non-zero answer code raises DriveError with the code
# and its meaning (firmware/answertable.py, generated from protocol/fn/codes.py).
#
# Values: ints (money in kopecks), str for ASCII fields with their padding, bytes for TLV,
# DATE_TIME as a (year, month, day, hour, minute) tuple of the drive's local time, DATE as
# (year, month, day); all-zero dates in answers are None ([rec], as protocol/fn/fields.py).
# Methods taking `at` use it as the document time, or the clock's time in UTC+utc_offset_min.
from struct import pack_into, unpack_from

from firmware.clock import local_fields, pack_date_time, valid_date_time
from firmware.compat import const
from firmware.crc16 import crc16
from firmware.errors import (
    AnswerError,
    BufferFullError,
    DriveError,
    LinkError,
    LinkTimeout,
    NotMade,
    OutcomeUnknown,
    RegisterError,
    TlvError,
    UsageError,
)
from firmware.framing import ENQ, MAX_DATA, Framer
from firmware.tlv import field_into

# mypy treats `if TYPE_CHECKING:` as true whatever the value; MicroPython folds const(0)
# and compiles the block away, so typing is never imported on the board.
TYPE_CHECKING = const(0)
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable  # noqa: F401 (a type comment uses it)
    from typing import Protocol

    class Transport(Protocol):
        """What machine.UART and serial.Serial both are."""

        def write(self, buf: bytes | memoryview) -> int | None: ...
        def readinto(self, buf: bytearray) -> int | None: ...

    class Clock(Protocol):
        """The project's clock contract (firmware/clock.py, DESIGN decision 6)."""

        def wall(self) -> float: ...
        def monotonic(self) -> float: ...
        def sleep(self, seconds: float) -> None: ...


# Default timeouts in seconds, §1.10 [rec] (no normative values exist; S6 saw 300 ms for
# info commands and 30 s for 60h on real drives).
TIMEOUT_INFO = 1.0  # status, information, «Начать …», 07h, OFD reads
TIMEOUT_MAKE = 10.0  # «Сформировать …» and other crypto work (22h forms, 26h checks)
TIMEOUT_LONG = 30.0  # 60h reset and the archive (40h..47h)

# Command sets as bytes: `code in _MAKE` is a byte search, no heap.
_MAKE = b"\x03\x05\x12\x14\x16\x19\xa3"  # create a fiscal document, §1.6, §1.7
_CRYPTO = b"\x22\x26"  # form the OFD container / check the OFD receipt, §4.3
_LONG = b"\x40\x41\x42\x43\x44\x45\x46\x47\x60"  # archive §1.6; 60h §1.10
# Append to the open document (07h; B7h, FN-1.2 marked goods, §1.7) or advance a read cursor.
_ENQ_UNSAFE = b"\x07\x46\x47\xb7"

_FRAME_START = const(0x04)  # MSG_START, §1.2
_MAX_FRAME = const(1030)  # start + LEN(2) + code + 1024 data + CRC(2), §1.2
_RX_CHUNK = const(256)  # bytes asked of the transport per read
_WAIT_S = 0.05  # the longest sleep in transport.wait(): the idle hook runs at least this often
_DRAIN_READS = const(64)  # reads of stale input before a request, at most
_WRITE_STALLS = const(1000)  # zero-byte writes in a row before the link is declared dead
_WARNING_BIT = const(0x80)  # §1.3
_CODE_MASK = const(0x7F)  # §1.3
_NO_DATA = const(0x08)  # answer "Нет запрошенных данных": end of the 46h/47h lists, §1.6
_RESET_MAGIC = const(0x16)  # 60h parameter, §1.6
_TYPE_MASK = const(0x3F)  # 40h document type without FFD version bits [2nd] S7
_YEAR_BASE = const(2000)  # DATE_TIME / DATE year byte, §1.5
_SILENT = const(0)  # _await: nothing that looked like an answer
_BROKEN = const(1)  # _await: bytes came, no whole frame, then silence

# 30h byte 1 (open document, §1.5 table 7) -> its type in the archive (§2.2, 40h byte 0).
_ARCHIVE_TYPE = {
    0x01: 1,  # registration
    0x02: 2,  # open shift
    0x04: 3,  # receipt
    0x08: 5,  # close shift
    0x10: 6,  # close the fiscal mode
    0x11: 4,  # BSO
    0x12: 11,  # re-registration with drive replacement
    0x13: 11,  # re-registration
    0x14: 31,  # correction receipt
    0x15: 41,  # correction BSO
    0x17: 21,  # settlement state report
}

# The «Начать …» whose DATE_TIME a parameterless make inherits: 12h <- 11h, 14h <- 13h,
# 19h <- 18h (§1.6).
_BEGIN_OF = {0x12: 0x11, 0x14: 0x13, 0x19: 0x18}

_BUFFERS = (bytes, bytearray, memoryview)


def default_timeout(code: int) -> float:
    """The default answer timeout of a command, in seconds (§1.10 [rec])."""
    if code in _MAKE or code in _CRYPTO:
        return TIMEOUT_MAKE
    if code in _LONG:
        return TIMEOUT_LONG
    return TIMEOUT_INFO


def warning_texts(flags: int) -> list:
    """Russian names of the warning flags in 30h byte 4 (§1.5 table 9), unknown bits in hex."""
    from firmware.answertable import WARNING_FLAGS

    out = []
    known = 0
    for bit in sorted(WARNING_FLAGS):
        known |= bit
        if flags & bit:
            out.append(WARNING_FLAGS[bit])
    if flags & ~known & 0xFF:
        out.append("неизвестные биты 0x%02X" % (flags & ~known & 0xFF))
    return out


# ---- request fields (refuse what the wire cannot hold: UsageError, nothing sent) ---------


def _uint(v: object, bits: int, name: str) -> int:
    if type(v) is not int or v < 0 or v >> bits:
        raise UsageError("%s must be an int of %d bits, got %r" % (name, bits, v))
    return v


def _ascii_field(s: object, width: int, name: str) -> bytes:
    # ИНН (12) and РНМ (20): printable ASCII right-padded with spaces, §1.6 03h.
    if not isinstance(s, str):
        raise UsageError("%s must be a str, got %r" % (name, s))
    raw = s.encode()
    if len(raw) != len(s) or len(raw) > width:
        raise UsageError("%s must be at most %d ASCII characters, got %r" % (name, width, s))
    for b in raw:
        if b < 0x20 or b > 0x7E:
            raise UsageError("%s has a non-printable character: %r" % (name, s))
    return raw + b" " * (width - len(raw))


# ---- answer fields (anything off the layout: AnswerError) --------------------------------


def _need(d: bytes, n: int, code: int) -> None:
    if len(d) != n:
        raise AnswerError("expected %d data bytes" % n, code, d)


def _need_at_least(d: bytes, n: int, code: int) -> None:
    if len(d) < n:
        raise AnswerError("expected at least %d data bytes" % n, code, d)


def _date_time(d: bytes, off: int, code: int, maybe: bool = False) -> tuple | None:
    # DATE_TIME: YY MM DD hh mm, binary, year - 2000 (§1.5); zeros = none in answers [rec].
    if maybe and not any(d[off : off + 5]):
        return None
    t = (d[off] + _YEAR_BASE, d[off + 1], d[off + 2], d[off + 3], d[off + 4])
    if not valid_date_time(t):
        raise AnswerError("bad DATE_TIME at offset %d" % off, code, d)
    return t


def _date(d: bytes, off: int, code: int, maybe: bool = False) -> tuple | None:
    # DATE: YY MM DD (§1.5).
    if maybe and not any(d[off : off + 3]):
        return None
    t = (d[off] + _YEAR_BASE, d[off + 1], d[off + 2])
    if not valid_date_time(t + (0, 0)):
        raise AnswerError("bad DATE at offset %d" % off, code, d)
    return t


def _text(d: bytes, off: int, n: int, code: int, printable: bool = True) -> str:
    # Fixed-width ASCII kept with its padding (ФН number, ИНН, РНМ, version), §1.6.
    lo = 0x20 if printable else 0x00
    hi = 0x7E if printable else 0x7F
    raw = bytes(d[off : off + n])
    for b in raw:
        if b < lo or b > hi:
            raise AnswerError("non-ASCII byte at offset %d" % off, code, d)
    return raw.decode()


def _u16(d: bytes, off: int) -> int:
    return unpack_from("<H", d, off)[0]


def _u32(d: bytes, off: int) -> int:
    return unpack_from("<I", d, off)[0]


def _u40(d: bytes, off: int) -> int:
    # uint40 LE, the receipt total in kopecks (§1.6 16h)
    return unpack_from("<I", d, off)[0] | d[off + 4] << 32


def _head(d: bytes, code: int) -> dict:
    # Every 40h archive record starts: +0 date_time | +5 fd u32 | +9 fp u32 (§1.6a)
    return {"date_time": _date_time(d, 0, code), "fd": _u32(d, 5), "fp": _u32(d, 9)}


def parse_archive(doc_type: int, d: bytes) -> dict | None:
    """The archive record of a 40h answer (§1.6a) as a dict, None for a type without one.

    Raises AnswerError when the record does not fit its type's layout.
    """
    t = doc_type & _TYPE_MASK
    code = 0x40
    if t == 1 or t == 11:
        # registration: head | +13 inn(12) | +25 rnm(20) | +45 tax u8 | +46 mode u8 | [+47 reason]
        if len(d) != 47 and len(d) != 48:
            raise AnswerError("registration record is 47 or 48 bytes", code, d)
        r = _head(d, code)
        r["inn"] = _text(d, 13, 12, code)
        r["rnm"] = _text(d, 25, 20, code)
        r["tax_systems"] = d[45]
        r["work_mode"] = d[46]
        r["reason"] = d[47] if len(d) == 48 else None
        return r
    if t == 2 or t == 5:
        # shift open / close: head | +13 shift_number u16
        _need(d, 15, code)
        r = _head(d, code)
        r["shift_number"] = _u16(d, 13)
        return r
    if t == 3 or t == 4 or t == 31 or t == 41:
        # receipt, BSO and their corrections: head | +13 operation u8 | +14 total u40
        _need(d, 19, code)
        r = _head(d, code)
        r["operation"] = d[13]
        r["total_kop"] = _u40(d, 14)
        return r
    if t == 6:
        # closing the fiscal mode: head | +13 inn(12) | +25 rnm(20)
        _need(d, 45, code)
        r = _head(d, code)
        r["inn"] = _text(d, 13, 12, code)
        r["rnm"] = _text(d, 25, 20, code)
        return r
    if t == 21:
        # settlement report: head | +13 unconfirmed u32 | +17 first unconfirmed DATE_TIME
        _need(d, 22, code)
        r = _head(d, code)
        r["unconfirmed_count"] = _u32(d, 13)
        r["first_unconfirmed"] = _date_time(d, 17, code, True)
        return r
    return None


def _parse_made(code: int, d: bytes) -> dict:
    # Answers of the make commands (§1.6): +fd u32 | +fp u32, with a prefix or suffix.
    if code == 0x12 or code == 0x14 or code == 0x16:
        # +0 shift number (12h/14h) or receipt number in the shift (16h) u16 | fd | fp
        _need(d, 10, code)
        key = "receipt_number" if code == 0x16 else "shift_number"
        return {key: _u16(d, 0), "fd": _u32(d, 2), "fp": _u32(d, 6)}
    if code == 0x19:
        # fd | fp | +8 unconfirmed u32 | +12 first unconfirmed DATE (zeros = none)
        _need(d, 15, code)
        return {
            "fd": _u32(d, 0),
            "fp": _u32(d, 4),
            "unconfirmed_count": _u32(d, 8),
            "first_unconfirmed": _date(d, 12, code, True),
        }
    _need(d, 8, code)  # 03h 05h A3h
    return {"fd": _u32(d, 0), "fp": _u32(d, 4)}


class FiscalDrive:
    """The fiscal drive on a transport (see the module comment for the exchange rules).

    timeouts: {command code: seconds} overriding default_timeout(); enq_tries: ENQ requests
    per sent command; resends: repeats of an ordinary command after ENQ fails; poll_s: pause
    between empty reads; idle_s: silence after stray bytes that makes an answer "broken";
    settle_s: quiet time awaited after an answer obtained by ENQ.

    Attributes: warning (bit 7 of the last answer, §1.3), answer (the last raw answer byte),
    fn12 (prefer FN-1.2 wording in errors; set by ffd_versions()), and counters enq_sent,
    resent, broken, timed_out, reconciled, stale_bytes for the fleet's link health.
    """

    def __init__(
        self,
        transport: "Transport",
        clock: "Clock",
        utc_offset_min: int = 180,
        timeouts: dict | None = None,
        enq_tries: int = 2,
        resends: int = 1,
        poll_s: float = 0.002,
        idle_s: float = 0.05,
        settle_s: float = 0.05,
    ) -> None:
        self.transport = transport
        self.clock = clock
        self.utc_offset_min = utc_offset_min
        self.timeouts = dict(timeouts) if timeouts else {}
        self.enq_tries = enq_tries
        self.resends = resends
        self.poll_s = poll_s
        # called while waiting for an answer (a 10 s command must not silence the link to
        # the fleet): firmware/mqtt.py MqttClient.tick, which only sends; None: nothing
        self.idle = None  # type: Callable[[], None] | None
        self.idle_s = idle_s
        self.settle_s = settle_s
        # a transport that can sleep until input arrives (select() on CPython, select.poll()
        # on a board's UART): wait(seconds) -> True when bytes are there. Without it the
        # answer is polled every poll_s, which costs a register's CPU 500 wake-ups a second
        # per command in flight (bench: oblako bench receipts, docs/benchmarks.md)
        self._wait = getattr(transport, "wait", None)
        self.warning = False
        self.answer = 0
        self.fn12 = False
        self.calls = 0  # commands sent: lets a caller see whether the drive was used
        self.enq_sent = 0
        self.resent = 0
        self.broken = 0
        self.timed_out = 0
        self.reconciled = 0
        self.stale_bytes = 0
        self._framer = Framer()
        self._rx = bytearray(_RX_CHUNK)
        self._rx_mv = memoryview(self._rx)
        self._tx = bytearray(_MAX_FRAME)
        self._tx_mv = memoryview(self._tx)
        self._data = bytearray(MAX_DATA)  # 07h: TLVs streamed here, one frame's worth
        self._data_mv = memoryview(self._data)
        self._begun: tuple | None = None  # (begin code, at) of the last «Начать …» with a time
        # the TLVs of 07h/B7h frames the drive accepted, appended here while not None (the
        # register's document image, firmware/docimage.py); dropped (None) past capture_limit
        self.capture = None  # type: bytearray | None
        self.capture_limit = 4096

    # ---- link ----------------------------------------------------------------------------

    def timeout_for(self, code: int) -> float:
        """The answer timeout of a command in seconds: the override, else the default."""
        t = self.timeouts.get(code)
        return default_timeout(code) if t is None else t

    def _read(self, code: int) -> int:
        try:
            n = self.transport.readinto(self._rx)
        except OSError as e:
            raise LinkError("reading from the drive failed: %s" % e, code)
        return n or 0

    def _write(self, buf: bytes | memoryview, code: int) -> None:
        n = len(buf)
        off = 0
        stalls = 0
        mv = memoryview(buf)
        while off < n:
            try:
                w = self.transport.write(mv[off:] if off else buf)
            except OSError as e:
                raise LinkError("writing to the drive failed: %s" % e, code)
            if w is None:
                return  # a stream that reports nothing took everything
            if w <= 0:
                stalls += 1
                if stalls > _WRITE_STALLS:
                    raise LinkError("the drive link takes no data", code)
                self.clock.sleep(self.poll_s)
                continue
            stalls = 0
            off += w

    def _drain(self, code: int) -> None:
        # Stale input (a late answer to an earlier command) must not pass for this answer.
        self._framer.reset()
        for _ in range(_DRAIN_READS):
            n = self._read(code)
            if not n:
                break
            self.stale_bytes += n

    def _settle(self, code: int) -> None:
        # After an answer obtained by ENQ the original may still come: wait for quiet.
        clock = self.clock
        start = quiet = clock.monotonic()
        while True:
            n = self._read(code)
            now = clock.monotonic()
            if n:
                self.stale_bytes += n
                quiet = now
            if now - quiet >= self.settle_s or now - start >= 10 * self.settle_s:
                break
            if not n:
                clock.sleep(self.poll_s)
        self._framer.reset()

    def _await(self, code: int, timeout: float) -> tuple | int:
        # One answer frame, or _SILENT (timeout) or _BROKEN (bytes, no frame, then idle).
        clock = self.clock
        framer = self._framer
        crc_before = framer.crc_errors
        deadline = clock.monotonic() + timeout
        heard = None  # when the last byte came
        wait = self._wait
        woke = False
        while True:
            n = self._read(code)
            now = clock.monotonic()
            if n:
                woke = False
                frames = framer.feed(self._rx_mv[:n])
                if frames:
                    return frames[0]  # more frames are duplicates: the next drain drops them
                heard = now
            damaged = framer.crc_errors != crc_before or framer.pending
            if damaged and heard is not None and (now - heard >= self.idle_s or now >= deadline):
                framer.reset()
                return _BROKEN
            if now >= deadline:
                framer.reset()
                return _SILENT
            if not n:
                if self.idle is not None:
                    self.idle()  # e.g. the MQTT keepalive while a long command runs
                # after a wake-up that brought nothing (a closed link reads as ready), sleep
                woke = not woke and wait is not None and wait(min(_WAIT_S, deadline - now))
                if not woke:
                    clock.sleep(self.poll_s)  # (on a simulated clock: time moves here)

    def _transact(self, code: int, frame: memoryview) -> tuple:
        # Send a request frame; return the answer frame (answer byte, data). §1.1, §1.10.
        timeout = self.timeout_for(code)
        resends = 0 if (code in _MAKE or code in _ENQ_UNSAFE) else self.resends
        enq = 0
        attempt = 0
        while True:
            self._drain(code)
            self._write(frame, code)
            answered = False  # the drive sent something for this request
            left = self.enq_tries
            while True:
                r = self._await(code, timeout)
                if type(r) is tuple:
                    if enq:
                        self._settle(code)
                    return r
                if r == _BROKEN:
                    self.broken += 1
                    answered = True
                else:
                    self.timed_out += 1
                if not left or not (answered or code not in _ENQ_UNSAFE):
                    break
                left -= 1
                enq += 1
                self.enq_sent += 1
                self._write(ENQ, code)
            if attempt >= resends:
                raise LinkTimeout(code, enq, attempt)
            attempt += 1
            self.resent += 1

    def _frame(self, code: int, data: bytes | bytearray | memoryview) -> memoryview:
        # 04 | LEN u16 LE = N + 1 | CMD | DATA | CRC16 LE over LEN..DATA (§1.2), in place.
        n = len(data)
        if n > MAX_DATA:
            raise UsageError("request data of %d bytes exceeds %d" % (n, MAX_DATA))
        tx = self._tx
        pack_into("<BHB", tx, 0, _FRAME_START, n + 1, code)
        tx[4 : 4 + n] = data
        pack_into("<H", tx, 4 + n, crc16(self._tx_mv[1 : 4 + n]))
        return self._tx_mv[: n + 6]

    def _call_raw(self, code: int, data: bytes | bytearray | memoryview = b"") -> tuple:
        # (answer code without the warning bit, answer data); sets warning.
        self.calls += 1
        ans, payload = self._transact(code, self._frame(code, data))
        self.answer = ans
        self.warning = bool(ans & _WARNING_BIT)
        return ans & _CODE_MASK, payload

    def _call(self, code: int, data: bytes | bytearray | memoryview = b"") -> bytes:
        ans, payload = self._call_raw(code, data)
        if ans:
            raise DriveError(ans, self.warning, code, payload, self.fn12)
        return payload

    def _call_empty(self, code: int, data: bytes | bytearray | memoryview = b"") -> None:
        # Commands whose answer has no data (§1.6): anything else is not their answer (it
        # may be a stale one repeated by ENQ), so it is refused as the spec would.
        _need(self._call(code, data), 0, code)

    def command(self, code: int, data: bytes = b"") -> bytes:
        """Send any command but a make command; return its answer data (raw bytes).

        Raises DriveError for a non-zero answer code, LinkError when the link fails,
        UsageError for a make command (use its method: it guards against duplicates).
        """
        if code in _MAKE:
            raise UsageError("make command %02Xh needs its own method" % code)
        return self._call(code, data)

    def _when(self, at: tuple | None) -> tuple:
        # The document time: `at`, or now in the register's local time (§1.5).
        if at is None:
            at = local_fields(self.clock.wall(), self.utc_offset_min)
        return at, pack_date_time(at)

    def _begin(self, code: int, at: tuple | None) -> None:
        # «Начать …» with a DATE_TIME: 11h 13h 15h 17h 18h (§1.6).
        at, raw = self._when(at)
        self._begun = None
        self._call_empty(code, raw)
        self._begun = (code, at)

    # ---- make commands (DESIGN decision 4) -----------------------------------------------

    def _make(self, code: int, data: bytes, expect: dict) -> dict:
        before = self.status()  # the last FD and the open document, to reconcile against
        try:
            result = _parse_made(code, self._call(code, data))
        except (LinkError, AnswerError) as e:
            return self._reconcile(code, before, expect, e)
        self._begun = None
        return result

    def _reconcile(self, code: int, before: dict, expect: dict, cause: Exception) -> dict:
        # The make's answer is lost: ask the drive what happened (§1.10 [rec]).
        self.reconciled += 1
        fd0 = before["last_fd"]
        try:
            try:
                after = self.status()
            except AnswerError:  # a late answer to the make, read as the 30h answer
                after = self.status()
        except RegisterError as e:
            raise OutcomeUnknown(code, fd0, "status (30h) failed: %s" % e, cause)
        fd = after["last_fd"]
        if fd == fd0:
            raise NotMade(code, fd0, after["current_document"] != 0, after, cause)
        doc_type = _ARCHIVE_TYPE.get(before["current_document"])
        if fd != fd0 + 1 or after["current_document"] or doc_type is None:
            raise OutcomeUnknown(
                code,
                fd0,
                "last FD now %d, open document %02Xh" % (fd, after["current_document"]),
                cause,
            )
        try:
            doc = self.find_document(fd)
        except RegisterError as e:
            raise OutcomeUnknown(code, fd0, "FD %d made, 40h failed: %s" % (fd, e), cause)
        rec = doc["record"]
        if rec is None or doc["document_type"] & _TYPE_MASK != doc_type or rec["fd"] != fd:
            raise OutcomeUnknown(code, fd0, "FD %d is not the document expected" % fd, cause)
        for key in expect:
            if rec[key] != expect[key]:
                raise OutcomeUnknown(code, fd0, "FD %d differs in %s" % (fd, key), cause)
        out = {"fd": fd, "fp": rec["fp"], "recovered": True}
        if code == 0x12 or code == 0x14:
            out["shift_number"] = rec["shift_number"]
        elif code == 0x16:
            # Our receipt is the drive's last document, so the shift's last receipt number
            # (10h) is its number; None when even that cannot be read.
            try:
                out["receipt_number"] = self.shift_parameters()["receipt_number"]
            except RegisterError:
                out["receipt_number"] = None
        elif code == 0x19:
            out["unconfirmed_count"] = rec["unconfirmed_count"]
            first = rec["first_unconfirmed"]
            out["first_unconfirmed"] = first[:3] if first else None
        self._begun = None
        return out

    def _begun_at(self, code: int) -> dict:
        begun = self._begun
        if begun is not None and begun[0] == _BEGIN_OF.get(code):
            return {"date_time": begun[1]}
        return {}

    # ---- registration and the fiscal mode (§1.6, §1.7) ----------------------------------

    def registration_begin(self, registration_type: int | None = None) -> None:
        """02h: begin a registration report; type 0 registration, 1/2 re-registration.

        None sends no parameter (the seen frame 04 01 00 02 EE DB, i.e. type 0).
        """
        if registration_type is None:
            self._call_empty(0x02)
        else:
            self._call_empty(0x02, bytes((_uint(registration_type, 8, "registration_type"),)))

    def registration_make(
        self,
        inn: str,
        rnm: str,
        tax_systems: int,
        work_mode: int,
        reason: int | None = None,
        at: tuple | None = None,
    ) -> dict:
        """03h: make the registration report -> {"fd", "fp"} (+ "recovered" after a loss).

        +0 DATE_TIME | +5 ИНН(12) | +17 РНМ(20) | +37 tax u8 | +38 mode u8 | [+39 reason u8].
        """
        data = bytearray()
        at, raw = self._when(at)
        data += raw
        data += _ascii_field(inn, 12, "inn")
        data += _ascii_field(rnm, 20, "rnm")
        data.append(_uint(tax_systems, 8, "tax_systems"))
        data.append(_uint(work_mode, 8, "work_mode"))
        if reason is not None:
            data.append(_uint(reason, 8, "reason"))
        return self._make(0x03, bytes(data), {"date_time": at})

    def registration_begin_ext(self, registration_type: int, ffd_version: int) -> None:
        """A2h: begin a registration report for FFD 1.1+ (ffd_version 3 = 1.1, 4 = 1.2)."""
        self._call_empty(
            0xA2,
            bytes(
                (
                    _uint(registration_type, 8, "registration_type"),
                    _uint(ffd_version, 8, "ffd_version"),
                )
            ),
        )

    def registration_make_ext(
        self,
        inn: str,
        rnm: str,
        tax_systems: int,
        work_mode: int,
        extended_mode: int,
        ofd_inn: str,
        reason_codes: int = 0,
        at: tuple | None = None,
    ) -> dict:
        """A3h: make the FFD 1.1+ registration report -> {"fd", "fp"}.

        +0 DATE_TIME | +5 ИНН(12) | +17 РНМ(20) | +37 tax | +38 mode | +39 extended mode
        | +40 ИНН ОФД(12) | +52 reason codes u32 (tag 1205).
        """
        data = bytearray()
        at, raw = self._when(at)
        data += raw
        data += _ascii_field(inn, 12, "inn")
        data += _ascii_field(rnm, 20, "rnm")
        data.append(_uint(tax_systems, 8, "tax_systems"))
        data.append(_uint(work_mode, 8, "work_mode"))
        data.append(_uint(extended_mode, 8, "extended_mode"))
        data += _ascii_field(ofd_inn, 12, "ofd_inn")
        data += bytes(4)
        pack_into("<I", data, 52, _uint(reason_codes, 32, "reason_codes"))
        return self._make(0xA3, bytes(data), {"date_time": at})

    def close_fiscal_mode_begin(self) -> None:
        """04h: begin closing the fiscal mode."""
        self._call_empty(0x04)

    def close_fiscal_mode(self, rnm: str, at: tuple | None = None) -> dict:
        """05h: close the fiscal mode -> {"fd", "fp"}. +0 DATE_TIME | +5 РНМ(20)."""
        at, raw = self._when(at)
        data = raw + _ascii_field(rnm, 20, "rnm")
        return self._make(0x05, data, {"date_time": at})

    # ---- documents (§1.8) ----------------------------------------------------------------

    def cancel_document(self) -> None:
        """06h: cancel the open document."""
        self._begun = None
        self._call_empty(0x06)

    def send_data(self, data: "bytes | bytearray | memoryview | Iterable[tuple]") -> int:
        """07h: pass document data to the drive; return the number of bytes sent.

        `data` is either encoded TLVs (bytes, bytearray, memoryview) or an iterable of
        firmware.tlv fields, streamed with field_into through one reusable 1024-byte
        buffer. Frames carry whole TLVs only and at most 1024 data bytes (§1.8).

        Raises UsageError (encoded data that is not whole TLVs, or a TLV over 1024 bytes;
        checked before anything is sent), TlvError from the encoder (a field may fail after
        earlier frames went out: cancel the document with 06h), DriveError, LinkTimeout
        (the data may be half-sent: cancel and rebuild the document).
        """
        if isinstance(data, _BUFFERS):
            return self._send_encoded(memoryview(data))
        return self._send_fields(data)

    def _send_encoded(self, mv: memoryview, code: int = 0x07, head: int = -1) -> int:
        # 07h, or B7h with `head` (its extra code byte) before the TLVs of each frame.
        n = len(mv)
        room = MAX_DATA if head < 0 else MAX_DATA - 1
        pos = 0
        while pos < n:  # check first: bad input changes nothing (DESIGN decision 7)
            if n - pos < 4:
                raise UsageError("TLV header cut short at offset %d" % pos)
            end = pos + 4 + (mv[pos + 2] | mv[pos + 3] << 8)  # tag u16 | length u16 LE, §2.1
            if end > n:
                raise UsageError("TLV at offset %d runs past the data" % pos)
            if end - pos > room:
                raise UsageError("TLV at offset %d is over %d bytes" % (pos, room))
            pos = end
        start = pos = 0
        while pos < n:
            end = pos + 4 + (mv[pos + 2] | mv[pos + 3] << 8)
            if end - start > room:
                self._send_chunk(code, head, mv[start:pos])
                start = pos
            pos = end
        if pos > start:
            self._send_chunk(code, head, mv[start:pos])
        return n

    def _send_chunk(self, code: int, head: int, chunk: memoryview) -> None:
        if head < 0:
            self._put(code, chunk, 0)
            return
        n = len(chunk)
        self._data[0] = head
        self._data_mv[1 : n + 1] = chunk
        self._put(code, self._data_mv[: n + 1], 1)

    def _put(self, code: int, frame: memoryview, first: int) -> None:
        # One 07h/B7h frame; once accepted, its TLVs (after B7h's extra code) are captured.
        self._call_empty(code, frame)
        cap = self.capture
        if cap is not None:
            if len(cap) + len(frame) - first > self.capture_limit:
                self.capture = None
            else:
                cap.extend(frame[first:])

    def _send_fields(self, fields: "Iterable[tuple]", code: int = 0x07, head: int = -1) -> int:
        # Fields streamed through the frame buffer; with `head` (B7h) byte 0 is that byte.
        buf = self._data
        first = 0
        if head >= 0:
            buf[0] = head
            first = 1
        pos = first
        total = 0
        for f in fields:
            try:
                end = field_into(buf, pos, f)
            except BufferFullError:
                if pos == first:
                    raise TlvError("field over %d bytes" % (MAX_DATA - first), (f[0],), -1)
                self._put(code, self._data_mv[:pos], first)
                total += pos - first
                pos = first
                try:
                    end = field_into(buf, first, f)
                except BufferFullError:
                    raise TlvError("field over %d bytes" % (MAX_DATA - first), (f[0],), -1)
            pos = end
        if pos > first:
            self._put(code, self._data_mv[:pos], first)
            total += pos - first
        return total

    # ---- marked goods: FN-1.2 B0h-B7h (PROVISIONAL layouts, protocol/fn/commands.py) -----

    def marking_status(self) -> dict:
        """B0h -> {"check_state", "notification_state", "command_flags", "saved_results",
        "codes_in_notification", "notification_storage_percent", "notification_queue",
        "reserved"}."""
        d = self._call(0xB0)
        _need(d, 9, 0xB0)
        return {
            "check_state": d[0],
            "notification_state": d[1],
            "command_flags": d[2],
            "saved_results": d[3],
            "codes_in_notification": d[4],
            "notification_storage_percent": d[5],
            "notification_queue": _u16(d, 6),
            "reserved": d[8],
        }

    def marking_check(self, code_type: int, code: bytes, extra: bytes = b"") -> dict:
        """B1h: check a marking code (`code_type`: tag 2100) in the drive -> {"result"
        (tag 2004 bits), "reason"}; `extra`: further parameters sent after the code, raw."""
        if not isinstance(code, (bytes, bytearray)) or not isinstance(extra, (bytes, bytearray)):
            raise UsageError("code and extra must be bytes")
        if len(code) > 255 or 2 + len(code) + len(extra) > MAX_DATA:
            raise UsageError("marking code too long: %d bytes" % len(code))
        data = bytearray(2)
        data[0] = _uint(code_type, 8, "code_type")
        data[1] = len(code)
        d = self._call(0xB1, bytes(data) + bytes(code) + bytes(extra))
        _need(d, 2, 0xB1)
        return {"result": d[0], "reason": d[1]}

    def marking_save(self, save: bool = True) -> int | None:
        """B2h: keep (True) or drop (False) the last check -> the saved result byte or None."""
        d = self._call(0xB2, b"\x01" if save else b"\x00")
        if len(d) > 1:
            raise AnswerError("expected 0 or 1 data bytes", 0xB2, d)
        return d[0] if d else None

    def marking_clear(self) -> None:
        """B3h: forget every saved check result."""
        self._call_empty(0xB3)

    def marking_request(self, tlv: bytes, at: tuple | None = None) -> bytes:
        """B5h: form the request to the marking system (`tlv`: whole TLVs) -> its bytes."""
        if not isinstance(tlv, (bytes, bytearray)) or 5 + len(tlv) > MAX_DATA:
            raise UsageError("tlv must be bytes of at most %d" % (MAX_DATA - 5))
        _, raw = self._when(at)
        return self._call(0xB5, bytes(raw) + bytes(tlv))

    def marking_answer(self, answer: bytes) -> int:
        """B6h: pass the marking system's answer -> the drive's result byte."""
        if not isinstance(answer, (bytes, bytearray)) or len(answer) > MAX_DATA:
            raise UsageError("answer must be bytes of at most %d" % MAX_DATA)
        d = self._call(0xB6, answer)
        _need(d, 1, 0xB6)
        return d[0]

    def marking_send_data(
        self, extra_code: int, data: "bytes | bytearray | memoryview | Iterable[tuple]"
    ) -> int:
        """B7h: data of a receipt with marked goods (as 07h, each frame led by `extra_code`
        1..3) -> the TLV bytes sent. Raises as send_data()."""
        head = _uint(extra_code, 8, "extra_code")
        if isinstance(data, _BUFFERS):
            return self._send_encoded(memoryview(data), 0xB7, head)
        return self._send_fields(data, 0xB7, head)

    # ---- shifts and receipts (§1.6) -----------------------------------------------------

    def shift_parameters(self) -> dict:
        """10h -> {"shift_open" 0/1, "shift_number", "receipt_number"}."""
        d = self._call(0x10)
        _need(d, 5, 0x10)
        return {"shift_open": d[0], "shift_number": _u16(d, 1), "receipt_number": _u16(d, 3)}

    def open_shift_begin(self, at: tuple | None = None) -> None:
        """11h: begin opening a shift at `at`."""
        self._begin(0x11, at)

    def open_shift(self) -> dict:
        """12h: open the shift -> {"shift_number", "fd", "fp"}."""
        return self._make(0x12, b"", self._begun_at(0x12))

    def close_shift_begin(self, at: tuple | None = None) -> None:
        """13h: begin closing the shift at `at`."""
        self._begin(0x13, at)

    def close_shift(self) -> dict:
        """14h: close the shift -> {"shift_number", "fd", "fp"}."""
        return self._make(0x14, b"", self._begun_at(0x14))

    def receipt_begin(self, at: tuple | None = None) -> None:
        """15h: begin a receipt (or BSO) at `at`."""
        self._begin(0x15, at)

    def correction_receipt_begin(self, at: tuple | None = None) -> None:
        """17h: begin a correction receipt (finished with receipt_make, 16h)."""
        self._begin(0x17, at)

    def receipt_make(self, operation: int, total_kop: int, at: tuple | None = None) -> dict:
        """16h: make the receipt -> {"receipt_number", "fd", "fp"}.

        operation: 1 приход, 2 возврат прихода, 3 расход, 4 возврат расхода (tag 1054);
        total_kop: the total in kopecks (uint40). +0 DATE_TIME | +5 op u8 | +6 total u40.
        """
        at, raw = self._when(at)
        data = bytearray(11)
        data[0:5] = raw
        data[5] = _uint(operation, 8, "operation")
        total = _uint(total_kop, 40, "total_kop")
        pack_into("<IB", data, 6, total & 0xFFFFFFFF, total >> 32)
        expect = {"date_time": at, "operation": operation, "total_kop": total}
        return self._make(0x16, bytes(data), expect)

    def settlement_report_begin(self, at: tuple | None = None) -> None:
        """18h: begin the settlement state report at `at`."""
        self._begin(0x18, at)

    def settlement_report_make(self) -> dict:
        """19h: make it -> {"fd", "fp", "unconfirmed_count", "first_unconfirmed" DATE|None}."""
        return self._make(0x19, b"", self._begun_at(0x19))

    # ---- OFD exchange (§1.6, §4.3) -------------------------------------------------------

    def ofd_exchange_status(self) -> dict:
        """20h -> {"status" bits, "read_started", "message_count", "first_fd",
        "first_date_time" DATE_TIME|None}."""
        d = self._call(0x20)
        _need(d, 13, 0x20)
        return {
            "status": d[0],
            "read_started": d[1],
            "message_count": _u16(d, 2),
            "first_fd": _u32(d, 4),
            "first_date_time": _date_time(d, 8, 0x20, True),
        }

    def transport_status(self, connected: int) -> None:
        """21h: tell the drive the OFD connection is up (1) or down (0)."""
        self._call_empty(0x21, bytes((_uint(int(connected), 8, "connected"),)))

    def ofd_message_read_begin(self) -> int:
        """22h: begin reading the message for the OFD -> its length in bytes."""
        d = self._call(0x22)
        _need(d, 2, 0x22)
        return _u16(d, 0)

    def ofd_message_read_block(self, offset: int, length: int) -> bytes:
        """23h: read `length` bytes of the message from `offset` -> the block."""
        data = bytearray(4)
        pack_into("<HH", data, 0, _uint(offset, 16, "offset"), _uint(length, 16, "length"))
        return self._call(0x23, data)

    def read_ofd_message(self, block: int = 512) -> bytes:
        """22h then 23h until the whole message is read -> the container for the OFD.

        Finish with ofd_message_read_finish() (25h) or cancel (24h), §4.3.
        """
        n = self.ofd_message_read_begin()
        out = bytearray(n)
        off = 0
        while off < n:
            want = min(block, n - off, MAX_DATA)
            chunk = self.ofd_message_read_block(off, want)
            if not chunk or len(chunk) > want:
                raise AnswerError("block of %d bytes for %d asked" % (len(chunk), want), 0x23)
            out[off : off + len(chunk)] = chunk
            off += len(chunk)
        return bytes(out)

    def ofd_message_read_cancel(self) -> None:
        """24h: cancel reading the message."""
        self._call_empty(0x24)

    def ofd_message_read_finish(self) -> None:
        """25h: finish reading the message."""
        self._call_empty(0x25)

    def ofd_receipt(self, message: bytes) -> dict:
        """26h: pass the OFD's receipt (container without session header) to the drive.

        -> {"ofd_answer_code", "operator_message" bytes}. A rejection is DriveError 20h
        with .reason (1 ФП, 2 format, 3 FD number, 4 FN number, 5 CRC).
        """
        d = self._call(0x26, message)
        _need_at_least(d, 1, 0x26)
        return {"ofd_answer_code": d[0], "operator_message": bytes(d[1:])}

    # ---- drive information (§1.5, §1.6, §1.7) --------------------------------------------

    def status(self) -> dict:
        """30h -> {"phase", "current_document", "document_data", "shift_open", "warnings",
        "last_date_time" DATE_TIME|None, "fn_number" str, "last_fd"} (§1.5 table 7)."""
        d = self._call(0x30)
        _need(d, 30, 0x30)
        return {
            "phase": d[0],
            "current_document": d[1],
            "document_data": d[2],
            "shift_open": d[3],
            "warnings": d[4],
            "last_date_time": _date_time(d, 5, 0x30, True),
            "fn_number": _text(d, 10, 16, 0x30),
            "last_fd": _u32(d, 26),
        }

    def fn_number(self) -> str:
        """31h -> the drive's 16-character number."""
        d = self._call(0x31)
        _need(d, 16, 0x31)
        return _text(d, 0, 16, 0x31)

    def validity(self) -> dict:
        """32h -> {"valid_until" DATE, "reregistrations_left", "reregistrations_done"}."""
        d = self._call(0x32)
        _need(d, 5, 0x32)
        return {
            "valid_until": _date(d, 0, 0x32),
            "reregistrations_left": d[3],
            "reregistrations_done": d[4],
        }

    def version(self) -> dict:
        """33h -> {"version" str(16), "software_type" 0 debug / 1 serial}."""
        d = self._call(0x33)
        _need(d, 17, 0x33)
        return {"version": _text(d, 0, 16, 0x33, False), "software_type": d[16]}

    def last_errors(self) -> bytes:
        """35h -> the drive's diagnostic bytes (vendor-specific, not decoded)."""
        return self._call(0x35)

    def ffd_versions(self) -> dict:
        """3Ah -> {"ffd_current", "ffd_max"} (tag 1209 codes: 2 = 1.05, 3 = 1.1, 4 = 1.2).

        Sets fn12 when the drive supports FFD 1.2 (then errors use FN-1.2 wording).
        """
        d = self._call(0x3A)
        _need(d, 2, 0x3A)
        self.fn12 = d[1] >= 4
        return {"ffd_current": d[0], "ffd_max": d[1]}

    def days_left(self, at: tuple | None = None) -> int:
        """3Bh: days of validity left as of `at`."""
        d = self._call(0x3B, self._when(at)[1])
        _need(d, 2, 0x3B)
        return _u16(d, 0)

    def free_resource(self) -> dict:
        """3Dh -> {"archive_docs_left", "ofd_storage_kib_left", "notifications_percent"}."""
        d = self._call(0x3D)
        _need(d, 9, 0x3D)
        return {
            "archive_docs_left": _u32(d, 0),
            "ofd_storage_kib_left": _u32(d, 4),
            "notifications_percent": d[8],
        }

    # ---- archive (§1.6, §1.6a) -----------------------------------------------------------

    def find_document(self, fd: int) -> dict:
        """40h -> {"document_type", "ofd_receipt", "data" bytes, "record" dict|None}.

        record is parse_archive(document_type, data): None for a type without a layout.
        """
        d = self._call(0x40, _fd_request(fd))
        _need_at_least(d, 2, 0x40)
        data = bytes(d[2:])
        return {
            "document_type": d[0],
            "ofd_receipt": d[1],
            "data": data,
            "record": parse_archive(d[0], data),
        }

    def document_ofd_receipt(self, fd: int) -> dict:
        """41h -> {"date_time", "ofd_fp" bytes(18), "fd"}."""
        d = self._call(0x41, _fd_request(fd))
        _need(d, 27, 0x41)
        return {"date_time": _date_time(d, 0, 0x41), "ofd_fp": bytes(d[5:23]), "fd": _u32(d, 23)}

    def unconfirmed_count(self) -> int:
        """42h -> the number of documents without an OFD receipt."""
        d = self._call(0x42)
        _need(d, 2, 0x42)
        return _u16(d, 0)

    def registration_totals(self, report_index: int | None = None) -> dict:
        """43h -> {"date_time", "inn", "rnm", "tax_systems", "work_mode", "reason"|None,
        "fd", "fp"}; report_index None asks for the last registration (v1 form)."""
        if report_index is None:
            d = self._call(0x43)
        else:
            d = self._call(0x43, bytes((_uint(report_index, 8, "report_index"),)))
        if len(d) != 47 and len(d) != 48:
            raise AnswerError("expected 47 or 48 data bytes", 0x43, d)
        tail = len(d) - 8  # the optional reason byte sits before fd and fp
        return {
            "date_time": _date_time(d, 0, 0x43),
            "inn": _text(d, 5, 12, 0x43),
            "rnm": _text(d, 17, 20, 0x43),
            "tax_systems": d[37],
            "work_mode": d[38],
            "reason": d[39] if tail == 40 else None,
            "fd": _u32(d, tail),
            "fp": _u32(d, tail + 4),
        }

    def registration_parameter(self, tag: int, report_index: int | None = None) -> bytes:
        """44h -> one TLV of the registration (tag FFFFh starts the 47h enumeration)."""
        data = bytearray()
        if report_index is not None:
            data.append(_uint(report_index, 8, "report_index"))
        data += bytes(2)
        pack_into("<H", data, len(data) - 2, _uint(tag, 16, "tag"))
        return self._call(0x44, data)

    def document_tlv_begin(self, fd: int) -> dict:
        """45h -> {"document_tag", "length"}; then read the TLVs with document_tlv_read()."""
        d = self._call(0x45, _fd_request(fd))
        _need(d, 4, 0x45)
        return {"document_tag": _u16(d, 0), "length": _u16(d, 2)}

    def _read_next(self, code: int) -> bytes | None:
        ans, d = self._call_raw(code)
        if ans == _NO_DATA:
            return None  # end of the list, §1.6
        if ans:
            raise DriveError(ans, self.warning, code, d, self.fn12)
        return d

    def document_tlv_read(self) -> bytes | None:
        """46h -> the document's next top-level TLV, None at the end (answer 08h)."""
        return self._read_next(0x46)

    def registration_tlv_read(self) -> bytes | None:
        """47h -> the next registration parameter TLV, None at the end (answer 08h)."""
        return self._read_next(0x47)

    def read_document(self, fd: int) -> dict:
        """45h then 46h until the end -> {"document_tag", "length", "tlv" bytes (its TLVs)}."""
        head = self.document_tlv_begin(fd)
        out = bytearray()
        for _ in range(head["length"] // 4 + 2):  # every TLV has a 4-byte header
            tlv = self.document_tlv_read()
            if tlv is None:
                head["tlv"] = bytes(out)
                return head
            out += tlv
        raise AnswerError("46h never reported the end of the document", 0x46)

    # ---- debug drives only ----------------------------------------------------------------

    def reset(self) -> None:
        """60h: wipe a debug drive back to «Готовность к фискализации» (parameter 16h)."""
        self._begun = None
        self._call_empty(0x60, bytes((_RESET_MAGIC,)))


def _fd_request(fd: int) -> bytes:
    # 40h 41h 45h request: +0 fd u32 LE
    data = bytearray(4)
    pack_into("<I", data, 0, _uint(fd, 32, "fd"))
    return bytes(data)
