"""Masking of buyers' contacts (personal data, 152-FZ): what the cabinet and the logs show."""

from __future__ import annotations

import re

from fleet.core import phone as core_phone
from fleet.core.phone import BadPhoneError
from fleet.delivery.exceptions import BadContactError

__all__ = ["contact_kind", "mask", "normalise_phone"]

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def normalise_phone(raw: str) -> str:
    """+7XXXXXXXXXX (`fleet.core.phone`); anything else is refused as a bad contact."""
    try:
        return core_phone.normalise_phone(raw)
    except BadPhoneError:
        raise BadContactError(
            "Телефон покупателя записан неверно", fields={"contact": "phone"}
        ) from None


def contact_kind(contact: str) -> str:
    """ "email" or "phone" for a tag-1008 value."""
    if _EMAIL.fullmatch(contact.strip()):
        return "email"
    normalise_phone(contact)
    return "phone"


def mask(contact: str) -> str:
    """i***@m***.ru for an e-mail, +7*******67 for a phone: enough to recognise, not to use."""
    contact = contact.strip()
    if contact_kind(contact) == "email":
        local, domain = contact.rsplit("@", 1)
        host, _, tld = domain.rpartition(".")
        return f"{local[0]}***@{host[:1]}***.{tld}"
    phone = normalise_phone(contact)
    return phone[:2] + "*" * (len(phone) - 4) + phone[-2:]
