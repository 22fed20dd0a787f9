"""A Ferma `Request` envelope → a request of Oblako's shared schema (docs/receipt-schema.md).

Money in rubles becomes kopecks exactly; unknown or unmodelled fields are refused by name.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Final

from fleet.compat.contact import buyer_contact
from fleet.compat.exceptions import MappingError
from fleet.compat.money import Problems, kopecks, quantity

__all__ = ["TYPES", "to_request"]

#: Type → (shared operation, is a correction)
TYPES: Final[dict[str, tuple[str, bool]]] = {
    "Income": ("sale", False),
    "IncomeReturn": ("sale_return", False),
    "Expense": ("expense", False),
    "ExpenseReturn": ("expense_return", False),
    "IncomeCorrection": ("sale", True),
    "BuyCorrection": ("expense", True),
    "IncomeReturnCorrection": ("sale_return", True),
    "ExpenseReturnCorrection": ("expense_return", True),
}
TAXATION: Final[dict[str, str]] = {
    "Common": "osn",
    "SimpleIn": "usn_income",
    "SimpleInOut": "usn_income_outcome",
    "Unified": "envd",  # refused by the shared schema: ЕНВД ended in 2021
    "UnifiedAgricultural": "esn",
    "Patent": "patent",
}
# Ferma also takes the system's index as a string ("0" = Common … "5" = Patent): the
# TaxationSystem type of a public v2.84 TypeScript client lists both spellings.
TAXATION.update({str(i): v for i, v in enumerate(TAXATION.values())})
#: MarkingCodeData.PlannedStatus names (the v2.84 client's MarkingPlannedStatus, in the order
#: of tag 2003's values) → 2003 codes; numbers are taken as they are
PLANNED: Final[dict[str, int]] = {
    "PIECE_PRODUCT_INCOME": 1,
    "MEASURED_PRODUCT_INCOME": 2,
    "PIECE_PRODUCT_RETURN": 3,
    "MEASURED_PRODUCT_RETURN": 4,
    "PIECE_PRODUCT_ONSALE": 5,
    "MEASURED_PRODUCT_SOLD": 6,
    "PRODUCT_STATUS_NOT_CHANGED": 255,
}
VATS: Final[dict[str, str]] = {
    "VatNo": "none", "Vat0": "vat0", "Vat5": "vat5", "Vat7": "vat7", "Vat10": "vat10",
    "Vat18": "vat20", "Vat20": "vat20", "ObsoleteVat20": "vat20", "Vat22": "vat22",
    "CalculatedVat5105": "vat105", "CalculatedVat7107": "vat107",
    "CalculatedVat10110": "vat110", "CalculatedVat18118": "vat120",
    "CalculatedVat20120": "vat120", "CalculatedVat22122": "vat122",
}  # fmt: skip
MEASURES: Final[dict[str, int]] = {
    "PIECE": 0, "GRAM": 10, "KILOGRAM": 11, "TON": 12, "CENTIMETER": 20, "DECIMETER": 21,
    "METER": 22, "SQUARE_CENTIMETER": 30, "SQUARE_DECIMETER": 31, "SQUARE_METER": 32,
    "MILLILITER": 40, "LITER": 41, "CUBIC_METER": 42, "KILOWATT_HOUR": 50, "GIGACALORIE": 51,
    "DAY": 70, "HOUR": 71, "MINUTE": 72, "SECOND": 73, "KILOBYTE": 80, "MEGABYTE": 81,
    "GIGABYTE": 82, "TERABYTE": 83, "OTHER": 255,
}  # fmt: skip
PAYMENTS: Final[dict[int, str]] = {
    0: "cash",
    1: "electronic",
    2: "prepayment",
    3: "credit",
    4: "provision",
}
_ITEM_KEYS: Final = frozenset(
    {"Label", "Price", "Quantity", "Amount", "Vat", "Measure", "PaymentMethod", "PaymentType",
     "MarkingCodeData", "PaymentAgentInfo", "Excise", "OriginCountryCode",
     "CustomsDeclarationNumber", "IndustryItemRequisite", "AgentInfo", "SupplierInfo",
     "MarkingCode", "MarkingCodeStructured"}
)  # fmt: skip
_UNSUPPORTED_ITEM: Final = (
    "PaymentAgentInfo",
    "AgentInfo",
    "SupplierInfo",
    "Excise",
    "OriginCountryCode",
    "CustomsDeclarationNumber",
    "IndustryItemRequisite",
    "MarkingCode",  # FFD 1.1 forms: Oblako's registers are FFD 1.2 (MarkingCodeData)
    "MarkingCodeStructured",
)
_RECEIPT_KEYS: Final = frozenset(
    {"TaxationSystem", "Email", "Phone", "IsInternet", "Timezone", "AutomatNumber",
     "BillAddress", "ClientInfo", "CashlessPayments", "PaymentItems", "OperationRequisite",
     "AdditionalReceiptProp", "Items", "Cashier", "PaymentType", "KktFA", "CorrectionInfo",
     "PaymentAgentInfo", "CheckMcMode", "CustomUserProperty", "IndustryRequisite"}
)  # fmt: skip
_UNSUPPORTED_RECEIPT: Final = (
    "ClientInfo",
    "CashlessPayments",
    "OperationRequisite",
    "AdditionalReceiptProp",
    "PaymentAgentInfo",
    "CustomUserProperty",
    "IndustryRequisite",
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


def _item(
    problems: Problems, path: str, v: Any, operation: str, default_type: Any
) -> dict[str, Any]:
    it = _obj(problems, path, v)
    for k in it:
        if k not in _ITEM_KEYS:
            problems.append((f"{path}.{k}", "Неизвестное поле позиции"))
    for k in _UNSUPPORTED_ITEM:
        if it.get(k) is not None:
            problems.append((f"{path}.{k}", "Поле пока не поддерживается Облаком"))
    vat = it.get("Vat")
    if not isinstance(vat, str) or vat not in VATS:
        problems.append((path + ".Vat", "Ставка НДС: VatNo, Vat0, Vat10, Vat20, Vat22, …"))
    measure = it.get("Measure", "PIECE")
    if not isinstance(measure, str) or measure not in MEASURES:
        problems.append((path + ".Measure", "Мера количества: PIECE, GRAM, KILOGRAM, … OTHER"))
    out: dict[str, Any] = {
        "name": it.get("Label"),
        "price": kopecks(problems, path + ".Price", it.get("Price")),
        "quantity": quantity(problems, path + ".Quantity", it.get("Quantity")),
        "measure": MEASURES.get(measure, 0) if isinstance(measure, str) else 0,
        "sum": kopecks(problems, path + ".Amount", it.get("Amount")),
        "vat": VATS.get(vat, "none") if isinstance(vat, str) else "none",
        "type": it.get("PaymentType", default_type),
        "method": it.get("PaymentMethod", 4),
    }
    mark = it.get("MarkingCodeData")
    if mark is not None:
        m = _obj(problems, path + ".MarkingCodeData", mark)
        if m.get("Fractional") is not None:
            problems.append(
                (
                    path + ".MarkingCodeData.Fractional",
                    "Дробная реализация пока не поддерживается Облаком",
                )
            )
        planned = m.get("PlannedStatus")
        if planned is None:
            planned = {"sale": 1, "sale_return": 3}.get(operation, 255)
        elif isinstance(planned, str):
            if planned not in PLANNED:
                problems.append(
                    (
                        path + ".MarkingCodeData.PlannedStatus",
                        "Статус: PIECE_PRODUCT_INCOME, …, PRODUCT_STATUS_NOT_CHANGED",
                    )
                )
            planned = PLANNED.get(planned)
        # 2100 "неопознанный": the drive and the marking check identify the code's kind
        out["marking"] = {"code": m.get("Code"), "type": 0, "planned_status": planned}
    return out


def _date(problems: Problems, path: str, v: Any) -> str | None:
    if isinstance(v, str):
        for fmt in ("%d.%m.%y", "%d.%m.%Y", "%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"):
            try:
                return dt.datetime.strptime(v.strip(), fmt).date().isoformat()
            except ValueError:
                continue
    problems.append((path, "Дата в формате дд.мм.гг или гггг-мм-дд"))
    return None


def to_request(body: Any, company_inn: str) -> tuple[dict[str, Any], str, str | None]:
    """(the shared-schema request, Ferma's Type, the callback URL) of a receipt request.

    :raises MappingError: every problem of the shape, by Ferma's field path.
    """
    problems: Problems = []
    req = _obj(problems, "Request", _obj(problems, "", body).get("Request"))
    rtype = req.get("Type")
    if not isinstance(rtype, str) or rtype not in TYPES:
        problems.append(("Request.Type", "Тип чека: Income, IncomeReturn, Expense, …"))
        raise MappingError(problems)
    operation, is_correction = TYPES[rtype]
    if req.get("Inn") != company_inn:
        problems.append(("Request.Inn", f"ИНН не совпадает с ИНН клиента {company_inn}"))
    invoice = req.get("InvoiceId")
    if not isinstance(invoice, str) or not 1 <= len(invoice) <= 128:
        problems.append(("Request.InvoiceId", "Обязательное поле: строка до 128 символов"))
    r = _obj(problems, "Request.CustomerReceipt", req.get("CustomerReceipt"))
    for k in r:
        if k not in _RECEIPT_KEYS:
            problems.append((f"Request.CustomerReceipt.{k}", "Неизвестное поле"))
    for k in _UNSUPPORTED_RECEIPT:
        if r.get(k) is not None:
            problems.append((f"Request.CustomerReceipt.{k}", "Поле пока не поддерживается Облаком"))
    items = r.get("Items")
    if not isinstance(items, list) or not items:
        problems.append(("Request.CustomerReceipt.Items", "Нужна хотя бы одна позиция"))
        items = []
    # CustomerReceipt.PaymentType: the receipt-wide 1212 for items that name none (Ferma's
    # clients send it; a public v2.84 client: «признак предмета расчёта для всего чека»)
    default_type = r.get("PaymentType", 1)
    mapped = [
        _item(problems, f"Request.CustomerReceipt.Items[{i}]", it, operation, default_type)
        for i, it in enumerate(items)
    ]
    payments: dict[str, int] = {}
    raw = r.get("PaymentItems")
    if raw is None:  # no PaymentItems: Ferma's default, paid electronically in full
        payments["electronic"] = sum(int(it["sum"] or 0) for it in mapped)
    elif not isinstance(raw, list):
        problems.append(("Request.CustomerReceipt.PaymentItems", "Ожидается список"))
    else:
        for i, p in enumerate(raw):
            path = f"Request.CustomerReceipt.PaymentItems[{i}]"
            pp = _obj(problems, path, p)
            ptype = pp.get("PaymentType")
            kind = PAYMENTS.get(ptype) if isinstance(ptype, int) else None
            if kind is None:
                problems.append((path + ".PaymentType", "Вид оплаты 0–4"))
                continue
            amount = kopecks(problems, path + ".Sum", pp.get("Sum"))
            if amount is not None:
                payments[kind] = payments.get(kind, 0) + amount
    tax = r.get("TaxationSystem")
    request: dict[str, Any] = {
        "id": invoice,
        "operation": operation,
        "tax_system": TAXATION.get(tax, tax) if isinstance(tax, str) else tax,
        "items": mapped,
        "payments": payments,
    }
    contact = buyer_contact(r.get("Email"), r.get("Phone"))
    if contact is not None:
        request["buyer_contact"] = contact
    if r.get("IsInternet") is not None:
        request["internet"] = r["IsInternet"]
    if r.get("BillAddress"):
        request["place"] = r["BillAddress"]
    # Cashier and CorrectionInfo: inside CustomerReceipt in Ferma's document, at Request level
    # in the public v2.84 client; both places are taken
    cashier = r.get("Cashier") if r.get("Cashier") is not None else req.get("Cashier")
    if isinstance(cashier, dict) and cashier.get("Name"):
        request["cashier"] = {"name": cashier["Name"]}
        if cashier.get("Inn"):
            request["cashier"]["inn"] = cashier["Inn"]
    if is_correction:
        where = "Request.CustomerReceipt" if r.get("CorrectionInfo") is not None else "Request"
        raw_info = r.get("CorrectionInfo", req.get("CorrectionInfo"))
        info = _obj(problems, where + ".CorrectionInfo", raw_info)
        ctype = info.get("Type")
        if info and ctype not in ("SELF", "INSTRUCTION"):
            problems.append((where + ".CorrectionInfo.Type", "SELF или INSTRUCTION"))
        corr: dict[str, Any] = {
            "type": "order" if ctype == "INSTRUCTION" else "self",
            "original_date": _date(
                problems, where + ".CorrectionInfo.ReceiptDate",
                info.get("ReceiptDate"),
            ),
        }  # fmt: skip
        if ctype == "INSTRUCTION":
            corr["order_number"] = info.get("ReceiptId")
        request["correction"] = corr
    if problems:
        raise MappingError(problems)
    callback = req.get("CallbackUrl")
    return request, rtype, callback if isinstance(callback, str) and callback else None
