"""Buyers' consent to advertising (38-FZ art. 18: advertising by electronic means only with
the addressee's prior consent). One row per company and contact holds the latest answer and
where it came from; the contact itself is not stored, only a hash to find it and a mask."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from sqlmodel import Session, col, func, select

from fleet import audit
from fleet.adreceipts.exceptions import BadConsentError
from fleet.adreceipts.models import AdConsent, ConsentSource
from fleet.core.clock import Clock
from fleet.core.phone import BadPhoneError, normalise_phone
from fleet.delivery.exceptions import BadContactError
from fleet.delivery.masking import contact_kind, mask

__all__ = ["contact_hash", "counts", "granted", "normalise", "record", "record_from_request"]


def normalise(contact: str) -> str:
    """The contact as compared: e-mail in lower case, a phone as +7XXXXXXXXXX."""
    contact = contact.strip()
    try:
        if contact_kind(contact) == "email":
            return contact.lower()
        return normalise_phone(contact)
    except (BadContactError, BadPhoneError) as exc:
        raise BadConsentError(
            "Контакт покупателя — e-mail или телефон, например buyer@example.ru или +79001234567",
            fields={"contact": "Укажите e-mail или телефон покупателя"},
        ) from exc


def contact_hash(company_id: int, contact: str) -> str:
    """SHA-256 of the company and the normalised contact (a lookup key, not the contact)."""
    return hashlib.sha256(
        f"oblako-ad-consent:{company_id}:{normalise(contact)}".encode()
    ).hexdigest()


def record(
    session: Session,
    clock: Clock,
    *,
    company_id: int,
    contact: str,
    granted: bool,
    source: ConsentSource,
    receipt_id: int | None = None,
    user_id: int | None = None,
) -> AdConsent:
    """Store the buyer's latest answer (given or withdrawn); flushed, not committed."""
    key = contact_hash(company_id, contact)
    row = session.exec(
        select(AdConsent).where(AdConsent.company_id == company_id, AdConsent.contact_hash == key)
    ).first()
    if row is None:
        row = AdConsent(
            company_id=company_id,
            contact_hash=key,
            masked=mask(normalise(contact)),
            granted=granted,
            source=source.value,
            receipt_id=receipt_id,
            updated_at=clock.wall(),
        )
    else:
        row.granted, row.source, row.receipt_id = granted, source.value, receipt_id
        row.updated_at = clock.wall()
    session.add(row)
    session.flush()
    audit.record(
        session,
        clock,
        action="adreceipts.consent",
        entity="ad_consent",
        entity_id=row.id,
        company_id=company_id,
        user_id=user_id,
        contact=row.masked,
        granted=granted,
        source=source.value,
    )
    return row


def record_from_request(
    session: Session,
    clock: Clock,
    *,
    company_id: int,
    receipt_id: int,
    body: Mapping[str, Any],
    ad_consent: bool | None,
) -> AdConsent | None:
    """The consent flag sent with a receipt request, for its ``buyer_contact``; nothing when
    the flag is absent (silence is not consent) or the request names no contact."""
    contact = body.get("buyer_contact")
    if ad_consent is None or not isinstance(contact, str) or not contact.strip():
        return None
    try:
        return record(
            session,
            clock,
            company_id=company_id,
            contact=contact,
            granted=ad_consent,
            source=ConsentSource.RECEIPT_REQUEST,
            receipt_id=receipt_id,
        )
    except BadConsentError:  # the receipt is made already; a contact it accepted stays plain
        return None


def granted(session: Session, company_id: int, contact: str | None) -> bool:
    """Whether this buyer agreed to advertising (no record, or a bad contact: no)."""
    if not contact:
        return False
    try:
        key = contact_hash(company_id, contact)
    except BadConsentError:
        return False
    row = session.exec(
        select(AdConsent).where(AdConsent.company_id == company_id, AdConsent.contact_hash == key)
    ).first()
    return row is not None and row.granted


def counts(session: Session, company_id: int) -> dict[bool, int]:
    """How many buyers agreed (True) and refused or withdrew (False)."""
    rows = session.exec(
        select(AdConsent.granted, func.count(col(AdConsent.id)))
        .where(AdConsent.company_id == company_id)
        .group_by(col(AdConsent.granted))
    ).all()
    out = {True: 0, False: 0}
    for flag, n in rows:
        out[bool(flag)] = int(n)
    return out
