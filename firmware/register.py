# firmware/register.py: the register runtime: requests in, fiscal documents out, exactly once.
# MIT license; Oblako register runtime.
#
# Register(drive, journal, clock, profile, storage=None, ofd=None, settings=None) turns the
# fleet's requests into fiscal documents on the drive (firmware/drive.py FiscalDrive), on
# MicroPython on the board and on CPython in the simulator and bench. docs/register.md has
# the whole story; in brief:
#
#   handle(request) -> result     one request (a dict) -> a plain dict:
#       {"status": "made", "id", "kind", "fn", "fd", "fp", "shift", "number", ...}
#       {"status": "failed", "id", "kind", "errors": [{"path", "code", "message"}],
#        "retryable"}                      nothing was fiscalised for this request
#       {"status": "unknown", ...}         the drive's answer is lost: ask again with the
#                                          same id (the runtime reconciles; never move it)
#   recover() -> [result]         at start-up: the journal's unfinished requests, decided with
#                                 the drive (30h, 40h); never a second document
#   trust_time(source)            NTP or the fleet confirmed the clock: documents may be made
#   service()                     between requests: due shift closes, the OFD client
#   ack(id) / ack_upto(fd)        the fleet stored a result: the journal may forget it
#
# Kinds: receipt (sale, sale_return, expense, expense_return: the shared schema,
# firmware/shared/receipt.py; a return may reference its original {"fd", "fn"}), correction
# (the schema's "correction" object: 1173, 1174 {1178, 1179}), open_shift, close_shift, report
# (the current settlement report, 18h/19h), registration and reregistration (FFD 1.2: A2h,
# 07h, A3h with the work-mode and extended-mode bytes the drive turns into 1290, reasons
# 1205), close_fiscal_mode (04h, 07h, 05h). Reference fiscal-protocols.md §1.6-1.9, §2.
#
# Order of work for a request (DESIGN decisions 4, 6, 7):
#   1. the envelope and the request are validated (the schema's check(): every problem at
#      once, by field); a bad request changes nothing, on the drive or on flash;
#   2. the clock must be trusted (trust_time): every document carries the time and the drive
#      refuses time that goes back (07h) or drifts from its timer (17h), §1.8;
#   3. journal.received (not synced); the drive's state (30h, cached between documents);
#      the shift is opened, or closed and reopened before its 24 h end (§1.8, 16h), by
#      documents of the runtime's own;
#   4. journal.begun (synced) right before the first command of the document, with the last
#      FD number; the document: «Начать …», 07h streamed TLV by TLV (the generator of the
#      shared schema goes straight into the driver's 1024-byte frame buffer), «Сформировать …»;
#   5. journal.made (synced) with FD, ФП, shift and number; counters; the result.
# A make command is never resent: a lost answer the driver cannot settle (OutcomeUnknown)
# leaves the request BEGUN and blocks new documents until 30h/40h decide it.
#
# After a restart, per journal step (docs/journal.md; recover() and handle() of a duplicate):
#   RECEIVED  the drive was never touched for it: failed, retryable (the fleet re-sends)
#   BEGUN     30h last FD = fd_before: not made -> failed, retryable (re-sending begins it
#             again); = fd_before + 1 and 40h shows a document of its type not claimed by
#             another request: made -> journalled and reported; anything else: "unknown",
#             an alarm, and no new document until an operator decides (resolve())
#   MADE      reported again (40h for the time and the QR code)
#   FAILED    reported again; a retryable one is begun again when re-sent
#
# Shift totals (firmware/counters.py) follow the drive: each receipt adds the TLVs it sent;
# after a restart the documents made since the last saved snapshot are read back from the
# archive (40h, 45h/46h). At a shift close they are checked against the drive (10h counts,
# and the archive records of the shift's receipts with audit_on_close) before 1194 goes
# into the close report; a mismatch is reported and the counters rebuilt from the drive.
#
# MicroPython subset: no typing, dataclasses or datetime at run time; results are dicts.
from firmware import counters as ctr
from firmware import docimage
from firmware.clock import local_fields, unix_from_local
from firmware.compat import const
from firmware.crc16 import crc16
from firmware.errors import (
    DocumentTooLarge,
    DriveError,
    FrameError,
    JournalError,
    JournalFullError,
    LinkError,
    NotMade,
    OutcomeUnknown,
    RegisterError,
    RequestRefused,
    StorageError,
    TimeUntrusted,
    TlvError,
    UsageError,
    WrongState,
)
from firmware.journal import BEGUN, FAILED, MAX_ID, MAX_REASON, RECEIVED
from firmware.shared import codes, rules, values
from firmware.shared import receipt as schema
from firmware.tlv import decode as tlv_decode
from firmware.tlv import size_of

# mypy treats `if TYPE_CHECKING:` as true; MicroPython folds const(0) and drops the block.
TYPE_CHECKING = const(0)
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator
    from typing import Protocol

    from firmware.drive import Clock, FiscalDrive
    from firmware.journal import Entry, Journal

    class Storage(Protocol):
        """The storage contract (firmware/storage.py), the part the runtime uses."""

        def read(self, name: str) -> bytes | None: ...
        def write(self, name: str, data: bytes) -> None: ...

    class OfdHook(Protocol):
        """An OFD client (firmware/ofd.py): run_once() or step(), and status()."""

        def status(self) -> dict: ...


# Document types (reference §2.2; the journal's doc_type and the drive's 40h type).
DOC_REGISTRATION = const(1)
DOC_REREGISTRATION = const(11)
DOC_OPEN_SHIFT = const(2)
DOC_CLOSE_SHIFT = const(5)
DOC_RECEIPT = const(3)
DOC_CORRECTION = const(31)
DOC_REPORT = const(21)
DOC_CLOSE_FN = const(6)
_BSO = {3: 4, 31: 41}  # a register registered for БСО gets these instead (work mode 10h)
_TYPE_MASK = const(0x3F)  # 40h type without the FFD version bits [2nd] S7

_FISCAL = b"\x03"  # 30h byte 0 (§1.5): phases a document may be made in
_UNREGISTERED = b"\x00\x01"  # setup, ready for fiscalisation (registration)
_PHASE_FISCAL = const(3)
_DAY = const(86400)
_FFD_12 = const(4)  # A2h, 1209, 1189: FFD 1.2 (§1.7, §2.4)
_KM_CHECKED = const(0x01)  # B1h result (2004) bit 0: checked in the drive [rec, simulator/fn]
_KM_POSITIVE = const(0x02)  # bit 1: the check is positive
_B7_EXTRA = const(1)  # B7h extra code (1..3, meaning not known) [rec]

# Drive answers the runtime acts on (§1.4).
_E_DATE = const(0x07)  # date-time before the last document
_E_SHIFT_24H = const(0x16)  # the shift is over 24 hours
_E_TIME_DELTA = const(0x17)  # time differs from the drive's timer by over 5 minutes
_E_NO_DATA = const(0x08)
_E_FORBIDDEN_TAG = const(0x0B)  # FN-1.1M+: a tag the drive forms itself [2nd]

# TLV budgets of the register's data per document (§1.8 [V]).
_BUDGET_SHIFT = 1024
_BUDGET_MEDIUM = 2048

COUNTERS_FILE = "counters"  # the storage name of the counters snapshot

KINDS = (
    "receipt",
    "correction",
    "open_shift",
    "close_shift",
    "report",
    "registration",
    "reregistration",
    "close_fiscal_mode",
)
_KIND_OF_DOC = {
    1: "registration",
    11: "reregistration",
    2: "open_shift",
    5: "close_shift",
    3: "receipt",
    4: "receipt",
    31: "correction",
    41: "correction",
    21: "report",
    6: "close_fiscal_mode",
}
_KIND_LETTERS = {
    "receipt": "r",
    "correction": "c",
    "open_shift": "o",
    "close_shift": "z",
    "report": "x",
    "registration": "g",
    "reregistration": "G",
    "close_fiscal_mode": "f",
}
_SIMPLE_KEYS = ("id", "kind", "cashier")
_REGISTRATION_KEYS = (
    "id",
    "kind",
    "inn",
    "rnm",
    "kkt_serial",
    "tax_systems",
    "modes",
    "ofd_inn",
    "ofd_name",
    "user_name",
    "address",
    "place",
    "sender_email",
    "fns_site",
    "automat_number",
    "agent_types",
    "cashier",
)
_REREGISTRATION_KEYS = _REGISTRATION_KEYS + ("reasons", "reason_codes", "fn_replacement")

# Work mode (A3h +38, §1.9 table 21 [V]; 40h/80h [2nd] S4) and extended mode (A3h +39, [2nd]
# S4): the drive derives tag 1290 from both (simulator/fn: pack_usage_conditions).
WORK_MODES = {
    "encryption": 0x01,
    "autonomous": 0x02,
    "automatic": 0x04,
    "services": 0x08,
    "bso": 0x10,
    "internet": 0x20,
    "catering": 0x40,
    "wholesale": 0x80,
}
EXTENDED_MODES = {
    "excise": 0x01,
    "gambling": 0x02,
    "lottery": 0x04,
    "printer_in_automat": 0x08,
    "marking": 0x10,
    "pawnshop": 0x20,
    "insurance": 0x40,
    "automat": 0x80,
}
# 1205 «коды причин изменения сведений о ККТ», bit numbers [R: recalled from the FFD 1.1
# table, not re-read; an int mask in "reason_codes" passes any bits unchanged].
REASONS = {
    "fn_replacement": 0,
    "ofd_change": 1,
    "user_name": 2,
    "address": 3,
    "autonomous_to_online": 4,
    "online_to_autonomous": 5,
    "kkt_version": 6,
    "tax_systems": 7,
    "automat_number": 8,
    "automatic_off": 9,
    "automatic_on": 10,
    "bso_off": 11,
    "bso_on": 12,
    "internet_off": 13,
    "internet_on": 14,
    "agent_off": 15,
    "agent_on": 16,
    "gambling": 17,
    "lottery": 18,
    "ffd_version": 19,
    "other": 31,
}

