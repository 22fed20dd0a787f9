"""The JSON API after registration: settings changes (re-registration), deregistration, МЧД,
and the operator's drive replacement and used-drive record."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, Field

from fleet.access.deps import need
from fleet.access.permissions import Permission
from fleet.access.principal import Principal
from fleet.accounts.schemas import utc
from fleet.deps import SessionDep, StateDep
from fleet.registration import attorney, lifecycle, report, service
from fleet.registration.config import ConfigDep
from fleet.registration.exceptions import InvalidPoaError
from fleet.registration.models import PowerOfAttorney, UsedDrive
from fleet.registration.rules import REASON_LABEL, RULES, Decision
from fleet.registration.schemas import FormIn, StatePublic
from fleet.registration.used_drives import list_used_drives

__all__ = ["operator_router", "router", "rules_router"]

router = APIRouter(prefix="/api/registers", tags=["Регистрация ККТ в ФНС"])
operator_router = APIRouter(prefix="/api/operator", tags=["Парк касс (оператор)"])
rules_router = APIRouter(prefix="/api/registration", tags=["Регистрация ККТ в ФНС"])

Manager = Annotated[Principal, need(Permission.REGISTERS_MANAGE)]


class RulePublic(BaseModel):
    """One row of the re-registration rules table."""

    key: str
    field: str
    label: str
    needs_application: bool
    reason: int | None
    reason_label: str | None
    source: str


class ChangePublic(BaseModel):
    """One changed registered parameter."""

    key: str
    label: str
    old: str
    new: str
    needs_application: bool
    reason: int | None
    source: str


class DecisionPublic(BaseModel):
    """What a settings change needs: an application with these reason codes, or nothing."""

    needs_application: bool
    reasons: list[int]
    reason_labels: list[str]
    changes: list[ChangePublic]
    message: str

    @classmethod
    def of(cls, decision: Decision, message: str) -> DecisionPublic:
        return cls(
            needs_application=decision.needs_application,
            reasons=list(decision.reasons),
            reason_labels=[REASON_LABEL[r] for r in decision.reasons],
            changes=[
                ChangePublic(
                    key=c.key,
                    label=c.rule.label,
                    old=c.old,
                    new=c.new,
                    needs_application=c.rule.needs_application,
                    reason=c.rule.reason,
                    source=c.rule.source,
                )
                for c in decision.changes
            ],
            message=message,
        )


class ChangeResultPublic(BaseModel):
    """The decision and the registration state after it."""

    decision: DecisionPublic
    state: StatePublic


class CloseIn(BaseModel):
    """The report on closing the drive's fiscal mode: ФД number, ФП, date."""

    fd_number: int
    fiscal_sign: str = Field(max_length=10)
    date: str = Field(max_length=32, examples=["2025-03-01T18:00"])

    def report(self) -> lifecycle.CloseReport:
        return lifecycle.CloseReport(self.fd_number, self.fiscal_sign, self.date)


class DeregistrationIn(BaseModel):
    """КНД 1110062: the reason and (unless stolen or lost) the closing report; without the
    OFD's acceptance of the closing report in the fleet, ``ofd_override`` says why the user
    knows the OFD has it (audited)."""

    reason: str = Field(max_length=16, examples=["user"])
    close: CloseIn | None = None
    ofd_override: str = Field(default="", max_length=500)


class ReplacementIn(BaseModel):
    """The operator's drive replacement; without ``close`` the closing report is the one the
    register made on command (``…/drive-close``)."""

    close: CloseIn | None = None
    #: only without the OFD's acceptance of the closing report in the fleet: the operator's
    #: reason for going on (audited), e.g. the receipt seen in the OFD's cabinet
    ofd_override: str = Field(default="", max_length=500)
    new_model: str = Field(default="", max_length=100, examples=["ФН-1.2"])
    new_number: str = Field(max_length=16, examples=["9999078900005678"])


