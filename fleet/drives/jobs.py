"""The drive jobs: copy shadows into the history and the forecast, raise notifications."""

from __future__ import annotations

from sqlmodel import Session

from fleet.core.clock import Clock
from fleet.drives.history import snapshot_shadows
from fleet.drives.schedule import due_events
from fleet.jobs.runner import JobSpec
from fleet.notify.service import notify_company

__all__ = ["forecast_job", "refresh"]


def refresh(session: Session, clock: Clock, *, lead_days: int) -> int:
    """One idempotent pass: new shadow states → history → forecast → notifications.

    Returns the reports recorded (each updates its drive's forecast at once, see
    `fleet.drives.rollup.absorb`) plus the notifications raised. Does not commit.
    """
    changed = snapshot_shadows(session, clock, lead_days=lead_days)
    raised = notify_company(session, clock, due_events(session, clock))
    return changed + raised


def forecast_job(lead_days: int, *, interval_s: float = 3600.0) -> JobSpec:
    """Hourly: reports arrive all day, and a threshold is noticed within the hour."""

    def run(session: Session, clock: Clock) -> int:
        return refresh(session, clock, lead_days=lead_days)

    return JobSpec("drive-forecast", interval_s=interval_s, run=run)
