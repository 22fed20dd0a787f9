# micropython
# The shared receipt schema (firmware/shared = protocol/portable): valid receipts, every
# validation error, dated VAT rules and the TLV output. Runs under CPython (pytest) and
# under MicroPython 1.27 (node tools/mprun.mjs tests/protocol): plain asserts only.
from firmware import tlv
from firmware.shared import receipt, rules, values, vat

ORG_INN = "7707083893"  # valid 10-digit INN
PERSON_INN = "500100732259"  # valid 12-digit INN
OTHER_PERSON_INN = "291417776312"


def item(**kw):
    it = {
        "name": "Хлеб Бородинский",
        "price": 4990,
        "quantity": "2",
        "measure": 0,
        "sum": 9980,
        "vat": "vat22",
        "type": 1,
        "method": "full_payment",
    }
    for k in kw:
        if kw[k] is None:
            it.pop(k, None)
        else:
            it[k] = kw[k]
    return it


def request(**kw):
    r = {
        "id": "order-42",
        "operation": "sale",
        "tax_system": "osn",
        "date": "2026-01-15T10:30:00+03:00",
        "items": [item()],
        "payments": {"electronic": 9980},
        "buyer_contact": "buyer@example.ru",
    }
    for k in kw:
        if kw[k] is None:
            r.pop(k, None)
        else:
            r[k] = kw[k]
    return r


def ok(req, register=None, now=None):
    norm, errs = receipt.check(req, register, now)
    assert errs == [], errs
    assert norm is not None
    return norm


def problems(req, register=None, now=None):
    norm, errs = receipt.check(req, register, now)
    assert norm is None
    assert errs
    for e in errs:
        assert len(e) == 3 and isinstance(e[0], str) and isinstance(e[2], str) and e[2], e
    return [(e[0], e[1]) for e in errs]


def has(req, path, code, register=None, now=None):
    got = problems(req, register, now)
    assert (path, code) in got, (path, code, got)


def fields_of(norm):
    return list(receipt.fields(norm))


def field(fields, tag):
    for f in fields:
        if f[0] == tag:
            return f[1]
    return None


# ---- valid receipts ----------------------------------------------------------------------


def test_sale_normalises_and_encodes():
    norm = ok(request())
    assert norm["operation"] == 1 and norm["tax_system"] == 1 and norm["total"] == 9980
    assert norm["items"][0]["vat"] == 11 and norm["items"][0]["vat_sum"] == 1800
    assert norm["items"][0]["method"] == 4
    assert receipt.closing(norm) == (3, 1, 9980)
    fs = fields_of(norm)
    assert fs == [
        (1055, 1),
        (
            1059,
            [
                (1030, "Хлеб Бородинский"),
                (1079, 4990),
                (1023, "2"),
                (2108, 0),
                (1043, 9980),
                (1199, 11),
                (1200, 1800),
                (1212, 1),
                (1214, 4),
            ],
        ),
        (1031, 0),
        (1081, 9980),
        (1215, 0),
        (1216, 0),
        (1217, 0),
        (1115, [(1119, [(1199, 11), (1120, 1800)])]),
        (1008, "buyer@example.ru"),
        (1209, 4),
    ], fs
    raw = tlv.encode(fs)
    assert len(raw) == receipt.size(norm)
    assert tlv.decode(raw) == fs


def test_all_four_operations():
    for name, code in (("sale", 1), ("sale_return", 2), ("expense", 3), ("expense_return", 4)):
        norm = ok(request(operation=name))
        assert receipt.closing(norm) == (3, code, 9980)


def test_return_of_2025_sale_keeps_20_percent():
    req = request(
        operation="sale_return",
        original_date="2025-12-20",
        items=[item(vat="vat20", vat_sum=1663)],
    )
    norm = ok(req)
    assert norm["vat_day"] == 20251220 and norm["items"][0]["vat"] == 1
    assert field(fields_of(norm), 1102) == 1663


def test_returns_and_credit_payments_take_the_original_day():
    # a 2026 return of a 2026 sale: 22 %, and 20 % is refused
    ok(request(operation="sale_return", original_date="2026-01-02"))
    has(
        request(operation="sale_return", original_date="2026-01-02", items=[item(vat="vat20")]),
        "items[0].vat",
        "rate_date",
    )
    # goods handed over on credit in 2025, paid in 2026 (1214 = 7): 20 %
    req = request(
        original_date="2025-11-03",
        items=[item(vat="vat20", method="credit_payment")],
        payments={"cash": 9980},
    )
    assert ok(req)["vat_day"] == 20251103
    # a plain sale cannot borrow an earlier day to keep 20 %
    req = request(original_date="2025-11-03", items=[item(vat="vat20")])
    got = problems(req)
    assert ("original_date", "not_allowed") in got and ("items[0].vat", "rate_date") in got


