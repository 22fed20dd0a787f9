"""The register JSON API: the operator's inventory and the client's tenant-scoped list."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, Field

from fleet.accounts.schemas import utc
from fleet.deps import ApiUserDep, SessionDep, StateDep
from fleet.registers import service
from fleet.registers.models import NEXT_STEP, STATE_LABEL, Register, RegisterState

__all__ = ["operator_router", "router"]

router = APIRouter(prefix="/api/registers", tags=["Кассы"])
operator_router = APIRouter(prefix="/api/operator/registers", tags=["Склад касс (оператор)"])


class HardwareIn(BaseModel):
    """A register an operator puts into the inventory."""

    serial: str = Field(max_length=32, examples=["0001234567890123"])
    model: str = Field(max_length=64, examples=["Облако-Ф"])
    rack_slot: str = Field(max_length=32, examples=["R1-S01"])
    firmware_version: str = Field(max_length=32, examples=["1.0.0"])
    drive_number: str | None = Field(default=None, max_length=16, examples=["9999078900001234"])
    drive_expires_at: dt.datetime | None = None


class RegisterPublic(BaseModel):
    """A register as the API shows it; ``next_step`` says in Russian what happens next."""

    id: int
    serial: str | None
    virtual: bool
    model: str | None
    rack_slot: str | None
    drive_number: str | None
    drive_expires_at: dt.datetime | None
    firmware_version: str | None
    state: RegisterState
    state_label: str
    next_step: str
    company_id: int | None
    booking_id: int | None
    booked_at: dt.datetime | None
    paid_at: dt.datetime | None

    @classmethod
    def of(cls, r: Register) -> RegisterPublic:
        """From the table row."""
        assert r.id is not None
        state = RegisterState(r.state)
        return cls(
            id=r.id,
            serial=r.serial,
            virtual=r.serial is None,
            model=r.model,
            rack_slot=r.rack_slot,
            drive_number=r.drive_number,
            drive_expires_at=None if r.drive_expires_at is None else utc(r.drive_expires_at),
            firmware_version=r.firmware_version,
            state=state,
            state_label=STATE_LABEL[state],
            next_step=NEXT_STEP[state],
            company_id=r.company_id,
            booking_id=r.booking_id,
            booked_at=None if r.booked_at is None else utc(r.booked_at),
            paid_at=None if r.paid_at is None else utc(r.paid_at),
        )


class RegisterPage(BaseModel):
    """One page of the list and the number of registers matching the filter."""

    items: list[RegisterPublic]
    total: int
    limit: int
    offset: int


def _seconds(moment: dt.datetime | None) -> float | None:
    # a naive datetime is taken as UTC
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.timestamp()


@operator_router.post("", status_code=status.HTTP_201_CREATED)
def add_hardware(
    body: HardwareIn, user: ApiUserDep, session: SessionDep, state: StateDep
) -> RegisterPublic:
    """Add a register to the free inventory (operators only: others get 403)."""
    register = service.add_hardware(
        session=session,
        clock=state.clock,
        user=user,
        hardware=service.Hardware(
            serial=body.serial,
            model=body.model,
            rack_slot=body.rack_slot,
            firmware_version=body.firmware_version,
            drive_number=body.drive_number,
            drive_expires_at=_seconds(body.drive_expires_at),
        ),
    )
    return RegisterPublic.of(register)


@router.get("")
def list_all(
    user: ApiUserDep,
    session: SessionDep,
    state: Annotated[list[RegisterState] | None, Query()] = None,
    company_id: int | None = None,
    drive_expires_from: dt.datetime | None = None,
    drive_expires_to: dt.datetime | None = None,
    limit: int = 50,
    offset: int = 0,
) -> RegisterPage:
    """The company's registers; filters (state may repeat) combine with AND."""
    page = service.list_registers(
        session=session,
        company_id=user.company_id,
        flt=service.RegisterFilter(
            states=tuple(state or ()),
            company_id=company_id,
            drive_expires_from=_seconds(drive_expires_from),
            drive_expires_to=_seconds(drive_expires_to),
            limit=limit,
            offset=offset,
        ),
    )
    return RegisterPage(
        items=[RegisterPublic.of(r) for r in page.items],
        total=page.total,
        limit=page.limit,
        offset=page.offset,
    )


@router.get("/{register_id}")
def get_one(register_id: int, user: ApiUserDep, session: SessionDep) -> RegisterPublic:
    """One of the company's registers (another company's id: 404)."""
    return RegisterPublic.of(
        service.get_register(session=session, company_id=user.company_id, register_id=register_id)
    )
