"""The permission catalogue: sections × actions, as the Ferma cabinet's roles are built.

A permission is ``"<section>.<action>"``. Client roles are sets of the client permissions;
operator permissions (``operator.*``) belong to Oblako's own staff only and are never granted to
a client role.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

__all__ = ["CLIENT_PERMISSIONS", "LABEL", "OPERATOR_PERMISSIONS", "Permission"]


class Permission(StrEnum):
    """One thing a principal may do."""

    REGISTERS_VIEW = "registers.view"
    REGISTERS_MANAGE = "registers.manage"  # rename, move between folders, settings
    BOOKINGS_CREATE = "bookings.create"
    BILLING_VIEW = "billing.view"
    BILLING_PAY = "billing.pay"
    USERS_VIEW = "users.view"
    USERS_MANAGE = "users.manage"  # invite, block, assign roles; edit roles and folders
    TOKENS_MANAGE = "tokens.manage"
    AUDIT_VIEW = "audit.view"
    COMPANY_MANAGE = "company.manage"  # requisites, stores and addresses
    RECEIPTS_CREATE = "receipts.create"
    RECEIPTS_VIEW = "receipts.view"
    OPERATOR_FLEET = "operator.fleet"  # see every client's registers
    OPERATOR_INVENTORY = "operator.inventory"  # add hardware, fill virtual slots
    OPERATOR_BILLING = "operator.billing"  # tariffs, match bank payments by hand
    OPERATOR_STAFF = "operator.staff"  # make a user an operator


OPERATOR_PERMISSIONS: Final = frozenset(p for p in Permission if p.startswith("operator."))
CLIENT_PERMISSIONS: Final = frozenset(Permission) - OPERATOR_PERMISSIONS

LABEL: Final[dict[Permission, str]] = {
    Permission.REGISTERS_VIEW: "Кассы: просмотр",
    Permission.REGISTERS_MANAGE: "Кассы: управление",
    Permission.BOOKINGS_CREATE: "Кассы: бронирование",
    Permission.BILLING_VIEW: "Баланс и платежи: просмотр",
    Permission.BILLING_PAY: "Баланс и платежи: оплата",
    Permission.USERS_VIEW: "Пользователи и роли: просмотр",
    Permission.USERS_MANAGE: "Пользователи и роли: управление",
    Permission.TOKENS_MANAGE: "API-токены: управление",
    Permission.AUDIT_VIEW: "Журнал действий: просмотр",
    Permission.COMPANY_MANAGE: "Компания, магазины и адреса: управление",
    Permission.RECEIPTS_CREATE: "Чеки: создание",
    Permission.RECEIPTS_VIEW: "Чеки: просмотр",
    Permission.OPERATOR_FLEET: "Оператор: весь парк касс",
    Permission.OPERATOR_INVENTORY: "Оператор: склад касс",
    Permission.OPERATOR_BILLING: "Оператор: тарифы и платежи",
    Permission.OPERATOR_STAFF: "Оператор: сотрудники",
}