# Runtime settings (Register(settings=...)); every one optional.
SETTINGS: dict = {
    "shift_margin_s": 600,  # close and reopen a shift this long before its 24 h end (§1.8)
    "counters_every": 16,  # save the counters every N receipts (and at shift open/close)
    "audit_on_close": True,  # check the shift's receipts against the archive (40h) at close
    "shift_totals": True,  # send 1194 with the shift-close report (07h)
    "cashier": None,  # {"name", "inn"} for the documents the runtime makes on its own
    "scan_limit": 2000,  # archive documents read at most to rebuild lost counters
    "kkt_version": "1.0",  # 1188 in registration and shift reports
    "fns_site": "www.nalog.gov.ru",  # 1060 default in registration reports
}
_MAX_ALARMS = const(16)
# a duplicate's result from memory (_keep): the keys _entry_result gives a receipt
_KEPT_KEYS = (
    "id", "status", "kind", "fn", "fd", "fp", "shift", "number", "date_time", "operation",
    "total", "qr",
)  # fmt: skip
_KEPT_MAX = const(32)


# ---- small pure helpers (also used by the portable tests) ------------------------------------


def _e(path: str, code: str, message: str) -> tuple:
    return (path, code, message)


def error_dicts(errors: list) -> list:
    """[(path, code, message)] -> [{"path", "code", "message"}] (JSON for the fleet)."""
    return [{"path": p, "code": c, "message": m} for p, c, m in errors]


def id_ok(rid: object) -> bool:
    """A request id the journal takes: 1..64 printable ASCII without '"' and '\\'."""
    if type(rid) is not str or not rid or len(rid) > MAX_ID:
        return False
    for ch in rid:
        o = ord(ch)
        if o < 0x20 or o > 0x7E or o == 0x22 or o == 0x5C:
            return False
    return True


def _feed(v: object, acc: list) -> None:
    # Canonical bytes of a JSON value: dict keys sorted, strings length-prefixed (MicroPython
    # dicts are unordered and its json.dumps has no sort_keys). The exact JSON types first, by
    # type() (one test, no isinstance chain); anything else (subclasses, floats) by
    # `_feed_other`, the general rules. The bytes are the journal's refs: never change them.
    t = type(v)
    if t is str:
        raw = v.encode()  # type: ignore[attr-defined]
        acc.append(b"s%d:" % len(raw))
        acc.append(raw)
    elif t is dict:
        acc.append(b"{")
        for k in sorted(v):  # type: ignore[call-overload]
            if type(k) is str:
                raw = k.encode()
                acc.append(b"s%d:" % len(raw))
                acc.append(raw)
            else:
                _feed(k, acc)
            _feed(v[k], acc)  # type: ignore[index]
        acc.append(b"}")
    elif t is int:
        acc.append(b"i%d;" % v)  # type: ignore[str-format]
    elif t is list:
        acc.append(b"[")
        for x in v:  # type: ignore[attr-defined]
            _feed(x, acc)
        acc.append(b"]")
    elif v is None or v is True or v is False:
        acc.append(b"n" if v is None else (b"t" if v else b"f"))
    else:
        _feed_other(v, acc)


def _feed_other(v: object, acc: list) -> None:
    if isinstance(v, dict):
        acc.append(b"{")
        for k in sorted(v):
            _feed(k, acc)
            _feed(v[k], acc)
        acc.append(b"}")
    elif isinstance(v, list) or isinstance(v, tuple):
        acc.append(b"[")
        for x in v:
            _feed(x, acc)
        acc.append(b"]")
    elif isinstance(v, str):
        raw = v.encode()
        acc.append(b"s%d:" % len(raw))
        acc.append(raw)
    elif isinstance(v, int):
        acc.append(b"i%d;" % v)
    else:
        acc.append(b"r")
        acc.append(repr(v).encode())


try:
    # CPython's zlib.adler32 is the same Adler-32 (RFC 1950 §8.2) in C; MicroPython 1.27's
    # zlib has none, so the loop below stays there (identical results, the journal's refs).
    from zlib import adler32 as _adler32
except ImportError:  # MicroPython
    _adler32 = None  # type: ignore[assignment]


def adler_parts(data: bytes) -> tuple:
    """(s, a) of Adler-32 over data (RFC 1950 §8.2), the portable loop: small-int arithmetic
    only, nothing allocated per byte on MicroPython."""
    a = 1
    s = 0
    for x in data:
        a = (a + x) % 65521
        s = (s + a) % 65521
    return s, a


def canonical(request: object) -> bytes:
    """The canonical bytes of a JSON value that `digest` sums."""
    acc: list = []
    _feed(request, acc)
    return b"".join(acc)


def digest(request: object, kind: str = "receipt") -> str:
    """The journal's ref of a request: its kind's letter and a short digest of its canonical
    form (length, CRC-16 and Adler-32), so a request id re-used for another request is
    refused."""
    data = canonical(request)
    if _adler32 is not None:
        sa = _adler32(data)
        s = sa >> 16
        a = sa & 0xFFFF
    else:
        s, a = adler_parts(data)
    return "%s%d.%04x%04x%04x" % (_KIND_LETTERS.get(kind, "?"), len(data), crc16(data), s, a)


def local_seconds(at: tuple) -> int:
    """A drive DATE_TIME (local fields) as seconds, local time counted as if UTC."""
    return unix_from_local(at, 0)


