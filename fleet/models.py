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
from fleet.console.models import Alarm, AlarmWatch, ConsoleCommand, DeadRegister
from fleet.contract.models import OfferAcceptance
from fleet.delivery.models import DeliveryAttempt
from fleet.documents.models import FiscalDocument
from fleet.drives.models import (
    Drive,
    DriveForecast,
    DrivePurchase,
    DriveReport,
    DriveReportInbox,
    DriveRollup,
)
from fleet.jobs.models import Job
from fleet.link.command_models import SentCommand
from fleet.link.ingest_models import (
    DeadLetter,
    DeviceShadow,
    LinkCommand,
    PendingOfdAnswer,
    StoredWatermark,
)
from fleet.link.models import MqttAccount
from fleet.notify.models import Notification, NotificationPreference
from fleet.receipts.models import (
    CallbackDelivery,
    CallbackSettings,
    Receipt,
    ReceiptPart,
    RoutingProfile,
    RoutingUsage,
)
from fleet.receipts_cabinet.models import ReceiptFacts, ReceiptFactsMark
from fleet.receipts_import.models import ImportedPayment
from fleet.registers.models import Register
from fleet.registration.models import PowerOfAttorney, RegistrationApplication, UsedDrive
from fleet.stores.models import Store

__all__ = [
    "Alarm",
    "AlarmWatch",
    "ApiToken",
    "AuditLog",
    "AuthSession",
    "BankPayment",
    "Booking",
    "CallbackDelivery",
    "CallbackSettings",
    "CardPayment",
    "Company",
    "ConsoleCommand",
    "DeadLetter",
    "DeadRegister",
    "DeliveryAttempt",
    "DeviceShadow",
    "Drive",
    "DriveForecast",
    "DrivePurchase",
    "DriveReport",
    "DriveReportInbox",
    "DriveRollup",
    "EmailToken",
    "FiscalDocument",
    "ImportedPayment",
    "Invoice",
    "Job",
    "LedgerAccount",
    "LedgerEntry",
    "LedgerTransaction",
    "LinkCommand",
    "MqttAccount",
    "Notification",
    "NotificationPreference",
    "OfferAcceptance",
    "PendingOfdAnswer",
    "PowerOfAttorney",
    "Receipt",
    "ReceiptFacts",
    "ReceiptFactsMark",
    "ReceiptPart",
    "Register",
    "RegisterFolder",
    "RegisterPeriod",
    "RegistrationApplication",
    "Role",
    "RoleFolder",
    "RoutingProfile",
    "RoutingUsage",
    "SentCommand",
    "SignInThrottle",
    "Store",
    "StoredWatermark",
    "Tariff",
    "UsedDrive",
    "User",
]
