"""The register table and its lifecycle states (labels and next steps in Russian)."""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

__all__ = ["NEXT_STEP", "STATE_LABEL", "Register", "RegisterState"]


class RegisterState(StrEnum):
    """Where a register is in its life; stored as the value (a short string column)."""

    FREE = "free"
    BOOKED = "booked"
    PAID = "paid"
    DRIVE_INSTALLED = "drive_installed"
    REGISTRATION_APPLICATION = "registration_application"
    RNM_ASSIGNED = "rnm_assigned"
    REGISTRATION_REPORT = "registration_report"
    ACTIVE = "active"
    REREGISTRATION = "reregistration"
    DRIVE_REPLACEMENT = "drive_replacement"
    DEREGISTERED = "deregistered"
    DEAD = "dead"  # declared dead by an operator (fleet/console/dead.py): never routed to


STATE_LABEL: Final[dict[RegisterState, str]] = {
    RegisterState.FREE: "Свободна (на складе)",
    RegisterState.BOOKED: "Забронирована, ожидает оплаты",
    RegisterState.PAID: "Оплачена",
    RegisterState.DRIVE_INSTALLED: "Фискальный накопитель установлен",
    RegisterState.REGISTRATION_APPLICATION: "Подано заявление на регистрацию",
    RegisterState.RNM_ASSIGNED: "Присвоен регистрационный номер (РНМ)",
    RegisterState.REGISTRATION_REPORT: "Сформирован отчёт о регистрации",
    RegisterState.ACTIVE: "Работает",
    RegisterState.REREGISTRATION: "Перерегистрация",
    RegisterState.DRIVE_REPLACEMENT: "Замена фискального накопителя",
    RegisterState.DEREGISTERED: "Снята с учёта",
    RegisterState.DEAD: "Неисправна, выведена из работы",
}

NEXT_STEP: Final[dict[RegisterState, str]] = {
    RegisterState.FREE: "Ожидает бронирования клиентом",
    RegisterState.BOOKED: "Оплатите бронь в течение 7 дней, иначе она будет снята",
    RegisterState.PAID: "Мы установим фискальный накопитель",
    RegisterState.DRIVE_INSTALLED: "Подайте заявление на регистрацию ККТ в ФНС",
    RegisterState.REGISTRATION_APPLICATION: "Дождитесь присвоения РНМ налоговой службой",
    RegisterState.RNM_ASSIGNED: "Сформируйте отчёт о регистрации",
    RegisterState.REGISTRATION_REPORT: "Дождитесь подтверждения регистрации в ФНС",
    RegisterState.ACTIVE: "Касса готова к работе",
    RegisterState.REREGISTRATION: "Сформируйте отчёт об изменении параметров регистрации",
    RegisterState.DRIVE_REPLACEMENT: "Закройте архив старого накопителя и перерегистрируйте кассу",
    RegisterState.DEREGISTERED: "Действий не требуется",
    RegisterState.DEAD: "Её чеки переданы другим кассам; открыта касса на замену",
}


class Register(SQLModel, table=True):
    """A register: hardware in the inventory (serial set) or a virtual slot awaiting hardware.

    ``company_id`` is NULL while the register is free; a booked register keeps its booking.
    The composite indexes serve the tenant list (company first, then the usual filters) and
    keep it fast with 100k registers; ``shift_open``, ``has_errors`` and ``last_seen_at`` are
    kept up to date by the document ingest so the list never aggregates documents.
    """

    __table_args__ = (
        Index("ix_register_company_id_id", "company_id", "id"),
        Index("ix_register_company_state", "company_id", "state"),
        Index("ix_register_company_store", "company_id", "store_id"),
        Index("ix_register_company_expires", "company_id", "drive_expires_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    serial: str | None = Field(default=None, max_length=32, unique=True, index=True)
    model: str | None = Field(default=None, max_length=64)
    rack_slot: str | None = Field(default=None, max_length=32)
    drive_number: str | None = Field(default=None, max_length=16)
    drive_expires_at: float | None = Field(default=None, index=True)
    firmware_version: str | None = Field(default=None, max_length=32)
    state: str = Field(default=RegisterState.FREE.value, max_length=32, index=True)
    company_id: int | None = Field(default=None, foreign_key="company.id", index=True)
    booking_id: int | None = Field(default=None, foreign_key="booking.id", index=True)
    store_id: int | None = Field(default=None, foreign_key="store.id", index=True)
    folder_id: int | None = Field(default=None, foreign_key="registerfolder.id", index=True)
    tariff_code: str | None = Field(default=None, max_length=32, index=True)
    rnm: str | None = Field(default=None, max_length=16, index=True)  # registration number
    name: str | None = Field(default=None, max_length=100)
    shift_open: bool = False
    has_errors: bool = False
    last_error: str | None = Field(default=None, max_length=500)
    last_seen_at: float | None = None
    created_at: float
    booked_at: float | None = None
    paid_at: float | None = None
