"""RNM check digits (fiscal-protocols.md §3.2)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from protocol.rnm import make_rnm, rnm_check_digits, verify_rnm


def test_golden_example_from_a_real_dump() -> None:
    assert rnm_check_digits("0000000005", "7702203276", "000000000002") == "008570"
    assert make_rnm(5, "7702203276", "000000000002") == "0000000005008570"
    assert verify_rnm("0000000005008570", "7702203276", "000000000002")


def test_a_wrong_digit_or_other_owner_fails() -> None:
    assert not verify_rnm("0000000005008571", "7702203276", "000000000002")
    assert not verify_rnm("0000000005008570", "7707083893", "000000000002")
    assert not verify_rnm("000000000500857", "7702203276", "000000000002")
    assert not verify_rnm("000000000500857x", "7702203276", "000000000002")


@given(
    st.integers(0, 10**10 - 1),
    st.from_regex(r"\A[0-9]{10}([0-9]{2})?\Z"),
    st.from_regex(r"\A[0-9A-Z]{1,20}\Z"),
)
def test_made_rnms_always_verify(seq: int, inn: str, serial: str) -> None:
    rnm = make_rnm(seq, inn, serial)
    assert len(rnm) == 16 and rnm.isdigit()
    assert verify_rnm(rnm, inn, serial)
