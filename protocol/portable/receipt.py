# protocol/portable/receipt.py: THE receipt request schema, its validation and its TLV form,
# in the MicroPython subset (DESIGN.md decisions 2, 7, 8).
#
# The fleet validates an API request with check() before it routes it; the register runs
# the same check() on what it receives, then streams fields() into the drive with 07h and
# closes the document with the values of closing(). docs/receipt-schema.md describes the
# request; the short form:
#
#   {"id": "order-42", "operation": "sale", "tax_system": "osn",
#    "date": "2026-01-15T10:30:00+03:00",
#    "items": [{"name": "Хлеб", "price": 4990, "quantity": "2", "measure": 0,
#               "sum": 9980, "vat": "vat22", "type": 1, "method": "full_payment"}],
#    "payments": {"electronic": 9980}, "buyer_contact": "buyer@example.ru"}
#
# check(request, register=None, now=None) -> (normalised dict or None, errors)
#   errors: a list of (path, code, message): every problem at once, never an exception.
# fields(norm) -> iterator of TLV fields (firmware/tlv.py tuples) for 07h, in FFD order.
# closing(norm) -> (document tag 3 | 31, operation 1054, total 1020) for 15h/17h and 16h.
# marked(norm) -> iterator of (item index, code, type 2100, planned status 2003).
# size(norm) -> bytes fields() encodes to.
#
# Rounding rules (stated once, here): item sum = price × quantity rounded half up to a
# kopeck; item VAT = sum × r / (100 + r) rounded half up (vat.vat_of); receipt VAT totals
# = Σ of the item VAT sums per rate; total = Σ item sums = Σ payments, to the kopeck.

from . import codes, rules, values, vat

TYPE_CHECKING = False
if TYPE_CHECKING:  # mypy only: MicroPython has no typing module
    from collections.abc import Iterator
    from typing import Any

    Field = tuple[Any, ...]  # (tag, value) as firmware/tlv.py takes it
    Norm = dict[str, Any]  # a normalised request

# The drive takes at most 30 KB of TLV for a receipt or a correction (15h/17h, reference
# fiscal-protocols.md §1.6 [V] S1); a frame carries at most 1024 data bytes and a TLV is
# never split across 07h calls (§6.2), so an item (1059 with its header) must fit 1024.
MAX_DOCUMENT = 30 * 1024
MAX_ITEM = 1024
# From 2025-09-01 an Internet sale carries 1125 and the site in 1187 (reference
# peers-and-regulations.md §2.5 [V] yookassa.ru, ЕД-7-20/236@).
INTERNET_RULES_FROM = 20250901

_TOP = (
    "id",
    "operation",
    "correction",
    "tax_system",
    "date",
    "original_date",
    "items",
    "payments",
    "total",
    "buyer_contact",
    "internet",
    "place",
    "cashier",
)
_ITEM = (
    "name",
    "price",
    "quantity",
    "measure",
    "sum",
    "vat",
    "vat_sum",
    "type",
    "method",
    "agent_info",
    "supplier_info",
    "product_code",
    "marking",
)
_PAYMENTS = (
    ("cash", 1031),
    ("electronic", 1081),
    ("prepayment", 1215),
    ("credit", 1216),
    ("provision", 1217),
)
_CORRECTION = ("type", "original_date", "order_number")
_CASHIER = ("name", "inn")
_AGENT = ("type", "paying_agent", "receive_payments_operator", "money_transfer_operator")
_PAYING_AGENT = ("operation", "phones")
_OPERATOR = ("phones",)
_TRANSFER = ("phones", "name", "address", "inn")
_SUPPLIER = ("phones", "name", "inn")
_PRODUCT = ("kind", "value")
_MARKING = ("code", "type", "planned_status")


def _unknown(
    errs: "values.Errors", path: str, obj: "dict[Any, Any]", allowed: tuple[str, ...]
) -> None:
    for k in obj:
        if k not in allowed:
            values.err(errs, f"{path}.{k}" if path else str(k), "unknown", "Неизвестное поле")


