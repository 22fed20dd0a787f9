"""The fleet's scheduled jobs (one list; the runner takes the lock for each)."""

from __future__ import annotations

from fleet.billing.subscriptions import charge_monthly
from fleet.bookings.service import lapse_unpaid
from fleet.compat.auth import purge_expired as purge_compat_tokens
from fleet.compat.callbacks import compat_callbacks
from fleet.compliance.runner import run_critical, run_realtime
from fleet.console.alarms import ALARM_EVERY_S, evaluate
from fleet.delivery.privacy import purge_expired
from fleet.documents.content import index_content
from fleet.jobs.runner import JobSpec
from fleet.receipts_cabinet.facts import index_facts
from fleet.reports.rollup import refresh as refresh_report_rollups
from fleet.rollouts.service import ROLLOUT_EVERY_S, advance
from fleet.sandbox.jobs import (
    SANDBOX_BILLING_EVERY_S,
    SANDBOX_EVERY_S,
    sandbox_billing,
    sandbox_registers,
)
from fleet.stock.service import generate_job as drive_work_orders

__all__ = ["SCHEDULE"]

SCHEDULE: tuple[JobSpec, ...] = (
    JobSpec("booking-lapse", interval_s=600.0, run=lapse_unpaid),
    # Hourly: a new month is charged within an hour of its start; each register once a month.
    JobSpec("billing-monthly", interval_s=3600.0, run=charge_monthly),
    # buyer contacts and marking facts of new documents for the receipt search (facts.py)
    JobSpec("receipt-facts", interval_s=10.0, run=index_facts),
    # receipt content for the compliance checks (fleet/documents/content.py), and the critical
    # checks on registers that reported (every 30 s) and on all registers (hourly)
    JobSpec("receipt-content", interval_s=10.0, run=index_content),
    JobSpec("compliance-realtime", interval_s=30.0, run=run_realtime),
    JobSpec("compliance-critical", interval_s=3600.0, run=run_critical),
    # the reports' sales and items rollups (fleet/reports/rollup.py)
    JobSpec("reports-rollup", interval_s=30.0, run=refresh_report_rollups),
    # the operator console's alarm rules over shadows and events (fleet/console/alarms.py)
    JobSpec("console-alarms", interval_s=ALARM_EVERY_S, run=evaluate),
    # staged firmware rollouts: outcomes read, phases moved, updates sent (fleet/rollouts)
    JobSpec("firmware-rollouts", interval_s=ROLLOUT_EVERY_S, run=advance),
    # drive replacement work orders from the forecast (fleet/stock)
    JobSpec("drive-work-orders", interval_s=3600.0, run=drive_work_orders),
    # the sandbox's simulated registers answer their commands (fleet/sandbox/simulated.py)
    JobSpec("sandbox-registers", interval_s=SANDBOX_EVERY_S, run=sandbox_registers),
    JobSpec("sandbox-billing", interval_s=SANDBOX_BILLING_EVERY_S, run=sandbox_billing),
    # ATOL- and Ferma-shaped callbacks of final compat receipts (fleet/compat/callbacks.py)
    JobSpec("compat-callbacks", interval_s=5.0, run=compat_callbacks),
    JobSpec("compat-tokens", interval_s=3600.0, run=purge_compat_tokens),
    # buyers' contacts past the company's retention are blanked (fleet/delivery/privacy.py)
    JobSpec("delivery-retention", interval_s=3600.0, run=purge_expired),
)
