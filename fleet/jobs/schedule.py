"""The fleet's scheduled jobs (one list; the runner takes the lock for each)."""

from __future__ import annotations

from fleet.billing.subscriptions import charge_monthly
from fleet.bookings.service import lapse_unpaid
from fleet.console.alarms import ALARM_EVERY_S, evaluate
from fleet.jobs.runner import JobSpec
from fleet.receipts_cabinet.facts import index_facts

__all__ = ["SCHEDULE"]

SCHEDULE: tuple[JobSpec, ...] = (
    JobSpec("booking-lapse", interval_s=600.0, run=lapse_unpaid),
    # Hourly: a new month is charged within an hour of its start; each register once a month.
    JobSpec("billing-monthly", interval_s=3600.0, run=charge_monthly),
    # buyer contacts and marking facts of new documents for the receipt search (facts.py)
    JobSpec("receipt-facts", interval_s=10.0, run=index_facts),
    # the operator console's alarm rules over shadows and events (fleet/console/alarms.py)
    JobSpec("console-alarms", interval_s=ALARM_EVERY_S, run=evaluate),
)
