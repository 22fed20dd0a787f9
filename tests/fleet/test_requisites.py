"""ИНН, ОГРН, ОГРНИП check digits: generated valid numbers pass, single-digit typos fail.

The numbers' own design cannot catch every typo: the final "mod 10" maps a remainder of 10 (and,
for ОГРНИП, 11 and 12) onto 0 (1, 2). So the property is exact: a changed digit is refused unless
the independent oracle shows that the remainders collide under mod 10; a changed check digit is
always refused.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fleet.accounts.exceptions import InvalidRequisiteError
from fleet.accounts.requisites import validate_inn, validate_ogrn, validate_requisites
from tests.fleet.oracle import (
    IP_INN,
    IP_OGRNIP,
    SBER_INN,
    SBER_OGRN,
    inn10_remainder,
    inn12_remainders,
    make_inn10,
    make_inn12,
    make_ogrn,
    make_ogrnip,
)


def digits(n: int) -> st.SearchStrategy[str]:
    return st.text(alphabet="0123456789", min_size=n, max_size=n)


def _change(number: str, pos: int, delta: int) -> str:
    new = (int(number[pos]) + delta) % 10
    return number[:pos] + str(new) + number[pos + 1 :]


def _refused_inn(value: str) -> bool:
    try:
        validate_inn(value)
    except InvalidRequisiteError:
        return True
    return False


def _refused_ogrn(value: str, inn_length: int) -> bool:
    try:
        validate_ogrn(value, inn_length=inn_length)
    except InvalidRequisiteError:
        return True
    return False


@given(digits(9))
def test_generated_inn10_passes(body: str) -> None:
    assert validate_inn(make_inn10(body)) == make_inn10(body)


@given(digits(10))
def test_generated_inn12_passes(body: str) -> None:
    assert validate_inn(make_inn12(body)) == make_inn12(body)


@given(digits(12), digits(14))
def test_generated_ogrn_and_ogrnip_pass(body12: str, body14: str) -> None:
    assert validate_ogrn(make_ogrn(body12), inn_length=10) == make_ogrn(body12)
    assert validate_ogrn(make_ogrnip(body14), inn_length=12) == make_ogrnip(body14)


@given(digits(9), st.integers(0, 9), st.integers(1, 9))
def test_inn10_single_digit_change_fails(body: str, pos: int, delta: int) -> None:
    good = make_inn10(body)
    bad = _change(good, pos, delta)
    if pos == 9:
        assert _refused_inn(bad)
        return
    before, after = inn10_remainder(good[:9]), inn10_remainder(bad[:9])
    assert before != after  # every weight is non-zero mod 11
    collides = before % 10 == after % 10  # only {0, 10}
    assert _refused_inn(bad) != collides


@given(digits(10), st.integers(0, 11), st.integers(1, 9))
def test_inn12_single_digit_change_fails(body: str, pos: int, delta: int) -> None:
    good = make_inn12(body)
    bad = _change(good, pos, delta)
    if pos >= 10:
        assert _refused_inn(bad)
        return
    r11, r12 = inn12_remainders(bad)
    still_valid = str(r11 % 10) == bad[10] and str(r12 % 10) == bad[11]
    assert _refused_inn(bad) != still_valid
    g11, _ = inn12_remainders(good)
    if still_valid:  # only through the 10 -> 0 collision of the 11th digit
        assert {g11, r11} == {0, 10}


@given(digits(12), st.integers(0, 12), st.integers(1, 9))
def test_ogrn_single_digit_change_fails(body: str, pos: int, delta: int) -> None:
    good = make_ogrn(body)
    bad = _change(good, pos, delta)
    if pos == 12:
        assert _refused_ogrn(bad, 10)
        return
    before, after = int(good[:12]) % 11, int(bad[:12]) % 11
    assert before != after  # 10^k is ±1 mod 11
    assert _refused_ogrn(bad, 10) != (before % 10 == after % 10)


@given(digits(14), st.integers(0, 14), st.integers(1, 9))
def test_ogrnip_single_digit_change_fails(body: str, pos: int, delta: int) -> None:
    good = make_ogrnip(body)
    bad = _change(good, pos, delta)
    if pos == 14:
        assert _refused_ogrn(bad, 12)
        return
    before, after = int(good[:14]) % 13, int(bad[:14]) % 13
    assert before != after  # 13 is prime and does not divide d * 10^k
    assert _refused_ogrn(bad, 12) != (before % 10 == after % 10)


def test_real_and_sole_trader_pairs() -> None:
    assert validate_requisites(f" {SBER_INN} ", SBER_OGRN) == (SBER_INN, SBER_OGRN)
    assert validate_requisites(IP_INN, IP_OGRNIP) == (IP_INN, IP_OGRNIP)


@pytest.mark.parametrize(
    ("inn", "ogrn", "field", "text"),
    [
        ("77070838", SBER_OGRN, "inn", "ИНН должен содержать 10 цифр (организация) или 12 цифр"),
        ("77070838A3", SBER_OGRN, "inn", "ИНН должен состоять только из цифр"),
        ("7707083894", SBER_OGRN, "inn", "10-я цифра должны быть 3, а указано 4"),
        (IP_INN[:10] + "00", IP_OGRNIP, "inn", "11-я и 12-я цифры должны быть"),
        (SBER_INN, IP_OGRNIP, "ogrn", "Для организации (ИНН из 10 цифр) нужен ОГРН из 13 цифр"),
        (IP_INN, SBER_OGRN, "ogrn", "Для ИП (ИНН из 12 цифр) нужен ОГРНИП из 15 цифр"),
        (SBER_INN, "1027700132196", "ogrn", "Контрольная цифра ОГРН не сходится"),
        (IP_INN, IP_OGRNIP[:-1] + "9", "ogrn", "Контрольная цифра ОГРНИП не сходится"),
    ],
)
def test_precise_russian_messages(inn: str, ogrn: str, field: str, text: str) -> None:
    with pytest.raises(InvalidRequisiteError) as info:
        validate_requisites(inn, ogrn)
    assert text in info.value.fields[field]
