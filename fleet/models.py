"""Every table of the fleet, imported in one place for Alembic and `create_all`."""

from __future__ import annotations

from fleet.accounts.models import AuthSession, Company, EmailToken, SignInThrottle, User
from fleet.audit import AuditLog
from fleet.bookings.models import Booking
from fleet.jobs.models import Job
from fleet.registers.models import Register

__all__ = [
    "AuditLog",
    "AuthSession",
    "Booking",
    "Company",
    "EmailToken",
    "Job",
    "Register",
    "SignInThrottle",
    "User",
]
