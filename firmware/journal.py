# firmware/journal.py: the register's power-safe request journal (DESIGN decision 4).
# MIT license; Oblako register runtime.
#
# A request is fiscalised at most once and reported until the fleet has stored it. The
# journal records every step of every request on flash, so that after a power cut at any
# byte the runtime knows, per unfinished request, the last step that surely happened, and
# reconciles the rest with the drive (30h status, 40h find document). docs/journal.md has
# the whole story; the rules in brief:
#
#   step       record                              durable when the call returns?
#   received   [1, id, ref]                        no  (sync() before acknowledging it)
#   begun      [2, id, doc_type, fd_before]        YES: before the first drive command
#   made       [3, id, doc_type, fd, fp, shift, n] YES: right after the make answer
#   failed     [4, id, reason, retryable]          YES: before the fleet hears of it
#   reported   [5, id] or [7, fd_upto]             no  (a lost one only means a re-report)
#
# Transitions: received -> begun -> made -> reported; received|begun -> failed -> reported;
# begun -> begun (a new attempt after reconciliation proved nothing was made); failed ->
# begun (only a retryable failure); failed -> made (reconciliation found the document after
# all). Anything else is a UsageError and writes nothing.
#
# On flash: one append-only file of records
#
#   +------+------+--------------+-------------+----------------------------+
#   | 0x4F | 0x4A | LEN u16 LE   | CRC u16 LE  | PAYLOAD (LEN bytes)        |
#   +------+------+--------------+-------------+----------------------------+
#     "O"    "J"   1..640         CRC-16/CCITT-FALSE (firmware/crc16.py) over
#                                 the LEN bytes then the payload
#
# The payload is compact JSON, a list whose first item is the record kind. The first record
# of a file is the header [0, version, generation, body] (body: the bytes of snapshots after
# it when the file was compacted, else 0); a compacted file then holds one
# snapshot [6, id, step, ref, doc_type, fd_before, fd, fp, shift, n, reason, retryable] per
# request it keeps. Recovery reads records until the first torn or corrupt one (short, bad
# magic, bad length, bad CRC, bad JSON, or a transition that is not allowed): everything
# before it is trusted, the rest is dropped and the file is rewritten (compacted) before
# anything is appended after it.
#
# Compaction rewrites the file atomically (storage.write: temp + rename) with only the
# unfinished requests and the last keep_done finished ones, when more than max_done are
# finished or the next record would take the file past its limit (max_bytes, or the last
# compacted size + max_bytes / 2 when the live state alone is that big).
import json
import struct

from firmware.compat import const
from firmware.crc16 import crc16
from firmware.errors import JournalError, JournalFullError, StorageError, UsageError

# Steps of a request, in the order they happen (also the kinds of their records).
RECEIVED = const(1)
BEGUN = const(2)
MADE = const(3)
FAILED = const(4)
REPORTED = const(5)

VERSION = const(1)  # the header's format version; a different one is refused
MAX_ID = const(64)  # request ids and refs: printable ASCII without '"' and '\', <= 64 chars
MAX_REASON = const(64)  # failure reasons are cut to this many characters
MAX_PAYLOAD = const(640)  # the largest record payload; a bigger LEN is corruption
_HEADER = const(0)
_SNAPSHOT = const(6)
_UPTO = const(7)  # "every made request with fd <= n is reported" (the fleet's watermark)
_M0 = const(0x4F)  # "O"
_M1 = const(0x4A)  # "J"
_MAGIC = b"OJ"
_HEAD = const(6)  # magic(2) + LEN(2) + CRC(2)
_U32 = 0xFFFFFFFF  # a plain int: const() must fit a small int on 32-bit ports
_SEP = (",", ":")  # compact JSON


class Entry:
    """The journal's state of one request. Read-only for callers.

    step: RECEIVED..REPORTED; ref: the caller's digest of the request; doc_type and
    fd_before: from begun; fd, fp, shift, number: from made; reason and retryable: from
    failed. writes and bytes: records this request appended since the journal was opened.
    """

    def __init__(self, rid: str, ref: str, seq: int) -> None:
        self.rid = rid
        self.ref = ref
        self.seq = seq  # order of arrival (state() is sorted by it)
        self.step = RECEIVED
        self.doc_type: int | None = None
        self.fd_before: int | None = None
        self.fd: int | None = None
        self.fp: int | None = None
        self.shift: int | None = None
        self.number: int | None = None
        self.reason: str | None = None
        self.retryable: bool | None = None
        self.writes = 0
        self.bytes = 0

    def outcome(self) -> str:
        """'made', 'failed' or '' (no outcome yet)."""
        if self.fd is not None:
            return "made"
        if self.reason is not None:
            return "failed"
        return ""

    def __repr__(self) -> str:
        return "Entry(%s, step=%d, fd=%r)" % (self.rid, self.step, self.fd)


