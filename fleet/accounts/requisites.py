"""Russian company requisites: ИНН (10 or 12 digits), ОГРН (13), ОГРНИП (15), check digits.

Algorithms (ФНС, приказ ФНС России от 29.06.2012 № ММВ-7-6/435@ for ИНН; ОГРН/ОГРНИП per
Правила ведения ЕГРЮЛ/ЕГРИП):

- ИНН 10: check = (Σ dᵢ·wᵢ mod 11) mod 10, w = 2 4 10 3 5 9 4 6 8.
- ИНН 12: n11 = (Σ dᵢ·wᵢ mod 11) mod 10 with w = 7 2 4 10 3 5 9 4 6 8 over digits 1..10;
  n12 likewise with w = 3 7 2 4 10 3 5 9 4 6 8 over digits 1..11.
- ОГРН 13: check = (first 12 digits as a number mod 11) mod 10.
- ОГРНИП 15: check = (first 14 digits as a number mod 13) mod 10.

Note the final "mod 10": a remainder of 10 (or 11, 12 for ОГРНИП) gives the same check digit as
0 (1, 2), so a few single-digit typos are undetectable by design of the numbers themselves.
"""

from __future__ import annotations

from typing import Final

from fleet.accounts.exceptions import InvalidRequisiteError

__all__ = [
    "inn_check_digits",
    "ogrn_check_digit",
    "validate_inn",
    "validate_ogrn",
    "validate_requisites",
]

_W10: Final = (2, 4, 10, 3, 5, 9, 4, 6, 8)
_W11: Final = (7, 2, 4, 10, 3, 5, 9, 4, 6, 8)
_W12: Final = (3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8)


def _weighted(digits: str, weights: tuple[int, ...]) -> int:
    return sum(int(d) * w for d, w in zip(digits, weights, strict=True)) % 11 % 10


def inn_check_digits(body: str) -> str:
    """The check digit(s) for a 9-digit (organisation) or 10-digit (sole trader) ИНН body."""
    if len(body) == 9:
        return str(_weighted(body, _W10))
    n11 = _weighted(body, _W11)
    return f"{n11}{_weighted(body + str(n11), _W12)}"


def ogrn_check_digit(body: str) -> str:
    """The check digit for a 12-digit ОГРН body or a 14-digit ОГРНИП body."""
    modulus = 11 if len(body) == 12 else 13
    return str(int(body) % modulus % 10)


def _clean(value: str) -> str:
    return value.strip().replace(" ", "")


def validate_inn(value: str, field: str = "inn") -> str:
    """Return the ИНН if valid; raise `InvalidRequisiteError` with a precise Russian reason."""
    inn = _clean(value)
    if not inn.isascii() or not inn.isdigit():
        raise InvalidRequisiteError(
            "Неверный ИНН", fields={field: "ИНН должен состоять только из цифр"}
        )
    if len(inn) not in (10, 12):
        raise InvalidRequisiteError(
            "Неверный ИНН",
            fields={
                field: f"ИНН должен содержать 10 цифр (организация) или 12 цифр "
                f"(индивидуальный предприниматель), а указано {len(inn)}"
            },
        )
    expected = inn_check_digits(inn[:9] if len(inn) == 10 else inn[:10])
    given = inn[9:] if len(inn) == 10 else inn[10:]
    if given != expected:
        which = "10-я цифра" if len(inn) == 10 else "11-я и 12-я цифры"
        raise InvalidRequisiteError(
            "Неверный ИНН",
            fields={
                field: f"Контрольное число ИНН не сходится: {which} должны быть {expected}, "
                f"а указано {given}. Проверьте, нет ли опечатки"
            },
        )
    return inn


def validate_ogrn(value: str, *, inn_length: int, field: str = "ogrn") -> str:
    """Return the ОГРН (13, organisation) or ОГРНИП (15, sole trader) that matches the ИНН."""
    ogrn = _clean(value)
    name, length = ("ОГРН", 13) if inn_length == 10 else ("ОГРНИП", 15)
    if not ogrn.isascii() or not ogrn.isdigit():
        raise InvalidRequisiteError(
            f"Неверный {name}", fields={field: f"{name} должен состоять только из цифр"}
        )
    if len(ogrn) != length:
        who = "организации (ИНН из 10 цифр)" if length == 13 else "ИП (ИНН из 12 цифр)"
        raise InvalidRequisiteError(
            f"Неверный {name}",
            fields={field: f"Для {who} нужен {name} из {length} цифр, а указано {len(ogrn)}"},
        )
    expected = ogrn_check_digit(ogrn[:-1])
    if ogrn[-1] != expected:
        raise InvalidRequisiteError(
            f"Неверный {name}",
            fields={
                field: f"Контрольная цифра {name} не сходится: последняя цифра должна быть "
                f"{expected}, а указано {ogrn[-1]}. Проверьте, нет ли опечатки"
            },
        )
    return ogrn


def validate_requisites(inn: str, ogrn: str) -> tuple[str, str]:
    """Validate ИНН and the matching ОГРН/ОГРНИП together; return both cleaned."""
    clean_inn = validate_inn(inn)
    return clean_inn, validate_ogrn(ogrn, inn_length=len(clean_inn))
