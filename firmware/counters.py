# firmware/counters.py: shift totals (FFD 1194 and its counters 1129-1133) kept by the runtime.
# MIT license; Oblako register runtime.
#
# Pure and portable: no I/O. firmware/register.py feeds it every receipt and correction it
# makes (the TLVs it streamed to the drive, seen on the way) and every other document it
# knows of, persists it (dump/load) and reconciles it with the drive.
#
# What a shift's totals are, FFD 1.1/1.2 (reference fiscal-protocols.md §2.3 [2nd] S5, the
# rows of protocol/tagdata.py):
#
#   1194 Счётчики итогов смены (STLV <= 708)
#     1134 чеки и чеки коррекции со всеми признаками расчёта (u32)
#     1129 / 1130 / 1131 / 1132   per 1054 = 1 приход / 2 возврат прихода / 3 расход /
#                                 4 возврат расхода (STLV <= 116), each with
#         1135 count, 1201 total, 1136 cash, 1138 electronic, 1218 prepayment, 1219 credit,
#         1220 provision, 1139 VAT 20 %, 1140 VAT 10 %, 1141 VAT 20/120, 1142 VAT 10/110,
#         1143 sum at VAT 0 %, 1183 sum without VAT
#     1133 corrections (STLV <= 216): 1144 count, then per operation 1145 приход, 1232
#          возврат прихода, 1146 расход, 1233 возврат расхода (STLV <= 32), same members
#
# Each receipt adds to its row what its own tags say: 1020 total (16h), 1031 cash, 1081
# electronic, 1215 prepayment, 1216 credit, 1217 provision (the payment kinds), 1102 / 1103 /
# 1106 / 1107 VAT sums, 1104 sum at 0 %, 1105 sum without VAT. The 2025-2026 rates (codes 7-12)
# travel in 1115 {1119 {1199, 1120}} (docs/receipt-schema.md, unverified); no counter tag for
# them is known, so their sums are kept in `other` and reported, never put in 1194.
#
# Members that would take an STLV past the registry's maximum length are left out, least
# important last in COLUMN_TAGS order [rec]: those maxima are [2nd] and look small (1145:
# 32 bytes). Zero sums are left out; count and total always go in [rec].
#
# Exactly once: every document carries its FD number, and `last_fd` is the watermark of the
# documents already accounted for, so feeding the same document twice changes nothing.
import json

from firmware.compat import const
from firmware.tlv import field_size, spec

# Columns of a row, in the order they go into a counter STLV (and are dropped from its end).
C_COUNT = const(0)  # 1135
C_TOTAL = const(1)  # 1201
COLUMNS = const(13)
COLUMN_TAGS = (1135, 1201, 1136, 1138, 1218, 1219, 1220, 1139, 1140, 1141, 1142, 1143, 1183)
COLUMN_NAMES = (
    "count",
    "total",
    "cash",
    "electronic",
    "prepayment",
    "credit",
    "provision",
    "vat20",
    "vat10",
    "vat120",
    "vat110",
    "vat0_sum",
    "novat_sum",
)
# A receipt's top-level tag -> the column it adds to (the payments and VAT totals of the
# shared schema's fields(), firmware/shared/receipt.py).
RECEIPT_COLUMNS = {
    1031: 2,
    1081: 3,
    1215: 4,
    1216: 5,
    1217: 6,
    1102: 7,
    1103: 8,
    1106: 9,
    1107: 10,
    1104: 11,
    1105: 12,
}
_GROUPED = const(1115)  # Суммы НДС чека: 1119 {1199 code, 1120 sum}
_GROUP = const(1119)
# Every top-level tag the counters read from a receipt (the register keeps only these).
COUNTED_TAGS = {1054: 1, 1020: 1, 1115: 1}
for _t in RECEIPT_COLUMNS:
    COUNTED_TAGS[_t] = 1

OPERATIONS = ("sale", "sale_return", "expense", "expense_return")  # 1054 = 1..4
ROW_TAGS = (1129, 1130, 1131, 1132)  # receipts by operation
CORRECTION_TAGS = (1145, 1232, 1146, 1233)  # corrections by operation (inside 1133)
_SHIFT_TOTALS = const(1194)
_ALL_COUNT = const(1134)
_CORRECTIONS = const(1133)
_CORRECTION_COUNT = const(1144)
_ROWS = const(8)  # 0..3 receipts by operation, 4..7 corrections by operation

# Document types (reference §2.2; the drive's 40h type without FFD bits).
_RECEIPTS = (3, 4)  # receipt, BSO
_CORRECTION_DOCS = (31, 41)  # correction receipt, correction BSO
FORMAT = const(1)  # dump() format version


def _zero_rows() -> list:
    return [[0] * COLUMNS for _ in range(_ROWS)]


def row_index(doc_type: int, operation: int) -> int:
    """Row of a receipt (doc 3/4) or correction (31/41) of operation 1..4; -1 otherwise."""
    if operation < 1 or operation > 4:
        return -1
    if doc_type in _RECEIPTS:
        return operation - 1
    if doc_type in _CORRECTION_DOCS:
        return operation + 3
    return -1


