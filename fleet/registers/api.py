"""The register JSON API: the client's filtered list, the card, placing in stores; the operator's
fleet view, inventory and filling virtual slots."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, Field

from fleet.access.deps import need
from fleet.access.permissions import Permission
from fleet.access.principal import Principal
from fleet.accounts.schemas import utc
from fleet.deps import SessionDep, StateDep
from fleet.documents.counters import Counters
from fleet.registers import service
from fleet.registers.models import NEXT_STEP, STATE_LABEL, Register, RegisterState
from fleet.stores.api import StorePublic

__all__ = ["ListQuery", "operator_router", "router"]

router = APIRouter(prefix="/api/registers", tags=["Кассы"])
operator_router = APIRouter(prefix="/api/operator/registers", tags=["Парк касс (оператор)"])


class HardwareIn(BaseModel):
    """A register's hardware, as an operator enters it."""

    serial: str = Field(max_length=32, examples=["0001234567890123"])
    model: str = Field(max_length=64, examples=["Облако-Ф"])
    rack_slot: str = Field(max_length=32, examples=["R1-S01"])
    firmware_version: str = Field(max_length=32, examples=["1.0.0"])
    drive_number: str | None = Field(default=None, max_length=16, examples=["9999078900001234"])
    drive_expires_at: dt.datetime | None = None

    def hardware(self) -> service.Hardware:
        """The service's input."""
        return service.Hardware(
            serial=self.serial,
            model=self.model,
            rack_slot=self.rack_slot,
            firmware_version=self.firmware_version,
            drive_number=self.drive_number,
            drive_expires_at=seconds(self.drive_expires_at),
        )


class RegisterPublic(BaseModel):
    """A register as the API shows it; ``next_step`` says in Russian what happens next."""

    id: int
    serial: str | None
    virtual: bool
    name: str | None
    rnm: str | None
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
    store_id: int | None
    folder_id: int | None
    tariff_code: str | None
    shift_open: bool
    has_errors: bool
    last_error: str | None
    last_seen_at: dt.datetime | None
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
            name=r.name,
            rnm=r.rnm,
            model=r.model,
            rack_slot=r.rack_slot,
            drive_number=r.drive_number,
            drive_expires_at=_when(r.drive_expires_at),
            firmware_version=r.firmware_version,
            state=state,
            state_label=STATE_LABEL[state],
            next_step=NEXT_STEP[state],
            company_id=r.company_id,
            booking_id=r.booking_id,
            store_id=r.store_id,
            folder_id=r.folder_id,
            tariff_code=r.tariff_code,
            shift_open=r.shift_open,
            has_errors=r.has_errors,
            last_error=r.last_error,
            last_seen_at=_when(r.last_seen_at),
            booked_at=_when(r.booked_at),
            paid_at=_when(r.paid_at),
        )


class ReceiptCounts(BaseModel):
    """Receipts (type 3) by the settlement sign (tag 1054)."""

    income: int
    income_return: int
    expense: int
    expense_return: int


class CountersPublic(BaseModel):
    """Counted from the register's documents; days in ``days_timezone``."""

    receipts: ReceiptCounts
    bso: int
    correction_receipts: int
    documents_total: int
    ofd_accepted: int
    ofd_rejected: int
    ofd_pending: int
    marked_receipts: int
    shifts: int
    shift_open: bool
    working_days: int
    idle_days: int
    days_timezone: str
    tax_systems: list[str]
    first_document_at: dt.datetime | None
    last_document_at: dt.datetime | None

    @classmethod
    def of(cls, c: Counters) -> CountersPublic:
        """From the service's counters."""
        return cls(
            receipts=ReceiptCounts(**c.receipts),
            bso=c.bso,
            correction_receipts=c.correction_receipts,
            documents_total=c.documents_total,
            ofd_accepted=c.ofd_accepted,
            ofd_rejected=c.ofd_rejected,
            ofd_pending=c.ofd_pending,
            marked_receipts=c.marked_receipts,
            shifts=c.shifts,
            shift_open=c.shift_open,
            working_days=c.working_days,
            idle_days=c.idle_days,
            days_timezone=c.days_timezone,
            tax_systems=c.tax_systems,
            first_document_at=_when(c.first_document_at),
            last_document_at=_when(c.last_document_at),
        )


class RegisterCard(RegisterPublic):
    """The card: the register, its store and the counters from its documents."""

    store: StorePublic | None
    counters: CountersPublic

    @classmethod
    def of_card(cls, card: service.Card) -> RegisterCard:
        """From the service's card."""
        return cls(
            **RegisterPublic.of(card.register).model_dump(),
            store=None if card.store is None else StorePublic.of(card.store),
            counters=CountersPublic.of(card.counters),
        )


