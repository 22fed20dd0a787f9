"""The УПД XML: what `build_upd` makes passes `check_upd` for any lines, and a file whose
sums or requisites are broken is refused with the reason."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fleet.edo.exceptions import UpdFormatError
from fleet.edo.upd import Party, UpdLine, build_upd, check_upd, upd_bytes, vat_of

SELLER = Party("ООО «Облако»", "7701999993", "770701001")
BUYER = Party("ИП Иванов", "500100732259")

names = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=60).filter(
    lambda s: s.strip() != ""
)
lines = st.lists(
    st.builds(UpdLine, name=names, amount=st.integers(min_value=1, max_value=10**11)),
    min_size=1,
    max_size=20,
)


def _upd(items: list[UpdLine], buyer: Party = BUYER) -> str:
    xml, _ = build_upd(
        seller=SELLER,
        buyer=buyer,
        sender_id="2AE-OBLAKO-0001",
        recipient_id="2BE-42",
        number="2023-12/7-Т",
        day=dt.date(2023, 12, 31),
        made_at=dt.datetime(2024, 1, 1, 10, 0, 0),
        lines=items,
        basis="Договор-оферта",
    )
    return xml


@settings(max_examples=60, deadline=None)
@given(lines)
def test_any_lines_make_a_valid_file_that_adds_up(items: list[UpdLine]) -> None:
    xml = _upd(items)
    check_upd(upd_bytes(xml))
    total = sum(i.amount for i in items)
    vat = sum(vat_of(i.amount) for i in items)
    assert f'СтТовУчНалВсего="{total // 100}.{total % 100:02d}"' in xml
    assert f"<СумНал>{vat // 100}.{vat % 100:02d}</СумНал>" in xml


def test_vat_is_the_included_22_percent_rounded_half_up() -> None:
    assert vat_of(12_200) == 2_200
    assert vat_of(100) == 18  # 18.03
    assert vat_of(399) == 72  # 71.95 → 72


def test_the_file_names_the_format_and_the_parties() -> None:
    xml = _upd([UpdLine("Абонентская плата × 2", 150_000)])
    assert xml.startswith('<?xml version="1.0" encoding="windows-1251"?>')
    assert re.search(r'ИдФайл="ON_NSCHFDOPPR_2BE-42_2AE-OBLAKO-0001_20231231_[0-9a-f-]{36}_', xml)
    assert 'ВерсФорм="5.03"' in xml and 'КНД="1115131"' in xml and 'Функция="СЧФДОП"' in xml
    assert b"&#215;" in upd_bytes(xml)  # "×" is not in windows-1251


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda x: x.replace('СтТовУчНалВсего="1500.00"', 'СтТовУчНалВсего="1500.01"'), "Итог"),
        (lambda x: x.replace("<СумНал>270.49</СумНал>", "<СумНал>270.50</СумНал>", 1), "Строка 1"),
        (lambda x: x.replace('ИННЮЛ="7701999993"', 'ИННЮЛ="7701999994"'), "ИНН"),
        (lambda x: x.replace('ВерсФорм="5.03"', 'ВерсФорм="5.01"'), "5.03"),
        (lambda x: x.replace('НомСтр="1"', 'НомСтр="2"'), "номер строки"),
        (lambda x: x.replace("</Файл>", ""), "XML"),
        (lambda x: re.sub(r"<Подписант.*?</Подписант>", "", x, flags=re.S), "Подписант"),
    ],
)
def test_broken_files_are_refused_with_the_reason(change: object, reason: str) -> None:
    xml = _upd([UpdLine("Абонентская плата", 150_000)])
    check_upd(upd_bytes(xml))
    assert callable(change)
    with pytest.raises(UpdFormatError) as refused:
        check_upd(upd_bytes(change(xml)))
    assert reason in refused.value.message