def _max_len(tag: int) -> int:
    s = spec(tag)
    return s[1] if s is not None else 0xFFFF


def _fit(tag: int, members: list) -> tuple:
    # (tag, members that fit the tag's maximum length, in order), members are fields.
    limit = _max_len(tag)
    out = []
    used = 0
    for f in members:
        n = field_size(f)
        if used + n <= limit:
            out.append(f)
            used += n
    return (tag, out)


class Counters:
    """The totals of one shift, with the FD watermark that makes feeding idempotent.

    fn: the drive's number; shift: the shift number (1038); open: the shift is open;
    open_fd: its opening document; opened: the opening's local time in seconds (DATE_TIME
    as if UTC, -1 unknown); last_fd: the last document accounted for; documents: documents
    of the shift seen so far (its opening included); complete: every document of the shift
    was accounted for (False after a rebuild that could not find the opening); rows: 8 rows
    of COLUMNS ints (0-3 receipts, 4-7 corrections, by operation); other: {"row:code": sum}
    for VAT rates without a counter tag.
    """

    def __init__(self) -> None:
        self.fn = ""
        self.shift = 0
        self.open = False
        self.open_fd = 0
        self.opened = -1
        self.last_fd = 0
        self.documents = 0
        self.complete = True
        self.rows = _zero_rows()
        self.other: dict = {}

    # -- feeding ------------------------------------------------------------------------------

    def start(self, fn: str, shift: int, fd: int, opened: int) -> None:
        """A shift opened with document fd at local time `opened`: totals start from zero."""
        self.fn = fn
        self.shift = shift
        self.open = True
        self.open_fd = fd
        self.opened = opened
        self.last_fd = fd
        self.documents = 1
        self.complete = True
        self.rows = _zero_rows()
        self.other = {}

    def finish(self, fd: int) -> bool:
        """The shift closed with document fd (its totals stay until the next start)."""
        if fd <= self.last_fd:
            return False
        self.last_fd = fd
        if self.open:
            self.documents += 1
        self.open = False
        return True

    def note(self, fd: int) -> bool:
        """Another document (report, registration...) was made: move the watermark."""
        if fd <= self.last_fd:
            return False
        self.last_fd = fd
        if self.open:
            self.documents += 1
        return True

    def apply(self, fd: int, doc_type: int, operation: int, total: int, fields: list) -> bool:
        """Add receipt or correction fd (doc_type 3/4/31/41, 1054 operation, 1020 total) and
        its top-level fields (tag, value) as streamed to the drive; False if fd was already
        accounted for (or is not a receipt)."""
        if fd <= self.last_fd:
            return False
        r = row_index(doc_type, operation)
        self.last_fd = fd
        if self.open:
            self.documents += 1
        if r < 0:
            return False
        row = self.rows[r]
        row[C_COUNT] += 1
        row[C_TOTAL] += total
        for f in fields:
            tag = f[0]
            col = RECEIPT_COLUMNS.get(tag)
            if col is not None:
                row[col] += f[1]
            elif tag == _GROUPED:
                for g in f[1]:
                    if g[0] != _GROUP:
                        continue
                    code = -1
                    amount = 0
                    for m in g[1]:
                        if m[0] == 1199:
                            code = m[1]
                        elif m[0] == 1120:
                            amount = m[1]
                    key = "%d:%d" % (r, code)
                    self.other[key] = self.other.get(key, 0) + amount
        return True

    # -- reading ------------------------------------------------------------------------------

    def receipts(self) -> int:
        """Receipts and corrections of every operation (1134)."""
        n = 0
        for row in self.rows:
            n += row[C_COUNT]
        return n

    def corrections(self) -> int:
        """Corrections of every operation (1144)."""
        n = 0
        for r in range(4, _ROWS):
            n += self.rows[r][C_COUNT]
        return n

    def tlv(self) -> tuple:
        """The 1194 field (firmware/tlv.py form) for the shift-close report."""
        out = [(_ALL_COUNT, self.receipts())]
        for r in range(4):
            if self.rows[r][C_COUNT]:
                out.append(_fit(ROW_TAGS[r], _members(self.rows[r])))
        if self.corrections():
            inner = [(_CORRECTION_COUNT, self.corrections())]
            for r in range(4):
                row = self.rows[r + 4]
                if row[C_COUNT]:
                    inner.append(_fit(CORRECTION_TAGS[r], _members(row)))
            out.append(_fit(_CORRECTIONS, inner))
        return _fit(_SHIFT_TOTALS, out)

    def summary(self) -> dict:
        """A plain dict for results and status: numbers by operation name, receipts and
        corrections apart; only rows with documents."""
        ops: dict = {}
        corr: dict = {}
        for r in range(_ROWS):
            row = self.rows[r]
            if not row[C_COUNT]:
                continue
            d = {}
            for c in range(COLUMNS):
                if row[c] or c <= C_TOTAL:
                    d[COLUMN_NAMES[c]] = row[c]
            other = {}
            for key in self.other:
                if key.split(":")[0] == str(r):
                    other[key.split(":")[1]] = self.other[key]
            if other:
                d["vat_other"] = other
            (ops if r < 4 else corr)[OPERATIONS[r % 4]] = d
        return {
            "fn": self.fn,
            "shift": self.shift,
            "open": self.open,
            "open_fd": self.open_fd,
            "last_fd": self.last_fd,
            "documents": self.documents,
            "receipts": self.receipts(),
            "complete": self.complete,
            "operations": ops,
            "corrections": corr,
        }

    # -- persistence --------------------------------------------------------------------------

    def dump(self) -> bytes:
        """The state as compact JSON bytes (load() reads it back)."""
        return json.dumps(
            {
                "v": FORMAT,
                "fn": self.fn,
                "shift": self.shift,
                "open": 1 if self.open else 0,
                "open_fd": self.open_fd,
                "opened": self.opened,
                "last_fd": self.last_fd,
                "docs": self.documents,
                "complete": 1 if self.complete else 0,
                "rows": self.rows,
                "other": self.other,
            },
            separators=(",", ":"),
        ).encode()