def encode_record(rec: list) -> bytes:
    """Return the framed record for rec (a JSON-able list); UsageError if too big."""
    payload = json.dumps(rec, separators=_SEP).encode()
    n = len(payload)
    if n > MAX_PAYLOAD:
        raise UsageError("journal record of %d bytes exceeds %d" % (n, MAX_PAYLOAD))
    head = bytearray(_HEAD)
    head[0] = _M0
    head[1] = _M1
    struct.pack_into("<H", head, 2, n)
    struct.pack_into("<H", head, 4, crc16(payload, crc16(memoryview(head)[2:4])))
    return bytes(head) + payload


def parse_record(data: bytes, pos: int) -> tuple:
    """Return (record list, end offset) of the record at pos, or (None, pos) if it is torn
    or corrupt."""
    n = len(data)
    if n - pos < _HEAD or data[pos] != _M0 or data[pos + 1] != _M1:
        return None, pos
    size = data[pos + 2] | (data[pos + 3] << 8)
    end = pos + _HEAD + size
    if size == 0 or size > MAX_PAYLOAD or end > n:
        return None, pos
    mv = memoryview(data)
    if crc16(mv[pos + _HEAD : end], crc16(mv[pos + 2 : pos + 4])) != (
        data[pos + 4] | (data[pos + 5] << 8)
    ):
        return None, pos
    try:
        rec = json.loads(bytes(mv[pos + _HEAD : end]))
    except ValueError:  # UnicodeError is a ValueError on both ports
        return None, pos
    if type(rec) is not list or not rec or type(rec[0]) is not int:
        return None, pos
    return rec, end


def _count_valid(data: bytes, pos: int) -> int:
    # Records that still parse after the point where recovery stopped: evidence that the
    # damage was not a torn tail (a torn tail has nothing valid after it).
    found = 0
    while True:
        pos = data.find(_MAGIC, pos)
        if pos < 0:
            return found
        rec, end = parse_record(data, pos)
        if rec is None:
            pos += 1
        else:
            found += 1
            pos = end


def _text(s: object, what: str, lo: int) -> str:
    # Printable ASCII without '"' and '\' so a record's size is known before it is encoded.
    if type(s) is not str or len(s) < lo or len(s) > MAX_ID:
        raise UsageError("%s must be a string of %d..%d chars, got %r" % (what, lo, MAX_ID, s))
    for c in s:
        o = ord(c)
        if o < 0x20 or o > 0x7E or o == 0x22 or o == 0x5C:
            raise UsageError("%s %r has a character other than printable ASCII" % (what, s))
    return s


def _u32(x: object, what: str, lo: int = 0) -> int:
    if type(x) is not int or x < lo or x > _U32:
        raise UsageError("%s must be an int in %d..4294967295, got %r" % (what, lo, x))
    return x


def _opt_u32(x: object, what: str) -> int | None:
    return None if x is None else _u32(x, what)


def _seq(e: Entry) -> int:
    return e.seq


