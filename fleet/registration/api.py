"""The registration JSON API under ``/api/registers/{register_id}/registration``."""

from __future__ import annotations

import base64
from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel

from fleet.access.deps import need
from fleet.access.permissions import Permission
from fleet.access.principal import Principal
from fleet.deps import SessionDep, StateDep
from fleet.registration import service
from fleet.registration.config import ConfigDep
from fleet.registration.schemas import FormIn, ReportIn, SignatureIn, StatePublic

__all__ = ["router"]

router = APIRouter(prefix="/api/registers", tags=["Регистрация ККТ в ФНС"])

Manager = Annotated[Principal, need(Permission.REGISTERS_MANAGE)]


class ToSignPublic(BaseModel):
    """The exact bytes to sign (base64) and how they are made."""

    content: str
    media_type: str = "application/json; charset=utf-8"
    filename: str


@router.get("/{register_id}/registration", summary="Состояние регистрации кассы")
def get_registration(register_id: int, principal: Manager, session: SessionDep) -> StatePublic:
    return StatePublic.of(
        service.get_state(session=session, principal=principal, register_id=register_id)
    )


@router.put("/{register_id}/registration", summary="Заполнить заявление (часть пользователя)")
def put_registration(
    register_id: int, body: FormIn, principal: Manager, session: SessionDep, state: StateDep
) -> StatePublic:
    return StatePublic.of(
        service.save_form(
            session=session,
            clock=state.clock,
            principal=principal,
            register_id=register_id,
            form=body.form(),
        )
    )


@router.get("/{register_id}/registration/to-sign", summary="Байты заявления для подписи")
def to_sign(register_id: int, principal: Manager, session: SessionDep) -> ToSignPublic:
    content = service.document_bytes(session=session, principal=principal, register_id=register_id)
    return ToSignPublic(
        content=base64.b64encode(content).decode(),
        filename=f"registration-{register_id}.json",
    )


@router.post("/{register_id}/registration/signature", summary="Загрузить отсоединённую подпись")
def post_signature(
    register_id: int,
    body: SignatureIn,
    principal: Manager,
    session: SessionDep,
    state: StateDep,
    config: ConfigDep,
) -> StatePublic:
    return StatePublic.of(
        service.accept_signature(
            session=session,
            clock=state.clock,
            principal=principal,
            register_id=register_id,
            signature=body.signature.encode("ascii", "replace"),
            trusted_roots=config.trusted_roots,
            crls=config.crls,
            gateway=config.gateway,
        )
    )


@router.post("/{register_id}/registration/send", summary="Повторить отправку в ФНС")
def post_send(
    register_id: int, principal: Manager, session: SessionDep, state: StateDep, config: ConfigDep
) -> StatePublic:
    return StatePublic.of(
        service.send(
            session=session,
            clock=state.clock,
            principal=principal,
            register_id=register_id,
            gateway=config.gateway,
        )
    )


@router.post("/{register_id}/registration/refresh", summary="Запросить ответ ФНС")
def post_refresh(
    register_id: int, principal: Manager, session: SessionDep, state: StateDep, config: ConfigDep
) -> StatePublic:
    return StatePublic.of(
        service.refresh(
            session=session,
            clock=state.clock,
            principal=principal,
            register_id=register_id,
            gateway=config.gateway,
        )
    )


@router.post("/{register_id}/registration/report", summary="Реквизиты отчёта о регистрации")
def post_report(
    register_id: int,
    body: ReportIn,
    principal: Manager,
    session: SessionDep,
    state: StateDep,
    config: ConfigDep,
) -> StatePublic:
    return StatePublic.of(
        service.send_report(
            session=session,
            clock=state.clock,
            principal=principal,
            register_id=register_id,
            gateway=config.gateway,
            fd_number=body.fd_number,
            fiscal_sign=body.fiscal_sign,
            date=body.date,
        )
    )
