"""The EDO jobs: make last month's closing documents, send them, follow their answers."""

from __future__ import annotations

from sqlmodel import Session

from fleet.core.clock import Clock
from fleet.core.config import Settings
from fleet.edo.gateway import EdoGateway
from fleet.edo.service import Seller, assemble_due, exchange
from fleet.jobs.runner import JobSpec

__all__ = ["edo_job", "seller_from"]


def seller_from(settings: Settings) -> Seller:
    """Oblako's requisites (the invoices' ones) and its own EDO participant id."""
    return Seller(
        name=settings.bank_recipient,
        inn=settings.bank_inn,
        kpp=settings.bank_kpp,
        participant_id=settings.edo_participant_id,
    )


def edo_job(gateway: EdoGateway, seller: Seller, *, interval_s: float = 600.0) -> JobSpec:
    """Every ten minutes: the month's documents appear within minutes of the 1st (made once per
    company, month and kind), due sends are tried, signatures and refusals are picked up."""

    def run(session: Session, clock: Clock) -> int:
        made = assemble_due(session, clock, seller)
        session.commit()
        return made + exchange(session, clock, gateway, seller)

    return JobSpec("edo-closing", interval_s=interval_s, run=run)
