"""Every table of the fleet, imported in one place for Alembic and `create_all`."""

from __future__ import annotations

from fleet.access.models import ApiToken, RegisterFolder, Role, RoleFolder
from fleet.accounts.models import AuthSession, Company, EmailToken, SignInThrottle, User
from fleet.audit import AuditLog
from fleet.billing.models import (
    BankPayment,
    CardPayment,
    Invoice,
    LedgerAccount,
    LedgerEntry,
    LedgerTransaction,
    RegisterPeriod,
    Tariff,
)
from fleet.bookings.models import Booking
from fleet.contract.models import OfferAcceptance
from fleet.documents.models import FiscalDocument
from fleet.jobs.models import Job
from fleet.link.ingest_models import (
    DeadLetter,
    DeviceShadow,
    LinkCommand,
    PendingOfdAnswer,
    StoredWatermark,
)
from fleet.link.models import MqttAccount
from fleet.registers.models import Register
from fleet.registration.models import RegistrationApplication
from fleet.stores.models import Store

__all__ = [
    "ApiToken",
    "AuditLog",
    "AuthSession",
    "BankPayment",
    "Booking",
    "CardPayment",
    "Company",
    "DeadLetter",
    "DeviceShadow",
    "EmailToken",
    "FiscalDocument",
    "Invoice",
    "Job",
    "LedgerAccount",
    "LedgerEntry",
    "LedgerTransaction",
    "LinkCommand",
    "MqttAccount",
    "OfferAcceptance",
    "PendingOfdAnswer",
    "Register",
    "RegisterFolder",
    "RegisterPeriod",
    "RegistrationApplication",
    "Role",
    "RoleFolder",
    "SignInThrottle",
    "Store",
    "StoredWatermark",
    "Tariff",
    "User",
]
