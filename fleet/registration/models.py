"""The registration application table and its statuses (labels and next steps in Russian)."""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from sqlalchemy import Column, Text
from sqlmodel import Field, SQLModel

__all__ = ["STATUS_LABEL", "ApplicationStatus", "RegistrationApplication", "next_step"]


class ApplicationStatus(StrEnum):
    """draft → signed → sent → rnm_assigned → report_sent → registered; or refused."""

    DRAFT = "draft"
    SIGNED = "signed"
    SENT = "sent"
    RNM_ASSIGNED = "rnm_assigned"
    REPORT_SENT = "report_sent"
    REGISTERED = "registered"
    REFUSED = "refused"


STATUS_LABEL: Final[dict[ApplicationStatus, str]] = {
    ApplicationStatus.DRAFT: "Черновик заявления",
    ApplicationStatus.SIGNED: "Заявление подписано",
    ApplicationStatus.SENT: "Заявление отправлено в ФНС",
    ApplicationStatus.RNM_ASSIGNED: "Присвоен регистрационный номер (РНМ)",
    ApplicationStatus.REPORT_SENT: "Реквизиты отчёта о регистрации отправлены",
    ApplicationStatus.REGISTERED: "Касса зарегистрирована",
    ApplicationStatus.REFUSED: "ФНС отказала в регистрации",
}


def next_step(status: ApplicationStatus, rnm: str | None = None) -> str:
    """What the user (or Oblako) does next, in Russian."""
    return {
        ApplicationStatus.DRAFT: "Проверьте данные, скачайте файл заявления, подпишите его своей "
        "КЭП (отсоединённая подпись, .sig или .p7s) и загрузите подпись",
        ApplicationStatus.SIGNED: "Подпись проверена; отправьте заявление в ФНС",
        ApplicationStatus.SENT: "ФНС рассматривает заявление: РНМ присваивается не позднее "
        "следующего рабочего дня. Обновите статус позже",
        ApplicationStatus.RNM_ASSIGNED: f"ФНС присвоила РНМ {rnm or ''}: касса должна сформировать "
        "отчёт о регистрации, затем его реквизиты (номер ФД, ФП, дата) отправляются в ФНС "
        "не позднее следующего рабочего дня",
        ApplicationStatus.REPORT_SENT: "Реквизиты отчёта отправлены; дождитесь карточки "
        "регистрации ККТ от ФНС",
        ApplicationStatus.REGISTERED: "Карточка регистрации получена — касса готова к работе",
        ApplicationStatus.REFUSED: "Исправьте заявление по причинам отказа, сохраните его и "
        "подпишите заново",
    }[status]


class RegistrationApplication(SQLModel, table=True):
    """One register's registration application (the latest attempt); JSON kept as text."""

    id: int | None = Field(default=None, primary_key=True)
    company_id: int = Field(foreign_key="company.id", index=True)
    register_id: int = Field(foreign_key="register.id", unique=True, index=True)
    status: str = Field(default=ApplicationStatus.DRAFT.value, max_length=16, index=True)
    form: str = Field(default="{}", sa_column=Column(Text, nullable=False))
    #: The canonical bytes to sign (UTF-8 JSON), frozen when the form is saved.
    document: str = Field(default="", sa_column=Column(Text, nullable=False))
    signature: str | None = Field(default=None, sa_column=Column(Text))  # base64 DER CMS
    signer_name: str | None = Field(default=None, max_length=300)
    signer_inn: str | None = Field(default=None, max_length=12)
    signer_ogrn: str | None = Field(default=None, max_length=15)
    signer_person: str | None = Field(default=None, max_length=300)
    signer_valid_from: float | None = None
    signer_valid_to: float | None = None
    signer_issuer: str | None = Field(default=None, max_length=300)
    fns_id: str | None = Field(default=None, max_length=64)
    rnm: str | None = Field(default=None, max_length=16)
    reasons: str = Field(default="[]", sa_column=Column(Text, nullable=False))  # JSON list
    last_error: str | None = Field(default=None, max_length=500)
    report_fd_number: int | None = None
    report_fiscal_sign: str | None = Field(default=None, max_length=10)
    report_date: str | None = Field(default=None, max_length=32)
    card: str | None = Field(default=None, sa_column=Column(Text))  # JSON object
    created_at: float
    updated_at: float
    signed_at: float | None = None
    sent_at: float | None = None
