"""`extract` against receipts encoded by the register's own codec (firmware/tlv.py), hypothesis."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from firmware.tlv import encode
from fleet.documents.content import Flag, extract

_TOTAL_TAG = {1: 1102, 2: 1103, 3: 1106, 4: 1107, 5: 1104, 6: 1105}

items_st = st.lists(
    st.tuples(
        st.integers(1, 10**9),  # sum 1043
        st.sampled_from([1, 2, 3, 4, 5, 6, 11, 12]),  # VAT code 1199
        st.sampled_from([1, 2, 4, 5, 7, 31, 32, 33]),  # item type 1212
        st.sampled_from([1, 2, 3, 4, 5, 6, 7]),  # method 1214
    ),
    min_size=1,
    max_size=8,
)


def _receipt(items: list[tuple[int, int, int, int]], tamper: bool, internet: bool) -> list[Any]:
    fields: list[Any] = [(1055, 1)]
    by_code: dict[int, int] = {}
    for s, code, kind, method in items:
        vat = s * 22 // 122
        item: list[Any] = [(1030, "Товар"), (1043, s), (1199, code)]
        if code not in (5, 6):
            item.append((1200, vat))
        item += [(1212, kind), (1214, method)]
        fields.append((1059, item))
        by_code[code] = by_code.get(code, 0) + (s if code in (5, 6) else vat)
    total = sum(s for s, *_ in items)
    fields += [(1020, total), (1031, total // 3), (1081, total - total // 3)]
    for code, amount in by_code.items():
        if code in _TOTAL_TAG:
            fields.append((_TOTAL_TAG[code], amount + (1 if tamper and code == items[0][1] else 0)))
    grouped = [(1119, [(1199, c), (1120, a)]) for c, a in by_code.items() if c >= 7]
    if grouped:
        fields.append((1115, grouped))
    if internet:
        fields += [(1125, 1), (1008, "buyer@example.ru")]
    return fields


@settings(max_examples=200, deadline=None)
@given(items=items_st, tamper=st.booleans(), internet=st.booleans())
def test_extract_agrees_with_what_was_encoded(
    items: list[tuple[int, int, int, int]], tamper: bool, internet: bool
) -> None:
    c = extract(encode(_receipt(items, tamper, internet)))
    total = sum(s for s, *_ in items)
    assert (c.total, c.cash, c.electronic) == (total, total // 3, total - total // 3)
    assert (c.items, c.items_sum, c.tax_system) == (len(items), total, 1)
    assert c.vat_codes == sum({1 << code for _, code, _, _ in items})
    assert c.internet is internet and c.buyer_contact is internet
    kinds = {k for _, _, k, _ in items}
    methods = {m for *_, m in items}
    assert bool(c.flags & Flag.EXCISE) == bool(kinds & {2, 31})
    assert bool(c.flags & Flag.MARKED) == bool(kinds & {31, 33})
    assert bool(c.flags & Flag.MARK_UNCODED) == (32 in kinds)
    assert bool(c.flags & Flag.GAMBLING) == (5 in kinds)
    assert bool(c.flags & Flag.LOTTERY) == (7 in kinds)
    assert bool(c.flags & Flag.SERVICE) == (4 in kinds)
    assert bool(c.flags & Flag.FULL_PREPAY) == (1 in methods)
    assert bool(c.flags & Flag.PREPAY_ITEMS) == bool(methods & {1, 2, 3})
    assert bool(c.flags & Flag.CREDIT_ITEMS) == bool(methods & {5, 6})
    tampered = tamper and items[0][1] in _TOTAL_TAG
    assert bool(c.flags & Flag.VAT_MISMATCH) == tampered
    assert not c.flags & Flag.BROKEN


@settings(max_examples=200, deadline=None)
@given(items=items_st, cut=st.integers(1, 400))
def test_a_cut_document_never_raises(items: list[tuple[int, int, int, int]], cut: int) -> None:
    data = encode(_receipt(items, False, False))
    c = extract(data[: max(0, len(data) - cut)])
    assert c.items <= len(items)
