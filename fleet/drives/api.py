"""The drive JSON API: the replacement schedule, the catalogue and its advice, purchases."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, Field

from fleet.access.deps import need
from fleet.access.permissions import Permission
from fleet.access.principal import Principal
from fleet.accounts.schemas import utc
from fleet.deps import SessionDep, StateDep
from fleet.drives import catalogue, purchase, regime
from fleet.drives.exceptions import DriveNotFoundError, InvalidPurchaseError
from fleet.drives.models import DrivePurchase
from fleet.drives.schedule import schedule

__all__ = ["router"]

router = APIRouter(prefix="/api/drives", tags=["Фискальные накопители"])

Viewer = Annotated[Principal, need(Permission.REGISTERS_VIEW)]
Payer = Annotated[Principal, need(Permission.BILLING_PAY)]
BillingViewer = Annotated[Principal, need(Permission.BILLING_VIEW)]


def lead_days(state: StateDep) -> int:
    """The configured lead time (``FLEET_DRIVE_LEAD_DAYS``)."""
    return int(getattr(state.settings, "drive_lead_days", 30))


@router.get("/schedule")
def get_schedule(principal: Viewer, session: SessionDep, state: StateDep) -> dict[str, Any]:
    """Every register of the company with its drive's replace-by date, soonest first."""
    lead = lead_days(state)
    rows = schedule(session, state.clock, principal, lead_days=lead)
    return {"lead_days": lead, "items": [r.to_dict() for r in rows]}


@router.get("/registers/{register_id}")
def get_register(
    register_id: int, principal: Viewer, session: SessionDep, state: StateDep
) -> dict[str, Any]:
    """One register's row of the schedule (another company's register: 404)."""
    for row in schedule(session, state.clock, principal, lead_days=lead_days(state)):
        if row.register_id == register_id:
            return row.to_dict()
    raise DriveNotFoundError("Касса не найдена")


class ModelPublic(BaseModel):
    """A drive model on sale (price in kopecks)."""

    code: str
    name: str
    term_months: int
    ffd: str
    price: int


@router.get("/catalogue")
def get_catalogue(principal: Viewer) -> list[ModelPublic]:
    """The drives Oblako sells."""
    return [
        ModelPublic(
            code=m.code, name=m.name, term_months=m.term_months, ffd=m.ffd, price=m.price_kop
        )
        for m in catalogue.CATALOGUE
    ]


@router.get("/recommendation")
def get_recommendation(
    principal: Viewer,
    tax_systems: Annotated[list[str] | None, Query()] = None,
    services: bool = False,
    excise: bool = False,
    autonomous: bool = False,
    seasonal: bool = False,
) -> dict[str, Any]:
    """The term that fits the business: ``tax_systems`` repeat (osn, usn_income,
    usn_income_expense, esxn, psn); the flags as the registration application has them."""
    known = {"osn", *regime.SPECIAL_REGIMES}
    bad = [t for t in tax_systems or [] if t not in known]
    if bad:
        raise InvalidPurchaseError(
            "Неизвестная система налогообложения",
            fields={"tax_systems": f"Допустимо: {', '.join(sorted(known))}"},
        )
    profile = regime.Profile(
        tax_systems=frozenset(tax_systems or []),
        services=services,
        excise=excise,
        autonomous=autonomous,
        seasonal=seasonal,
    )
    advice = purchase.recommend(profile)
    m = next(m for m in catalogue.CATALOGUE if m.term_months == advice.term_months)
    return {
        "term_months": advice.term_months,
        "model_code": m.code,
        "required": advice.required,
        "reason": advice.reason,
        "allowed_terms": sorted(advice.days),
        "days_by_term": {str(k): v for k, v in advice.days.items()},
    }


class PurchaseIn(BaseModel):
    """What to buy; ``request_key`` (any unique string) makes a retried request harmless."""

    model_code: str = Field(max_length=32, examples=["fn12-36"])
    quantity: int = Field(examples=[2])
    request_key: str = Field(max_length=64, examples=["order-2026-11-28-1"])


class PurchasePublic(BaseModel):
    """A purchase (kopecks)."""

    id: int
    model_code: str
    model_name: str
    term_months: int
    quantity: int
    price: int
    total: int
    status: str
    created_at: dt.datetime

    @classmethod
    def of(cls, p: DrivePurchase) -> PurchasePublic:
        """From the table row."""
        assert p.id is not None
        return cls(
            id=p.id,
            model_code=p.model_code,
            model_name=p.model_name,
            term_months=p.term_months,
            quantity=p.quantity,
            price=p.price_kop,
            total=p.total_kop,
            status=p.status,
            created_at=utc(p.created_at),
        )


@router.post("/purchases", status_code=status.HTTP_201_CREATED)
def create_purchase(
    body: PurchaseIn, principal: Payer, session: SessionDep, state: StateDep
) -> PurchasePublic:
    """Buy drives, paid from the balance (short balance: 409 naming the shortfall)."""
    row = purchase.buy(
        session,
        state.clock,
        principal,
        model_code=body.model_code,
        quantity=body.quantity,
        request_key=body.request_key,
    )
    return PurchasePublic.of(row)


@router.get("/purchases")
def list_purchases(principal: BillingViewer, session: SessionDep) -> list[PurchasePublic]:
    """The company's purchases, newest first."""
    return [PurchasePublic.of(p) for p in purchase.purchases(session, principal.company_id)]