def test_dated_vat_rules():
    has(request(date="2025-12-31T23:59:59+03:00"), "items[0].vat", "rate_date")  # 22 % in 2025
    has(request(items=[item(vat="vat20")]), "items[0].vat", "rate_date")  # 20 % in 2026
    ok(request(date="2025-12-31", items=[item(vat="vat20", vat_sum=1663)]))
    usn = request(tax_system="usn_income", items=[item(vat="vat5")])
    ok(usn)
    usn["date"] = "2024-12-31"
    has(usn, "items[0].vat", "rate_date")  # 5 % only from 2025
    # before 2019 code 1 meant 18 %: VAT of 9980 at 18/118 is 1522
    norm = ok(
        request(
            operation="sale_return",
            date="2019-01-10",
            original_date="2018-12-28",
            items=[item(vat=1)],
        )
    )
    assert norm["items"][0]["vat_sum"] == 1522
    assert vat.percent(11, 20260101) == 22 and vat.percent(11, 20251231) is None
    assert vat.percent(1, 20251231) == 20 and vat.percent(1, 20260101) is None
    assert vat.percent(6, 20260101) == -1


def test_vat_rounding_half_up():
    # 3 kopecks at 20/120 = 0.5 -> 1; 100 at 22/122 = 18.03 -> 18; 61 at 22/122 = 11.0
    assert vat.vat_of(3, 20) == 1 and vat.vat_of(100, 22) == 18 and vat.vat_of(61, 22) == 11
    assert vat.vat_of(1000, 0) == 0 and vat.vat_of(1000, -1) == 0
    assert vat.vat_of(105, 5) == 5 and vat.vat_of(107, 7) == 7 and vat.vat_of(110, 10) == 10


def test_item_sum_rounding_half_up():
    # 333 × 0.5 = 166.5 -> 167; 999 × 0.333 = 332.667 -> 333; 1 × 0.000001 -> 0
    assert values.item_sum(333, 5, 1) == 167
    assert values.item_sum(999, 333, 3) == 333
    assert values.item_sum(1, 1, 6) == 0
    ok(request(items=[item(price=333, quantity="0.5", sum=167)], payments={"cash": 167}))
    has(
        request(items=[item(price=333, quantity="0.5", sum=166)], payments={"cash": 166}),
        "items[0].sum",
        "sum_mismatch",
    )


def test_calculated_rates_and_prepayment():
    req = request(
        items=[item(vat="vat122", method="full_prepayment", type=10)],
        payments={"cash": 9980},
    )
    norm = ok(req)
    assert norm["items"][0]["vat_sum"] == 1800
    has(request(items=[item(method="prepayment")]), "items[0].vat", "prepay_rate")
    # offsetting a prepayment in a full settlement
    ok(request(payments={"prepayment": 9980}))
    has(
        request(items=[item(method="advance", vat="vat122")], payments={"prepayment": 9980}),
        "payments.prepayment",
        "prepayment_method",
    )


def test_corrections():
    corr = {"type": "self", "original_date": "2025-12-10"}
    norm = ok(request(correction=corr, items=[item(vat="vat20")]))
    assert receipt.closing(norm)[0] == 31
    fs = fields_of(norm)
    assert field(fs, 1173) == 0
    assert field(fs, 1174) == [(1178, 1765324800)]  # 2025-12-10 00:00
    corr = {"type": "order", "original_date": "2026-01-10", "order_number": "АБ-12/3"}
    fs = fields_of(ok(request(correction=corr)))
    assert field(fs, 1173) == 1 and field(fs, 1174) == [(1178, 1768003200), (1179, "АБ-12/3")]
    has(
        request(correction={"type": "order", "original_date": "2026-01-10"}),
        "correction.order_number",
        "required",
    )
    has(request(correction={"type": "self"}), "correction.original_date", "required")
    has(request(correction={"type": "x", "original_date": "2026-01-10"}), "correction.type", "enum")
    has(
        request(correction={"type": "self", "original_date": "2026-02-01"}),
        "correction.original_date",
        "after_date",
    )
    has(
        request(
            correction={"type": "self", "original_date": "2026-01-01"}, original_date="2026-01-01"
        ),
        "original_date",
        "not_allowed",
    )


