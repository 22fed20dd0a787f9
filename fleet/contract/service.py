"""Accepting the public offer, and the check paid actions make.

As the reference product allows, a merchant signs up and books registers at once; the offer is
accepted (a click-wrap acceptance by a person of the company, recorded with the time and
address) before the first payment for registers. A new version of the offer needs a new
acceptance; earlier ones stay in the table.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, select

from fleet import audit
from fleet.access.principal import Principal
from fleet.contract.exceptions import OfferNeedsPersonError, OfferNotAcceptedError
from fleet.contract.models import OfferAcceptance
from fleet.core.clock import Clock

__all__ = ["OFFER_VERSION", "OfferState", "accept", "require_accepted", "state"]

OFFER_VERSION = "2026-11-01"  # the date of the offer's text in templates/contract/offer.html


@dataclass(frozen=True)
class OfferState:
    """Whether the company accepted the current version, and when."""

    version: str
    accepted: bool
    accepted_at: float | None
    user_id: int | None


def _current(session: Session, company_id: int) -> OfferAcceptance | None:
    return session.exec(
        select(OfferAcceptance).where(
            col(OfferAcceptance.company_id) == company_id,
            col(OfferAcceptance.version) == OFFER_VERSION,
        )
    ).first()


def state(session: Session, company_id: int) -> OfferState:
    """The company's acceptance of the current offer."""
    row = _current(session, company_id)
    return OfferState(
        version=OFFER_VERSION,
        accepted=row is not None,
        accepted_at=row.accepted_at if row else None,
        user_id=row.user_id if row else None,
    )


def accept(session: Session, clock: Clock, principal: Principal, ip: str) -> OfferState:
    """Accept the current offer for the principal's company (idempotent); commits."""
    if principal.user_id is None:
        raise OfferNeedsPersonError("Договор принимает сотрудник компании в кабинете, не API-токен")
    if _current(session, principal.company_id) is None:
        session.add(
            OfferAcceptance(
                company_id=principal.company_id,
                version=OFFER_VERSION,
                user_id=principal.user_id,
                ip=ip[:64],
                accepted_at=clock.wall(),
            )
        )
        audit.record_by(
            session, clock, principal, action="offer.accept", entity="offer",
            entity_id=OFFER_VERSION, ip=ip[:64],
        )  # fmt: skip
        session.commit()
    return state(session, principal.company_id)


def require_accepted(session: Session, company_id: int) -> None:
    """Raise `OfferNotAcceptedError` (409) unless the current offer is accepted."""
    if _current(session, company_id) is None:
        raise OfferNotAcceptedError(
            "Чтобы оплатить кассы, примите договор-оферту: раздел «Договор» в кабинете"
        )