class Journal:
    """The request journal over a storage (firmware/storage.py contract), recovered on open.

    Limits: max_live unfinished requests (received() raises JournalFullError beyond);
    compaction keeps the last keep_done finished requests (for idempotent duplicates) and
    runs when more than max_done are finished or the file would pass its byte limit.

    After open: recovered_records, dropped_bytes (the torn or corrupt tail), lost_records
    (records that still parse after the tail: not a torn write but damage; the file was
    copied to name + ".bad" before anything else happens to it), generation (compactions
    of this file so far). Wear since open: appends, appended_bytes, syncs, compactions,
    compacted_bytes (see wear()).
    """

    def __init__(
        self,
        storage: object,
        name: str = "journal",
        max_live: int = 64,
        keep_done: int = 32,
        max_done: int = 64,
        max_bytes: int = 16384,
    ) -> None:
        if not (1 <= max_live and 0 <= keep_done <= max_done and max_done >= 1):
            raise UsageError("journal limits: need max_live >= 1, 0 <= keep_done <= max_done")
        if max_bytes < 1024:
            raise UsageError("journal max_bytes must be at least 1024")
        # The storage contract's four calls, bound once (any object that has them will do).
        self._read = storage.read  # type: ignore[attr-defined]
        self._append = storage.append  # type: ignore[attr-defined]
        self._write = storage.write  # type: ignore[attr-defined]
        self._sync = storage.sync  # type: ignore[attr-defined]
        self.name = name
        self.max_live = max_live
        self.keep_done = keep_done
        self.max_done = max_done
        self.max_bytes = max_bytes
        self._entries: dict = {}
        self._done: list = []  # ids of reported requests, in the order they were reported
        self._live = 0  # requests not yet reported
        self._seq = 0
        self.size = 0  # bytes of the file that are trusted; appends go after them
        self._base = 0  # size of the file after the last compaction (0: none yet)
        self._rewrite = False  # the file must be rewritten before the next append
        self._unsynced = False  # appended since the last barrier
        self.generation = 0
        self.recovered_records = 0
        self.dropped_bytes = 0
        self.lost_records = 0
        self.appends = 0
        self.appended_bytes = 0
        self.syncs = 0
        self.compactions = 0
        self.compacted_bytes = 0
        self._recover()

    # -- recovery ---------------------------------------------------------------------------

    def _recover(self) -> None:
        data = self._read(self.name)
        if not data:
            return
        n = len(data)
        pos = 0
        while pos < n:
            rec, end = parse_record(data, pos)
            if rec is None:
                break
            if pos == 0:
                if rec[0] != _HEADER:
                    raise JournalError("%s is not a request journal" % self.name)
                if (
                    len(rec) < 4
                    or rec[1] != VERSION
                    or type(rec[2]) is not int
                    or type(rec[3]) is not int
                ):
                    raise JournalError(
                        "%s: unsupported journal header %r (version %d expected)"
                        % (self.name, rec, VERSION)
                    )
                self.generation = rec[2]
                self._base = end + rec[3] if rec[3] else 0
            else:
                try:
                    self._apply(rec)
                except UsageError:
                    break  # a transition that never happens: treat it as corruption
                self.recovered_records += 1
            pos = end
        self.size = pos
        if pos < n:
            self.dropped_bytes = n - pos
            self._rewrite = True
            self.lost_records = _count_valid(data, pos + 1)
            if self.lost_records:
                self._write(self.name + ".bad", data)

    # -- the state machine, shared by recovery and the live calls ---------------------------

    def _add(self, rid: str, ref: str) -> Entry:
        e = Entry(rid, ref, self._seq)
        self._seq += 1
        self._entries[rid] = e
        self._live += 1
        return e

    def _finish(self, e: Entry) -> None:
        e.step = REPORTED
        self._live -= 1
        self._done.append(e.rid)

    def _apply(self, rec: list) -> Entry | None:
        # Validate the whole record and the transition first, then change the state: a bad
        # record raises UsageError and changes nothing.
        kind = rec[0]
        n = len(rec)
        if kind == _UPTO:
            if n < 2:
                raise UsageError("short record %r" % (rec,))
            upto = _u32(rec[1], "fd watermark")
            made = [e for e in self._entries.values() if e.step == MADE and e.fd <= upto]
            made.sort(key=_seq)
            for e in made:
                self._finish(e)
            return None
        if n < 2:
            raise UsageError("short record %r" % (rec,))
        rid = rec[1]
        e = self._entries.get(rid) if type(rid) is str else None
        if kind == RECEIVED:
            if n < 3:
                raise UsageError("short record %r" % (rec,))
            _text(rid, "request id", 1)
            ref = _text(rec[2], "request ref", 0)
            if e is not None:
                raise UsageError("request %s is already journalled" % rid)
            return self._add(rid, ref)
        if kind == _SNAPSHOT:
            return self._restore(rec, e)
        if e is None:
            raise UsageError("request %r is not in the journal" % (rid,))
        step = e.step
        if kind == BEGUN:
            if n < 4:
                raise UsageError("short record %r" % (rec,))
            doc_type = _u32(rec[2], "doc_type")
            fd_before = _u32(rec[3], "fd_before")
            if not (step == RECEIVED or step == BEGUN or (step == FAILED and e.retryable)):
                raise UsageError("request %s cannot begin at step %d" % (rid, step))
            e.step = BEGUN
            e.doc_type = doc_type
            e.fd_before = fd_before
            e.reason = None
            e.retryable = None
        elif kind == MADE:
            if n < 7:
                raise UsageError("short record %r" % (rec,))
            doc_type = _u32(rec[2], "doc_type")
            fd = _u32(rec[3], "fd", 1)
            fp = _u32(rec[4], "fp")
            shift = _u32(rec[5], "shift")
            number = _u32(rec[6], "number")
            if step != BEGUN and step != FAILED:
                raise UsageError("request %s cannot be made at step %d" % (rid, step))
            e.step = MADE
            e.doc_type = doc_type
            e.fd = fd
            e.fp = fp
            e.shift = shift
            e.number = number
            e.reason = None
            e.retryable = None
        elif kind == FAILED:
            if n < 4:
                raise UsageError("short record %r" % (rec,))
            reason = rec[2]
            if type(reason) is not str or len(reason) > MAX_REASON:
                raise UsageError("failure reason must be a string of <= %d chars" % MAX_REASON)
            if rec[3] != 0 and rec[3] != 1:
                raise UsageError("retryable must be 0 or 1")
            if step != RECEIVED and step != BEGUN and step != FAILED:
                raise UsageError("request %s cannot fail at step %d" % (rid, step))
            e.step = FAILED
            e.reason = reason
            e.retryable = rec[3] == 1
        elif kind == REPORTED:
            if step != MADE and step != FAILED:
                raise UsageError("request %s cannot be reported at step %d" % (rid, step))
            self._finish(e)
        else:
            raise UsageError("unknown journal record kind %r" % (kind,))
        return e

    def _restore(self, rec: list, e: Entry | None) -> Entry:
        # [6, id, step, ref, doc_type, fd_before, fd, fp, shift, n, reason, retryable]
        if len(rec) < 12:
            raise UsageError("short snapshot %r" % (rec,))
        rid = _text(rec[1], "request id", 1)
        step = rec[2]
        ref = _text(rec[3], "request ref", 0)
        if e is not None or type(step) is not int or step < RECEIVED or step > REPORTED:
            raise UsageError("bad snapshot %r" % (rec,))
        reason = rec[10]
        if reason is not None and (type(reason) is not str or len(reason) > MAX_REASON):
            raise UsageError("bad snapshot reason %r" % (reason,))
        retryable = rec[11]
        if retryable is not None and retryable != 0 and retryable != 1:
            raise UsageError("bad snapshot retryable %r" % (retryable,))
        fields = [_opt_u32(rec[i], "snapshot field") for i in range(4, 10)]
        e = self._add(rid, ref)
        e.doc_type, e.fd_before, e.fd, e.fp, e.shift, e.number = fields
        e.reason = reason
        e.retryable = None if retryable is None else retryable == 1
        if step == REPORTED:
            self._finish(e)
        else:
            e.step = step
        return e

    def _snapshot(self, e: Entry) -> list:
        r = e.retryable
        return [
            _SNAPSHOT,
            e.rid,
            e.step,
            e.ref,
            e.doc_type,
            e.fd_before,
            e.fd,
            e.fp,
            e.shift,
            e.number,
            e.reason,
            None if r is None else (1 if r else 0),
        ]

    # -- writing ----------------------------------------------------------------------------

    def _record(self, rec: list, sync: bool) -> Entry | None:
        frame = encode_record(rec)  # too big: UsageError, nothing changed
        e = self._apply(rec)  # not allowed: UsageError, nothing changed
        if e is not None:
            e.writes += 1
            e.bytes += len(frame)
        # The state in memory is now what the caller told us. If the write below fails,
        # _rewrite makes the next write put the whole state on flash.
        limit = self.max_bytes
        if self._base + self.max_bytes // 2 > limit:
            limit = self._base + self.max_bytes // 2
        if self._rewrite or len(self._done) > self.max_done or self.size + len(frame) > limit:
            self.compact()  # durable when it returns, so no sync is needed
            return e
        if self.size == 0:
            frame = encode_record([_HEADER, VERSION, self.generation, 0]) + frame
        try:
            self._append(self.name, frame)
        except StorageError:
            self._rewrite = True
            raise
        self.size += len(frame)
        self.appends += 1
        self.appended_bytes += len(frame)
        self._unsynced = True
        if sync:
            self.sync()
        return e

    def sync(self) -> None:
        """Make every step recorded so far durable (a no-op when nothing is pending)."""
        if not self._unsynced:
            return
        try:
            self._sync()
        except StorageError:
            self._rewrite = True
            raise
        self._unsynced = False
        self.syncs += 1

    def compact(self) -> None:
        """Rewrite the file with the unfinished requests and the last keep_done finished ones.

        Atomic and durable (storage.write): a power cut at any point leaves either the old
        file or the new one, and both tell the same story of every request they hold.
        """
        done = self._done
        drop = len(done) - self.keep_done
        if drop > 0:
            for rid in done[:drop]:
                del self._entries[rid]
            self._done = done[drop:]
        finished = [self._entries[rid] for rid in self._done]
        live = [e for e in self._entries.values() if e.step != REPORTED]
        live.sort(key=_seq)
        out = []
        for e in finished:
            out.append(encode_record(self._snapshot(e)))
        for e in live:
            out.append(encode_record(self._snapshot(e)))
        body = b"".join(out)
        data = encode_record([_HEADER, VERSION, self.generation + 1, len(body)]) + body
        try:
            self._write(self.name, data)
        except StorageError:
            self._rewrite = True
            raise
        self.generation += 1
        self.size = len(data)
        self._base = len(data)
        self._rewrite = False
        self._unsynced = False
        self.compactions += 1
        self.compacted_bytes += len(data)

    # -- the public steps -------------------------------------------------------------------

    def received(self, rid: str, ref: str = "") -> Entry | None:
        """Journal a new request; return None, or the existing Entry for a duplicate id.

        Not synced: call sync() before acknowledging the request to the fleet. Raises
        JournalError when rid is known with another ref (an id reused for a different
        request), JournalFullError when max_live requests are unfinished, UsageError on a
        malformed id or ref.
        """
        _text(rid, "request id", 1)
        _text(ref, "request ref", 0)
        e = self._entries.get(rid)
        if e is not None:
            if e.ref != ref:
                raise JournalError(
                    "request %s was journalled with ref %s, now comes with %s" % (rid, e.ref, ref)
                )
            return e
        if self._live >= self.max_live:
            raise JournalFullError("journal full: %d unfinished requests" % self._live)
        self._record([RECEIVED, rid, ref], False)
        return None

    def begun(self, rid: str, doc_type: int, fd_before: int) -> None:
        """Journal and SYNC that rid is about to touch the drive. Call it before the first
        drive command of the document; fd_before is the drive's last FD number (30h)."""
        self._record([BEGUN, rid, doc_type, fd_before], True)

    def made(
        self, rid: str, doc_type: int, fd: int, fp: int, shift: int = 0, number: int = 0
    ) -> None:
        """Journal and SYNC the document the drive made for rid (FD number, fiscal sign,
        shift and receipt numbers). Call it right after the make command's answer, or when
        reconciliation (30h/40h) finds the document. The same document again is a no-op."""
        e = self._entries.get(rid)
        if e is not None and e.fd == fd and e.fp == fp and e.fd is not None:
            return  # already journalled (made or reported): nothing to write
        self._record([MADE, rid, doc_type, fd, fp, shift, number], True)

    def failed(self, rid: str, reason: str, retryable: bool = False) -> None:
        """Journal and SYNC that rid failed (reason cut to MAX_REASON chars). Call it before
        the fleet is told. A retryable failure may be begun again."""
        if type(reason) is not str:
            reason = str(reason)
        self._record([FAILED, rid, reason[:MAX_REASON], 1 if retryable else 0], True)

    def reported(self, rid: str) -> bool:
        """Journal that the fleet stored rid's outcome; False if there was nothing to do
        (already reported, or forgotten). Not synced: a lost one means a re-report."""
        e = self._entries.get(rid)
        if e is None or e.step == REPORTED:
            return False
        self._record([REPORTED, rid], False)
        return True

    def reported_upto(self, fd: int) -> int:
        """Journal the fleet's watermark: every made request with FD <= fd is stored.
        Returns how many requests it finished. Not synced."""
        _u32(fd, "fd watermark")
        n = 0
        for e in self._entries.values():
            if e.step == MADE and e.fd <= fd:
                n += 1
        if n:
            self._record([_UPTO, fd], False)
        return n

    # -- reading ----------------------------------------------------------------------------

    def get(self, rid: str) -> Entry | None:
        """The Entry of rid, or None if it was never journalled or has been forgotten."""
        return self._entries.get(rid)

    def state(self) -> list:
        """Unfinished requests (every step but REPORTED), oldest first: after a restart,
        the runtime reconciles each with the drive according to its step."""
        live = [e for e in self._entries.values() if e.step != REPORTED]
        live.sort(key=_seq)
        return live

    def finished(self) -> list:
        """Ids of the finished requests still remembered, oldest first."""
        return list(self._done)

    @property
    def live(self) -> int:
        """How many requests are unfinished."""
        return self._live

    def wear(self) -> dict:
        """Flash traffic since open: writes (appends + compactions), bytes, syncs (barriers:
        explicit syncs + compactions), compactions."""
        return {
            "writes": self.appends + self.compactions,
            "bytes": self.appended_bytes + self.compacted_bytes,
            "syncs": self.syncs + self.compactions,
            "compactions": self.compactions,
        }