def test_internet_sale():
    fs = fields_of(ok(request(internet=True, place="https://shop.example.ru")))
    assert field(fs, 1125) == 1 and field(fs, 1187) == "https://shop.example.ru"
    has(request(internet=True), "place", "required")
    has(
        request(internet=True, place="shop.example.ru", buyer_contact=None),
        "buyer_contact",
        "required",
    )
    # before 2025-09-01 no site was required and no 1125 was sent
    fs = fields_of(ok(request(internet=True, date="2025-08-31", items=[item(vat="vat20")])))
    assert field(fs, 1125) is None
    ok(request(buyer_contact="+79161234567"))
    has(request(buyer_contact="8 916 123-45-67"), "buyer_contact", "contact")
    has(request(buyer_contact="buyer@localhost"), "buyer_contact", "contact")


def test_cashier():
    fs = fields_of(ok(request(cashier={"name": "Кассир Иванова А. П.", "inn": PERSON_INN})))
    assert field(fs, 1021) == "Кассир Иванова А. П." and field(fs, 1203) == PERSON_INN
    has(request(cashier={"name": "Иванова", "inn": "500100732258"}), "cashier.inn", "inn")
    has(request(cashier={"name": "Иванова", "inn": ORG_INN}), "cashier.inn", "inn_person")
    has(request(cashier={"inn": PERSON_INN}), "cashier.name", "required")
    assert (
        values.inn_ok(ORG_INN) and values.inn_ok("7728168971") and not values.inn_ok("7707083894")
    )


def test_agent_items():
    agent = {
        "type": "paying_agent",
        "paying_agent": {"operation": "Платёж", "phones": ["+79161234567"]},
        "money_transfer_operator": {"name": "Банк", "inn": ORG_INN, "phones": ["+74951234567"]},
    }
    supplier = {"name": "ООО Поставщик", "inn": ORG_INN, "phones": ["+74957654321"]}
    req = request(items=[item(agent_info=agent, supplier_info=supplier)])
    fs = fields_of(ok(req, {"agent": True}))
    it = field(fs, 1059)
    assert field(it, 1222) == 4
    assert field(it, 1223) == [
        (1044, "Платёж"),
        (1073, "+79161234567"),
        (1026, "Банк"),
        (1016, ORG_INN + "  "),
        (1075, "+74951234567"),
    ]
    assert field(it, 1224) == [(1171, "+74957654321"), (1225, "ООО Поставщик")]
    assert field(it, 1226) == ORG_INN + "  "
    assert len(tlv.encode(fs)) == receipt.size(ok(req, {"agent": True}))
    has(req, "items[0].agent_info", "flag_agent", {"agent": False})
    has(request(items=[item(agent_info=agent)]), "items[0].supplier_info", "required")
    has(request(items=[item(supplier_info=supplier)]), "items[0].supplier_info", "not_allowed")
    bad = {"type": "paying_agent", "paying_agent": {"phones": ["89161234567"]}}
    has(
        request(items=[item(agent_info=bad, supplier_info=supplier)]),
        "items[0].agent_info.paying_agent.phones[0]",
        "phone",
    )
    # FFD 1.1 also marks the receipt with 1057 and has no 2108
    fs = fields_of(ok(req, {"agent": True, "ffd": "1.1"}))
    assert field(fs, 1057) == 4 and field(fs, 1209) == 3 and field(field(fs, 1059), 2108) is None


def test_marked_goods():
    mark = {"code": "0104601234567890215abc\x1d93dGVz", "type": 4, "planned_status": 1}
    code = {"kind": "gs1m", "value": "0104601234567890215abc"}
    req = request(items=[item(type=33, marking=mark, product_code=code)])
    norm = ok(req, {"marking": True})
    assert list(receipt.marked(norm)) == [(0, mark["code"], 4, 1)]
    assert field(field(fields_of(norm), 1059), 1163) == [(1305, "0104601234567890215abc")]
    has(req, "items[0].marking", "flag_marking", {"marking": False})
    has(request(items=[item(type=33)]), "items[0].marking", "required")
    has(request(items=[item(marking=mark)]), "items[0].marking", "not_allowed")
    ret = request(operation="sale_return", items=[item(type=33, marking=mark)])
    has(ret, "items[0].marking.planned_status", "planned_status")
    has(req, "items[0].marking", "ffd", {"marking": True, "ffd": "1.05"})
    has(
        request(items=[item(product_code={"kind": "ean13", "value": "46001"})]),
        "items[0].product_code.value",
        "length",
    )
    has(
        request(items=[item(product_code={"kind": "qr", "value": "1"})]),
        "items[0].product_code.kind",
        "enum",
    )