def iso_local(at: tuple | None, offset_min: int | None = None) -> str | None:
    """'YYYY-MM-DDTHH:MM' of local fields (with ':00+HH:MM' when the offset is given)."""
    if at is None:
        return None
    s = "%04d-%02d-%02dT%02d:%02d" % (at[0], at[1], at[2], at[3], at[4])
    if offset_min is None:
        return s
    sign = "+" if offset_min >= 0 else "-"
    m = offset_min if offset_min >= 0 else -offset_min
    return s + ":00%s%02d:%02d" % (sign, m // 60, m % 60)


def qr_text(at: tuple, total: int, fn: str, fd: int, fp: int, operation: int) -> str:
    """The receipt's QR string (reference §3.4): t=YYYYMMDDTHHMM&s=rub.kop&fn=&i=&fp=&n=."""
    return "t=%04d%02d%02dT%02d%02d&s=%d.%02d&fn=%s&i=%d&fp=%d&n=%d" % (
        at[0],
        at[1],
        at[2],
        at[3],
        at[4],
        total // 100,
        total % 100,
        fn,
        fd,
        fp,
        operation,
    )


def _zfill(s: str, n: int) -> str:
    return "0" * (n - len(s)) + s if len(s) < n else s


def rnm_ok(rnm: str, inn: str, serial: str) -> bool:
    """RNM check digits (reference §3.2 [V-calc]): the first 10 digits, then the CRC-16
    (CCITT-FALSE) of first10 + INN (12) + serial (20), 6 decimal digits."""
    if len(rnm) != 16 or not values.digits(rnm):
        return False
    text = rnm[:10] + _zfill(inn, 12) + _zfill(serial, 20)
    return rnm[10:] == "%06d" % crc16(text.encode())


def _same_doc(drive_type: int, journal_type: int) -> bool:
    # A BSO register makes 4/41 where the runtime asked for a receipt 3/31 (§2.2).
    return drive_type == journal_type or _BSO.get(journal_type) == drive_type


def _names(errs: list, path: str, v: object, table: dict) -> int:
    # A list of names (or of ints that are values of table) -> the OR of their values.
    if v is None:
        return 0
    if not isinstance(v, list):
        values.err(errs, path, "type", "Ожидается список")
        return 0
    mask = 0
    for i in range(len(v)):
        x = v[i]
        bit = table.get(x, -1) if isinstance(x, str) else -1
        if bit < 0:
            values.err(errs, "%s[%d]" % (path, i), "enum", "Неизвестное значение")
        else:
            mask |= bit
    return mask


def _unknown_keys(errs: list, request: dict, allowed: tuple) -> None:
    for k in request:
        if k not in allowed:
            values.err(errs, str(k), "unknown", "Неизвестное поле")


def _cashier(errs: list, v: object) -> dict | None:
    if v is None:
        return None
    if not isinstance(v, dict):
        values.err(errs, "cashier", "type", "Ожидается объект")
        return None
    _unknown_keys(errs, v, ("name", "inn"))
    name = values.text(errs, "cashier.name", v.get("name"), 64, required=True)
    inn = values.inn(errs, "cashier.inn", v.get("inn"), person=True)
    return {"name": name, "inn": inn}


def cashier_fields(cashier: dict | None) -> list:
    """1021 and 1203 of a cashier {"name", "inn"} (§2.3)."""
    if not cashier or not cashier.get("name"):
        return []
    out = [(1021, cashier["name"])]
    if cashier.get("inn"):
        out.append((1203, values.pad12(cashier["inn"])))
    return out


def fit_budget(fields: list, budget: int, droppable: tuple) -> tuple:
    """(fields, dropped tags): drop the droppable tags, in order, until the fields fit the
    document's TLV budget (§1.8)."""
    out = list(fields)
    dropped = []
    for tag in droppable:
        if size_of(out) <= budget:
            break
        keep = [f for f in out if f[0] != tag]
        if len(keep) != len(out):
            dropped.append(tag)
            out = keep
    return out, dropped


def _with_identity(identity: list, fields: "Iterable[tuple]") -> "Iterator[tuple]":
    # The user's INN and the RNM (1018, 1037) first, then the receipt's own fields.
    for f in identity:
        yield f
    for f in fields:
        yield f


def _observed(fields: "Iterable[tuple]", seen: list) -> "Iterator[tuple]":
    # Pass the fields through to 07h and keep the ones the counters read (payments, VAT).
    counted = ctr.COUNTED_TAGS
    for f in fields:
        if f[0] in counted:
            seen.append(f)
        yield f


# ---- the runtime -----------------------------------------------------------------------------


class Register:
    """One register: a drive, its journal, the clock, the register profile (see module).

    drive: a FiscalDrive (or anything with its methods); journal: firmware.journal.Journal;
    clock: wall / monotonic / sleep; profile: the shared schema's register profile
    (docs/receipt-schema.md); storage: the storage contract (firmware/storage.py) for the
    counters snapshot, None to rebuild them from the drive at start-up; ofd: an OFD client
    with run_once() or step(), and status(), called between requests by service();
    settings: see SETTINGS.
    """

    def __init__(
        self,
        drive: "FiscalDrive",
        journal: "Journal",
        clock: "Clock",
        profile: dict | None,
        storage: "Storage | None" = None,
        ofd: "OfdHook | None" = None,
        settings: dict | None = None,
    ) -> None:
        s = dict(SETTINGS)
        given = settings or {}
        for k in given:
            if k not in SETTINGS:
                raise UsageError("unknown register setting %r" % (k,))
            s[k] = given[k]
        if type(s["shift_margin_s"]) is not int or not 0 <= s["shift_margin_s"] < _DAY // 2:
            raise UsageError("shift_margin_s must be an int of 0..43199 seconds")
        if type(s["counters_every"]) is not int or s["counters_every"] < 1:
            raise UsageError("counters_every must be a positive int")
        self.drive = drive
        self.journal = journal
        self.clock = clock
        self.profile = profile
        self.storage = storage
        self.ofd = ofd
        self.settings = s
        self.time_source: str | None = None
        self.fn = ""
        self.counters = ctr.Counters()
        self.alarms: list = []
        self.documents = 0  # documents made since start
        self._st: dict | None = None  # the drive's state (30h), kept between documents
        self._unsettled: str | None = None  # a BEGUN request whose outcome is not known
        self._begun_rid: str | None = None
        self._since_save = 0
        self._auto: list = []  # documents the runtime made on its own during a request
        self._totals_tlv = bool(s["shift_totals"])
        self._recovered = False
        self._identity: list | None = None  # [(1018, INN), (1037, RNM)] for receipts
        # firmware/docimage.py Images: the archive image of each receipt and shift opening
        # made, for the agent's `doc` event (None: not kept; the agent turns it on)
        self.images = None  # type: docimage.Images | None
        self._sent = None  # type: bytearray | None  # the last document's 07h/B7h TLVs
        self._kept = {}  # type: dict  # rid -> a made receipt's result (_keep)
        self._kept_order = []  # type: list  # their rids, oldest first

    # ---- time (DESIGN decision 6) ---------------------------------------------------------

    def trust_time(self, source: str) -> None:
        """The clock is confirmed (source: "ntp", "fleet"...): documents may be made."""
        self.time_source = str(source)

    def distrust_time(self, reason: str) -> None:
        """Stop making documents until trust_time() is called again."""
        if self.time_source is not None:
            self._alarm("time: " + reason)
        self.time_source = None

    @property
    def time_trusted(self) -> bool:
        """True once trust_time() was called (and the drive has not refused the time)."""
        return self.time_source is not None

    def _now(self) -> tuple:
        return local_fields(self.clock.wall(), self.drive.utc_offset_min)

    def _at(self) -> tuple:
        # The time of the next document: trusted, and not before the drive's last one (07h).
        if self.time_source is None:
            raise TimeUntrusted(
                [_e("", "time_untrusted", "Время ККТ не подтверждено (NTP или сервер)")], True
            )
        at = self._now()
        st = self._st
        last = st["last_date_time"] if st is not None else None
        if last is not None and at < last:
            self.distrust_time("the clock is behind the drive's last document")
            raise TimeUntrusted(
                [_e("", "time_behind_drive", "Часы ККТ отстают от последнего документа ФН")],
                True,
            )
        return at

    # ---- the drive's state ----------------------------------------------------------------

    def _status(self, fresh: bool = False) -> dict:
        # 30h, cached between documents (the runtime is the drive's only writer; any error
        # drops the cache). An open document left behind is cancelled (06h): it is nobody's.
        st = self._st
        if st is None or fresh:
            self._st = None
            st = self.drive.status()
            if st["current_document"]:
                self.drive.cancel_document()
                st["current_document"] = 0
            self.fn = st["fn_number"]
            self._st = st
        return st

    def _made(self, doc_type: int, fd: int, at: tuple | None) -> None:
        self.documents += 1
        # a new document goes to the OFD at the next service(), not after the idle poll
        # (up to 60 s): the drive holds it as unsent until the OFD's receipt comes back
        kick = getattr(self.ofd, "kick", None)
        if kick is not None:
            kick()
        st = self._st
        if st is None:
            return
        if doc_type in _KEEPS_CACHE:
            st["last_fd"] = fd
            if at is not None:
                st["last_date_time"] = at
            if doc_type == DOC_OPEN_SHIFT:
                st["shift_open"] = 1
            elif doc_type == DOC_CLOSE_SHIFT:
                st["shift_open"] = 0
        else:
            self._st = None  # registration, closing the fiscal mode: the phase changed

    def _cancel_quietly(self) -> None:
        self._st = None
        try:
            self.drive.cancel_document()
        except RegisterError:
            pass

    def _alarm(self, text: str) -> None:
        self.alarms.append(text)
        if len(self.alarms) > _MAX_ALARMS:
            self.alarms.pop(0)

    # ---- start-up ------------------------------------------------------------------------

    def recover(self) -> list:
        """Reconcile the journal with the drive after a start (see the module comment);
        return the results of every unfinished request, to be reported. Sends no date-time,
        so it may run before the clock is trusted. Raises LinkError when the drive does not
        answer 30h (call it again later)."""
        st = self._status(True)
        out = []
        for e in self.journal.state():
            out.append(self._recover_entry(e, st))
        self._load_counters(self._status())
        self._recovered = True
        return out

    def _recover_entry(self, e: "Entry", st: dict) -> dict:
        step = e.step
        rid = e.rid
        if step == RECEIVED:
            self._journal_failed(rid, "interrupted: the drive was not touched", True)
            return self._entry_result(e)
        if step == BEGUN:
            try:
                r = self._settle(e, st)
            except RegisterError as x:
                self._st = None
                if self._unsettled is None:
                    self._unsettled = rid
                return self._unknown(rid, _kind_of(e), "reconciliation failed: %s" % (x,))
            return r if r is not None else self._entry_result(e)
        return self._entry_result(e)

    def _settle(self, e: "Entry", st: dict) -> dict | None:
        # A BEGUN request: made (journalled, its result), not made (journalled FAILED,
        # retryable: None) or unknown (an alarm; documents stay blocked).
        rid = e.rid
        fd0 = e.fd_before or 0
        doc_type = e.doc_type or 0
        last = st["last_fd"]
        if last == fd0:
            self._journal_failed(rid, "not_made: interrupted before the document was made", True)
            if self._unsettled == rid:
                self._unsettled = None
            return None
        fd = fd0 + 1
        if last < fd0 or fd in self._claimed():
            return self._anomaly(
                e, "the drive's last FD is %d, the request began at %d" % (last, fd0)
            )
        doc = self.drive.find_document(fd)
        t = doc["document_type"] & _TYPE_MASK
        rec = doc["record"]
        if rec is None or not _same_doc(t, doc_type):
            return self._anomaly(e, "FD %d is a document of type %d, not %d" % (fd, t, doc_type))
        shift, number = self._numbers(fd, t, rec, st)
        self._journal_made(rid, doc_type, fd, rec["fp"], shift, number)
        if self._unsettled == rid:
            self._unsettled = None
        r = self._entry_result(e)
        r["recovered"] = True
        return r

    def _anomaly(self, e: "Entry", why: str) -> dict:
        rid = e.rid
        self._alarm("request %s: %s; no new document until resolve()" % (rid, why))
        self._unsettled = rid
        return self._unknown(rid, _kind_of(e), "operator: " + why)

    def resolve(self, rid: str, fd: int | None) -> dict:
        """The operator's decision on a request left unknown: made as document fd (read
        with 40h), or None: not made (failed, not retryable). Unblocks documents."""
        e = self.journal.get(rid)
        if e is None or e.step != BEGUN:
            raise UsageError("request %s is not waiting for a decision" % rid)
        if fd is None:
            self._journal_failed(rid, "operator: not made", False)
        else:
            rec = self.drive.find_document(fd)["record"]
            if rec is None:
                raise UsageError("FD %d has no archive record" % fd)
            self._journal_made(rid, e.doc_type or 0, fd, rec["fp"], self.counters.shift, 0)
        if self._unsettled == rid:
            self._unsettled = None
        return self._entry_result(e)

    def _claimed(self) -> dict:
        # FD numbers the journal already gives to a request.
        j = self.journal
        out = {}
        for e in j.state():
            if e.fd is not None:
                out[e.fd] = 1
        for rid in j.finished():
            e = j.get(rid)
            if e is not None and e.fd is not None:
                out[e.fd] = 1
        return out

    def _numbers(self, fd: int, t: int, rec: dict, st: dict) -> tuple:
        # (shift, number) of a document found in the archive: 40h has the shift of shift
        # reports; a receipt's number is 10h's when it is the last document, else its 1042.
        if "shift_number" in rec:
            return rec["shift_number"], 0
        if ctr.row_index(t, 1) < 0:
            return self.counters.shift, 0
        if fd == st["last_fd"]:
            p = self.drive.shift_parameters()
            return p["shift_number"], p["receipt_number"]
        got = {}
        for f in self._read_tags(fd, {1038: 1, 1042: 1}):
            got[f[0]] = f[1]
        return got.get(1038, 0), got.get(1042, 0)

    def _read_tags(self, fd: int, wanted: dict) -> list:
        # The top-level fields of document fd whose tags are wanted (45h, then 46h until
        # the end, §1.6); the others are skipped without decoding.
        drive = self.drive
        head = drive.document_tlv_begin(fd)
        out: list = []
        for _ in range(head["length"] // 4 + 2):
            raw = drive.document_tlv_read()
            if raw is None:
                return out
            if len(raw) >= 4 and (raw[0] | raw[1] << 8) in wanted:
                out.extend(tlv_decode(raw))
        raise TlvError("46h never reported the end of FD %d" % fd)

    # ---- counters: load, replay, rebuild, save --------------------------------------------

    def _load_counters(self, st: dict) -> None:
        c = None
        if self.storage is not None:
            try:
                c = ctr.load(self.storage.read(COUNTERS_FILE))
            except StorageError as x:
                self._alarm("counters: %s" % (x,))
        last = st["last_fd"]
        if c is not None:
            if c.fn != st["fn_number"] or c.last_fd > last:
                if c.fn == st["fn_number"]:
                    self._alarm("counters: the snapshot is ahead of the drive (FD %d)" % c.last_fd)
                c = None
            elif last - c.last_fd > self.settings["scan_limit"]:
                c = None
        if c is None:
            self._rebuild(st)
        else:
            self.counters = c
            self._replay(c.last_fd + 1, last)
        p = self.drive.shift_parameters()
        c = self.counters
        if bool(p["shift_open"]) != c.open or (c.open and p["shift_number"] != c.shift):
            self._alarm(
                "counters: shift %d disagrees with the drive's %d" % (c.shift, p["shift_number"])
            )
            self._rebuild(st)
        self._save_counters()

    def _rebuild(self, st: dict) -> None:
        # Counters from the drive alone: the shift's opening is searched backwards in the
        # archive (40h), then every document since is read (45h/46h).
        p = self.drive.shift_parameters()
        last = st["last_fd"]
        c = ctr.Counters()
        c.fn = st["fn_number"]
        c.shift = p["shift_number"]
        c.last_fd = last
        self.counters = c
        if not p["shift_open"]:
            return
        fd = last
        seen = 0
        while fd >= 1 and seen < self.settings["scan_limit"]:
            doc = self.drive.find_document(fd)
            t = doc["document_type"] & _TYPE_MASK
            rec = doc["record"]
            if t == DOC_OPEN_SHIFT and rec is not None and rec["shift_number"] == c.shift:
                c.start(c.fn, c.shift, fd, local_seconds(rec["date_time"]))
                self._replay(fd + 1, last)
                return
            if t == DOC_CLOSE_SHIFT:
                break
            fd -= 1
            seen += 1
        c.open = True
        c.complete = False
        self._alarm("counters: the opening of shift %d was not found in the archive" % c.shift)

    def _replay(self, first: int, last: int) -> None:
        # Feed the counters the drive's documents first..last, as the archive has them.
        c = self.counters
        for fd in range(first, last + 1):
            doc = self.drive.find_document(fd)
            t = doc["document_type"] & _TYPE_MASK
            rec = doc["record"]
            if t == DOC_OPEN_SHIFT and rec is not None:
                c.start(self.fn or c.fn, rec["shift_number"], fd, local_seconds(rec["date_time"]))
            elif t == DOC_CLOSE_SHIFT:
                c.finish(fd)
            elif rec is not None and ctr.row_index(t, rec.get("operation", 0)) >= 0:
                fields = self._read_tags(fd, ctr.COUNTED_TAGS)
                c.apply(fd, t, rec["operation"], rec["total_kop"], fields)
            else:
                c.note(fd)

    def _save_counters(self) -> None:
        self._since_save = 0
        if self.storage is None:
            return
        try:
            self.storage.write(COUNTERS_FILE, self.counters.dump())
        except StorageError as x:
            self._alarm("counters: %s" % (x,))

    def _count(self, fd: int, doc_type: int, operation: int, total: int, seen: list) -> None:
        c = self.counters
        if fd > c.last_fd + 1:  # documents the runtime did not see (settled after a loss)
            self._replay(c.last_fd + 1, fd - 1)
        c.apply(fd, doc_type, operation, total, seen)
        self._since_save += 1
        if self._since_save >= self.settings["counters_every"]:
            self._save_counters()

    def _note(self, fd: int) -> None:
        c = self.counters
        if fd > c.last_fd + 1:
            self._replay(c.last_fd + 1, fd - 1)
        c.note(fd)

    # ---- journal steps that must not lose a made document ----------------------------------

    def _journal_made(
        self, rid: str, doc_type: int, fd: int, fp: int, shift: int, number: int
    ) -> None:
        try:
            self.journal.made(rid, doc_type, fd, fp, shift, number)
        except StorageError as x:
            # The document exists; the journal's memory says MADE and its next write puts
            # it on flash. After a cut, BEGUN reconciles to the same document.
            self._alarm("journal: %s" % (x,))

    def _journal_failed(self, rid: str, reason: str, retryable: bool) -> None:
        try:
            self.journal.failed(rid, reason[:MAX_REASON], retryable)
        except StorageError as x:
            self._alarm("journal: %s" % (x,))

    # ---- results --------------------------------------------------------------------------

    def _failed(self, rid: object, kind: str, errors: list, retryable: bool) -> dict:
        return {
            "id": rid,
            "status": "failed",
            "kind": kind,
            "errors": error_dicts(errors),
            "retryable": bool(retryable),
        }

    def _unknown(self, rid: str, kind: str, why: str) -> dict:
        return {
            "id": rid,
            "status": "unknown",
            "kind": kind,
            "errors": [{"path": "", "code": "outcome_unknown", "message": why}],
            "retryable": True,
        }

    def _made_result(self, rid: str, kind: str, made: dict, at: tuple | None, shift: int) -> dict:
        r = {
            "id": rid,
            "status": "made",
            "kind": kind,
            "fn": self.fn,
            "fd": made["fd"],
            "fp": made["fp"],
            "shift": shift,
            "number": made.get("receipt_number") or 0,
            "date_time": iso_local(at),
        }
        if made.get("recovered"):
            r["recovered"] = True
        if self._auto:
            r["shift_documents"] = self._auto
        return r

    def _entry_result(self, e: "Entry") -> dict:
        """The result of a journalled request (a duplicate, or after a restart)."""
        rid = e.rid
        kind = _kind_of(e)
        fd = e.fd
        if fd is None:
            reason = e.reason or "failed"
            colon = reason.find(": ")
            code = reason[:colon] if colon > 0 else "failed"
            text = reason[colon + 2 :] if colon > 0 else reason
            return self._failed(rid, kind, [_e("", code, text)], bool(e.retryable))
        if e.step == BEGUN or e.step == RECEIVED:
            return self._unknown(rid, kind, "the request has not ended")
        r = {
            "id": rid,
            "status": "made",
            "kind": kind,
            "fn": self.fn,
            "fd": fd,
            "fp": e.fp,
            "shift": e.shift,
            "number": e.number,
        }
        try:
            rec = self.drive.find_document(fd)["record"]
        except RegisterError:
            self._st = None
            rec = None
        if rec is not None:
            r["date_time"] = iso_local(rec["date_time"])
            if "total_kop" in rec:
                r["operation"] = rec["operation"]
                r["total"] = rec["total_kop"]
                r["qr"] = qr_text(
                    rec["date_time"], rec["total_kop"], self.fn, fd, e.fp or 0, rec["operation"]
                )
        return r

    def outbox(self) -> list:
        """Results of every request the fleet has not acknowledged yet (oldest first)."""
        return [self._entry_result(e) for e in self.journal.state()]

    def ack(self, rid: str) -> bool:
        """The fleet stored rid's result: the journal may forget it (journal.reported)."""
        return self.journal.reported(rid)

    def ack_upto(self, fd: int) -> int:
        """The fleet's watermark: every made request with FD <= fd is stored."""
        return self.journal.reported_upto(fd)

    # ---- requests -------------------------------------------------------------------------

    def handle(self, request: object) -> dict:
        """Turn one request into a document (see the module comment); never raises for a bad
        request or a drive failure: the result says what happened."""
        self._auto = []
        errs: list = []
        if not isinstance(request, dict):
            return self._failed(None, "", [_e("", "type", "Запрос — JSON-объект")], False)
        raw_id = request.get("id")
        kind = request.get("kind", "receipt")
        if not id_ok(raw_id):
            values.err(
                errs, "id", "format", 'Идентификатор — 1..64 печатных символа ASCII без " и \\'
            )
        if kind not in KINDS:
            values.err(errs, "kind", "enum", "Вид запроса: " + ", ".join(KINDS))
            kind = "" if not isinstance(kind, str) else kind
        if errs:
            return self._failed(raw_id, kind, errs, False)
        rid = raw_id if isinstance(raw_id, str) else ""
        if not self._recovered:
            # recover() first (its results stay in the journal: outbox() has them)
            try:
                self.recover()
            except RegisterError as x:
                self._st = None
                return self._failed(rid, kind, [_e("", "drive_unreachable", str(x))], True)
        ref = digest(request, kind)
        entry = self.journal.get(rid)
        if entry is not None:
            if entry.ref != ref:
                why = "Идентификатор уже использован для другого запроса"
                return self._failed(rid, kind, [_e("id", "id_reused", why)], False)
            try:
                r = self._duplicate(entry)
            except RegisterError as x:
                self._st = None
                return self._unknown(rid, kind, "the drive did not answer: %s" % (x,))
            if r is not None:
                return r
        try:
            run = self._prepare(kind, request)
            if self.time_source is None:
                self._at()
        except RequestRefused as x:
            return self._failed(rid, kind, x.errors, x.retryable)
        if entry is None:
            try:
                self.journal.received(rid, ref)
            except JournalFullError as x:
                return self._failed(rid, kind, [_e("", "journal_full", str(x))], True)
            except (StorageError, JournalError) as x:
                return self._failed(rid, kind, [_e("", "storage", str(x))], True)
        return self._run(rid, kind, run)

    def _duplicate(self, e: "Entry") -> dict | None:
        # A request id the journal knows: its result, or None to (re)run it.
        step = e.step
        if step == RECEIVED:
            return None
        if step == BEGUN:
            r = self._settle(e, self._status(True))
            if r is not None:
                r["duplicate"] = True
            return r
        if step == FAILED and e.retryable:
            return None
        r = None if step == FAILED else self._kept_result(e)
        if r is None:
            r = self._entry_result(e)
        r["duplicate"] = True
        return r

    def _run(self, rid: str, kind: str, run: "Callable[[str], dict]") -> dict:
        self._begun_rid = None
        try:
            return run(rid)
        except RequestRefused as x:
            self._journal_failed(rid, _reason(x.errors), x.retryable)
            return self._failed(rid, kind, x.errors, x.retryable)
        except OutcomeUnknown as x:
            self._st = None
            if self._begun_rid == rid:
                self._unsettled = rid  # nothing new until 30h/40h decide it
                return self._unknown(rid, kind, str(x))
            errs = [_e("", "drive_outcome_unknown", str(x))]  # a shift document's, before ours
        except NotMade as x:
            self._cancel_quietly()
            errs = [_e("", "not_made", str(x))]
        except DriveError as x:
            self._cancel_quietly()
            if x.code == _E_DATE or x.code == _E_TIME_DELTA:
                self.distrust_time("the drive refused the time: %02Xh" % x.code)
                errs = [_e("", "time_refused", "%02Xh %s" % (x.code, x.ru))]
            else:
                errs = [_e("", "drive_%02x" % x.code, x.ru)]
                if not x.retryable:
                    self._journal_failed(rid, _reason(errs), False)
                    return self._failed(rid, kind, errs, False)
        except (LinkError, FrameError) as x:
            self._cancel_quietly()
            errs = [_e("", "link", str(x))]
        except StorageError as x:
            # journal.begun failed: the drive was not touched for this document.
            self._st = None
            self._alarm("journal: %s" % (x,))
            return self._failed(rid, kind, [_e("", "storage", str(x))], True)
        except (TlvError, UsageError) as x:
            self._cancel_quietly()
            errs = [_e("", "internal", str(x))]
            self._journal_failed(rid, _reason(errs), False)
            return self._failed(rid, kind, errs, False)
        self._journal_failed(rid, _reason(errs), True)
        return self._failed(rid, kind, errs, True)

    def _prepare(self, kind: str, request: dict) -> "Callable[[str], dict]":
        # Validate; return run(rid) -> result. Raises RequestRefused (nothing written).
        if kind == "receipt" or kind == "correction":
            return self._prepare_receipt(kind, request)
        if kind == "registration" or kind == "reregistration":
            return self._prepare_registration(kind, request)
        errs: list = []
        _unknown_keys(errs, request, _SIMPLE_KEYS)
        cashier = _cashier(errs, request.get("cashier"))
        if errs:
            raise RequestRefused(errs)
        who = cashier or self.settings["cashier"]
        if kind == "open_shift":
            return lambda rid: self._job_open_shift(rid, who)
        if kind == "close_shift":
            return lambda rid: self._job_close_shift(rid, who)
        if kind == "report":
            return lambda rid: self._job_report(rid, who)
        return lambda rid: self._job_close_fn(rid, who)

    # ---- receipts and corrections -----------------------------------------------------------

    def _prepare_receipt(self, kind: str, request: dict) -> "Callable[[str], dict]":
        body = {}
        for k in request:
            if k != "kind" and k != "original" and k != "allow_negative_marking":
                body[k] = request[k]
        errs: list = []
        allow = request.get("allow_negative_marking", False)
        if allow is not True and allow is not False:
            values.err(errs, "allow_negative_marking", "type", "Ожидается true или false")
        original = request.get("original")
        if original is not None:
            op = request.get("operation")
            if not isinstance(original, dict):
                values.err(errs, "original", "type", "Ожидается объект {fd, fn}")
            else:
                _unknown_keys(errs, original, ("fd", "fn"))
                fd = original.get("fd")
                fn = original.get("fn")
                if not isinstance(fd, int) or isinstance(fd, bool) or not 0 < fd <= 0xFFFFFFFF:
                    values.err(errs, "original.fd", "type", "Номер ФД исходного чека — целое > 0")
                if fn is not None and (
                    not isinstance(fn, str) or len(fn) != 16 or not values.digits(fn)
                ):
                    values.err(errs, "original.fn", "format", "Номер ФН — 16 цифр")
            if op != "sale_return" and op != "expense_return" and op != 2 and op != 4:
                values.err(
                    errs, "original", "not_allowed", "Ссылка на исходный чек — только у возврата"
                )
        if kind == "correction" and not isinstance(request.get("correction"), dict):
            values.err(errs, "correction", "required", "Чек коррекции: нужен объект correction")
        norm, problems = schema.check(
            body, self.profile, iso_local(self._now(), self.drive.utc_offset_min)
        )
        errs.extend(problems)
        if norm is not None and not (self.profile or {}).get("marking"):
            # Marked goods need the register's marking flag (FFD 1.2, 1290 bit 8); the
            # schema checks it against a profile, this also covers a register without one.
            for i, _code, _t, _s in schema.marked(norm):
                if not any(e[0] == "items[%d].marking" % i for e in errs):
                    values.err(
                        errs,
                        "items[%d].marking" % i,
                        "flag_marking",
                        "ККТ зарегистрирована без признака работы с маркированными товарами",
                    )
        if errs or norm is None:
            for _p, code, _m in errs:
                if code == "document_too_large":
                    raise DocumentTooLarge(errs)
            raise RequestRefused(errs)
        checked = norm
        if allow:
            checked["allow_negative_marking"] = True
        return lambda rid: self._job_receipt(rid, checked, original)

    def _job_receipt(self, rid: str, norm: dict, original: dict | None) -> dict:
        self._ready()
        if original is not None:
            self._check_original(norm, original)
        self._ensure_shift()
        doc_type, op, total = schema.closing(norm)
        seen: list = []
        try:
            made, at = self._receipt_document(rid, norm, seen)
        except DriveError as x:
            # 16h: the shift passed 24 h (a clock jump, an unknown opening): close and
            # reopen it, then make the receipt once more (§1.6 15h).
            if x.code != _E_SHIFT_24H:
                raise
            # Not made (the drive refused it): say so on flash before the shift documents,
            # so a cut among them finds FAILED, not a stale BEGUN.
            self._cancel_quietly()
            self._journal_failed(rid, "shift_over_24h: reopening the shift", True)
            self._begun_rid = None
            self._ensure_shift(True)
            seen = []
            made, at = self._receipt_document(rid, norm, seen)
        shift = self.counters.shift
        number = made.get("receipt_number")
        if number is not None:
            extra = [(1038, shift), (1042, number), (1054, op), (1020, total)]
            self._image(doc_type, made, at, extra, shift, op, total)
        self._journal_made(
            rid, doc_type, made["fd"], made["fp"], shift, made.get("receipt_number") or 0
        )
        self._count(made["fd"], doc_type, op, total, seen)
        r = self._made_result(rid, _KIND_OF_DOC[doc_type], made, at, shift)
        r["operation"] = op
        r["total"] = total
        r["qr"] = qr_text(at, total, self.fn, made["fd"], made["fp"], op)
        self._keep(r)
        if original is not None:
            r["original"] = original
        return r

    def _keep(self, r: dict) -> None:
        # A made receipt's result as _entry_result gives it, kept in memory for a duplicate
        # of its request (the fleet re-sends a command it saw no ack for): no 40h per repeat.
        kept: dict = {}
        for k in _KEPT_KEYS:
            if k in r:
                kept[k] = r[k]
        rid = r["id"]
        order = self._kept_order
        if rid not in self._kept:
            order.append(rid)
        self._kept[rid] = kept
        while len(order) > _KEPT_MAX:
            del self._kept[order.pop(0)]

    def _kept_result(self, e: "Entry") -> dict | None:
        # The kept result of a journalled MADE request, if it is that document on this drive.
        r = self._kept.get(e.rid)
        if r is None or r["fd"] != e.fd or r["fn"] != self.fn or r["fp"] != e.fp:
            return None
        return dict(r)

    def _receipt_document(self, rid: str, norm: dict, seen: list) -> tuple:
        # 15h or 17h, the schema's fields streamed with 07h (the counters' tags kept in
        # `seen` on the way), 16h -> (the make answer, the document time).
        doc_type, op, total = schema.closing(norm)
        drive = self.drive
        identity = self._user_identity()
        marks = self._check_marks(norm)
        at = self._at()
        if doc_type == DOC_CORRECTION:
            begin = drive.correction_receipt_begin
        else:
            begin = drive.receipt_begin
        data = _with_identity(identity, _observed(schema.fields(norm), seen))
        made = self._document(
            rid,
            doc_type,
            at,
            lambda: begin(at),
            data if marks is None else (lambda: self._send_marked(data, marks)),
            lambda: drive.receipt_make(op, total, at),
        )
        return made, at

    def _check_marks(self, norm: dict) -> dict | None:
        # Each marked item's code checked in the drive (B1h) and the result saved (B2h),
        # the table of saved results cleared first (B3h) -> {item index: the marking tags
        # its 1059 carries}, None without marked items. A checked code the drive finds
        # negative (2004 bit 0 set, bit 1 clear) refuses the sale, per item, unless the
        # request says allow_negative_marking; a type the drive does not check (2100 other
        # than 2 and 4) passes unchecked [rec: the marking system's online check, B5h/B6h,
        # is not part of the flow yet].
        found = list(schema.marked(norm))
        if not found:
            return None
        drive = self.drive
        drive.marking_clear()
        marks: dict = {}
        errs: list = []
        for i, code, ctype, status in found:
            checked = drive.marking_check(ctype, code.encode())
            result = checked["result"]
            drive.marking_save(True)
            if result & _KM_CHECKED and not result & _KM_POSITIVE:
                if not norm.get("allow_negative_marking"):
                    values.err(
                        errs,
                        "items[%d].marking" % i,
                        "marking_negative",
                        "ФН: код маркировки не прошёл проверку (результат %d, причина %d)"
                        % (result, checked["reason"]),
                    )
            marks[i] = [
                (2000, code),
                (2100, ctype),
                (2102, 0),
                (2106, result),
                (2110, status),
            ]
        if errs:
            drive.marking_clear()
            raise RequestRefused(errs)
        return marks

    def _send_marked(self, fields: "Iterable[tuple]", marks: dict) -> None:
        # The receipt's TLVs in order: runs of ordinary fields with 07h, each marked item
        # (its 1059 with the marking tags) with B7h (§1.7: instead of 07h).
        drive = self.drive
        run: list = []
        i = 0
        for f in fields:
            if f[0] == 1059:
                extra = marks.get(i)
                i += 1
                if extra is not None:
                    if run:
                        drive.send_data(run)
                        run = []
                    drive.marking_send_data(_B7_EXTRA, [(1059, f[1] + extra)])
                    continue
            run.append(f)
        if run:
            drive.send_data(run)

    def _user_identity(self) -> list:
        # 1018 (user INN) and 1037 (RNM) go into every receipt (FFD 1.2; the drive adds
        # them to registration and closing reports only, docs/simulator.md): from the
        # last registration (43h, fixed width as the drive keeps them), read once.
        ident = self._identity
        if ident is None:
            reg = self.drive.registration_totals()
            ident = [(1018, reg["inn"]), (1037, reg["rnm"])]
            self._identity = ident
        return ident

    def _check_original(self, norm: dict, original: dict) -> None:
        # A return references its original receipt (reference peers §2.9 check 24): on this
        # drive it must exist (40h), be a receipt of the operation returned, and not be
        # smaller than the return.
        fn = original.get("fn")
        if fn is not None and fn != self.fn:
            return  # made on another drive: the fleet checked it against its store
        fd = original["fd"]
        try:
            doc = self.drive.find_document(fd)
        except DriveError as x:
            if x.code != _E_NO_DATA:
                raise
            raise RequestRefused([_e("original.fd", "not_found", "Исходный чек не найден в ФН")])
        t = doc["document_type"] & _TYPE_MASK
        rec = doc["record"]
        if rec is None or ctr.row_index(t, 1) < 0 or ctr.row_index(t, 1) > 3:
            raise RequestRefused(
                [_e("original.fd", "not_a_receipt", "ФД %d — не кассовый чек" % fd)]
            )
        if rec["operation"] != norm["operation"] - 1:
            raise RequestRefused(
                [
                    _e(
                        "original.fd",
                        "operation",
                        "Исходный чек — не тот признак расчёта (%d)" % rec["operation"],
                    )
                ]
            )
        if rec["total_kop"] < norm["total"]:
            raise RequestRefused(
                [
                    _e(
                        "total",
                        "exceeds_original",
                        "Возврат больше исходного чека (%d коп.)" % rec["total_kop"],
                    )
                ]
            )

    # ---- the document cycle -------------------------------------------------------------

    def _document(
        self,
        rid: str | None,
        doc_type: int,
        at: tuple | None,
        begin: "Callable[[], object]",
        data: "Iterable[tuple] | Callable[[], None] | None",
        make: "Callable[[], dict]",
    ) -> dict:
        # journal.begun (synced) -> «Начать …» -> 07h (`data`: fields, or a function that
        # sends them, for B7h) -> «Сформировать …». On a failure
        # before the make the document is cancelled (06h) and the error raised; the make
        # itself is the driver's business (never resent: NotMade / OutcomeUnknown).
        st = self._status()
        if rid is not None:
            self.journal.begun(rid, doc_type, st["last_fd"])
            self._begun_rid = rid
        drive = self.drive
        self._sent = None
        capture = self.images is not None and doc_type in docimage.KINDS
        if capture:
            drive.capture = bytearray()
        try:
            try:
                begin()
                if callable(data):
                    data()
                elif data is not None:
                    drive.send_data(data)
            except RegisterError:
                self._cancel_quietly()
                raise
            made: dict = make()
            if capture and not made.get("recovered"):
                self._sent = drive.capture  # None: over the driver's capture_limit
        finally:
            if capture:
                drive.capture = None
        self._made(doc_type, made["fd"], at)
        return made

    def _image(
        self,
        doc_type: int,
        made: dict,
        at: tuple,
        extra: list,
        shift: int,
        operation: int | None = None,
        total: int | None = None,
    ) -> None:
        # The `doc` event's image of the document just made (firmware/docimage.py).
        data = self._sent
        self._sent = None
        if data is None or self.images is None or not self.fn:
            return
        fd = made["fd"]
        fp = made["fp"]
        raw = docimage.build(doc_type, self.fn, fd, fp, at, extra, bytes(data))
        img = docimage.Image(doc_type, self.fn, fd, fp, at, raw, shift, operation, total)
        self.images.add(img)

    def _ready(self, phases: bytes = _FISCAL) -> dict:
        # Before any document: no request left unknown, the drive in the right phase.
        rid = self._unsettled
        if rid is not None:
            e = self.journal.get(rid)
            if e is None or e.step != BEGUN:
                self._unsettled = None
            else:
                r = self._settle(e, self._status(True))
                if r is not None and r["status"] == "unknown":
                    raise RequestRefused(
                        [_e("", "outcome_pending", "Ждём решения по запросу %s" % rid)], True
                    )
                self._unsettled = None
                self._catch_up()
        st = self._status()
        if st["phase"] not in phases:
            raise WrongState([_e("", "phase", "ФН не в нужной фазе: %d (§1.5)" % st["phase"])])
        return st

    def _catch_up(self) -> None:
        st = self._status()
        if st["last_fd"] > self.counters.last_fd:
            self._replay(self.counters.last_fd + 1, st["last_fd"])

    # ---- shifts ---------------------------------------------------------------------------

    def _shift_due(self) -> bool:
        c = self.counters
        st = self._status()
        if not c.open or c.opened < 0 or c.shift == 0 or not st["shift_open"]:
            return True
        limit = c.opened + _DAY - self.settings["shift_margin_s"]
        return local_seconds(self._now()) >= limit

    def _ensure_shift(self, force: bool = False) -> None:
        # Open the shift before the first document; close and reopen it before 24 h.
        st = self._status()
        cashier = self.settings["cashier"]
        if st["shift_open"]:
            if not force and not self._shift_due():
                return
            self._auto.append(self._close_shift(None, cashier))
        self._auto.append(self._open_shift(None, cashier))

    def _shift_fields(self, cashier: dict | None, opening: bool) -> list:
        # Shift reports and the settlement report (FFD 1.2): the user's requisites, cashier,
        # 1188/1189 (opening), 1209.
        p = self.profile or {}
        out = []
        for tag, key in ((1048, "user_name"), (1009, "address"), (1187, "place")):
            if p.get(key):
                out.append((tag, p[key]))
        out.extend(cashier_fields(cashier))
        if opening:
            out.append((1188, self.settings["kkt_version"]))
            out.append((1189, _FFD_12))
        out.append((1209, _FFD_12))
        return out

    def _open_shift(self, rid: str | None, cashier: dict | None) -> dict:
        at = self._at()
        drive = self.drive
        fields, _d = fit_budget(
            self._shift_fields(cashier, True), _BUDGET_SHIFT, (1187, 1009, 1048)
        )
        made = self._document(
            rid,
            DOC_OPEN_SHIFT,
            at,
            lambda: drive.open_shift_begin(at),
            fields,
            drive.open_shift,
        )
        c = self.counters
        if made["fd"] > c.last_fd + 1:
            self._replay(c.last_fd + 1, made["fd"] - 1)
        c.start(self.fn, made["shift_number"], made["fd"], local_seconds(at))
        number = made["shift_number"]
        self._image(DOC_OPEN_SHIFT, made, at, [(1038, number)], number)
        self._save_counters()
        return {
            "kind": "open_shift",
            "fd": made["fd"],
            "fp": made["fp"],
            "shift": made["shift_number"],
            "date_time": iso_local(at),
        }

    def _close_shift(self, rid: str | None, cashier: dict | None) -> dict:
        recon = self._reconcile(True)
        try:
            made, at, dropped = self._close_document(rid, cashier)
        except DriveError as x:
            # A drive that forms 1194 itself refuses it (0Bh, FN-1.1M+ [2nd]): send the
            # report without it from now on.
            if x.code != _E_FORBIDDEN_TAG or not self._totals_tlv:
                raise
            self._totals_tlv = False
            self._alarm("the drive forms 1194 itself: shift totals are no longer sent")
            made, at, dropped = self._close_document(rid, cashier)
        c = self.counters
        if made["fd"] > c.last_fd + 1:
            self._replay(c.last_fd + 1, made["fd"] - 1)
        c.finish(made["fd"])
        self._save_counters()
        r = {
            "kind": "close_shift",
            "fd": made["fd"],
            "fp": made["fp"],
            "shift": made["shift_number"],
            "date_time": iso_local(at),
            "counters": c.summary(),
            "reconciliation": recon,
        }
        if dropped:
            r["omitted_tags"] = dropped
        return r

    def _close_document(self, rid: str | None, cashier: dict | None) -> tuple:
        # 13h, 07h (requisites, cashier, 1194 shift totals), 14h -> (answer, time, dropped).
        drive = self.drive
        at = self._at()
        fields = self._shift_fields(cashier, False)
        if self._totals_tlv:
            fields.append(self.counters.tlv())
        fields, dropped = fit_budget(fields, _BUDGET_SHIFT, (1187, 1009, 1048, 1194))
        made = self._document(
            rid,
            DOC_CLOSE_SHIFT,
            at,
            lambda: drive.close_shift_begin(at),
            fields,
            drive.close_shift,
        )
        return made, at, dropped

    def _reconcile(self, closing: bool) -> dict:
        # The counters against the drive: 10h (shift number, receipts of the shift) and, at
        # a close with audit_on_close, the archive records of the shift's documents (40h).
        # A mismatch is reported, raised as an alarm, and the counters rebuilt from the drive.
        st = self._status()
        p = self.drive.shift_parameters()
        ours = self.counters
        mism = ctr.compare(ours, p)
        audited = 0
        rebuilt = False
        if (closing and self.settings["audit_on_close"]) or mism:
            if not ours.complete or not ours.open or ours.shift != p["shift_number"]:
                self._rebuild(st)  # the shift's opening is not known: find it
                rebuilt = True
            records = []
            first = self.counters.open_fd + 1
            if not self.counters.complete:  # the opening is not in reach: nothing to audit
                first = st["last_fd"] + 1
            for fd in range(first, st["last_fd"] + 1):
                doc = self.drive.find_document(fd)
                rec = doc["record"]
                if rec is not None and "total_kop" in rec:
                    t = doc["document_type"] & _TYPE_MASK
                    records.append((t, rec["operation"], rec["total_kop"]))
                audited += 1
            # the runtime's counters as they were, against the drive's archive
            rows = ctr.tally(records) if self.counters.complete else None
            mism = ctr.compare(ours, p, rows)
        out = {"ok": not mism, "mismatches": mism, "audited": audited}
        if mism:
            self._alarm("counters: %d mismatch(es) with the drive, rebuilt" % len(mism))
            if not rebuilt:
                self._rebuild(st)
            out["rebuilt"] = True
        return out

    def _job_open_shift(self, rid: str, cashier: dict | None) -> dict:
        st = self._ready()
        if st["shift_open"]:
            raise WrongState([_e("", "shift_open", "Смена уже открыта")])
        r = self._open_shift(rid, cashier)
        return self._shift_result(rid, r)

    def _job_close_shift(self, rid: str, cashier: dict | None) -> dict:
        st = self._ready()
        if not st["shift_open"]:
            raise WrongState([_e("", "shift_closed", "Смена уже закрыта")])
        r = self._close_shift(rid, cashier)
        return self._shift_result(rid, r)

    def _shift_result(self, rid: str, r: dict) -> dict:
        self._journal_made(
            rid,
            DOC_OPEN_SHIFT if r["kind"] == "open_shift" else DOC_CLOSE_SHIFT,
            r["fd"],
            r["fp"],
            r["shift"],
            0,
        )
        out = {"id": rid, "status": "made", "fn": self.fn, "number": 0}
        for k in r:
            out[k] = r[k]
        if self._auto:
            out["shift_documents"] = self._auto
        return out

    def _job_report(self, rid: str, cashier: dict | None) -> dict:
        st = self._ready()
        at = self._at()
        drive = self.drive
        fields, _d = fit_budget(
            self._shift_fields(cashier, False), _BUDGET_MEDIUM, (1187, 1009, 1048)
        )
        made = self._document(
            rid,
            DOC_REPORT,
            at,
            lambda: drive.settlement_report_begin(at),
            fields,
            drive.settlement_report_make,
        )
        shift = self.counters.shift
        self._journal_made(rid, DOC_REPORT, made["fd"], made["fp"], shift, 0)
        self._note(made["fd"])
        r = self._made_result(rid, "report", made, at, shift)
        r["unconfirmed_count"] = made.get("unconfirmed_count")
        first = made.get("first_unconfirmed")
        r["first_unconfirmed"] = "%04d-%02d-%02d" % first if first else None
        r["counters"] = self.counters.summary()
        if st["shift_open"]:
            try:
                r["reconciliation"] = self._reconcile(False)
            except RegisterError as x:
                self._st = None
                r["reconciliation"] = {"ok": None, "error": str(x)}
        return r

    def _job_close_fn(self, rid: str, cashier: dict | None) -> dict:
        st = self._ready()
        if st["shift_open"]:
            self._auto.append(self._close_shift(None, cashier))
        rnm = self.drive.registration_totals()["rnm"]
        at = self._at()
        drive = self.drive
        made = self._document(
            rid,
            DOC_CLOSE_FN,
            at,
            drive.close_fiscal_mode_begin,
            cashier_fields(cashier),
            lambda: drive.close_fiscal_mode(rnm, at),
        )
        shift = self.counters.shift
        self._journal_made(rid, DOC_CLOSE_FN, made["fd"], made["fp"], shift, 0)
        self._note(made["fd"])
        return self._made_result(rid, "close_fiscal_mode", made, at, shift)

    # ---- registration (A2h / 07h / A3h, §1.7, §1.9) ----------------------------------------

    def _prepare_registration(self, kind: str, request: dict) -> "Callable[[str], dict]":
        rereg = kind == "reregistration"
        errs: list = []
        _unknown_keys(errs, request, _REREGISTRATION_KEYS if rereg else _REGISTRATION_KEYS)
        g = request.get
        inn = values.inn(errs, "inn", g("inn"))
        if g("inn") is None:
            values.err(errs, "inn", "required", "Обязательное поле")
        serial = values.text(errs, "kkt_serial", g("kkt_serial"), 20, required=True)
        rnm = g("rnm")
        if not isinstance(rnm, str) or len(rnm) != 16 or not values.digits(rnm):
            values.err(errs, "rnm", "format", "РНМ — 16 цифр")
        elif inn is not None and serial is not None and not rnm_ok(rnm, inn, serial):
            values.err(errs, "rnm", "check_digits", "Неверные контрольные цифры РНМ (§3.2)")
        tax = 0
        ts = g("tax_systems")
        if not isinstance(ts, list) or not ts:
            values.err(errs, "tax_systems", "required", "Нужна хотя бы одна СНО")
        else:
            for i in range(len(ts)):
                bit = codes.TAX_SYSTEMS.get(ts[i], -1) if isinstance(ts[i], str) else -1
                if bit < 0:
                    values.err(errs, "tax_systems[%d]" % i, "enum", "Неизвестная СНО")
                tax |= bit if bit > 0 else 0
        modes = g("modes") or []
        table: dict = {}
        for k in WORK_MODES:
            table[k] = WORK_MODES[k] << 8
        for k in EXTENDED_MODES:
            table[k] = EXTENDED_MODES[k]
        both = _names(errs, "modes", modes, table)
        work = both >> 8
        ext = both & 0xFF
        autonomous = bool(work & WORK_MODES["autonomous"])
        ofd_inn = values.inn(errs, "ofd_inn", g("ofd_inn"))
        if ofd_inn is None and g("ofd_inn") is None and not autonomous:
            values.err(errs, "ofd_inn", "required", "ИНН ОФД обязателен (кроме автономного режима)")
        texts = {}
        for key, limit, required in (
            ("user_name", 256, True),
            ("address", 256, True),
            ("place", 256, True),
            ("fns_site", 256, False),
            ("ofd_name", 256, False),
            ("automat_number", 20, bool(ext & EXTENDED_MODES["automat"])),
            ("sender_email", 64, False),
        ):
            texts[key] = values.text(errs, key, g(key), limit, required=required)
        if texts["sender_email"] is not None and not values.email_ok(texts["sender_email"]):
            values.err(errs, "sender_email", "contact", "Неверный адрес электронной почты")
        agent = _names(errs, "agent_types", g("agent_types"), codes.AGENT_TYPES)
        cashier = _cashier(errs, g("cashier"))
        reasons = 0
        fn_replacement = False
        if rereg:
            reasons = _names(errs, "reasons", g("reasons"), _reason_bits())
            rc = g("reason_codes")
            if rc is not None:
                if not values.integer(rc) or rc <= 0 or rc > 0xFFFFFFFF:
                    values.err(errs, "reason_codes", "type", "Коды причин (1205) — целое 1..2^32-1")
                else:
                    reasons |= rc
            if not reasons:
                values.err(errs, "reasons", "required", "Нужна причина перерегистрации (1205)")
            fr = g("fn_replacement")
            if fr is not None and fr is not True and fr is not False:
                values.err(errs, "fn_replacement", "type", "Ожидается true или false")
            fn_replacement = fr is True
        if errs:
            raise RequestRefused(errs)
        reg = {
            "inn": inn,
            "rnm": rnm,
            "serial": serial,
            "tax": tax,
            "tax_names": [x for x in ts if isinstance(x, str)] if isinstance(ts, list) else [],
            "work": work,
            "ext": ext,
            "ofd_inn": ofd_inn or "",
            "texts": texts,
            "agent": agent,
            "cashier": cashier or self.settings["cashier"],
            "reasons": reasons,
            "type": (1 if fn_replacement else 2) if rereg else 0,
        }
        return lambda rid: self._job_registration(rid, kind, reg)

    def _registration_fields(self, reg: dict) -> list:
        t = reg["texts"]
        out = [
            (1048, t["user_name"]),
            (1009, t["address"]),
            (1187, t["place"]),
            (1013, reg["serial"]),
            (1060, t["fns_site"] or self.settings["fns_site"]),
        ]
        if t["ofd_name"]:
            out.append((1046, t["ofd_name"]))
        if t["sender_email"]:
            out.append((1117, t["sender_email"]))
        if t["automat_number"]:
            out.append((1036, t["automat_number"]))
        if reg["agent"]:
            out.append((1057, reg["agent"]))
        out.extend(cashier_fields(reg["cashier"]))
        out.append((1188, self.settings["kkt_version"]))
        out.append((1189, _FFD_12))
        out.append((1209, _FFD_12))
        return out

    def _job_registration(self, rid: str, kind: str, reg: dict) -> dict:
        rtype = reg["type"]
        if rtype == 2:
            st = self._ready(_FISCAL)
            if st["shift_open"]:
                self._auto.append(self._close_shift(None, reg["cashier"]))
        else:
            st = self._ready(_UNREGISTERED)
        at = self._at()
        drive = self.drive
        doc_type = DOC_REREGISTRATION if rtype else DOC_REGISTRATION
        made = self._document(
            rid,
            doc_type,
            at,
            lambda: drive.registration_begin_ext(rtype, _FFD_12),
            self._registration_fields(reg),
            lambda: drive.registration_make_ext(
                reg["inn"],
                reg["rnm"],
                reg["tax"],
                reg["work"],
                reg["ext"],
                reg["ofd_inn"],
                reg["reasons"],
                at,
            ),
        )
        self._journal_made(rid, doc_type, made["fd"], made["fp"], 0, 0)
        self._note(made["fd"])
        self._identity = None  # 1018/1037 read anew (43h) for the next receipt
        self.counters.fn = self.fn
        self._save_counters()
        r = self._made_result(rid, kind, made, at, self.counters.shift)
        r["rnm"] = reg["rnm"]
        r["inn"] = reg["inn"]
        t = reg["texts"]
        ext = reg["ext"]
        prof = {
            "ffd": "1.2",
            "tax_systems": reg["tax_names"],
            "internet_only": bool(reg["work"] & WORK_MODES["internet"]),
            "excise": bool(ext & EXTENDED_MODES["excise"]),
            "agent": bool(reg["agent"]),
            "gambling": bool(ext & EXTENDED_MODES["gambling"]),
            "lottery": bool(ext & EXTENDED_MODES["lottery"]),
            "marking": bool(ext & EXTENDED_MODES["marking"]),
        }
        for key in ("user_name", "address", "place", "sender_email", "automat_number"):
            if t[key]:
                prof[key] = t[key]
        self.profile = prof
        r["profile"] = prof
        return r

    # ---- between requests -----------------------------------------------------------------

    def service(self) -> dict:
        """Periodic duties between requests: decide a request left unknown once the drive
        answers ("settled": its result, to report), close a shift that reaches its 24 h
        limit minus the margin (the next document opens a new one), run the OFD client
        (run_once() or step(); "ofd_events" from its events())."""
        self._auto = []
        out: dict = {"shift_documents": self._auto, "ofd": None, "errors": []}
        rid = self._unsettled
        if rid is not None:
            # a request left unknown: decide it as soon as the drive answers again
            e = self.journal.get(rid)
            try:
                r = self._settle(e, self._status(True)) if e is not None else None
                if e is not None and e.step != BEGUN:
                    out["settled"] = r if r is not None else self._entry_result(e)
                    self._catch_up()
            except RegisterError as x:
                self._st = None
                out["errors"].append(str(x))
        if self.time_source is not None and self._unsettled is None:
            try:
                st = self._status()
                if st["phase"] == _PHASE_FISCAL and st["shift_open"] and self._shift_due():
                    self._auto.append(self._close_shift(None, self.settings["cashier"]))
            except RegisterError as x:
                self._st = None
                out["errors"].append(str(x))
        ofd = self.ofd
        if ofd is not None:
            run = getattr(ofd, "run_once", None) or getattr(ofd, "step", None)
            try:
                out["ofd"] = run() if run is not None else None
            except RegisterError as x:
                self._st = None
                out["errors"].append("ofd: %s" % (x,))
            # The cache stays otherwise: the exchange (20h-26h) changes nothing the runtime
            # reads from 30h (phase 3, the shift, the last FD and time, an open document);
            # the warnings it may change are the agent's, read afresh after an OFD event.
            # (Dropping it after each exchange step cost 3-4 30h a receipt, docs/benchmarks.md)
            events = getattr(ofd, "events", None)
            if events is not None:
                out["ofd_events"] = events()  # delivered / rejected documents, for the fleet
        return out

    def status(self) -> dict:
        """The runtime's state for the fleet's shadow."""
        c = self.counters
        age = None
        if c.open and c.opened >= 0:
            age = local_seconds(self._now()) - c.opened
        drive = self.drive
        out = {
            "fn": self.fn,
            "time_trusted": self.time_source is not None,
            "time_source": self.time_source,
            "shift": {"open": c.open, "number": c.shift, "age_s": age},
            "counters": c.summary(),
            "unsettled": self._unsettled,
            "alarms": list(self.alarms),
            "documents": self.documents,
            "journal": {"live": self.journal.live, "wear": self.journal.wear()},
            "link": {
                "enq_sent": getattr(drive, "enq_sent", 0),
                "resent": getattr(drive, "resent", 0),
                "timed_out": getattr(drive, "timed_out", 0),
                "reconciled": getattr(drive, "reconciled", 0),
            },
        }
        if self.ofd is not None:
            try:
                out["ofd"] = self.ofd.status()
            except RegisterError as x:
                out["ofd"] = {"error": str(x)}
        return out

    def audit(self) -> dict:
        """Check the counters against the drive now (10h and the shift's archive records)."""
        st = self._status(True)
        if not st["shift_open"]:
            return {"ok": True, "mismatches": [], "audited": 0}
        saved = self.settings["audit_on_close"]
        self.settings["audit_on_close"] = True
        try:
            return self._reconcile(True)
        finally:
            self.settings["audit_on_close"] = saved

    def set_profile(self, profile: dict | None) -> list:
        """Replace the register profile; returns its problems (then nothing changes)."""
        errs: list = []
        rules.profile(errs, profile)
        if not errs:
            self.profile = profile
        return error_dicts(errs)


_KEEPS_CACHE = (DOC_OPEN_SHIFT, DOC_CLOSE_SHIFT, DOC_RECEIPT, DOC_CORRECTION, DOC_REPORT)


def _reason_bits() -> dict:
    out = {}
    for k in REASONS:
        out[k] = 1 << REASONS[k]
    return out


def _reason(errors: list) -> str:
    # The journal's failure reason: "code: message", at most MAX_REASON characters.
    if not errors:
        return "failed"
    return ("%s: %s" % (errors[0][1], errors[0][2]))[:MAX_REASON]


def _kind_of(e: "Entry") -> str:
    # The kind from the document type, else from the ref's first letter (digest()).
    t = e.doc_type
    if t is not None and t in _KIND_OF_DOC:
        return _KIND_OF_DOC[t]
    letter = e.ref[:1]
    for k in _KIND_LETTERS:
        if _KIND_LETTERS[k] == letter:
            return k
    return "request"


__all__ = ["KINDS", "SETTINGS", "Register", "digest", "qr_text"]