def _members(row: list) -> list:
    out = [(COLUMN_TAGS[C_COUNT], row[C_COUNT]), (COLUMN_TAGS[C_TOTAL], row[C_TOTAL])]
    for c in range(2, COLUMNS):
        if row[c]:
            out.append((COLUMN_TAGS[c], row[c]))
    return out


def _int(v: object) -> bool:
    return type(v) is int and v >= -1


def load(data: bytes | None) -> Counters | None:
    """Counters from dump() bytes; None when absent, damaged or of another format."""
    if not data:
        return None
    try:
        d = json.loads(data)
    except ValueError:  # UnicodeError is a ValueError on both ports
        return None
    if type(d) is not dict or d.get("v") != FORMAT:
        return None
    c = Counters()
    try:
        fn = d["fn"]
        rows = d["rows"]
        other = d["other"]
        nums = (d["shift"], d["open_fd"], d["opened"], d["last_fd"], d["docs"])
        flags = (d["open"], d["complete"])
    except KeyError:
        return None
    if type(fn) is not str or type(rows) is not list or type(other) is not dict:
        return None
    for v in nums:
        if not _int(v):
            return None
    for v in flags:
        if v != 0 and v != 1:
            return None
    if len(rows) != _ROWS:
        return None
    for row in rows:
        if type(row) is not list or len(row) != COLUMNS:
            return None
        for v in row:
            if type(v) is not int or v < 0:
                return None
    for key in other:
        if type(other[key]) is not int:
            return None
    c.fn = fn
    c.shift, c.open_fd, c.opened, c.last_fd, c.documents = nums
    c.open = flags[0] == 1
    c.complete = flags[1] == 1
    c.rows = rows
    c.other = other
    return c


# ---- reconciliation with the drive ---------------------------------------------------------


def tally(records: list) -> list:
    """Rows of (count, total) from the drive's archive records [(doc_type, operation,
    total)] (40h, §1.6a): what the drive says the shift's receipts were."""
    rows = [[0, 0] for _ in range(_ROWS)]
    for doc_type, operation, total in records:
        r = row_index(doc_type, operation)
        if r >= 0:
            rows[r][0] += 1
            rows[r][1] += total
    return rows


def _name(r: int) -> str:
    return ("" if r < 4 else "correction.") + OPERATIONS[r % 4]


def compare(c: Counters, shift_params: dict | None = None, drive_rows: list | None = None) -> list:
    """Mismatches between the runtime's counters and the drive: [{"what", "runtime",
    "drive"}]. shift_params: the drive's 10h answer (shift number, receipts in the shift:
    receipts and corrections both count, §1.6); drive_rows: tally() of the shift's archive."""
    out = []
    if shift_params is not None:
        if shift_params["shift_number"] != c.shift:
            out.append({"what": "shift", "runtime": c.shift, "drive": shift_params["shift_number"]})
        elif shift_params["receipt_number"] != c.receipts() & 0xFFFF:
            out.append(
                {
                    "what": "receipts",
                    "runtime": c.receipts(),
                    "drive": shift_params["receipt_number"],
                }
            )
    if drive_rows is not None:
        for r in range(_ROWS):
            ours = c.rows[r]
            theirs = drive_rows[r]
            if ours[C_COUNT] != theirs[0]:
                out.append(
                    {"what": _name(r) + ".count", "runtime": ours[C_COUNT], "drive": theirs[0]}
                )
            if ours[C_TOTAL] != theirs[1]:
                out.append(
                    {"what": _name(r) + ".total", "runtime": ours[C_TOTAL], "drive": theirs[1]}
                )
    if not c.complete:
        out.append({"what": "complete", "runtime": False, "drive": True})
    return out
