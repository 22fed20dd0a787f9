"""Every table of the fleet, imported in one place for Alembic and `create_all`."""

from __future__ import annotations

from fleet.access.models import ApiToken, RegisterFolder, Role, RoleFolder
from fleet.accounts.models import AuthSession, Company, EmailToken, SignInThrottle, User
from fleet.adreceipts.models import AdAssignment, AdConsent, AdImage, AdTemplate
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
from fleet.compat.models import CompatReceipt, CompatToken
from fleet.compliance.models import ComplianceFinding
from fleet.console.models import Alarm, AlarmWatch, ConsoleCommand, DeadRegister
from fleet.contract.models import OfferAcceptance
from fleet.dashboard.models import DashboardLayout
from fleet.delivery.models import DeliveryAttempt
from fleet.delivery.providers.reports import DeliveryReport
from fleet.documents.models import FiscalDocument, ReceiptContent
from fleet.drives.models import (
    Drive,
    DriveForecast,
    DrivePurchase,
    DriveReport,
    DriveReportInbox,
    DriveRollup,
)
from fleet.edo.models import EdoConnection, EdoDocument
from fleet.general.models import GeneralLink, GeneralView
from fleet.jobs.models import Job
from fleet.link.command_models import SentCommand
from fleet.link.desired_models import DesiredState
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
from fleet.receipts_import.models import ImportedPayment, ReceivedPayment
from fleet.registers.models import Register
from fleet.registration.models import PowerOfAttorney, RegistrationApplication, UsedDrive
from fleet.reports.models import (
    ReportDaily,
    ReportItem,
    ReportMark,
    ReportRollup,
    ReportRun,
    ReportSchedule,
    ReportShift,
    ReportTemplate,
)
from fleet.rollouts.models import FirmwareBundle, Rollout, RolloutDevice
from fleet.sandbox.models import SandboxCompany, SandboxRegister
from fleet.stock.models import DriveStock, WorkOrder
from fleet.stores.models import Store

__all__ = [
    "AdAssignment",
    "AdConsent",
    "AdImage",
    "AdTemplate",
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
    "CompatReceipt",
    "CompatToken",
    "ComplianceFinding",
    "ConsoleCommand",
    "DashboardLayout",
    "DeadLetter",
    "DeadRegister",
    "DeliveryAttempt",
    "DeliveryReport",
    "DesiredState",
    "DeviceShadow",
    "Drive",
    "DriveForecast",
    "DrivePurchase",
    "DriveReport",
    "DriveReportInbox",
    "DriveRollup",
    "DriveStock",
    "EdoConnection",
    "EdoDocument",
    "EmailToken",
    "FirmwareBundle",
    "FiscalDocument",
    "GeneralLink",
    "GeneralView",
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
    "ReceiptContent",
    "ReceiptFacts",
    "ReceiptFactsMark",
    "ReceiptPart",
    "ReceivedPayment",
    "Register",
    "RegisterFolder",
    "RegisterPeriod",
    "RegistrationApplication",
    "ReportDaily",
    "ReportItem",
    "ReportMark",
    "ReportRollup",
    "ReportRun",
    "ReportSchedule",
    "ReportShift",
    "ReportTemplate",
    "Role",
    "RoleFolder",
    "Rollout",
    "RolloutDevice",
    "RoutingProfile",
    "RoutingUsage",
    "SandboxCompany",
    "SandboxRegister",
    "SentCommand",
    "SignInThrottle",
    "Store",
    "StoredWatermark",
    "Tariff",
    "UsedDrive",
    "User",
    "WorkOrder",
]
