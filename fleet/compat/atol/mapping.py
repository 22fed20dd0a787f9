"""An ATOL Online v4/v5 request → a request of Oblako's shared schema (docs/receipt-schema.md).

v4 and v5 differ where it matters here: v5 items carry `measure` (2108 code) and a numeric
`payment_object` (1212), v4 items `measurement_unit` (text) and a named `payment_object`; v5
adds `mark_code`, `planned_status`, `internet`, and the refund corrections. Either shape is
taken on either path (clients mix them). Money arrives in rubles and becomes kopecks exactly.
Fields Oblako does not model yet are refused by name, never dropped silently.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Final

from fleet.compat.contact import buyer_contact
from fleet.compat.exceptions import MappingError
from fleet.compat.money import Problems, kopecks, quantity

__all__ = ["OPERATIONS", "to_request"]

#: operation → (shared operation, is a correction)
OPERATIONS: Final[dict[str, tuple[str, bool]]] = {
    "sell": ("sale", False),
    "sell_refund": ("sale_return", False),
    "buy": ("expense", False),
    "buy_refund": ("expense_return", False),
    "sell_correction": ("sale", True),
    "buy_correction": ("expense", True),
    "sell_refund_correction": ("sale_return", True),  # v5
    "buy_refund_correction": ("expense_return", True),  # v5
}
V4_OPERATIONS: Final = frozenset(list(OPERATIONS)[:6])

#: v4 payment_object names → 1212 codes
PAYMENT_OBJECTS: Final[dict[str, int]] = {
    "commodity": 1,
    "excise": 2,
    "job": 3,
    "service": 4,
    "gambling_bet": 5,
    "gambling_prize": 6,
    "lottery": 7,
    "lottery_prize": 8,
    "intellectual_activity": 9,
    "payment": 10,
    "agent_commission": 11,
    "composite": 12,
    "award": 12,
    "another": 13,
    "property_right": 14,
    "non-operating_gain": 15,
    "insurance_premium": 16,
    "sales_tax": 17,
    "resort_fee": 18,
    "deposit": 19,
    "expense": 20,
    "pension_insurance_ip": 21,
    "pension_insurance": 22,
    "medical_insurance_ip": 23,
    "medical_insurance": 24,
    "social_insurance": 25,
    "casino_payment": 26,
}

#: v4 measurement_unit texts → 2108 codes (FFD 1.2 needs the code)
UNITS: Final[dict[str, int]] = {
    "шт": 0, "шт.": 0, "штука": 0, "штук": 0, "г": 10, "кг": 11, "т": 12, "см": 20, "дм": 21,
    "м": 22, "кв. см": 30, "кв. дм": 31, "кв. м": 32, "мл": 40, "л": 41, "куб. м": 42,
    "квт ч": 50, "квт·ч": 50, "гкал": 51, "сутки": 70, "час": 71, "мин": 72, "с": 73,
    "кбайт": 80, "мбайт": 81, "гбайт": 82, "тбайт": 83,
}  # fmt: skip

#: ATOL vat.type → shared names (18 % rates share codes 1 and 3 with 20 %: the FFD code)
VATS: Final[dict[str, str]] = {
    "none": "none", "vat0": "vat0", "vat10": "vat10", "vat110": "vat110",
    "vat18": "vat20", "vat118": "vat120", "vat20": "vat20", "vat120": "vat120",
    "vat5": "vat5", "vat7": "vat7", "vat105": "vat105", "vat107": "vat107",
    "vat22": "vat22", "vat122": "vat122",
}  # fmt: skip

#: payments[].type → shared payment kinds (5–9 "extended" kinds are not modelled)
PAYMENTS: Final[dict[int, str]] = {
    0: "cash",
    1: "electronic",
    2: "prepayment",
    3: "credit",
    4: "provision",
}

_UNSUPPORTED_ITEM: Final = (
    "excise",
    "country_code",
    "declaration_number",
    "nomenclature_code",
    "user_data",
    "sectoral_item_props",
    "mark_quantity",
)
_IGNORED_ITEM: Final = frozenset({"vat", "mark_processing_mode"})  # vat handled below
_ITEM_KEYS: Final = frozenset(
    {
        "name", "price", "quantity", "sum", "measurement_unit", "measure", "payment_method",
        "payment_object", "vat", "agent_info", "supplier_info", "mark_code", "planned_status",
        "mark_processing_mode", *_UNSUPPORTED_ITEM,
    }
)  # fmt: skip
_DOC_KEYS: Final = frozenset(
    {
        "client", "company", "correction_info", "items", "payments", "vats", "total",
        "cashier", "cashier_inn", "internet", "agent_info", "supplier_info", "timezone",
        "additional_check_props", "additional_user_props", "device_number", "operating_check_props",
        "sectoral_check_props", "cashless_payments",
    }
)  # fmt: skip
_UNSUPPORTED_DOC: Final = (
    "additional_check_props",
    "additional_user_props",
    "operating_check_props",
    "sectoral_check_props",
    "cashless_payments",
)


def _obj(problems: Problems, path: str, v: Any, required: bool = True) -> dict[str, Any]:
    if v is None:
        if required:
            problems.append((path, "Обязательное поле"))
        return {}
    if not isinstance(v, dict):
        problems.append((path, "Ожидается объект"))
        return {}
    return v


def _unit(problems: Problems, path: str, it: dict[str, Any]) -> int | None:
    if it.get("measure") is not None:
        m = it["measure"]
        if isinstance(m, int) and not isinstance(m, bool):
            return m
        problems.append((path + ".measure", "Мера количества — код 2108 (0 — штуки)"))
        return None
    unit = it.get("measurement_unit")
    if unit is None or unit == "":
        return 0  # v4 without a unit: pieces (FFD 1.2 needs a code)
    if isinstance(unit, str) and " ".join(unit.casefold().split()) in UNITS:
        return UNITS[" ".join(unit.casefold().split())]
    if isinstance(unit, str):
        return 255  # "иная единица измерения"
    problems.append((path + ".measurement_unit", "Единица измерения — строка"))
    return None


def _object_code(problems: Problems, path: str, v: Any) -> int | None:
    if isinstance(v, int) and not isinstance(v, bool):
        return v
    if isinstance(v, str) and v in PAYMENT_OBJECTS:
        return PAYMENT_OBJECTS[v]
    problems.append((path, "Признак предмета расчёта: код 1212 или имя (commodity, service, …)"))
    return None


def _marking(problems: Problems, path: str, it: dict[str, Any], operation: str) -> Any:
    mark = it.get("mark_code")
    if mark is None:
        return None
    if not isinstance(mark, dict) or len(mark) != 1:
        problems.append((path, "mark_code — объект с одним кодом (gs1m, short, ean13, …)"))
        return None
    ((_kind, code),) = mark.items()
    planned = it.get("planned_status")
    if planned is None:
        planned = {"sale": 1, "sale_return": 3}.get(operation, 255)
    # 2100 "неопознанный": the drive and the marking check identify the code's kind
    return {"code": code, "type": 0, "planned_status": planned}


def _item(problems: Problems, path: str, v: Any, operation: str) -> dict[str, Any]:
    it = _obj(problems, path, v)
    for k in it:
        if k not in _ITEM_KEYS:
            problems.append((f"{path}.{k}", "Неизвестное поле позиции"))
    for k in _UNSUPPORTED_ITEM:
        if it.get(k) is not None:
            problems.append((f"{path}.{k}", "Поле пока не поддерживается Облаком"))
    out: dict[str, Any] = {
        "name": it.get("name"),
        "price": kopecks(problems, path + ".price", it.get("price")),
        "quantity": quantity(problems, path + ".quantity", it.get("quantity")),
        "measure": _unit(problems, path, it),
        "sum": kopecks(problems, path + ".sum", it.get("sum")),
        "method": it.get("payment_method"),
        "type": _object_code(problems, path + ".payment_object", it.get("payment_object")),
    }
    vat = _obj(problems, path + ".vat", it.get("vat"))
    vtype = vat.get("type")
    if vat and (not isinstance(vtype, str) or vtype not in VATS):
        problems.append((path + ".vat.type", "Ставка НДС: none, vat0, vat10, vat20, vat22, …"))
    elif vat and isinstance(vtype, str):
        out["vat"] = VATS[vtype]
        if vat.get("sum") is not None:
            out["vat_sum"] = kopecks(problems, path + ".vat.sum", vat["sum"])
    if it.get("agent_info") is not None:
        out["agent_info"] = it["agent_info"]
    if it.get("supplier_info") is not None:
        out["supplier_info"] = it["supplier_info"]
    marking = _marking(problems, path + ".mark_code", it, operation)
    if marking is not None:
        out["marking"] = marking
    return out


def _date(problems: Problems, path: str, v: Any) -> str | None:
    """ATOL's "dd.mm.yyyy" (also ISO) → ISO date."""
    if isinstance(v, str):
        for fmt in ("%d.%m.%Y", "%Y-%m-%d"):
            try:
                return dt.datetime.strptime(v.strip(), fmt).date().isoformat()
            except ValueError:
                continue
    problems.append((path, "Дата в формате дд.мм.гггг"))
    return None


