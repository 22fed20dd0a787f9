"""The registration job: send the FNS the requisites of the reports the registers have made."""

from __future__ import annotations

from sqlmodel import Session

from fleet.core.clock import Clock
from fleet.jobs.runner import JobSpec
from fleet.registration.gateway import FnsGateway
from fleet.registration.service import collect_reports

__all__ = ["report_job"]


def report_job(gateway: FnsGateway, *, interval_s: float = 30.0) -> JobSpec:
    """Every half minute: a register answers its registration command within seconds, and the
    user waits on the page for the card."""

    def run(session: Session, clock: Clock) -> int:
        return collect_reports(session, clock, gateway)

    return JobSpec("registration-reports", interval_s=interval_s, run=run)
