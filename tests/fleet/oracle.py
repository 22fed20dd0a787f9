"""Test-side generators of valid requisites, written independently of fleet.accounts.requisites."""

from __future__ import annotations


def inn10_remainder(body9: str) -> int:
    """Raw Σ d·w mod 11 for a 9-digit organisation ИНН body (before the final mod 10)."""
    weights = [2, 4, 10, 3, 5, 9, 4, 6, 8]
    return sum(int(body9[i]) * weights[i] for i in range(9)) % 11


def make_inn10(body9: str) -> str:
    return body9 + str(inn10_remainder(body9) % 10)


def inn12_remainders(digits: str) -> tuple[int, int]:
    """Raw remainders for the 11th and 12th digits of a sole trader's ИНН."""
    w11 = [7, 2, 4, 10, 3, 5, 9, 4, 6, 8]
    w12 = [3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8]
    r11 = sum(int(digits[i]) * w11[i] for i in range(10)) % 11
    r12 = sum(int(digits[i]) * w12[i] for i in range(11)) % 11
    return r11, r12


def make_inn12(body10: str) -> str:
    r11, _ = inn12_remainders(body10 + "0")
    with11 = body10 + str(r11 % 10)
    _, r12 = inn12_remainders(with11)
    return with11 + str(r12 % 10)


def make_ogrn(body12: str) -> str:
    return body12 + str(int(body12) % 11 % 10)


def make_ogrnip(body14: str) -> str:
    return body14 + str(int(body14) % 13 % 10)


# A real public pair (ПАО Сбербанк) and a generated sole trader, for readable tests.
SBER_INN = "7707083893"
SBER_OGRN = "1027700132195"
IP_INN = make_inn12("5001234567")
IP_OGRNIP = make_ogrnip("30450010000001")


def company_requisites(n: int) -> tuple[str, str]:
    """The n-th distinct valid organisation ИНН and ОГРН."""
    return make_inn10(f"77{n:07d}"), make_ogrn(f"10277{n:07d}")