class ClosingPublic(BaseModel):
    """The installed drive's closing report as the fleet knows it: the register's answer, the
    document it sent, the OFD's answer, and the drive's documents not yet with the OFD."""

    fn_number: str
    fd_number: int | None
    fiscal_sign: str | None
    date: str | None
    stored: bool
    ofd_status: str | None
    ofd_code: int | None
    confirmed: bool
    unsent: int | None
    not_accepted: int
    message: str
    unsent_message: str | None

    @classmethod
    def of(cls, c: report.ClosingState) -> ClosingPublic:
        r = c.report
        return cls(
            fn_number=c.fn_number,
            fd_number=r.fd_number if r else None,
            fiscal_sign=r.fiscal_sign if r else None,
            date=r.date if r else None,
            stored=c.stored,
            ofd_status=c.ofd_status,
            ofd_code=c.ofd_code,
            confirmed=c.confirmed,
            unsent=c.unsent,
            not_accepted=c.not_accepted,
            message=c.message,
            unsent_message=c.unsent_message,
        )


class CloseOrderPublic(BaseModel):
    """The closing command queued for the register."""

    request_id: str
    message: str


_CLOSE_ORDERED = (
    "Команда закрытия фискального режима отправлена кассе: она сформирует отчёт о закрытии "
    "ФН, его реквизиты Облако возьмёт из ответа кассы"
)


class PoaIn(BaseModel):
    """The МЧД's XML file and the head's detached signature over it, both base64."""

    xml: str = Field(max_length=400_000)
    signature: str = Field(max_length=200_000)


class PoaPublic(BaseModel):
    """A МЧД on record."""

    id: int
    number: str
    representative_name: str
    representative_snils: str | None
    representative_inn: str | None
    valid_from: dt.datetime
    valid_to: dt.datetime
    powers: list[str]

    @classmethod
    def of(cls, row: PowerOfAttorney) -> PoaPublic:
        assert row.id is not None
        return cls(
            id=row.id,
            number=row.number,
            representative_name=row.representative_name,
            representative_snils=row.representative_snils,
            representative_inn=row.representative_inn,
            valid_from=utc(row.valid_from),
            valid_to=utc(row.valid_to),
            powers=[str(p) for p in json.loads(row.powers)],
        )


class UsedDrivePublic(BaseModel):
    """A used drive on record, kept until ``keep_until`` (54-ФЗ ст. 5 п. 2)."""

    id: int
    drive_number: str
    model: str
    register_id: int
    company_id: int | None
    rnm: str | None
    close_fd_number: int | None
    close_fiscal_sign: str | None
    close_date: str | None
    removed_at: dt.datetime
    keep_until: dt.datetime

    @classmethod
    def of(cls, row: UsedDrive) -> UsedDrivePublic:
        assert row.id is not None
        return cls(
            id=row.id,
            drive_number=row.drive_number,
            model=row.model,
            register_id=row.register_id,
            company_id=row.company_id,
            rnm=row.rnm,
            close_fd_number=row.close_fd_number,
            close_fiscal_sign=row.close_fiscal_sign,
            close_date=row.close_date,
            removed_at=utc(row.removed_at),
            keep_until=utc(row.keep_until),
        )