def _object(
    errs: "values.Errors", path: str, v: "Any", allowed: tuple[str, ...]
) -> "dict[Any, Any] | None":
    """An optional JSON object with known keys (unknown keys are reported)."""
    if v is None:
        return None
    if not isinstance(v, dict):
        values.err(errs, path, "type", "Ожидается объект")
        return None
    _unknown(errs, path, v, allowed)
    return v


def _enum(
    errs: "values.Errors",
    path: str,
    v: "Any",
    names: "dict[str, int] | None",
    codes_: "tuple[int, ...] | None",
    what: str,
) -> int:
    """A required code given by name or number; -1 (and an error) when absent or unknown."""
    if v is None:
        values.err(errs, path, "required", "Обязательное поле")
        return -1
    code = codes.lookup(names or {}, codes_, v)
    if code < 0:
        values.err(errs, path, "enum", "Недопустимое значение: " + what)
    return code


def check(
    request: "Any", register: "Any" = None, now: "Any" = None
) -> "tuple[Norm | None, values.Errors]":
    """Validate a receipt request: (normalised dict, []) or (None, [(path, code, message)]).

    `register` is the profile of the register that will make the receipt (rules.py), or None
    to check the request alone. `now` is the caller's current date-time (ISO 8601, from its
    injected clock, DESIGN.md decision 6), used when the request has no `date`.
    Never raises, whatever JSON value `request` is.
    """
    errs: values.Errors = []
    reg = rules.profile(errs, register)
    if not isinstance(request, dict):
        values.err(errs, "", "type", "Запрос — JSON-объект")
        return None, errs
    _unknown(errs, "", request, _TOP)
    r: Norm = {"ffd": codes.FFD_12 if reg is None else reg["ffd"], "register": reg}

    rid = request.get("id")
    if rid is None:
        values.err(errs, "id", "required", "Обязательное поле")
    elif not isinstance(rid, str) or not rid or len(rid) > 128 or not values.ascii_ok(rid):
        values.err(errs, "id", "format", "Идентификатор — от 1 до 128 печатных символов ASCII")
    r["id"] = rid

    ops = "sale, sale_return, expense, expense_return"
    op = _enum(errs, "operation", request.get("operation"), codes.OPERATIONS, (), ops)
    r["operation"] = op
    r["tax_system"] = _tax_system(errs, request.get("tax_system"), reg)

    # Dates: the settlement day, and the day the VAT rate is chosen by.
    when = values.date(errs, "date", request.get("date"))
    if when is None and request.get("date") is None:
        when = values.date(errs, "date", now, required=True)
    r["day"] = when[0] if when is not None else 0
    r["correction"] = _correction(errs, request.get("correction"), r["ffd"])
    orig = values.date(errs, "original_date", request.get("original_date"))
    r["original_day"] = orig[0] if orig is not None else 0
    vat_day = r["day"]
    if r["correction"] is not None:
        if orig is not None:
            values.err(
                errs,
                "original_date",
                "not_allowed",
                "Для коррекции дата исправляемого расчёта — correction.original_date",
            )
        vat_day = r["correction"]["original_day"] or vat_day
    elif orig is not None:
        if op in codes.RETURNS or _pays_credit(request.get("items")):
            vat_day = orig[0]
        else:
            values.err(
                errs,
                "original_date",
                "not_allowed",
                "Дата исходного расчёта указывается для возврата или оплаты кредита",
            )
    later = "Исходный расчёт не может быть позже этого"
    if orig is not None and r["day"] and orig[0] > r["day"]:
        values.err(errs, "original_date", "after_date", later)
    c = r["correction"]
    if c is not None and c["original_day"] and r["day"] and c["original_day"] > r["day"]:
        values.err(errs, "correction.original_date", "after_date", later)
    r["vat_day"] = vat_day

    r["items"] = _items(errs, request.get("items"), r, reg)

    total = 0
    for it in r["items"]:
        total += it["sum"]
    r["total"] = total
    given = request.get("total")
    if given is not None:
        t = values.kopecks(errs, "total", given, limit=values.MAX_TOTAL, what="Итоговая сумма")
        if t is not None and t != total:
            values.err(
                errs,
                "total",
                "total_mismatch",
                f"Итог {t} коп. не равен сумме позиций {total} коп.",
            )
    elif total > values.MAX_TOTAL:
        values.err(errs, "total", "too_large", "Итог чека слишком велик")

    r["payments"] = _payments(errs, request.get("payments"), r, reg)
    _buyer(errs, request, r, reg)
    cashier = _object(errs, "cashier", request.get("cashier"), _CASHIER)
    r["cashier"] = None
    if cashier is not None:
        name = values.text(errs, "cashier.name", cashier.get("name"), 64, required=True)
        inn = values.inn(errs, "cashier.inn", cashier.get("inn"), person=True)
        r["cashier"] = {"name": name, "inn": inn}

    if errs:
        return None, errs
    _check_size(errs, r)
    if errs:
        return None, errs
    return r, errs


