"""The registration API's shapes."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, Field

from fleet.accounts.schemas import utc
from fleet.registration.application import Address, ApplicationForm
from fleet.registration.models import KIND_LABEL, STATUS_LABEL, next_step
from fleet.registration.service import State

__all__ = ["AddressIn", "FormIn", "ReportIn", "SignatureIn", "StatePublic"]


def _utc(seconds: float | None) -> dt.datetime | None:
    return None if seconds is None else utc(seconds)


class AddressIn(BaseModel):
    """An installation address in ГАР/ФИАС fields."""

    region_code: str = Field(default="", max_length=2, examples=["77"])
    municipal: str = Field(default="", max_length=200, examples=["г. Москва"])
    settlement: str = Field(default="", max_length=200, examples=[""])
    street: str = Field(default="", max_length=200, examples=["ул. Мясницкая"])
    house: str = Field(default="", max_length=20, examples=["1"])
    building: str = Field(default="", max_length=20)
    flat: str = Field(default="", max_length=20)
    postal_code: str = Field(default="", max_length=6, examples=["101000"])
    oktmo: str = Field(default="", max_length=11, examples=["45375000"])
    fias_id: str = Field(default="", max_length=36)


class FormIn(BaseModel):
    """The user's part of the application (the register's model, serial, firmware and the
    company's requisites come from Oblako)."""

    fn_model: str = Field(default="ФН-1.2", max_length=100)
    fn_number: str = Field(default="", max_length=16, examples=["9999078900001234"])
    ofd_inn: str = Field(default="", max_length=12, examples=["7704211201"])
    ofd_name: str = Field(default="", max_length=200, examples=["ООО «Такском»"])
    address: AddressIn = Field(default_factory=AddressIn)
    place: str = Field(default="", max_length=200, examples=["Торговый зал"])
    flags: dict[str, bool] = Field(default_factory=dict, examples=[{"services": True}])
    automat_number: str = Field(default="", max_length=20)
    website: str = Field(default="", max_length=300)
    tax_systems: list[str] = Field(default_factory=list, examples=[["usn_income"]])

    def form(self) -> ApplicationForm:
        data = self.model_dump()
        return ApplicationForm(address=Address(**data.pop("address")), **data)


class SignatureIn(BaseModel):
    """A detached CMS signature (the .p7s/.sig file), base64."""

    signature: str = Field(max_length=200_000)


class ReportIn(BaseModel):
    """The registration report's requisites."""

    fd_number: int
    fiscal_sign: str = Field(max_length=10)
    date: str = Field(max_length=32, examples=["2024-01-15T10:30"])


class CertificatePublic(BaseModel):
    """The signer's certificate as shown."""

    name: str | None
    person: str | None
    inn: str | None
    ogrn: str | None
    issuer: str | None
    valid_from: dt.datetime | None
    valid_to: dt.datetime | None
    #: how the certificate was found not revoked: OCSP (responder, answer time) or CRL
    status_check: str | None = None


class StatePublic(BaseModel):
    """A register's registration: the status in Russian and what to do next."""

    register_id: int
    kind: str
    kind_label: str
    status: str
    status_label: str
    next_step: str
    #: КНД 1110061 reason codes of a re-registration, or the КНД 1110062 reason
    reason_codes: list[Any]
    registered: bool
    form: dict[str, Any]
    rnm: str | None
    reasons: list[str]
    last_error: str | None
    certificate: CertificatePublic | None
    signed_at: dt.datetime | None
    sent_at: dt.datetime | None
    card: dict[str, Any] | None
    #: the МЧД number when an employee signed under one
    signer_poa: str | None
    #: the report's and the closing report's requisites: "fleet" (checked against the document
    #: the register sent) or "manual" (typed for a register whose documents Oblako lacks)
    report_source: str | None = None
    close_source: str | None = None

    @classmethod
    def of(cls, state: State) -> StatePublic:
        row = state.application
        assert state.register.id is not None
        cert = None
        if row is not None and row.signature is not None:
            cert = CertificatePublic(
                name=row.signer_name,
                person=row.signer_person,
                inn=row.signer_inn,
                ogrn=row.signer_ogrn,
                issuer=row.signer_issuer,
                valid_from=_utc(row.signer_valid_from),
                valid_to=_utc(row.signer_valid_to),
                status_check=row.signer_status,
            )
        rnm = row.rnm if row is not None else None
        return cls(
            register_id=state.register.id,
            kind=state.kind.value,
            kind_label=KIND_LABEL[state.kind],
            status=state.status.value,
            status_label=STATUS_LABEL[state.status],
            next_step=next_step(state.status, rnm, state.kind),
            reason_codes=state.reason_codes,
            registered=state.registered is not None,
            form=state.form.to_json(),
            rnm=rnm,
            reasons=state.reasons,
            last_error=row.last_error if row is not None else None,
            certificate=cert,
            signed_at=_utc(row.signed_at) if row is not None else None,
            sent_at=_utc(row.sent_at) if row is not None else None,
            card=state.card,
            signer_poa=row.signer_poa if row is not None else None,
            report_source=row.report_source if row is not None else None,
            close_source=row.close_source if row is not None else None,
        )