def _b64(value: str, field: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidPoaError("Файл не в base64", fields={field: "Нужен base64"}) from exc


@rules_router.get("/rules", summary="Таблица правил перерегистрации")
def get_rules(_p: Annotated[Principal, need(Permission.REGISTERS_VIEW)]) -> list[RulePublic]:
    return [
        RulePublic(
            key=key,
            field=rule.field,
            label=rule.label,
            needs_application=rule.needs_application,
            reason=rule.reason,
            reason_label=REASON_LABEL.get(rule.reason) if rule.reason else None,
            source=rule.source,
        )
        for key, rule in RULES.items()
    ]


@router.put(
    "/{register_id}/registration/settings",
    summary="Изменить параметры зарегистрированной кассы (перерегистрация по правилам)",
)
def put_settings(
    register_id: int, body: FormIn, principal: Manager, session: SessionDep, state: StateDep
) -> ChangeResultPublic:
    outcome = lifecycle.propose_change(
        session=session,
        clock=state.clock,
        principal=principal,
        register_id=register_id,
        form=body.form(),
    )
    return ChangeResultPublic(
        decision=DecisionPublic.of(outcome.decision, outcome.message),
        state=StatePublic.of(outcome.state),
    )


@router.post("/{register_id}/deregistration", summary="Заявление о снятии с учёта (КНД 1110062)")
def post_deregistration(
    register_id: int,
    body: DeregistrationIn,
    principal: Manager,
    session: SessionDep,
    state: StateDep,
) -> StatePublic:
    return StatePublic.of(
        lifecycle.prepare_deregistration(
            session=session,
            clock=state.clock,
            principal=principal,
            register_id=register_id,
            reason=body.reason,
            close=body.close.report() if body.close is not None else None,
            ofd_override=body.ofd_override,
        )
    )


@router.post(
    "/{register_id}/registration/drive-close",
    status_code=202,
    summary="Команда кассе: отчёт о закрытии фискального режима ФН",
)
def post_drive_close(
    register_id: int, principal: Manager, session: SessionDep, state: StateDep
) -> CloseOrderPublic:
    rid = lifecycle.order_closing(
        session=session, clock=state.clock, principal=principal, register_id=register_id
    )
    return CloseOrderPublic(request_id=rid, message=_CLOSE_ORDERED)


@router.get(
    "/{register_id}/registration/drive-closing",
    summary="Отчёт о закрытии ФН: ответ кассы, подтверждение ОФД, непереданные документы",
)
def get_drive_closing(register_id: int, principal: Manager, session: SessionDep) -> ClosingPublic:
    return ClosingPublic.of(
        lifecycle.closing(session=session, principal=principal, register_id=register_id)
    )


@router.get("/{register_id}/registration/poa", summary="Машиночитаемые доверенности компании")
def get_poas(register_id: int, principal: Manager, session: SessionDep) -> list[PoaPublic]:
    st = service.get_state(session=session, principal=principal, register_id=register_id)
    return [PoaPublic.of(p) for p in attorney.list_poas(session, st.company.id or 0)]


@router.post(
    "/{register_id}/registration/poa",
    status_code=201,
    summary="Загрузить МЧД сотрудника (XML и подпись руководителя)",
)
def post_poa(
    register_id: int,
    body: PoaIn,
    principal: Manager,
    session: SessionDep,
    state: StateDep,
    config: ConfigDep,
) -> PoaPublic:
    st = service.get_state(session=session, principal=principal, register_id=register_id)
    row = attorney.upload_poa(
        session=session,
        clock=state.clock,
        principal=principal,
        company=st.company,
        xml=_b64(body.xml, "poa"),
        signature=_b64(body.signature, "poa_signature"),
        trusted_roots=config.trusted_roots,
        crls=config.crls,
    )
    return PoaPublic.of(row)


@operator_router.get(
    "/registers/{register_id}/drive-closing",
    summary="Отчёт о закрытии ФН: ответ кассы, подтверждение ОФД, непереданные документы",
)
def get_operator_drive_closing(
    register_id: int,
    _p: Annotated[Principal, need(Permission.OPERATOR_INVENTORY)],
    session: SessionDep,
) -> ClosingPublic:
    return ClosingPublic.of(
        lifecycle.closing(session=session, principal=None, register_id=register_id)
    )


@operator_router.post(
    "/registers/{register_id}/drive-close",
    status_code=202,
    summary="Команда кассе: отчёт о закрытии фискального режима ФН (перед заменой)",
)
def post_operator_drive_close(
    register_id: int,
    _p: Annotated[Principal, need(Permission.OPERATOR_INVENTORY)],
    session: SessionDep,
    state: StateDep,
) -> CloseOrderPublic:
    rid = lifecycle.order_closing(
        session=session, clock=state.clock, principal=None, register_id=register_id
    )
    return CloseOrderPublic(request_id=rid, message=_CLOSE_ORDERED)


@operator_router.post(
    "/registers/{register_id}/drive-replacement", summary="Замена фискального накопителя"
)
def post_replacement(
    register_id: int,
    body: ReplacementIn,
    principal: Annotated[Principal, need(Permission.OPERATOR_INVENTORY)],
    session: SessionDep,
    state: StateDep,
) -> ChangeResultPublic:
    outcome = lifecycle.replace_drive(
        session=session,
        clock=state.clock,
        principal=principal,
        register_id=register_id,
        close=body.close.report() if body.close is not None else None,
        ofd_override=body.ofd_override,
        new_model=body.new_model,
        new_number=body.new_number,
    )
    return ChangeResultPublic(
        decision=DecisionPublic.of(outcome.decision, outcome.message),
        state=StatePublic.of(outcome.state),
    )


@operator_router.get("/used-drives", summary="Снятые фискальные накопители (хранение 5 лет)")
def get_used_drives(
    _p: Annotated[Principal, need(Permission.OPERATOR_FLEET)],
    session: SessionDep,
    company_id: int | None = None,
) -> list[UsedDrivePublic]:
    return [UsedDrivePublic.of(r) for r in list_used_drives(session, company_id=company_id)]
