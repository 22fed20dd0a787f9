# protocol/portable/vat.py: VAT rates (FFD tag 1199) with their dated validity, which rates a
# tax system may use, and the VAT arithmetic, in the MicroPython subset.
#
# Days are YYYYMMDD integers. The day a rate is chosen by (the "VAT day") is the day of the
# settlement, except where the law ties the rate to an earlier settlement: a return or a
# correction of a settlement, and the payment of a credit, take the day of the ORIGINAL
# settlement (receipt.py decides which day to pass). Change a rule here, in one row.
#
# Sources (see docs/receipt-schema.md for the table):
#   1..6   FFD table 8 of ЕД-7-20/662@ [V] reference fiscal-protocols.md §2.4 (OrangeData
#          Tax.java passes FFD codes). Codes 1 and 3 meant 18 % and 18/118 before
#          2019-01-01 (the rate changed by 303-ФЗ; the codes were kept) [M].
#   7..10  5 %, 7 %, 5/105, 7/107 for УСН payers: order ЕД-7-20/1038@ of 15.11.2024, in force
#          from 2025-01-01 (176-ФЗ) [V arhimed-retail.ru; several SDKs list the same codes].
#   11, 12 22 %, 22/122: order ЕД-7-20/1050@ of 08.12.2025 added them to table 8 [V
#          klerk.ru/buh/news/674683]; the rate is 22 % from 2026-01-01 (425-ФЗ). The order
#          itself applies from 2026-01-05 and FNS told inspectors not to check the new rate
#          in receipts in Q1 2026 (letter АБ-4-20/11176@) [V same page]: we accept the codes
#          from 2026-01-01, the day the rate applies.
#   20 %   still the rate of a settlement made before 2026-01-01: a 2026 return or correction
#          of such a settlement, and the 2026 payment of goods handed over on credit in 2025,
#          keep 20 % (20/120) (FNS letter 15.12.2025 № АБ-4-20/11248@ [V as quoted by
#          consdata.ru, its.1c.ru, glavkniga.ru; the letter itself not read]).

# (code, name, percent, calculated, from_day, until_day): the code means `percent` for
# settlements on days from_day <= day < until_day (0 = no bound). percent -1 = no VAT.
RATES = (
    (1, "vat20", 18, False, 0, 20190101),
    (1, "vat20", 20, False, 20190101, 20260101),
    (2, "vat10", 10, False, 0, 0),
    (3, "vat120", 18, True, 0, 20190101),
    (3, "vat120", 20, True, 20190101, 20260101),
    (4, "vat110", 10, True, 0, 0),
    (5, "vat0", 0, False, 0, 0),
    (6, "none", -1, False, 0, 0),
    (7, "vat5", 5, False, 20250101, 0),
    (8, "vat7", 7, False, 20250101, 0),
    (9, "vat105", 5, True, 20250101, 0),
    (10, "vat107", 7, True, 20250101, 0),
    (11, "vat22", 22, False, 20260101, 0),
    (12, "vat122", 22, True, 20260101, 0),
)

NAMES = {
    "vat20": 1,
    "vat10": 2,
    "vat120": 3,
    "vat110": 4,
    "vat0": 5,
    "none": 6,
    "vat5": 7,
    "vat7": 8,
    "vat105": 9,
    "vat107": 10,
    "vat22": 11,
    "vat122": 12,
}
CODES = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12)
LABELS = {
    1: "НДС 20%",
    2: "НДС 10%",
    3: "НДС 20/120",
    4: "НДС 10/110",
    5: "НДС 0%",
    6: "без НДС",
    7: "НДС 5%",
    8: "НДС 7%",
    9: "НДС 5/105",
    10: "НДС 7/107",
    11: "НДС 22%",
    12: "НДС 22/122",
}

