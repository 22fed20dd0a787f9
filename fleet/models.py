"""Every table of the fleet, imported in one place for Alembic and `create_all`."""

from __future__ import annotations

from fleet.access.models import RegisterFolder, Role
from fleet.accounts.models import AuthSession, Company, EmailToken, SignInThrottle, User
from fleet.audit import AuditLog
from fleet.bookings.models import Booking
from fleet.jobs.models import Job
from fleet.registers.models import Register
from fleet.stores.models import Store

__all__ = [
    "AuditLog",
    "AuthSession",
    "Booking",
    "Company",
    "EmailToken",
    "Job",
    "Register",
    "RegisterFolder",
    "Role",
    "SignInThrottle",
    "Store",
    "User",
]
