"""The «Пробить чек» form: its rows of fields → one request of the shared schema, and back.

Money is typed in rubles (``123,45``) and becomes kopecks exactly (a third decimal is refused);
an item's sum is price × quantity rounded half up, as the schema computes it
(protocol/portable/values.py `item_sum`). What the schema then refuses is shown by the field it
names (``items[2].price`` → row 3, price).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from typing import Any, Final

from protocol.portable import codes, values, vat

__all__ = [
    "MEASURES",
    "OPERATIONS",
    "ReceiptForm",
    "Row",
    "build",
    "field_of",
    "from_original",
    "kopecks",
    "rub",
]

OPERATIONS: Final = {
    "sale": "Приход",
    "sale_return": "Возврат прихода",
    "expense": "Расход",
    "expense_return": "Возврат расхода",
}
MEASURES: Final = {0: "шт", 10: "г", 11: "кг", 21: "м", 41: "л", 71: "ч", 255: "иное"}
_RUB = re.compile(r"^[0-9]{1,12}(?:[.,][0-9]{1,2})?$")
_QTY = re.compile(r"^[0-9]{1,9}(?:[.,][0-9]{1,6})?$")


def kopecks(text: str) -> int | None:
    """«1 234,5» → 123450; None when it is not a sum of rubles and kopecks."""
    value = text.replace(" ", "").replace("\u00a0", "")
    if not _RUB.match(value):
        return None
    whole, _, frac = value.replace(",", ".").partition(".")
    return int(whole) * 100 + int((frac + "00")[:2])


def rub(kop: int) -> str:
    """123450 → «1234,50» (as the form's fields take it)."""
    return f"{kop // 100},{kop % 100:02d}"


@dataclass
class Row:
    """One position as typed."""

    name: str = ""
    price: str = ""
    quantity: str = "1"
    measure: str = "0"
    vat: str = "none"
    type: str = "1"
    method: str = "full_payment"
    marking: str = ""


@dataclass
class ReceiptForm:
    """The whole form as typed (strings), so a refused form is shown back unchanged."""

    register_id: str = ""
    operation: str = "sale"
    tax_system: str = "usn_income"
    correction: str = ""  # "", "self", "order"
    correction_date: str = ""
    order_number: str = ""
    original_date: str = ""
    buyer_contact: str = ""
    cash: str = ""
    electronic: str = ""
    original_id: str = ""
    rows: list[Row] = field(default_factory=lambda: [Row()])


def build(form: ReceiptForm) -> tuple[dict[str, Any], dict[str, str]]:
    """(request, {form field: reason}); the request is sent only when there are no reasons."""
    errors: dict[str, str] = {}
    items = []
    total = 0
    for i, r in enumerate(form.rows):
        price = kopecks(r.price)
        if price is None:
            errors[f"rows[{i}].price"] = "Цена в рублях: 150 или 150,50"
        qty = r.quantity.strip().replace(",", ".")
        if not _QTY.match(qty) or float(qty) <= 0:
            errors[f"rows[{i}].quantity"] = "Количество больше нуля, до 6 знаков после запятой"
            qty = ""
        if not r.name.strip():
            errors[f"rows[{i}].name"] = "Укажите наименование"
        if price is None or not qty:
            continue
        whole, _, frac = qty.partition(".")
        amount = values.item_sum(price, int(whole + frac), len(frac))
        total += amount
        item: dict[str, Any] = {
            "name": r.name.strip(),
            "price": price,
            "quantity": qty,
            "measure": int(r.measure) if r.measure.isdigit() else 0,
            "sum": amount,
            "vat": r.vat,
            "type": int(r.type) if r.type.isdigit() else 1,
            "method": r.method,
        }
        if r.marking.strip():
            item["marking"] = {"code": r.marking.strip(), "type": 0}
            item["type"] = 33 if item["type"] not in codes.MARKED_TYPES else item["type"]
        items.append(item)
    payments: dict[str, int] = {}
    for name, text in (("cash", form.cash), ("electronic", form.electronic)):
        if text.strip():
            value = kopecks(text)
            if value is None:
                errors[name] = "Сумма в рублях: 150 или 150,50"
            elif value:
                payments[name] = value
    if not payments and not errors:
        payments = {"electronic": total}  # nothing typed: the whole sum by card
    body: dict[str, Any] = {
        "id": f"cabinet-{uuid.uuid4().hex}",
        "operation": form.operation,
        "tax_system": form.tax_system,
        "items": items,
        "payments": payments,
        "total": total,
    }
    if form.buyer_contact.strip():
        body["buyer_contact"] = form.buyer_contact.strip()
    if form.correction:
        body["correction"] = {"type": form.correction, "original_date": form.correction_date}
        if form.correction == "order":
            body["correction"]["order_number"] = form.order_number.strip()
    elif form.original_date and form.operation in ("sale_return", "expense_return"):
        body["original_date"] = form.original_date
    return body, errors


def field_of(path: str) -> str:
    """The schema's path as the form's field: ``items[2].price`` → ``rows[2].price``,
    ``payments.cash`` → ``cash``, ``correction.original_date`` → ``correction_date``."""
    if path.startswith("items["):
        head, _, rest = path.partition("]")
        sub = rest.lstrip(".").split(".")[0] or "name"
        sub = {"sum": "price", "marking": "marking"}.get(sub, sub)
        return f"rows[{head[6:]}].{sub}"
    if path.startswith("payments"):
        return path.split(".")[-1] if "." in path else "electronic"
    if path.startswith("correction"):
        return {"correction.order_number": "order_number"}.get(path, "correction_date")
    return path or "_"


def from_original(values_: dict[str, Any]) -> ReceiptForm:
    """The form filled from an original document's requisites (view.original_request)."""
    rows = [
        Row(
            name=str(it["name"]),
            price=rub(int(it["price"])),
            quantity=str(it["quantity"]),
            measure=str(it["measure"]),
            vat=str(it["vat"]),
            type=str(it["type"]),
            method=str(it["method"]),
            marking=str(it["marking"]),
        )
        for it in values_["items"]
    ] or [Row()]
    return ReceiptForm(
        register_id=str(values_["register_id"]),
        operation=str(values_["operation"]),
        tax_system=str(values_["tax_system"]),
        original_date=str(values_["original_date"]),
        correction_date=str(values_["original_date"]),
        buyer_contact=str(values_["buyer_contact"]),
        cash=rub(values_["cash"]) if values_["cash"] else "",
        electronic=rub(values_["electronic"]) if values_["electronic"] else "",
        original_id=str(values_["original_id"]),
        rows=rows,
    )


VAT_CHOICES: Final = [(name, vat.LABELS[code]) for name, code in vat.NAMES.items()]
TAX_CHOICES: Final = [(name, codes.TAX_NAMES_RU[bit]) for name, bit in codes.TAX_SYSTEMS.items()]
METHOD_CHOICES: Final = [
    ("full_payment", "Полный расчёт"),
    ("full_prepayment", "Предоплата 100%"),
    ("prepayment", "Предоплата"),
    ("advance", "Аванс"),
    ("partial_payment", "Частичный расчёт и кредит"),
    ("credit", "Передача в кредит"),
    ("credit_payment", "Оплата кредита"),
]
TYPE_CHOICES: Final = [
    (1, "Товар"),
    (3, "Работа"),
    (4, "Услуга"),
    (10, "Платёж"),
    (33, "Товар с КМ"),
]
