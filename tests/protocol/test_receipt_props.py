"""Properties of the shared receipt schema (protocol/portable, copied to firmware/shared).

- Generated valid requests validate clean, and their TLV fields encode with both codecs
  (the construct spec in protocol/tlv.py and the firmware codec) to the same bytes, whose
  length is what `receipt.size` predicted.
- Mutations of a valid request (wrong sums, wrong types, missing fields) always give at
  least one problem and never an exception.
- Random JSON, shaped like the schema or not, never raises; whatever validates, encodes.
- The fleet's module and the register's copy give the same answers.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.codec import to_spec
from firmware import tlv as fw_tlv
from firmware.shared import receipt as fw_receipt
from protocol import tlv as spec_tlv
from protocol.portable import codes, receipt, values, vat

PROPS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

TAX_NAMES = sorted(codes.TAX_SYSTEMS)
METHOD_NAMES = {v: k for k, v in codes.PAYMENT_METHODS.items()}
VAT_NAMES = {v: k for k, v in vat.NAMES.items()}
# Item types a request without a register profile may use freely (31/33 need a marking code).
PLAIN_TYPES = [t for t in codes.ITEM_TYPES if t not in codes.MARKED_TYPES]
CP866_TEXT = st.text(
    alphabet=st.sampled_from(
        "абвгдеёжзийклмнопрстуфхцчшщъыьэюяАБВГДЕЁЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯ"
        "abcdefghijklmnopqrstuvwxyz0123456789 .,-%№\"'()/"
    ),
    min_size=1,
    max_size=128,
).filter(lambda s: s.strip() != "")


def valid_inn(digits: str) -> str:
    """A 12-digit INN with right check digits from 10 digits."""
    s = digits + str(values._check_digit(digits + "00", values._W11))
    return s + str(values._check_digit(s + "0", values._W12))


def iso_day(day: int) -> str:
    s = str(day)
    return f"{s[0:4]}-{s[4:6]}-{s[6:8]}"


days = st.builds(
    lambda y, m, d: y * 10000 + m * 100 + d,
    st.integers(2019, 2027),
    st.integers(1, 12),
    st.integers(1, 28),
)


@st.composite
def valid_requests(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """A valid request and the register profile it is meant for (or None)."""
    day = draw(days)
    tax_name = draw(st.sampled_from(TAX_NAMES))
    tax = codes.TAX_SYSTEMS[tax_name]
    op_name = draw(st.sampled_from(sorted(codes.OPERATIONS)))
    req: dict[str, Any] = {"id": draw(st.text("abcXYZ0123-_", min_size=1, max_size=40))}
    req["operation"] = op_name
    req["tax_system"] = tax_name
    offset = draw(st.sampled_from(["+03:00", "Z", "-05:30", None]))
    req["date"] = iso_day(day) + ("" if offset is None else f"T12:34:56{offset}")
    vat_day = day
    kind = draw(st.sampled_from(["plain", "original", "correction"]))
    orig = draw(days.filter(lambda d: d <= day))
    if kind == "correction":
        corr: dict[str, Any] = {"type": draw(st.sampled_from(["self", "order"]))}
        corr["original_date"] = iso_day(orig)
        if corr["type"] == "order" or draw(st.booleans()):
            corr["order_number"] = draw(CP866_TEXT.map(lambda s: s[:32]))
        req["correction"] = corr
        vat_day = orig
    elif kind == "original" and codes.OPERATIONS[op_name] in codes.RETURNS:
        req["original_date"] = iso_day(orig)
        vat_day = orig
    rates = [c for c in vat.TAX_RATES[tax] if vat.percent(c, vat_day) is not None]
    agent = draw(st.booleans())
    items = []
    credit = 0
    has_full = False
    for _ in range(draw(st.integers(1, 8))):
        method = draw(st.sampled_from([4, 4, 4, 1, 2, 3, 5, 6]))
        allowed = rates
        if method in codes.PREPAYMENT_METHODS:
            allowed = [c for c in rates if c in vat.PREPAYMENT_CODES]
            if not allowed:
                method, allowed = 4, rates
        code = draw(st.sampled_from(allowed))
        price = draw(st.integers(0, 10**6))
        scale = draw(st.integers(0, 6))
        mantissa = draw(st.integers(1, 1000 * 10**scale))
        text = (
            str(mantissa)
            if scale == 0
            else f"{mantissa // 10**scale}.{mantissa % 10**scale:0{scale}d}"
        )
        amount = values.item_sum(price, mantissa, scale)
        it: dict[str, Any] = {
            "name": draw(CP866_TEXT),
            "price": price,
            "quantity": text,
            "measure": draw(st.sampled_from(codes.MEASURES)),
            "sum": amount,
            "vat": draw(st.sampled_from([code, VAT_NAMES[code]])),
            "type": draw(st.sampled_from(PLAIN_TYPES)),
            "method": draw(st.sampled_from([method, METHOD_NAMES[method]])),
        }
        pct = vat.percent(code, vat_day)
        if draw(st.booleans()) and pct is not None:
            it["vat_sum"] = vat.vat_of(amount, pct)
        if draw(st.booleans()):
            it["product_code"] = {
                "kind": "ean13",
                "value": draw(st.text("0123456789", min_size=13, max_size=13)),
            }
        if agent and draw(st.booleans()):
            it["agent_info"] = {
                "type": draw(st.sampled_from(sorted(codes.AGENT_TYPES))),
                "paying_agent": {"operation": "Платёж", "phones": ["+79161234567"]},
            }
            it["supplier_info"] = {
                "name": draw(CP866_TEXT),
                "inn": valid_inn(draw(st.text("0123456789", min_size=10, max_size=10))),
            }
        if method == 6:
            credit += amount
        has_full = has_full or method in (4, 5)
        items.append(it)
    req["items"] = items
    total = sum(it["sum"] for it in items)
    rest = total - credit
    kinds = ["cash", "electronic", "provision"] + (["prepayment"] if has_full else [])
    pay = {k: 0 for k in kinds}
    for k in kinds[:-1]:
        part = draw(st.integers(0, rest))
        pay[k] += part
        rest -= part
    pay[kinds[-1]] += rest
    if credit:
        pay["credit"] = credit
    req["payments"] = {k: v for k, v in pay.items() if v or draw(st.booleans())}
    if draw(st.booleans()):
        req["total"] = total
    if draw(st.booleans()):
        req["buyer_contact"] = draw(st.sampled_from(["buyer@example.ru", "+79001234567"]))
    if draw(st.booleans()):
        req["internet"] = True
        req["buyer_contact"] = "buyer@example.ru"
        req["place"] = "https://shop.example.ru"
    if draw(st.booleans()):
        req["cashier"] = {"name": draw(CP866_TEXT.map(lambda s: s[:64]))}
        if draw(st.booleans()):
            req["cashier"]["inn"] = valid_inn(draw(st.text("0123456789", min_size=10, max_size=10)))
    register: dict[str, Any] | None = None
    if draw(st.booleans()):
        register = {"ffd": "1.2", "agent": agent, "tax_systems": [tax_name]}
        register.update(excise=True, gambling=True, lottery=True)
        if draw(st.booleans()):
            register["user_name"] = "ООО Ромашка"
            register["address"] = "Москва, ул. Тверская, 1"
            register["sender_email"] = "noreply@example.ru"
    return req, register


def encode_both(fields: list[Any]) -> bytes:
    raw = fw_tlv.encode(fields)
    assert spec_tlv.encode(to_spec(fields)) == raw
    return raw


@PROPS
@given(valid_requests())
def test_valid_requests_validate_and_encode_identically(case: Any) -> None:
    req, register = case
    norm, errs = receipt.check(req, register)
    assert errs == []
    assert norm is not None
    fields = list(receipt.fields(norm))
    raw = encode_both(fields)
    assert len(raw) == receipt.size(norm) <= receipt.MAX_DOCUMENT
    assert fw_tlv.decode(raw) == fields
    assert receipt.closing(norm) == (
        31 if "correction" in req else 3,
        codes.OPERATIONS[req["operation"]],
        sum(it["sum"] for it in req["items"]),
    )
    # the register's copy agrees with the fleet's module
    assert fw_receipt.check(req, register) == (norm, errs)
    assert list(fw_receipt.fields(norm)) == fields


MUTATIONS = [
    "item_sum",
    "item_price_negative",
    "payments_off",
    "vat_sum_off",
    "drop_required",
    "wrong_type",
    "quantity_zero",
    "total_off",
]
REQUIRED_TOP = ["id", "operation", "tax_system", "date", "items", "payments"]
REQUIRED_ITEM = ["name", "price", "quantity", "measure", "sum", "vat", "type", "method"]
WRONG = st.sampled_from([None, True, 1.5, [], {}, [1, 2], {"a": 1}])


@PROPS
@given(valid_requests(), st.sampled_from(MUTATIONS), st.data())
def test_mutations_always_give_a_problem(case: Any, mutation: str, data: st.DataObject) -> None:
    req, register = case
    valid, _ = receipt.check(req, register)
    assert valid is not None
    i = data.draw(st.integers(0, len(req["items"]) - 1))
    it = req["items"][i]
    if mutation == "item_sum":
        down = it["sum"] > 0 and data.draw(st.booleans())
        it["sum"] += -1 if down else data.draw(st.sampled_from([1, 100, 12345]))
    elif mutation == "item_price_negative":
        it["price"] = -data.draw(st.integers(1, 10**6))
    elif mutation == "payments_off":
        kind = data.draw(st.sampled_from(["cash", "electronic", "provision"]))
        req["payments"][kind] = req["payments"].get(kind, 0) + data.draw(st.integers(1, 10**6))
    elif mutation == "vat_sum_off":
        it["vat_sum"] = valid["items"][i]["vat_sum"] + data.draw(st.integers(1, 1000))
    elif mutation == "drop_required":
        if data.draw(st.booleans()):
            del req[data.draw(st.sampled_from(REQUIRED_TOP))]
        else:
            del it[data.draw(st.sampled_from(REQUIRED_ITEM))]
    elif mutation == "wrong_type":
        key = data.draw(st.sampled_from(REQUIRED_ITEM))
        it[key] = data.draw(WRONG)
    elif mutation == "quantity_zero":
        it["quantity"] = data.draw(st.sampled_from(["0", "0.0", "0.000000"]))
    elif mutation == "total_off":
        req["total"] = sum(x["sum"] for x in req["items"]) + data.draw(st.integers(1, 100))
    norm, errs = receipt.check(req, register)
    assert norm is None
    assert errs, mutation
    for path, code, message in errs:
        assert isinstance(path, str) and isinstance(code, str) and isinstance(message, str)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


def shaped(keys: tuple[str, ...], inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.dictionaries(st.sampled_from(keys), inner, max_size=len(keys))


schema_shaped = shaped(
    receipt._TOP,
    json_values
    | st.lists(shaped(receipt._ITEM, json_values), max_size=3)
    | shaped(("cash", "electronic", "prepayment", "credit", "provision"), json_values),
)


def check_never_raises(req: Any, register: Any) -> None:
    norm, errs = receipt.check(req, register, "2026-01-15T10:00:00Z")
    assert isinstance(errs, list)
    if norm is None:
        assert errs
        return
    assert errs == []
    encode_both(list(receipt.fields(norm)))


@PROPS
@given(json_values, st.none() | json_values)
def test_random_json_never_raises(req: Any, register: Any) -> None:
    check_never_raises(req, register)


@PROPS
@given(schema_shaped, st.none() | shaped(("ffd", "tax_systems", "agent", "marking"), json_values))
def test_schema_shaped_random_json_never_raises(req: Any, register: Any) -> None:
    check_never_raises(req, register)


def test_the_documented_example_is_valid() -> None:
    doc = Path(__file__).resolve().parents[2] / "docs" / "receipt-schema.md"
    example = doc.read_text(encoding="utf-8").split("```json\n", 1)[1].split("```", 1)[0]
    norm, errs = receipt.check(json.loads(example))
    assert errs == []
    assert norm is not None
    assert norm["total"] == 44446 and norm["items"][0]["vat_sum"] == 1800
    encode_both(list(receipt.fields(norm)))


def test_text_ok_is_printable_cp866() -> None:
    """values.text_ok accepts exactly the printable characters CP866 can encode."""

    def cp866(ch: str) -> bool:
        try:
            ch.encode("cp866")
        except UnicodeEncodeError:
            return False
        return ch >= " " and ch != "\x7f"

    for cp in range(0x10000):
        ch = chr(cp)
        assert values.text_ok(ch) == cp866(ch), hex(cp)
    assert not values.text_ok("\U0001f375")