def to_request(operation: str, body: Any, company_inn: str) -> tuple[dict[str, Any], str | None]:
    """(the shared-schema request, the callback URL) of an ATOL request for `operation`.

    :raises MappingError: every problem of the shape, by ATOL's field path.
    """
    shared_op, is_correction = OPERATIONS[operation]
    problems: Problems = []
    b = _obj(problems, "", body)
    external_id = b.get("external_id")
    if not isinstance(external_id, str) or not 1 <= len(external_id) <= 128:
        problems.append(("external_id", "Обязательное поле: строка до 128 символов"))
    key = "correction" if is_correction else "receipt"
    doc = _obj(problems, key, b.get(key))
    for k in doc:
        if k not in _DOC_KEYS:
            problems.append((f"{key}.{k}", "Неизвестное поле"))
    for k in _UNSUPPORTED_DOC:
        if doc.get(k) is not None:
            problems.append((f"{key}.{k}", "Поле пока не поддерживается Облаком"))
    company = _obj(problems, f"{key}.company", doc.get("company"))
    if company and company.get("inn") != company_inn:
        problems.append(
            (f"{key}.company.inn", f"ИНН организации не совпадает с ИНН клиента {company_inn}")
        )
    client = _obj(problems, f"{key}.client", doc.get("client"), required=False)
    for k, v in client.items():
        # v5 buyer requisites (1227, 1228, 1243, 1244, 1245, 1246, 1254) are not modelled yet
        if k not in ("email", "phone") and v is not None:
            problems.append((f"{key}.client.{k}", "Поле пока не поддерживается Облаком"))
    items = doc.get("items")
    if not isinstance(items, list) or not items:
        problems.append(
            (
                f"{key}.items",
                "Нужны позиции: в ФФД 1.2 и чек коррекции содержит позиции (формат v5)",
            )
        )
        items = []
    payments: dict[str, int] = {}
    raw_payments = doc.get("payments")
    if not isinstance(raw_payments, list) or not raw_payments:
        problems.append((f"{key}.payments", "Нужен хотя бы один вид оплаты"))
        raw_payments = []
    for i, p in enumerate(raw_payments):
        pp = _obj(problems, f"{key}.payments[{i}]", p)
        ptype = pp.get("type")
        kind = PAYMENTS.get(ptype) if isinstance(ptype, int) else None
        if pp and kind is None:
            problems.append(
                (f"{key}.payments[{i}].type", "Вид оплаты 0–4 (расширенные 5–9 не поддерживаются)")
            )
            continue
        amount = kopecks(problems, f"{key}.payments[{i}].sum", pp.get("sum"))
        if kind is not None and amount is not None:
            payments[kind] = payments.get(kind, 0) + amount
    request: dict[str, Any] = {
        "id": external_id,
        "operation": shared_op,
        "tax_system": company.get("sno"),
        "items": [
            _item(problems, f"{key}.items[{i}]", it, shared_op) for i, it in enumerate(items)
        ],
        "payments": payments,
    }
    total = kopecks(problems, f"{key}.total", doc.get("total"), required=False)
    if total is not None:
        request["total"] = total
    contact = buyer_contact(client.get("email"), client.get("phone"))
    if contact is not None:
        request["buyer_contact"] = contact
    if company.get("payment_address"):
        request["place"] = company["payment_address"]
    if doc.get("internet") is not None:
        request["internet"] = doc["internet"]
    cashier = doc.get("cashier")
    if isinstance(cashier, str) and cashier:
        request["cashier"] = {"name": cashier}
        if isinstance(doc.get("cashier_inn"), str):
            request["cashier"]["inn"] = doc["cashier_inn"]
    if is_correction:
        info = _obj(problems, f"{key}.correction_info", doc.get("correction_info"))
        ctype = info.get("type")
        if info and ctype not in ("self", "instruction"):
            problems.append((f"{key}.correction_info.type", "Тип коррекции: self или instruction"))
        corr: dict[str, Any] = {
            "type": "order" if ctype == "instruction" else "self",
            "original_date": _date(problems, f"{key}.correction_info.base_date",
                                   info.get("base_date")),
        }  # fmt: skip
        if ctype == "instruction":
            corr["order_number"] = info.get("base_number")
        request["correction"] = corr
    if problems:
        raise MappingError(problems)
    service = b.get("service")
    callback = service.get("callback_url") if isinstance(service, dict) else None
    return request, callback if isinstance(callback, str) and callback else None
