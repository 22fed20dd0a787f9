"""The fleet's scheduled jobs (one list; the runner takes the lock for each)."""

from __future__ import annotations

from fleet.bookings.service import lapse_unpaid
from fleet.jobs.runner import JobSpec

__all__ = ["SCHEDULE"]

SCHEDULE: tuple[JobSpec, ...] = (JobSpec("booking-lapse", interval_s=600.0, run=lapse_unpaid),)
