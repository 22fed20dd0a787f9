"""The one phone normaliser (fleet/core/phone.py) and the three places that use it."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fleet.adreceipts.consent import normalise as consent_normalise
from fleet.adreceipts.exceptions import BadConsentError
from fleet.compat.contact import buyer_contact
from fleet.core.phone import BadPhoneError, normalise_phone
from fleet.delivery.exceptions import BadContactError
from fleet.delivery.masking import mask
from fleet.delivery.masking import normalise_phone as delivery_phone

national = st.text(alphabet="0123456789", min_size=10, max_size=10)


def spellings(digits: str) -> list[str]:
    """How people and the peers' SDKs write one Russian number."""
    a, b, c, d = digits[:3], digits[3:6], digits[6:8], digits[8:]
    return [
        f"+7{digits}",
        f"8{digits}",
        f"7{digits}",
        digits,
        f"+7 ({a}) {b}-{c}-{d}",
        f"8 ({a}) {b}-{c}-{d}",
        f" 8-{a}-{b}-{c}-{d} ",
        f"+7.{a}.{b}.{c}{d}",
    ]


@given(national)
def test_every_spelling_of_a_russian_number_is_one_number(digits: str) -> None:
    for text in spellings(digits):
        assert normalise_phone(text) == f"+7{digits}", text


@given(st.text(max_size=24))
def test_any_text_normalises_to_e164_or_is_refused(text: str) -> None:
    try:
        out = normalise_phone(text)
    except BadPhoneError as exc:
        assert exc.fields == {"phone": "например +79001234567"}
        return
    assert re.fullmatch(r"\+[0-9]{11,15}", out)
    assert normalise_phone(out) == out  # idempotent


@given(st.text(alphabet="0123456789", min_size=11, max_size=15))
def test_an_international_number_with_plus_is_kept(digits: str) -> None:
    assert normalise_phone("+" + digits) == "+" + digits


@pytest.mark.parametrize(
    "text", ["", "+", "12345", "+7916", "9161234567x", "+7９１６１２３４５６７", "++79161234567"]
)
def test_refused(text: str) -> None:
    with pytest.raises(BadPhoneError):
        normalise_phone(text)


def test_the_three_users_agree() -> None:
    raw = "8 (916) 123-45-67"
    assert buyer_contact(None, raw) == "+79161234567"  # compat: peers' fields
    assert delivery_phone(raw) == "+79161234567"  # delivery: the cascade's contact
    assert consent_normalise(raw) == "+79161234567"  # advertising consent lookup
    assert mask(raw) == "+7********67"
    with pytest.raises(BadContactError):
        delivery_phone("12345")
    with pytest.raises(BadConsentError):
        consent_normalise("12345")
    assert buyer_contact(None, " 12345 ") == "12345"  # kept as written for the receipt's check
