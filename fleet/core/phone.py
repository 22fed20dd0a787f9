"""The one phone normaliser: a buyer's number as +<digits> (E.164), Russian spellings as +7….

People and peers' SDKs write Russian numbers as "+7 (916) 123-45-67", "8 916 123 45 67",
"79161234567" or the ten national digits "9161234567"; SMS gateways, consent lookups, masking
and tag 1008 need one form. A number written with "+" is taken as international (11–15 digits,
no guessing); without it, 11 digits starting with 7 or 8, or 10 digits, are Russian.
"""

from __future__ import annotations

import re

from fleet.core.errors import InvalidInputError

__all__ = ["BadPhoneError", "normalise_phone"]

_SEPARATORS = re.compile(r"[\s().\-]")
_DIGITS = re.compile(r"[0-9]+")


class BadPhoneError(InvalidInputError):
    """The text is not a phone number this service can send to."""


def normalise_phone(raw: str) -> str:
    """+7XXXXXXXXXX from the usual Russian spellings, +<11–15 digits> from an international one;
    anything else raises BadPhoneError."""
    text = _SEPARATORS.sub("", raw)
    plus = text.startswith("+")
    digits = text[1:] if plus else text
    if not _DIGITS.fullmatch(digits):
        raise _bad()
    if not plus:
        if len(digits) == 11 and digits[0] in "78":
            digits = "7" + digits[1:]
        elif len(digits) == 10:
            digits = "7" + digits
        else:
            raise _bad()
    if not 11 <= len(digits) <= 15:
        raise _bad()
    return "+" + digits


def _bad() -> BadPhoneError:
    return BadPhoneError("Телефон записан неверно", fields={"phone": "например +79001234567"})