class RegisterPage(BaseModel):
    """One page of the list and the number of registers matching the filter."""

    items: list[RegisterPublic]
    total: int
    limit: int
    offset: int


class StorePlacement(BaseModel):
    """The store to place the register in (null: out of any store)."""

    store_id: int | None


def _when(seconds_: float | None) -> dt.datetime | None:
    return None if seconds_ is None else utc(seconds_)


def seconds(moment: dt.datetime | None) -> float | None:
    """Aware datetime to UTC seconds (a naive one is taken as UTC)."""
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.timestamp()


class ListQuery(BaseModel):
    """The list's query parameters (shared by the client's and the operator's list)."""

    state: list[RegisterState] = Field(default_factory=list)
    company_id: int | None = None
    store_id: list[int] = Field(default_factory=list)
    tariff_code: str | None = None
    drive_expires_from: dt.datetime | None = None
    drive_expires_to: dt.datetime | None = None
    has_errors: bool | None = None
    shift_open: bool | None = None
    folder_id: int | None = None
    q: str | None = None
    sort: str = "id"
    limit: int = 50
    offset: int = 0

    def filter(self) -> service.RegisterFilter:
        """The service's filter."""
        return service.RegisterFilter(
            states=tuple(self.state),
            company_id=self.company_id,
            store_ids=tuple(self.store_id),
            tariff_code=self.tariff_code or None,
            drive_expires_from=seconds(self.drive_expires_from),
            drive_expires_to=seconds(self.drive_expires_to),
            has_errors=self.has_errors,
            shift_open=self.shift_open,
            folder_id=self.folder_id,
            q=self.q,
            sort=self.sort,
            limit=self.limit,
            offset=self.offset,
        )


ListQueryDep = Annotated[ListQuery, Query()]


def _page(page: service.Page) -> RegisterPage:
    return RegisterPage(
        items=[RegisterPublic.of(r) for r in page.items],
        total=page.total,
        limit=page.limit,
        offset=page.offset,
    )


@operator_router.post("", status_code=status.HTTP_201_CREATED)
def add_hardware(
    body: HardwareIn,
    principal: Annotated[Principal, need(Permission.OPERATOR_INVENTORY)],
    session: SessionDep,
    state: StateDep,
) -> RegisterPublic:
    """Add a register to the free inventory."""
    register = service.add_hardware(
        session=session, clock=state.clock, principal=principal, hardware=body.hardware()
    )
    return RegisterPublic.of(register)


@operator_router.get("")
def fleet_list(
    query: ListQueryDep,
    principal: Annotated[Principal, need(Permission.OPERATOR_FLEET)],
    session: SessionDep,
) -> RegisterPage:
    """Every client's registers; ``company_id`` narrows to one client; same filters as the list."""
    return _page(service.list_fleet(session=session, flt=query.filter()))


@operator_router.post("/{register_id}/hardware")
def fill_virtual(
    register_id: int,
    body: HardwareIn,
    principal: Annotated[Principal, need(Permission.OPERATOR_INVENTORY)],
    session: SessionDep,
    state: StateDep,
) -> RegisterPublic:
    """Put hardware behind a virtual slot (a register with hardware already: 409)."""
    register = service.fill_virtual(
        session=session,
        clock=state.clock,
        principal=principal,
        register_id=register_id,
        hardware=body.hardware(),
    )
    return RegisterPublic.of(register)


@router.get("")
def list_all(
    query: ListQueryDep,
    principal: Annotated[Principal, need(Permission.REGISTERS_VIEW)],
    session: SessionDep,
) -> RegisterPage:
    """The company's registers (in the caller's folders); filters combine with AND."""
    page = service.list_registers(
        session=session,
        company_id=principal.company_id,
        folder_ids=principal.folder_ids,
        flt=query.filter(),
    )
    return _page(page)


@router.get("/{register_id}")
def get_one(
    register_id: int,
    principal: Annotated[Principal, need(Permission.REGISTERS_VIEW)],
    session: SessionDep,
    state: StateDep,
) -> RegisterCard:
    """The register card with its store and counters (another company's id: 404)."""
    card = service.get_card(
        session=session, clock=state.clock, principal=principal, register_id=register_id
    )
    return RegisterCard.of_card(card)


@router.put("/{register_id}/store")
def place_in_store(
    register_id: int,
    body: StorePlacement,
    principal: Annotated[Principal, need(Permission.REGISTERS_MANAGE)],
    session: SessionDep,
    state: StateDep,
) -> RegisterPublic:
    """Place the register in one of the company's stores (another company's store: 404)."""
    register = service.move_to_store(
        session=session,
        clock=state.clock,
        principal=principal,
        register_id=register_id,
        store_id=body.store_id,
    )
    return RegisterPublic.of(register)