# Rates a tax system may use (1055 bit -> codes). Dated validity applies on top.
#  ОСН, ЕСХН: the general rates, 0 % and "без НДС" (exempt goods, ст. 149 НК); not the
#    reduced 5/7 % which ст. 164 п. 8 НК gives only to УСН payers [M: ЕСХН as ОСН].
#  УСН: from 2025 УСН payers are VAT payers (176-ФЗ): "без НДС" when exempt (income up to
#    60 mln ₽), 5/7 % (5/105, 7/107), or the general rates by choice — every code.
#  ПСН: a patent frees from VAT (ст. 346.43 п. 11 НК): "без НДС" only [M]; compare
#    reference peers-and-regulations.md §2.9 check 13. Imports and tax-agent cases are not
#    settlements with a buyer and do not reach a receipt.
_GENERAL = (1, 2, 3, 4, 5, 6, 11, 12)
TAX_RATES = {1: _GENERAL, 2: CODES, 4: CODES, 16: _GENERAL, 32: (6,)}

# A prepayment or advance (1214 = 1, 2, 3) is taxed at the calculated rate (ст. 164 п. 4
# НК; the FNS letter АБ-4-20/11248@ asks for 20/120 on a 2025 prepayment receipt). These are
# the codes a prepayment item may carry: calculated rates, 0 % and "без НДС".
PREPAYMENT_CODES = (3, 4, 5, 6, 9, 10, 12)

# Receipt-level totals (FFD 1.2 receipt, reference §2.3): code -> (tag, what it sums).
# "vat" = Σ item VAT sums (1200); "sum" = Σ item sums (1043).
TOTAL_TAGS = {
    1: (1102, "vat"),
    2: (1103, "vat"),
    5: (1104, "sum"),
    6: (1105, "sum"),
    3: (1106, "vat"),
    4: (1107, "vat"),
}
# The rates of 2025-2026 have no tag of their own among 1102-1107; the 2025 amendment added
# 1115 «суммы НДС чека», a list of 1119 {1199 rate, 1120 VAT sum} [2nd, UNVERIFIED: read
# from secondary tag lists; check the current ЕД-7-20/662@ tables before relying on it].
GROUPED_TOTALS_TAG = 1115
GROUPED_TOTAL_TAG = 1119
GROUPED_SUM_TAG = 1120


def code_of(v: object) -> int:
    """The 1199 code of a rate given by name ("vat22") or by code (11); -1 if neither."""
    if isinstance(v, str):
        return NAMES.get(v, -1)
    if isinstance(v, int) and not isinstance(v, bool) and v in CODES:
        return v
    return -1


def percent(code: int, day: int) -> "int | None":
    """The percent rate `code` stands for on `day` (-1 for "без НДС"); None when the code is
    not in force that day."""
    for row in RATES:
        if row[0] == code and row[4] <= day and (row[5] == 0 or day < row[5]):
            return row[2]
    return None


def validity(code: int) -> tuple[int, int]:
    """(first day, first day no longer valid) of a code over all its rows (0 = no bound)."""
    first = -1
    last = -1
    for row in RATES:
        if row[0] == code:
            if first < 0 or row[4] < first:
                first = row[4]
            if row[5] == 0 or last == 0:
                last = 0
            elif row[5] > last:
                last = row[5]
    return first, last


def calculated(code: int) -> bool:
    """True for a calculated rate (20/120, 10/110, 5/105, 7/107, 22/122)."""
    for row in RATES:
        if row[0] == code:
            return row[3]
    return False


def vat_of(amount: int, pct: int) -> int:
    """The VAT inside `amount` kopecks at `pct` percent, rounded half up to a kopeck.

    Receipt amounts include VAT, so the VAT of an item is amount × r / (100 + r), the same
    arithmetic for the rate r % and the calculated rate r/(100 + r): the codes differ in
    meaning (calculated = advances, agents), not in the sum. 0 % and "без НДС" give 0.
    """
    if pct <= 0:
        return 0
    return (2 * amount * pct + 100 + pct) // (2 * (100 + pct))