def test_register_flags():
    has(
        request(payments={"cash": 9980}),
        "payments.cash",
        "cash_internet_only",
        {"internet_only": True},
    )
    norm = ok(request(place="https://shop.example.ru"), {"internet_only": True})
    assert norm["internet"] is True
    has(request(items=[item(type=2)]), "items[0].type", "flag_excise", {})
    ok(request(items=[item(type=2)]), {"excise": True})
    has(request(items=[item(type=5)]), "items[0].type", "flag_gambling", {})
    has(request(items=[item(type=7)]), "items[0].type", "flag_lottery", {})
    has(request(), "tax_system", "tax_not_registered", {"tax_systems": ["usn_income"]})
    ok(request(), {"tax_systems": ["osn", "usn_income"]})
    has(request(), "register.ffd", "enum", {"ffd": "2.0"})
    has(request(), "register.colour", "unknown", {"colour": "red"})
    has(request(), "register", "type", [])
    flags = rules.flags_from_1290(1 << 5 | 1 << 8)
    assert flags["internet_only"] and flags["marking"] and not flags["excise"]


def test_register_requisites_in_tlv():
    reg = {
        "user_name": 'ООО "Ромашка"',
        "address": "Москва, ул. Тверская, 1",
        "place": "Магазин №1",
        "sender_email": "noreply@romashka.ru",
        "automat_number": "A-17",
    }
    fs = fields_of(ok(request(), reg))
    assert [f[0] for f in fs[:4]] == [1048, 1009, 1187, 1036]
    assert field(fs, 1117) == "noreply@romashka.ru"
    has(request(), "register.sender_email", "contact", {"sender_email": "nobody"})


def test_tax_systems_and_vat():
    has(request(tax_system="envd"), "tax_system", "abolished")
    has(request(tax_system="ENVD"), "tax_system", "enum")
    has(request(tax_system=1), "tax_system", "type")
    has(request(tax_system="patent"), "items[0].vat", "rate_tax")
    ok(request(tax_system="patent", items=[item(vat="none")]))
    has(request(items=[item(vat="vat5")]), "items[0].vat", "rate_tax")  # 5 % is for УСН
    ok(request(tax_system="usn_income_outcome", items=[item(vat="vat7")]))
    ok(request(tax_system="esn", items=[item(vat=2, vat_sum=907)]))
    fs = fields_of(ok(request(tax_system="usn_income", items=[item(vat="none")])))
    assert field(fs, 1105) == 9980 and field(field(fs, 1059), 1200) is None


def test_sums_and_payments():
    has(request(total=9981), "total", "total_mismatch")
    ok(request(total=9980))
    has(request(payments={"cash": 9000}), "payments", "payments_mismatch")
    has(request(items=[item(vat_sum=1799)]), "items[0].vat_sum", "vat_mismatch")
    ok(request(items=[item(vat_sum=1800)]))
    has(request(payments={"credit": 9980}), "payments.credit", "credit_method")
    ok(request(items=[item(method="credit")], payments={"credit": 9980}))
    has(
        request(items=[item(method="credit")], payments={"credit": 9000, "cash": 980}),
        "payments.credit",
        "credit_short",
    )
    ok(request(items=[item(method="partial_payment")], payments={"credit": 5000, "cash": 4980}))
    has(request(payments=None), "payments", "required")
    has(request(payments={"cash": -1}), "payments.cash", "negative")
    has(request(payments={"bitcoin": 1}), "payments.bitcoin", "unknown")
    has(request(items=[item(price=1 << 48, sum=1 << 49)]), "items[0].price", "too_large")


