"""The registration application table and its statuses (labels and next steps in Russian)."""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from sqlalchemy import Column, Text
from sqlmodel import Field, SQLModel

__all__ = [
    "KIND_LABEL",
    "STATUS_LABEL",
    "ApplicationKind",
    "ApplicationStatus",
    "PowerOfAttorney",
    "RegistrationApplication",
    "UsedDrive",
    "next_step",
]


class ApplicationKind(StrEnum):
    """Which form the application is: КНД 1110061 (registration or re-registration with reason
    codes) or КНД 1110062 (deregistration)."""

    REGISTRATION = "registration"
    REREGISTRATION = "reregistration"
    DEREGISTRATION = "deregistration"


KIND_LABEL: Final[dict[ApplicationKind, str]] = {
    ApplicationKind.REGISTRATION: "Регистрация ККТ (КНД 1110061)",
    ApplicationKind.REREGISTRATION: "Перерегистрация ККТ (КНД 1110061)",
    ApplicationKind.DEREGISTRATION: "Снятие ККТ с регистрационного учёта (КНД 1110062)",
}


class ApplicationStatus(StrEnum):
    """draft → signed → sent → rnm_assigned → report_sent → registered; or refused."""

    DRAFT = "draft"
    SIGNED = "signed"
    SENT = "sent"
    RNM_ASSIGNED = "rnm_assigned"
    REPORT_SENT = "report_sent"
    REGISTERED = "registered"
    REFUSED = "refused"
    DEREGISTERED = "deregistered"


STATUS_LABEL: Final[dict[ApplicationStatus, str]] = {
    ApplicationStatus.DRAFT: "Черновик заявления",
    ApplicationStatus.SIGNED: "Заявление подписано",
    ApplicationStatus.SENT: "Заявление отправлено в ФНС",
    ApplicationStatus.RNM_ASSIGNED: "Присвоен регистрационный номер (РНМ)",
    ApplicationStatus.REPORT_SENT: "Реквизиты отчёта о регистрации отправлены",
    ApplicationStatus.REGISTERED: "Касса зарегистрирована",
    ApplicationStatus.REFUSED: "ФНС отказала в регистрации",
    ApplicationStatus.DEREGISTERED: "Касса снята с регистрационного учёта",
}


def next_step(
    status: ApplicationStatus,
    rnm: str | None = None,
    kind: ApplicationKind = ApplicationKind.REGISTRATION,
) -> str:
    """What the user (or Oblako) does next, in Russian."""
    if kind is ApplicationKind.REREGISTRATION and status is ApplicationStatus.RNM_ASSIGNED:
        return (
            "ФНС приняла заявление о перерегистрации: касса формирует отчёт об изменении "
            "параметров регистрации (Облако уже отправило ей команду), его реквизиты (номер "
            "ФД, ФП, дата) отправляются в ФНС не позднее следующего рабочего дня"
        )
    if kind is ApplicationKind.DEREGISTRATION and status is ApplicationStatus.SENT:
        return "ФНС рассматривает заявление о снятии с учёта. Обновите статус позже"
    return {
        ApplicationStatus.DRAFT: "Проверьте данные, скачайте файл заявления, подпишите его своей "
        "КЭП (отсоединённая подпись, .sig или .p7s) и загрузите подпись",
        ApplicationStatus.SIGNED: "Подпись проверена; отправьте заявление в ФНС",
        ApplicationStatus.SENT: "ФНС рассматривает заявление: РНМ присваивается не позднее "
        "следующего рабочего дня. Обновите статус позже",
        ApplicationStatus.RNM_ASSIGNED: f"ФНС присвоила РНМ {rnm or ''}: касса должна сформировать "
        "отчёт о регистрации (Облако уже отправило ей команду), затем его реквизиты (номер ФД, "
        "ФП, дата) отправляются в ФНС не позднее следующего рабочего дня",
        ApplicationStatus.REPORT_SENT: "Реквизиты отчёта отправлены; дождитесь карточки "
        "регистрации ККТ от ФНС",
        ApplicationStatus.REGISTERED: "Карточка регистрации получена — касса готова к работе",
        ApplicationStatus.REFUSED: "Исправьте заявление по причинам отказа, сохраните его и "
        "подпишите заново",
        ApplicationStatus.DEREGISTERED: "Карточка о снятии ККТ с учёта получена; "
        "фискальный накопитель храните 5 лет",
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
    #: migration 0012: the form in force (registration, re-registration or deregistration) ...
    kind: str = Field(default=ApplicationKind.REGISTRATION.value, max_length=16)
    #: ... its КНД 1110061 reason codes (JSON list) or the КНД 1110062 reason ...
    reason_codes: str = Field(default="[]", sa_column=Column(Text, nullable=False))
    dereg_reason: str | None = Field(default=None, max_length=16)
    #: ... and what the FNS holds since the last card: {"form": ..., "user_name": ...}.
    registered: str | None = Field(default=None, sa_column=Column(Text))
    #: The fiscal-mode closing report (deregistration, drive replacement): ФД, ФП, date.
    close_fd_number: int | None = None
    close_fiscal_sign: str | None = Field(default=None, max_length=10)
    close_date: str | None = Field(default=None, max_length=32)
    #: The МЧД an employee signed under (its number), when the signer is not the head.
    signer_poa: str | None = Field(default=None, max_length=64)
    #: migration 0035: how the certificate was found not revoked (OCSP answer / CRL, which
    #: responder, when), as the cabinet shows it
    signer_status: str | None = Field(default=None, sa_column=Column(Text))
    #: migration 0036: where the report's and the closing report's requisites come from —
    #: "fleet" (checked against the fiscal document the register sent) or "manual" (typed for
    #: a register whose drive's documents the fleet does not hold; not checked).
    report_source: str | None = Field(default=None, max_length=16)
    close_source: str | None = Field(default=None, max_length=16)


class UsedDrive(SQLModel, table=True):
    """A fiscal drive taken out of a register, kept on record: the user keeps it for five years
    after it leaves service (54-ФЗ ст. 5 п. 2; peers-and-regulations §2.1)."""

    id: int | None = Field(default=None, primary_key=True)
    drive_number: str = Field(max_length=16, index=True)
    model: str = Field(max_length=100)
    register_id: int = Field(foreign_key="register.id", index=True)
    company_id: int | None = Field(default=None, foreign_key="company.id", index=True)
    rnm: str | None = Field(default=None, max_length=16)
    close_fd_number: int | None = None
    close_fiscal_sign: str | None = Field(default=None, max_length=10)
    close_date: str | None = Field(default=None, max_length=32)
    removed_at: float = Field(index=True)
    keep_until: float = Field(index=True)


class PowerOfAttorney(SQLModel, table=True):
    """A machine-readable power of attorney (МЧД) a company's head gave an employee to sign."""

    id: int | None = Field(default=None, primary_key=True)
    company_id: int = Field(foreign_key="company.id", index=True)
    number: str = Field(max_length=64)
    principal_inn: str = Field(max_length=12)
    principal_ogrn: str = Field(max_length=15)
    representative_name: str = Field(default="", max_length=300)
    representative_snils: str | None = Field(default=None, max_length=11, index=True)
    representative_inn: str | None = Field(default=None, max_length=12, index=True)
    valid_from: float
    valid_to: float
    powers: str = Field(default="[]", sa_column=Column(Text, nullable=False))  # JSON list
    xml: str = Field(sa_column=Column(Text, nullable=False))  # the file's bytes, base64
    signature: str = Field(sa_column=Column(Text, nullable=False))  # the head's CMS, base64
    uploaded_at: float
