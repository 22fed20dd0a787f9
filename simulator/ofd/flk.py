"""The OFD's format-logic check (ФЛК) of a fiscal document, for FFD 1.2.

An OFD checks every document it receives against the format (ФФД) and answers a failing
one with code 14 «Ошибка ФЛК» in tag 1022 ([V] S3 ``FLK_ERROR = 14``, reference §2.4);
the drive still counts it as delivered (simulator/fn/exchange.py). The rules below are
the simulator's, written as tables so they can be read and argued with. Every row says
where it comes from:

    [V]     read in the reference (fiscal-protocols.md) or the public S3 JSON schemas
            (yandex/ofd ``schemas/1.1/*.schema.json`` "required" lists)
    [drive] the drive forms the tag itself (docs/simulator.md "Drive-formed tags"): a
            document without it is broken, whatever the format says
    [R]     recalled from the FFD 1.2 tables (Приказ ЕД-7-20/662@), not re-read: an
            assumption to check against the current tables
    [rec]   our choice where no source says

Severity: ``reject`` fails the document (code 14); ``warn`` is recorded with the accepted
document (the gateway shows it) and fails it only on a server configured ``strict``. The
warn rows are requirements the sources state less firmly (the cashier of a shift report,
absent in automatic mode), listed in docs/ofd.md.

Value lists and VAT totals come from the shared rules (protocol/portable: codes, vat), the
same the fleet and the register apply (DESIGN decision 2).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Final, Literal

from protocol.errors import TlvError
from protocol.portable import codes, vat
from protocol.tags import lookup
from protocol.tlvfast import decode
from protocol.tree import Field

__all__ = [
    "FLK_CODE",
    "RELATIONS",
    "REQUIRED",
    "VALUES",
    "FlkResult",
    "Problem",
    "Relation",
    "Rule",
    "check_document",
]

FLK_CODE: Final = 14  # 1022 «Ошибка форматно-логического контроля» [V] S3, §2.4

Severity = Literal["reject", "warn"]
REJECT: Final[Severity] = "reject"
WARN: Final[Severity] = "warn"

# Document types (§2.2 [V]).
REGISTRATION: Final = frozenset({1, 11})
REREGISTRATION: Final = frozenset({11})
OPEN_SHIFT: Final = frozenset({2})
CLOSE_SHIFT: Final = frozenset({5})
SHIFTS: Final = OPEN_SHIFT | CLOSE_SHIFT
SETTLEMENT: Final = frozenset({21})
CLOSE_FN: Final = frozenset({6})
RECEIPTS: Final = frozenset({3, 4, 31, 41})  # receipt, BSO and their corrections
CORRECTIONS: Final = frozenset({31, 41})
FISCAL: Final = REGISTRATION | SHIFTS | SETTLEMENT | CLOSE_FN | RECEIPTS
ALL_FFD: Final = frozenset({2, 3, 4})  # 1209 codes: 1.05, 1.1, 1.2 (§2.4)
FFD_12: Final = frozenset({4})
FFD_PRE_12: Final = frozenset({2, 3})

_PAYMENT_TAGS: Final = (1031, 1081, 1215, 1216, 1217)  # cash, electronic, prepaid, credit, other


@dataclass(frozen=True)
class Rule:
    """A tag a document (``where="document"``) or each item (``"item"``: 1059) must carry."""

    tag: int
    docs: frozenset[int]
    source: str
    severity: Severity = REJECT
    where: Literal["document", "item"] = "document"
    ffd: frozenset[int] = ALL_FFD
    unless: str = ""  # a named exemption, see _EXEMPT


def _r(
    tag: int,
    docs: frozenset[int],
    source: str,
    *,
    severity: Severity = REJECT,
    where: Literal["document", "item"] = "document",
    ffd: frozenset[int] = ALL_FFD,
    unless: str = "",
) -> Rule:
    return Rule(tag, docs, source, severity, where, ffd, unless)


#: Required tags. One row per (tag, documents); read it as "a <docs> must carry <tag>".
REQUIRED: Final[tuple[Rule, ...]] = (
    # -- every fiscal document: identity and the fiscal sign
    _r(1041, FISCAL, "[V] S3 fiscalDriveNumber; [drive]"),
    _r(1040, FISCAL, "[V] S3 fiscalDocumentNumber; [drive]"),
    _r(1012, FISCAL, "[V] S3 dateTime; [drive]"),
    _r(1077, FISCAL, "[V] S3 fiscalSign; [drive]"),
    # -- registration reports (1, 11): S3 schemas/1.1/fiscalReport "required"
    _r(1018, REGISTRATION, "[V] S3 userInn; [drive]"),
    _r(1037, REGISTRATION, "[V] S3 kktRegId; [drive]"),
    _r(1062, REGISTRATION, "[V] S3 taxationsType; [drive]"),
    _r(1048, REGISTRATION, "[V] S3 user"),
    _r(1013, REGISTRATION, "[V] S3 kktNumber"),
    _r(1021, REGISTRATION, "[V] S3 operator"),
    _r(1187, REGISTRATION, "[V] S3 retailPlace"),
    _r(1009, REGISTRATION, "[R] ФФД 1.2 «адрес расчётов»"),
    _r(1017, REGISTRATION, "[V] S3 ofdInn; [R] not in autonomous mode", unless="autonomous"),
    _r(1290, REGISTRATION, "[R] ФФД 1.2 usage conditions; [drive] S4", ffd=FFD_12),
    _r(1056, REGISTRATION, "[V] S3 encryptionSign; [drive]", ffd=FFD_PRE_12),
    _r(1002, REGISTRATION, "[V] S3 offlineMode; [drive]", ffd=FFD_PRE_12),
    _r(1001, REGISTRATION, "[V] S3 autoMode; [drive]", ffd=FFD_PRE_12),
    _r(1205, REREGISTRATION, "[R] reasons of a re-registration (FFD 1.1+)", ffd=FFD_12),
    _r(1209, REGISTRATION, "[V] S3 fiscalDocumentFormatVer"),
    _r(1188, REGISTRATION, "[V] S3 kktVersion"),
    _r(1189, REGISTRATION, "[V] S3 documentKktVersion"),
    # -- shifts (2, 5), settlement report (21), closing the drive (6)
    _r(1038, SHIFTS | SETTLEMENT, "[drive]"),
    _r(1021, SHIFTS, "[R] cashier (absent only in automatic mode)", severity=WARN),
    _r(1209, SHIFTS, "[R] ФФД 1.2 «номер версии ФФД»"),
    _r(1111, CLOSE_SHIFT, "[drive] documents in the shift"),
    _r(1118, CLOSE_SHIFT, "[drive] receipts in the shift"),
    _r(1097, CLOSE_SHIFT | SETTLEMENT, "[drive] unsent documents"),
    _r(1018, CLOSE_FN, "[drive]"),
    _r(1037, CLOSE_FN, "[drive]"),
    # -- receipts, BSO, corrections (3, 4, 31, 41): S3 schemas/1.1/receipt "required"
    _r(1038, RECEIPTS, "[V] S3 shiftNumber; [drive]"),
    _r(1042, RECEIPTS, "[V] S3 requestNumber; [drive]"),
    _r(1054, RECEIPTS, "[V] S3 operationType; [drive] 16h"),
    _r(1020, RECEIPTS, "[V] S3 totalSum; [drive] 16h"),
    _r(1055, RECEIPTS, "[V] S3 taxationType"),
    _r(1209, RECEIPTS, "[V] S3 fiscalDocumentFormatVer"),
    _r(1059, RECEIPTS, "[R] ФФД 1.2: at least one item"),
    _r(1031, RECEIPTS, "[R] ФФД 1.2 «сумма наличными» (0 allowed)", ffd=FFD_12),
    _r(1081, RECEIPTS, "[R] ФФД 1.2 «сумма безналичными» (0 allowed)", ffd=FFD_12),
    _r(1215, RECEIPTS, "[R] ФФД 1.2 «сумма предоплатой» (0 allowed)", ffd=FFD_12),
    _r(1216, RECEIPTS, "[R] ФФД 1.2 «сумма постоплатой» (0 allowed)", ffd=FFD_12),
    _r(1217, RECEIPTS, "[R] ФФД 1.2 «встречное предоставление» (0 allowed)", ffd=FFD_12),
    _r(1173, CORRECTIONS, "[R] ФФД 1.2 correction type", ffd=FFD_12),
    _r(1174, CORRECTIONS, "[R] ФФД 1.2 correction basis", ffd=FFD_12),
    _r(1037, RECEIPTS, "[V] S3 kktRegId (1.1 schema)"),
    _r(1018, RECEIPTS, "[R] ФФД 1.2 «ИНН пользователя» in a receipt"),
    # -- each item (1059) of a receipt
    _r(1030, RECEIPTS, "[V] S3 items.name", where="item"),
    _r(1023, RECEIPTS, "[V] S3 items.quantity", where="item"),
    _r(1043, RECEIPTS, "[V] S3 items.sum", where="item"),
    _r(1079, RECEIPTS, "[R] ФФД 1.2 price", where="item", ffd=FFD_12),
    _r(1199, RECEIPTS, "[R] ФФД 1.2 VAT rate", where="item", ffd=FFD_12),
    _r(1212, RECEIPTS, "[R] ФФД 1.2 item type", where="item", ffd=FFD_12),
    _r(1214, RECEIPTS, "[R] ФФД 1.2 payment method", where="item", ffd=FFD_12),
    _r(2108, RECEIPTS, "[R] ФФД 1.2 measure (2108)", where="item", ffd=FFD_12),
)

#: Allowed values of coded tags, wherever they appear: tag -> (values, source).
VALUES: Final[dict[int, tuple[frozenset[int], str]]] = {
    1054: (frozenset(codes.OPERATIONS.values()), "[V] §2.4 S1 table 41"),
    1055: (frozenset({1, 2, 4, 8, 16, 32}), "[V] §2.4: one bit of the 1062 mask"),
    1199: (frozenset(vat.CODES), "[V] §2.4 / protocol.portable.vat (2025-2026 codes [R])"),
    1212: (frozenset(codes.ITEM_TYPES), "[V] §2.4 S9"),
    1214: (frozenset(codes.PAYMENT_METHODS.values()), "[V] §2.4 S10"),
    2108: (frozenset(codes.MEASURES), "[V] §2.4 S9"),
    1173: (frozenset(codes.CORRECTION_TYPES.values()), "[V] §2.3 S9"),
    1209: (frozenset({2, 3, 4}), "[V] §2.4"),
}

_EXEMPT: Final[dict[str, Callable[[dict[int, Field]], bool]]] = {
    # 1002 = 1: the register works offline, so there is no OFD INN [R].
    "autonomous": lambda top: _int(top.get(1002)) == 1,
}


@dataclass(frozen=True)
class Problem:
    """One failed rule: where (a tag path like ``1059[2]/2108``), what, and its source."""

    path: str
    message: str
    source: str
    severity: Severity = REJECT

    def __str__(self) -> str:
        """``path: message`` (what a rejection's reason says)."""
        return f"{self.path}: {self.message}"


@dataclass(frozen=True)
class FlkResult:
    """The outcome: ``problems`` reject the document, ``warnings`` do not."""

    ffd: int
    problems: tuple[Problem, ...] = ()
    warnings: tuple[Problem, ...] = field(default=())

    @property
    def ok(self) -> bool:
        """True when nothing rejects the document."""
        return not self.problems

    @property
    def reasons(self) -> tuple[str, ...]:
        """The problems as text, for code 14 answers and the gateway."""
        return tuple(str(p) for p in self.problems)


# ---- relations between values (the "logic" of ФЛК) ------------------------------------------


@dataclass(frozen=True)
class Relation:
    """A check across values of a document (sums, VAT totals)."""

    name: str
    docs: frozenset[int]
    source: str
    check: Callable[[Field, int], Iterable[tuple[str, str]]]  # -> (path, message)


def _int(f: Field | None) -> int | None:
    return f.value if f is not None and isinstance(f.value, int) else None


def _items(doc: Field) -> list[tuple[int, Field]]:
    return [(i, f) for i, f in enumerate((f for f in doc.children if f.tag == 1059), 1)]


def _money(f: Field | None) -> int:
    v = _int(f)
    return v if v is not None else 0


def _payments_sum(doc: Field, ffd: int) -> Iterable[tuple[str, str]]:
    total = _int(doc.find(1020))
    if total is None:
        return
    paid = sum(_money(doc.find(tag)) for tag in _PAYMENT_TAGS)
    if paid != total:
        yield "1020", f"сумма оплат {paid} коп. (1031+1081+1215+1216+1217) ≠ итогу {total} коп."


def _items_sum(doc: Field, ffd: int) -> Iterable[tuple[str, str]]:
    total = _int(doc.find(1020))
    items = _items(doc)
    if total is None or not items:
        return
    summed = sum(_money(item.find(1043)) for _, item in items)
    if summed != total:
        yield "1020", f"сумма предметов расчёта {summed} коп. (Σ1043) ≠ итогу {total} коп."


_ITEM_SUM_TOLERANCE: Final = 1  # kopeck [R]: rounding of price × quantity


def _item_sums(doc: Field, ffd: int) -> Iterable[tuple[str, str]]:
    for i, item in _items(doc):
        price, qty, amount = item.find(1079), item.find(1023), item.find(1043)
        if price is None or qty is None or amount is None:
            continue
        if not isinstance(qty.value, Decimal) or not isinstance(price.value, int):
            continue
        if qty.value <= 0:
            yield f"1059[{i}]/1023", "количество должно быть больше нуля"
            continue
        expected = int((price.value * qty.value).quantize(Decimal(1), rounding=ROUND_HALF_UP))
        if abs(expected - _money(amount)) > _ITEM_SUM_TOLERANCE:
            yield (
                f"1059[{i}]/1043",
                f"стоимость {_money(amount)} коп. ≠ цена × количество = {expected} коп.",
            )


def _vat_totals(doc: Field, ffd: int) -> Iterable[tuple[str, str]]:
    # Each rate used by an item needs its receipt total: 1102..1107 (protocol.portable.vat
    # TOTAL_TAGS, §2.3 [V]) or, for the 2025-2026 rates, a 1115 {1119 {1199, 1120}} entry
    # ([2nd] as protocol/portable/vat.py says). "vat" totals sum the items' 1200, "sum"
    # totals (0 %, без НДС) their 1043. An item at a taxed rate carries its 1200 [rec: the
    # shared receipt schema always sends it].
    sums: dict[int, int] = {}
    for i, item in _items(doc):
        code = _int(item.find(1199))
        if code is None:
            continue
        kind = vat.TOTAL_TAGS[code][1] if code in vat.TOTAL_TAGS else "vat"
        if kind == "vat" and item.find(1200) is None:
            yield f"1059[{i}]/1200", "нет суммы НДС за предмет расчёта при ставке с НДС"
        sums[code] = sums.get(code, 0) + _money(item.find(1200 if kind == "vat" else 1043))
    grouped: dict[int, int] = {}
    for entry in (f for f in doc.children if f.tag == vat.GROUPED_TOTALS_TAG):
        for row in entry.children:
            code = _int(row.find(1199))
            if row.tag == vat.GROUPED_TOTAL_TAG and code is not None:
                grouped[code] = _money(row.find(vat.GROUPED_SUM_TAG))
    for code, expected in sorted(sums.items()):
        if code in vat.TOTAL_TAGS:
            tag = vat.TOTAL_TAGS[code][0]
            given = _int(doc.find(tag))
            where = str(tag)
        else:
            tag = vat.GROUPED_TOTALS_TAG
            given = grouped.get(code)
            where = f"{tag}/{vat.GROUPED_TOTAL_TAG}[1199={code}]"
        label = vat.LABELS.get(code, str(code))
        if given is None:
            yield where, f"нет итога по ставке «{label}» при предметах с этой ставкой"
        elif given != expected:
            yield where, f"итог по ставке «{label}» {given} коп. ≠ сумме по предметам {expected}"


#: Relations checked on receipts.
RELATIONS: Final[tuple[Relation, ...]] = (
    Relation("payments", RECEIPTS, "[R] ФФД 1.2: Σ payments = 1020; schema rule", _payments_sum),
    Relation("items", RECEIPTS, "[R] ФФД 1.2: Σ 1043 = 1020", _items_sum),
    Relation("item_sum", RECEIPTS, "[R] 1043 = 1079 × 1023 (±1 kopeck)", _item_sums),
    Relation("vat", RECEIPTS, "[V] §2.3 VAT total tags; [rec] values", _vat_totals),
)


# ---- the check ----------------------------------------------------------------------------------


def _ffd_of(doc: Field) -> int:
    # 1209 when the document has it; otherwise FFD 1.2, the version Oblako registers [rec].
    v = _int(doc.find(1209))
    return v if v is not None and v in ALL_FFD else 4


def _name(tag: int) -> str:
    d = lookup(tag)
    return f"{tag} «{d.ru_name}»" if d is not None else str(tag)


def _values(fields: Sequence[Field], path: str) -> Iterable[tuple[str, str, str]]:
    for f in fields:
        here = f"{path}/{f.tag}" if path else str(f.tag)
        if f.tag in VALUES and isinstance(f.value, int):
            allowed, source = VALUES[f.tag]
            if f.value not in allowed:
                yield here, f"недопустимое значение {f.value} реквизита {_name(f.tag)}", source
        if f.children:
            yield from _values(f.children, here)


def check_document(stlv: bytes, *, strict: bool = False) -> FlkResult:
    """Check one document STLV (as the drive signed it) against the rules above.

    ``strict`` turns warnings into problems. A document the TLV registry cannot decode
    fails with the decoder's reason (tag path and byte offset).
    """
    try:
        decoded = decode(stlv)
    except TlvError as e:
        return FlkResult(4, (Problem("-", f"документ не разбирается: {e}", "[V] §2.1"),))
    if len(decoded) != 1 or not isinstance(decoded[0].value, tuple):
        return FlkResult(4, (Problem("-", "документ — не один STLV", "[V] §2.2"),))
    doc = decoded[0]
    doc_type = doc.tag
    ffd = _ffd_of(doc)
    found: list[Problem] = []
    if doc_type not in FISCAL:
        found.append(Problem(str(doc_type), f"неизвестный тип документа {doc_type}", "[V] §2.2"))
        return FlkResult(ffd, tuple(found))
    top = {f.tag: f for f in reversed(doc.children)}  # the first of repeated tags wins
    items = _items(doc)
    for rule in REQUIRED:
        if doc_type not in rule.docs or ffd not in rule.ffd:
            continue
        if rule.unless and _EXEMPT[rule.unless](top):
            continue
        severity = REJECT if strict else rule.severity
        if rule.where == "document":
            if rule.tag not in top:
                msg = f"нет обязательного реквизита {_name(rule.tag)}"
                found.append(Problem(str(rule.tag), msg, rule.source, severity))
            continue
        for i, item in items:
            if item.find(rule.tag) is None:
                msg = f"нет обязательного реквизита {_name(rule.tag)} предмета расчёта"
                found.append(Problem(f"1059[{i}]/{rule.tag}", msg, rule.source, severity))
    for path, message, source in _values(doc.children, ""):
        found.append(Problem(path, message, source))
    for relation in RELATIONS:
        if doc_type in relation.docs:
            for path, message in relation.check(doc, ffd):
                found.append(Problem(path, message, relation.source))
    problems = tuple(p for p in found if p.severity == REJECT)
    warnings = tuple(p for p in found if p.severity == WARN)
    return FlkResult(ffd, problems, warnings)
