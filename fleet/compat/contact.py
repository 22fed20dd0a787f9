"""The buyer's contact (tag 1008) from a peer's e-mail and phone fields.

The shared schema takes an e-mail or a phone as +7XXXXXXXXXX. The peers' clients send phones
as people write them: ATOL SDKs pass "+7 (916) 123-45-67", and Ferma's Yii2 module turns +7
into 8 before sending ("89161234567"), so a Russian number is normalised here.
"""

from __future__ import annotations

from typing import Any

from fleet.core.phone import BadPhoneError, normalise_phone

__all__ = ["buyer_contact"]


def buyer_contact(email: Any, phone: Any) -> str | None:
    """The e-mail if given, else the phone as +7XXXXXXXXXX (`fleet.core.phone`)."""
    if isinstance(email, str) and email:
        return email
    if isinstance(phone, str) and phone:
        try:
            return normalise_phone(phone)
        except BadPhoneError:  # kept as written: the receipt's checks refuse it by name
            return phone.strip()
    return None