def test_value_errors():
    has(request(id=None), "id", "required")
    has(request(id="x" * 129), "id", "format")
    has(request(operation=1), "operation", "enum")
    has(request(operation=None), "operation", "required")
    has(request(items=[]), "items", "empty")
    has(request(items={}), "items", "type")
    has(request(items=["x"]), "items[0]", "type")
    has(request(items=[item(name="")]), "items[0].name", "empty")
    has(request(items=[item(name="x" * 129)]), "items[0].name", "too_long")
    has(request(items=[item(name="Чай 🍵")]), "items[0].name", "charset")
    has(request(items=[item(name=5)]), "items[0].name", "type")
    has(request(items=[item(price=1.5)]), "items[0].price", "type")
    has(request(items=[item(price=True)]), "items[0].price", "type")
    has(request(items=[item(quantity="0")]), "items[0].quantity", "zero")
    has(request(items=[item(quantity="1.1234567")]), "items[0].quantity", "scale")
    has(request(items=[item(quantity="1,5")]), "items[0].quantity", "format")
    has(request(items=[item(quantity=2.0)]), "items[0].quantity", "type")
    has(request(items=[item(quantity="9" * 18)]), "items[0].quantity", "too_large")
    has(request(items=[item(measure=None)]), "items[0].measure", "required")
    has(request(items=[item(measure=13)]), "items[0].measure", "enum")
    has(request(items=[item(type=28)]), "items[0].type", "enum")
    has(request(items=[item(method=8)]), "items[0].method", "enum")
    has(request(items=[item(vat="vat18")]), "items[0].vat", "enum")
    has(request(items=[item(vat=None)]), "items[0].vat", "required")
    has(request(items=[item(colour="red")]), "items[0].colour", "unknown")
    has(request(colour="red"), "colour", "unknown")
    has(request(date="15.01.2026"), "date", "date")
    has(request(date="2026-02-30"), "date", "date")
    has(request(date="2026-01-15T10:30:00"), "date", "tz")
    has(request(date=None), "date", "required")
    ok(request(date=None), now="2026-01-15T10:30:00Z")
    ok(request(date="2026-01-15"))
    ok(request(date="2026-01-15 10:30:00.123-05:00"))
    has(request(operation="sale_return", original_date="2026-01-16"), "original_date", "after_date")
    has(request(internet="yes"), "internet", "type")
    has(request(cashier="Иванова"), "cashier", "type")


def test_quantity_keeps_its_scale():
    norm = ok(request(items=[item(quantity="02.500", sum=12475)], payments={"cash": 12475}))
    assert norm["items"][0]["quantity"] == "2.500"
    raw = tlv.encode(fields_of(norm))
    assert tlv.decode(raw)[1][1][2] == (1023, "2.500")


def test_every_problem_at_once():
    req = request(
        operation="sell",
        items=[item(price=-1), item(vat="vat18", quantity="0")],
        payments={"cash": "10"},
        buyer_contact="nobody",
    )
    got = problems(req)
    msg = ("items[0].price", "negative", "Цена не может быть отрицательной")
    assert msg in receipt.errors(req)
    for want in (
        ("operation", "enum"),
        ("items[0].price", "negative"),
        ("items[1].vat", "enum"),
        ("items[1].quantity", "zero"),
        ("payments.cash", "type"),
        ("buyer_contact", "contact"),
    ):
        assert want in got, (want, got)


def test_size_limits():
    long_name = "Я" * 128
    many = [item(name=long_name) for _ in range(200)]
    total = 9980 * 200
    has(request(items=many, payments={"cash": total}), "items", "document_too_large")
    agent = {"type": 4, "paying_agent": {"phones": ["+7" + "1" * 17] * 40}}
    supplier = {"name": "Поставщик", "inn": ORG_INN}
    has(
        request(items=[item(agent_info=agent, supplier_info=supplier)]),
        "items[0]",
        "item_too_large",
        {"agent": True},
    )


def test_garbage_never_raises():
    samples = [None, 0, -1, 1.5, True, "", "x", [], [None], {}, {"items": None}]
    samples += [{"items": [None, 1, "x", [], {"marking": [], "agent_info": 1}]}]
    samples += [{"payments": {"cash": None}, "correction": [], "cashier": {"name": None}}]
    samples += [{"id": [], "date": 20260115, "original_date": "2026-13-01", "total": -5}]
    for s in samples:
        norm, errs = receipt.check(s, None, None)
        assert norm is None and errs
    for reg in (None, 1, "x", {"ffd": []}, {"tax_systems": "osn"}, {"tax_systems": [1, None]}):
        receipt.check(request(), reg, None)


def test_text_charset():
    assert values.text_ok("Молоко 3,2% №5 ½"[:-1]) and not values.text_ok("½")
    assert values.text_ok("Ёё°·√№¤■") and not values.text_ok("tab\there")
    assert values.parse_date("2024-02-29") == (20240229, 1709164800)
    assert values.parse_date("2023-02-29") is None
