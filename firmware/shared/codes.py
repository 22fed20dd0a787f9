# GENERATED from protocol/portable/codes.py by `oblako gen portable`; do not edit.
# Edit the source and regenerate: `make test` fails when this copy drifts.
# protocol/portable/codes.py: the FFD code lists the receipt schema speaks, in the
# MicroPython subset. Values are the FFD codes themselves; names (where the schema accepts
# them) follow the peers' APIs (ATOL Online v5) so a compatible endpoint maps one to one.
#
# Sources: reference/fiscal-protocols.md §2.4 (1054, 1055, 1212, 1214, 2108, 2003 [V]),
# §1.7 (2100 [2nd]), §1.9 (registration bits [V]/[2nd]); peers-and-regulations.md §1.2.

# 1054 признак расчёта [V] S1 table 41.
OPERATIONS = {"sale": 1, "sale_return": 2, "expense": 3, "expense_return": 4}
RETURNS = (2, 4)

# 1055 применяемая система налогообложения: one bit of the 1062 mask [V] S1 table 20.
TAX_SYSTEMS = {"osn": 1, "usn_income": 2, "usn_income_outcome": 4, "esn": 16, "patent": 32}
TAX_NAMES_RU = {
    1: "ОСН",
    2: "УСН доход",
    4: "УСН доход минус расход",
    16: "ЕСХН",
    32: "ПСН",
}
# ЕНВД (bit 8) was abolished from 2021-01-01 (Federal Law of 29.06.2012 № 97-ФЗ, ч. 8
# ст. 5; peers dropped it: Komtet CHANGELOG 7.5.0 [V]). Refused with the reason.
ABOLISHED_TAX_SYSTEMS = {"envd": "ЕНВД отменён с 01.01.2021: укажите действующую систему"}

# 1173 тип коррекции [V] S9: 0 самостоятельно, 1 по предписанию.
CORRECTION_TYPES = {"self": 0, "order": 1}

# 1214 признак способа расчёта [V] S10 (docs.cntd.ru, ЕД-7-20/662@).
PAYMENT_METHODS = {
    "full_prepayment": 1,  # ПРЕДОПЛАТА 100%
    "prepayment": 2,  # ПРЕДОПЛАТА
    "advance": 3,  # АВАНС
    "full_payment": 4,  # ПОЛНЫЙ РАСЧЁТ
    "partial_payment": 5,  # ЧАСТИЧНЫЙ РАСЧЁТ И КРЕДИТ
    "credit": 6,  # ПЕРЕДАЧА В КРЕДИТ
    "credit_payment": 7,  # ОПЛАТА КРЕДИТА
}
PREPAYMENT_METHODS = (1, 2, 3)

# 1212 признак предмета расчёта, FFD 1.2 values [V] S9 PaymentObjectType (= FFD codes):
# 1..27, and 30..33 for marked goods (30/32 without a marking code, 31/33 with one).
ITEM_TYPES = (
    1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20,
    21, 22, 23, 24, 25, 26, 27, 30, 31, 32, 33,
)  # fmt: skip
ITEM_TYPES_FFD12_ONLY = (30, 31, 32, 33)
MARKED_TYPES = (31, 33)  # подакцизный / маркированный товар с кодом маркировки
EXCISE_TYPES = (2, 30, 31)  # подакцизный товар (reference §2.9 check 6)
GAMBLING_TYPES = (5, 6)  # ставка / выигрыш азартной игры (check 8)
LOTTERY_TYPES = (7, 8)  # лотерейный билет / выигрыш лотереи (check 8)

# 2108 мера количества предмета расчёта [V] S9 ItemUnitType: шт, г, кг, т, см, дм, м, см²,
# дм², м², мл, л, м³, кВт·ч, Гкал, сутки, час, мин, с, КБ, МБ, ГБ, ТБ, иные.
MEASURES = (
    0, 10, 11, 12, 20, 21, 22, 30, 31, 32, 40, 41, 42, 50, 51,
    70, 71, 72, 73, 80, 81, 82, 83, 255,
)  # fmt: skip

# 1222 признак агента по предмету расчёта: one bit per kind (the bits of 1057) [M]; the
# names are ATOL v5 agent_info.type.
AGENT_TYPES = {
    "bank_paying_agent": 1,
    "bank_paying_subagent": 2,
    "paying_agent": 4,
    "paying_subagent": 8,
    "attorney": 16,
    "commission_agent": 32,
    "another": 64,
}

# 2100 тип кода маркировки [2nd] S9 ImcType: 0 неопознанный, 1 короткий, 2 88 символов
# (проверяется в ФН), 3 44 символа (не проверяется), 4 44 символа (проверяется), 5 4 символа.
MARK_TYPES = (0, 1, 2, 3, 4, 5)

# 2003 планируемый статус товара [V] S9 ItemEstimatedStatus: 1 штучный реализован, 2 мерный
# в стадии реализации, 3 штучный возвращён, 4 часть мерного возвращена, 5 штучный в стадии
# реализации, 6 мерный реализован, 255 статус не изменился.
PLANNED_STATUSES = (1, 2, 3, 4, 5, 6, 255)
SOLD_STATUSES = (1, 2, 5, 6)
RETURNED_STATUSES = (3, 4)

# 1163 код товара (FFD 1.2): kind -> (tag, max length, fixed length) of the 1300-1325 field
# inside it (protocol/tagdata.py rows [2nd] S5). Names after ATOL v5 mark_code keys.
PRODUCT_CODES = {
    "unknown": (1300, 32, 0),  # КТ Н
    "ean8": (1301, 8, 8),
    "ean13": (1302, 13, 13),
    "itf14": (1303, 14, 14),
    "gs1": (1304, 38, 0),  # КТ GS1.0
    "gs1m": (1305, 38, 0),  # КТ GS1.М
    "short": (1306, 38, 0),  # КТ КМК
    "fur": (1307, 20, 20),  # КТ МИ
    "egais20": (1308, 23, 23),
    "egais30": (1309, 14, 14),
    "f1": (1320, 32, 0),
    "f2": (1321, 32, 0),
    "f3": (1322, 32, 0),
    "f4": (1323, 32, 0),
    "f5": (1324, 32, 0),
    "f6": (1325, 32, 0),
}
DIGIT_PRODUCT_CODES = ("ean8", "ean13", "itf14")

# 1209 номер версии ФФД [V] S7/S3: 2 = 1.05, 3 = 1.1, 4 = 1.2.
FFD_VERSIONS = {"1.05": 2, "1.1": 3, "1.2": 4}
FFD_12 = 4


def lookup(names: "dict[str, int]", codes: "tuple[int, ...] | None", v: object) -> int:
    """The code of `v`: a name from `names` or an int among `codes` (or the values of
    `names` when `codes` is None); -1 when it is neither."""
    if isinstance(v, str):
        return names.get(v, -1)
    if isinstance(v, int) and not isinstance(v, bool):
        if codes is None:
            for k in names:
                if names[k] == v:
                    return v
            return -1
        return v if v in codes else -1
    return -1