def errors(request: "Any", register: "Any" = None, now: "Any" = None) -> "values.Errors":
    """Only the problems of a request (see check)."""
    return check(request, register, now)[1]


def _pays_credit(items: "Any") -> bool:
    """True when some item of the raw request is the payment of a credit (1214 = 7)."""
    if isinstance(items, list):
        for it in items:
            method = it.get("method") if isinstance(it, dict) else None
            if codes.lookup(codes.PAYMENT_METHODS, None, method) == 7:
                return True
    return False


def _tax_system(errs: "values.Errors", v: "Any", reg: "Norm | None") -> int:
    if isinstance(v, str) and v in codes.ABOLISHED_TAX_SYSTEMS:
        values.err(errs, "tax_system", "abolished", codes.ABOLISHED_TAX_SYSTEMS[v])
        return -1
    if v is not None and not isinstance(v, str):
        values.err(errs, "tax_system", "type", "СНО указывается названием, например osn")
        return -1
    tax = _enum(
        errs,
        "tax_system",
        v,
        codes.TAX_SYSTEMS,
        (),
        "osn, usn_income, usn_income_outcome, esn, patent",
    )
    if tax > 0:
        rules.check_tax(errs, tax, reg)
    return tax


def _correction(errs: "values.Errors", v: "Any", ffd: int) -> "Norm | None":
    c = _object(errs, "correction", v, _CORRECTION)
    if c is None:
        return None
    if ffd < codes.FFD_12:
        values.err(errs, "correction", "ffd", "Чек коррекции по этой схеме — только ФФД 1.2")
    ctype = _enum(
        errs,
        "correction.type",
        c.get("type"),
        codes.CORRECTION_TYPES,
        (),
        "self (самостоятельно) или order (по предписанию)",
    )
    d = values.date(errs, "correction.original_date", c.get("original_date"), required=True)
    number = values.text(errs, "correction.order_number", c.get("order_number"), 32)
    if ctype == 1 and number is None and c.get("order_number") is None:
        values.err(
            errs,
            "correction.order_number",
            "required",
            "Для коррекции по предписанию нужен номер предписания (1179)",
        )
    return {
        "type": ctype,
        "original_day": d[0] if d is not None else 0,
        # 1178: the date of the corrected settlement, local midnight as if UTC
        "original_time": (d[1] // 86400) * 86400 if d is not None else 0,
        "order_number": number,
    }


def _items(errs: "values.Errors", v: "Any", r: "Norm", reg: "Norm | None") -> "list[Norm]":
    if v is None:
        values.err(errs, "items", "required", "Нужна хотя бы одна позиция")
        return []
    if not isinstance(v, list):
        values.err(errs, "items", "type", "Ожидается список позиций")
        return []
    if not v:
        values.err(errs, "items", "empty", "Нужна хотя бы одна позиция")
    out: list[Norm] = []
    for i in range(len(v)):
        it = _item(errs, f"items[{i}]", v[i], r, reg)
        if it is not None:
            out.append(it)
    return out


def _item(
    errs: "values.Errors", path: str, v: "Any", r: "Norm", reg: "Norm | None"
) -> "Norm | None":
    if not isinstance(v, dict):
        values.err(errs, path, "type", "Позиция — объект")
        return None
    _unknown(errs, path, v, _ITEM)
    it: Norm = {}
    it["name"] = values.text(errs, path + ".name", v.get("name"), 128, required=True)
    price = values.kopecks(errs, path + ".price", v.get("price"), what="Цена")
    qty = values.quantity(errs, path + ".quantity", v.get("quantity"))
    measure = v.get("measure")
    it["measure"] = None
    if measure is not None:
        it["measure"] = _enum(errs, path + ".measure", measure, None, codes.MEASURES, "код 2108")
    amount = values.kopecks(errs, path + ".sum", v.get("sum"), what="Сумма позиции")
    it["type"] = _enum(errs, path + ".type", v.get("type"), None, codes.ITEM_TYPES, "код 1212")
    it["method"] = _enum(
        errs, path + ".method", v.get("method"), codes.PAYMENT_METHODS, None, "код 1214"
    )
    code = vat.code_of(v.get("vat"))
    if code < 0:
        if v.get("vat") is None:
            values.err(errs, path + ".vat", "required", "Обязательное поле")
        else:
            values.err(errs, path + ".vat", "enum", "Неизвестная ставка НДС")
    it["vat"] = code
    it["price"] = price
    it["quantity"] = qty[0] if qty is not None else None
    it["sum"] = amount if amount is not None else 0

    if price is not None and qty is not None and amount is not None:
        want = values.item_sum(price, qty[1], qty[2])
        if want != amount:
            rule = " (цена × количество, округление до копейки половина вверх)"
            values.err(
                errs, path + ".sum", "sum_mismatch", f"Сумма позиции должна быть {want} коп." + rule
            )
    it["vat_sum"] = 0
    if code > 0:
        it["vat_sum"] = _item_vat(errs, path, v.get("vat_sum"), code, it, r)

    it["agent"] = _agent(errs, path, v)
    it["product_code"] = _product_code(errs, path + ".product_code", v.get("product_code"))
    it["marking"] = _marking(errs, path + ".marking", v.get("marking"), it, r["operation"])
    if it["type"] in codes.MARKED_TYPES and it["marking"] is None and v.get("marking") is None:
        values.err(
            errs,
            path + ".marking",
            "required",
            "Для признака предмета расчёта 31/33 нужен код маркировки",
        )
    rules.check_item(errs, path, it, reg)
    return it


def _item_vat(
    errs: "values.Errors", path: str, given: "Any", code: int, it: "Norm", r: "Norm"
) -> int:
    """The item's VAT sum, after the dated, tax-system and prepayment rules on its rate."""
    day = r["vat_day"]
    pct = vat.percent(code, day) if day else None
    if day and pct is None:
        first, until = vat.validity(code)
        label = vat.LABELS[code]
        if until and day >= until:
            msg = label + " применяется к расчётам до " + values.day_text(until)
            msg += ": для возврата, коррекции или оплаты кредита по более раннему расчёту"
            msg += " укажите его дату (original_date)"
        else:
            msg = label + " применяется с " + values.day_text(first)
        values.err(errs, path + ".vat", "rate_date", msg)
    tax = r["tax_system"]
    if tax > 0 and code not in vat.TAX_RATES.get(tax, ()):
        values.err(
            errs,
            path + ".vat",
            "rate_tax",
            f"{vat.LABELS[code]} недопустима для СНО «{codes.TAX_NAMES_RU.get(tax, tax)}»",
        )
    if it["method"] in codes.PREPAYMENT_METHODS and code not in vat.PREPAYMENT_CODES:
        values.err(
            errs,
            path + ".vat",
            "prepay_rate",
            "Для предоплаты и аванса применяется расчётная ставка (например 22/122)",
        )
    want = vat.vat_of(it["sum"], pct) if pct is not None else 0
    if given is not None:
        g = values.kopecks(errs, path + ".vat_sum", given, what="Сумма НДС")
        if g is not None and pct is not None and g != want:
            values.err(
                errs,
                path + ".vat_sum",
                "vat_mismatch",
                f"Сумма НДС позиции должна быть {want} коп. (округление половина вверх)",
            )
    return want


def _agent(errs: "values.Errors", path: str, v: "dict[Any, Any]") -> "Norm | None":
    a = _object(errs, path + ".agent_info", v.get("agent_info"), _AGENT)
    s = _object(errs, path + ".supplier_info", v.get("supplier_info"), _SUPPLIER)
    if a is None:
        if s is not None:
            values.err(
                errs, path + ".supplier_info", "not_allowed", "Данные поставщика — только агенту"
            )
        return None
    ap = path + ".agent_info"
    out: Norm = {}
    out["type"] = _enum(errs, ap + ".type", a.get("type"), codes.AGENT_TYPES, None, "вид агента")
    pa = _object(errs, ap + ".paying_agent", a.get("paying_agent"), _PAYING_AGENT) or {}
    out["operation"] = values.text(errs, ap + ".paying_agent.operation", pa.get("operation"), 24)
    out["phones"] = values.phones(errs, ap + ".paying_agent.phones", pa.get("phones"))
    rp = path + ".agent_info.receive_payments_operator"
    ro = _object(errs, rp, a.get("receive_payments_operator"), _OPERATOR) or {}
    out["operator_phones"] = values.phones(errs, rp + ".phones", ro.get("phones"))
    tp = path + ".agent_info.money_transfer_operator"
    mt = _object(errs, tp, a.get("money_transfer_operator"), _TRANSFER) or {}
    out["transfer_phones"] = values.phones(errs, tp + ".phones", mt.get("phones"))
    out["transfer_name"] = values.text(errs, tp + ".name", mt.get("name"), 64)
    out["transfer_address"] = values.text(errs, tp + ".address", mt.get("address"), 256)
    out["transfer_inn"] = values.inn(errs, tp + ".inn", mt.get("inn"))
    # FFD 1.2: an agent item names its supplier (1224 with 1225, and 1226) [M].
    sp = path + ".supplier_info"
    if s is None:
        values.err(errs, sp, "required", "Для агентской позиции нужны данные поставщика")
        s = {}
    out["supplier_phones"] = values.phones(errs, sp + ".phones", s.get("phones"))
    out["supplier_name"] = values.text(errs, sp + ".name", s.get("name"), 256, required=True)
    out["supplier_inn"] = values.inn(errs, sp + ".inn", s.get("inn"))
    if s.get("inn") is None:
        values.err(errs, sp + ".inn", "required", "Нужен ИНН поставщика (1226)")
    return out


def _product_code(errs: "values.Errors", path: str, v: "Any") -> "Field | None":
    p = _object(errs, path, v, _PRODUCT)
    if p is None:
        return None
    kind = p.get("kind")
    spec = codes.PRODUCT_CODES.get(kind) if isinstance(kind, str) else None
    if spec is None:
        values.err(errs, path + ".kind", "enum", "Вид кода товара: ean13, gs1m, short, …")
    value = p.get("value")
    if not isinstance(value, str) or not value:
        values.err(errs, path + ".value", "type", "Код товара — непустая строка")
        return None
    if spec is None:
        return None
    if len(value) > spec[1] or (spec[2] and len(value) != spec[2]):
        values.err(errs, path + ".value", "length", f"Длина кода товара этого вида — {spec[1]}")
        return None
    if not values.ascii_ok(value) or (
        kind in codes.DIGIT_PRODUCT_CODES and not values.digits(value)
    ):
        values.err(errs, path + ".value", "charset", "Недопустимые символы в коде товара")
        return None
    return spec[0], value


def _marking(errs: "values.Errors", path: str, v: "Any", it: "Norm", op: int) -> "Norm | None":
    m = _object(errs, path, v, _MARKING)
    if m is None:
        return None
    code = m.get("code")
    if not isinstance(code, str) or not code:
        values.err(errs, path + ".code", "required", "Нужен код маркировки (2000)")
        code = None
    elif len(code) > 256 or not values.ascii_ok(code, allow_gs=True):
        values.err(errs, path + ".code", "format", "Код маркировки: до 256 символов ASCII и GS")
        code = None
    mtype = _enum(errs, path + ".type", m.get("type"), None, codes.MARK_TYPES, "код 2100")
    status = _enum(
        errs,
        path + ".planned_status",
        m.get("planned_status"),
        None,
        codes.PLANNED_STATUSES,
        "2003",
    )
    # A sale moves goods out, a return of a sale brings them back [I]: the planned status
    # must not say the opposite (255 "не изменился" goes with anything).
    if (op == 1 and status in codes.RETURNED_STATUSES) or (
        op == 2 and status in codes.SOLD_STATUSES
    ):
        values.err(
            errs,
            path + ".planned_status",
            "planned_status",
            "Статус товара не соответствует расчёту",
        )
    if it["type"] >= 0 and it["type"] not in codes.MARKED_TYPES:
        values.err(
            errs, path, "not_allowed", "Код маркировки — при признаке предмета расчёта 31 или 33"
        )
    return {"code": code, "type": mtype, "planned_status": status}


def _payments(errs: "values.Errors", v: "Any", r: "Norm", reg: "Norm | None") -> "dict[str, int]":
    out = {"cash": 0, "electronic": 0, "prepayment": 0, "credit": 0, "provision": 0}
    p = _object(errs, "payments", v, tuple([k for k, _ in _PAYMENTS]))
    if p is None:
        if v is None:
            values.err(errs, "payments", "required", "Обязательное поле")
        return out
    paid = 0
    for name, _ in _PAYMENTS:
        got = values.kopecks(
            errs, "payments." + name, p.get(name), required=False, what="Сумма оплаты"
        )
        if got is not None:
            out[name] = got
            paid += got
    if paid != r["total"]:
        values.err(
            errs,
            "payments",
            "payments_mismatch",
            f"Оплата {paid} коп. не равна итогу {r['total']} коп.",
        )
    methods = [it["method"] for it in r["items"]]
    on_credit = 0
    for it in r["items"]:
        if it["method"] == 6:
            on_credit += it["sum"]
    if out["credit"] > 0 and 5 not in methods and 6 not in methods:
        values.err(
            errs,
            "payments.credit",
            "credit_method",
            "Оплата в кредит — при способе расчёта 5 или 6 (частичный расчёт и кредит,"
            + " передача в кредит)",
        )
    elif out["credit"] < on_credit:
        values.err(
            errs,
            "payments.credit",
            "credit_short",
            f"Позиции «передача в кредит» требуют оплаты в кредит не меньше {on_credit} коп.",
        )
    if out["prepayment"] > 0 and 4 not in methods and 5 not in methods:
        values.err(
            errs,
            "payments.prepayment",
            "prepayment_method",
            "Зачёт предоплаты — при способе расчёта 4 или 5 (полный или частичный расчёт)",
        )
    rules.check_payments(errs, out, reg)
    return out


def _buyer(errs: "values.Errors", request: "dict[Any, Any]", r: "Norm", reg: "Norm | None") -> None:
    contact = values.text(errs, "buyer_contact", request.get("buyer_contact"), 64)
    if contact is not None and not (values.email_ok(contact) or values.ru_phone_ok(contact)):
        values.err(
            errs,
            "buyer_contact",
            "contact",
            "Адрес электронной почты или телефон в формате +7XXXXXXXXXX",
        )
        contact = None
    r["buyer_contact"] = contact
    internet = values.flag(errs, "internet", request.get("internet"))
    if reg is not None and reg["internet_only"]:
        internet = True
    r["internet"] = internet
    r["place"] = values.text(errs, "place", request.get("place"), 256)
    if internet:
        # 54-ФЗ ст. 1.2 п. 5: a remote settlement sends the receipt to the buyer electronically.
        if request.get("buyer_contact") is None:
            values.err(
                errs,
                "buyer_contact",
                "required",
                "При расчёте в Интернете нужен телефон или e-mail",
            )
        has_place = r["place"] is not None or (reg is not None and reg["place"] is not None)
        if r["day"] >= INTERNET_RULES_FROM and not has_place and request.get("place") is None:
            values.err(
                errs, "place", "required", "При расчёте в Интернете нужен адрес сайта (1187)"
            )


# ---- the TLV form ------------------------------------------------------------------------
# Fields in firmware/tlv.py's tuple form: (tag, value), an STLV's value a list of fields,
# money int kopecks, the quantity a decimal string ("1.500"), INNs padded to 12 characters.
#
# What the register sends with 07h for FFD 1.2 (reference fiscal-protocols.md §1.8): the
# drive itself adds the date-time (1012), the operation (1054) and the total (1020) from the
# 16h command (closing()), and its own numbers and fiscal sign (1040, 1041, 1038, 1042, 1077).
# Order: the document's requisites as the FFD 1.2 receipt table lists them (user, place,
# cashier, tax system, correction basis, items, payments, VAT totals, buyer, flags) [M: the
# drive and the OFD do not depend on the order; the table order was not re-read].
# Marked goods: the marking code (2000) and its check go to the drive through the marking
# commands B1h/B5h/B7h (reference §1.7, layouts not yet known), fed by marked(); the item
# carries its product code (1163) here.


def fields(r: "Norm") -> "Iterator[Field]":
    """The receipt's TLV fields for 07h, one top-level field at a time (a generator)."""
    reg = r["register"] or {}
    ffd = r["ffd"]
    if reg.get("user_name"):
        yield (1048, reg["user_name"])
    if reg.get("address"):
        yield (1009, reg["address"])
    place = r["place"] or reg.get("place")
    if place:
        yield (1187, place)
    if reg.get("automat_number"):
        yield (1036, reg["automat_number"])
    if r["cashier"] is not None:
        yield (1021, r["cashier"]["name"])
        if r["cashier"]["inn"] is not None:
            yield (1203, values.pad12(r["cashier"]["inn"]))
    yield (1055, r["tax_system"])
    c = r["correction"]
    if c is not None:
        yield (1173, c["type"])
        base: list[Field] = [(1178, c["original_time"])]
        if c["order_number"] is not None:
            base.append((1179, c["order_number"]))
        yield (1174, base)
    agents = 0
    for it in r["items"]:
        if it["agent"] is not None:
            agents |= it["agent"]["type"]
        yield (1059, item_fields(it, ffd))
    pay = r["payments"]
    for name, tag in _PAYMENTS:
        yield (tag, pay[name])
    yield from _vat_totals(r)
    if r["buyer_contact"] is not None:
        yield (1008, r["buyer_contact"])
    if reg.get("sender_email"):
        yield (1117, reg["sender_email"])
    if r["internet"] and r["day"] >= INTERNET_RULES_FROM:
        yield (1125, 1)
    if agents and ffd < codes.FFD_12:
        yield (1057, agents)  # FFD 1.05/1.1 also mark the receipt (1.2: per item only)
    yield (1209, ffd)


def item_fields(it: "Norm", ffd: int) -> "list[Field]":
    """One item's 1059 STLV value."""
    out: list[Field] = [
        (1030, it["name"]),
        (1079, it["price"]),
        (1023, it["quantity"]),
    ]
    if ffd >= codes.FFD_12 and it["measure"] is not None:
        out.append((2108, it["measure"]))
    out.append((1043, it["sum"]))
    out.append((1199, it["vat"]))
    if it["vat"] not in (5, 6):
        out.append((1200, it["vat_sum"]))
    out.append((1212, it["type"]))
    out.append((1214, it["method"]))
    a = it["agent"]
    if a is not None:
        out.append((1222, a["type"]))
        data: list[Field] = []
        if a["operation"] is not None:
            data.append((1044, a["operation"]))
        for p in a["phones"]:
            data.append((1073, p))
        for p in a["operator_phones"]:
            data.append((1074, p))
        if a["transfer_name"] is not None:
            data.append((1026, a["transfer_name"]))
        if a["transfer_address"] is not None:
            data.append((1005, a["transfer_address"]))
        if a["transfer_inn"] is not None:
            data.append((1016, values.pad12(a["transfer_inn"])))
        for p in a["transfer_phones"]:
            data.append((1075, p))
        if data:
            out.append((1223, data))
        supplier: list[Field] = [(1171, p) for p in a["supplier_phones"]]
        if a["supplier_name"] is not None:
            supplier.append((1225, a["supplier_name"]))
        if supplier:
            out.append((1224, supplier))
        if a["supplier_inn"] is not None:
            out.append((1226, values.pad12(a["supplier_inn"])))
    if it["product_code"] is not None:
        out.append((1163, [it["product_code"]]))
    return out


def _vat_totals(r: "Norm") -> "Iterator[Field]":
    sums: dict[int, int] = {}
    for it in r["items"]:
        code = it["vat"]
        kind = vat.TOTAL_TAGS[code][1] if code in vat.TOTAL_TAGS else "vat"
        sums[code] = sums.get(code, 0) + (it["sum"] if kind == "sum" else it["vat_sum"])
    for code in (1, 2, 5, 6, 3, 4):  # 1102..1107 in tag order
        if code in sums:
            yield (vat.TOTAL_TAGS[code][0], sums[code])
    grouped: list[Field] = []
    for code in (7, 8, 9, 10, 11, 12):
        if code in sums:
            grouped.append(
                (vat.GROUPED_TOTAL_TAG, [(1199, code), (vat.GROUPED_SUM_TAG, sums[code])])
            )
    if grouped:
        yield (vat.GROUPED_TOTALS_TAG, grouped)


def closing(r: "Norm") -> "tuple[int, int, int]":
    """(document tag, operation 1054, total 1020 in kopecks): 3 for a receipt (15h, 16h),
    31 for a correction receipt (17h, 16h)."""
    return (31 if r["correction"] is not None else 3), r["operation"], r["total"]


def marked(r: "Norm") -> "Iterator[tuple[int, str, int, int]]":
    """(item index, marking code, type 2100, planned status 2003) of each marked item."""
    items = r["items"]
    for i in range(len(items)):
        m = items[i]["marking"]
        if m is not None:
            yield i, m["code"], m["type"], m["planned_status"]


# ---- size ----------------------------------------------------------------------------------
# The encoded size, computed as the codec would (the exact check happens at encoding):
# header 4 bytes; strings 1 byte a character (CP866); the byte and time kinds below; other
# ints minimal little-endian (VLN); the quantity a scale byte and its minimal mantissa.
_BYTE_TAGS = (1054, 1055, 1057, 1125, 1173, 1199, 1209, 1212, 1214, 1222, 2108)
_TIME_TAGS = (1178,)


def _uint_size(v: int) -> int:
    n = 0
    while v:
        v >>= 8
        n += 1
    return n


def field_size(f: "Field") -> int:
    """Encoded size of one field, header included."""
    tag, v = f[0], f[1]
    if isinstance(v, list):
        n = 0
        for sub in v:
            n += field_size(sub)
        return 4 + n
    if isinstance(v, str):
        if tag == 1023:
            dot = v.find(".")
            m = int(v.replace(".", "")) if dot >= 0 else int(v)
            return 4 + 1 + (_uint_size(m) or 1)
        return 4 + len(v)
    if tag in _BYTE_TAGS:
        return 5
    if tag in _TIME_TAGS:
        return 8
    return 4 + _uint_size(v)


def size(r: "Norm") -> int:
    """Bytes the receipt's 07h fields encode to."""
    n = 0
    for f in fields(r):
        n += field_size(f)
    return n


def _check_size(errs: "values.Errors", r: "Norm") -> None:
    items = r["items"]
    for i in range(len(items)):
        n = field_size((1059, item_fields(items[i], r["ffd"])))
        if n > MAX_ITEM:
            values.err(
                errs,
                f"items[{i}]",
                "item_too_large",
                f"Позиция занимает {n} байт, больше {MAX_ITEM}",
            )
    n = size(r)
    if n > MAX_DOCUMENT:
        values.err(
            errs,
            "items",
            "document_too_large",
            f"Чек занимает {n} байт, больше {MAX_DOCUMENT}: разделите его на несколько",
        )
