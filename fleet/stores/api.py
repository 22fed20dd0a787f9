"""The store JSON API: registers.view reads, company.manage changes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Response, status
from pydantic import BaseModel, Field

from fleet.access.deps import need
from fleet.access.permissions import Permission
from fleet.access.principal import Principal
from fleet.deps import SessionDep, StateDep
from fleet.stores import service
from fleet.stores.models import DEFAULT_TIMEZONE, Store, StoreKind

__all__ = ["StorePublic", "router"]

router = APIRouter(prefix="/api/stores", tags=["Магазины"])


class StoreIn(BaseModel):
    """A store: an address for a shop, a website for an internet store."""

    name: str = Field(max_length=300, examples=["Магазин на Ленина"])
    kind: StoreKind = StoreKind.SHOP
    postal_code: str = Field(default="", max_length=20, examples=["620014"])
    region_code: str = Field(default="", max_length=10, examples=["66"])
    city: str = Field(default="", max_length=300, examples=["Екатеринбург"])
    street: str = Field(default="", max_length=300, examples=["ул. Ленина"])
    house: str = Field(default="", max_length=100, examples=["24/8"])
    flat: str = Field(default="", max_length=100)
    website: str = Field(default="", max_length=400, examples=["https://shop.example.ru"])
    timezone: str = Field(default=DEFAULT_TIMEZONE, max_length=100, examples=["Asia/Yekaterinburg"])

    def data(self) -> service.StoreIn:
        """The service's input."""
        return service.StoreIn(**{**self.model_dump(), "kind": self.kind.value})


class StorePublic(BaseModel):
    """A store as the API shows it."""

    id: int
    name: str
    kind: StoreKind
    kind_label: str
    postal_code: str | None
    region_code: str | None
    city: str | None
    street: str | None
    house: str | None
    flat: str | None
    website: str | None
    timezone: str
    address: str

    @classmethod
    def of(cls, s: Store) -> StorePublic:
        """From the table row."""
        assert s.id is not None
        return cls(
            id=s.id,
            name=s.name,
            kind=StoreKind(s.kind),
            kind_label=service.kind_label(s),
            postal_code=s.postal_code,
            region_code=s.region_code,
            city=s.city,
            street=s.street,
            house=s.house,
            flat=s.flat,
            website=s.website,
            timezone=s.timezone,
            address=service.address_line(s),
        )


Viewer = Annotated[Principal, need(Permission.REGISTERS_VIEW)]
Manager = Annotated[Principal, need(Permission.COMPANY_MANAGE)]


@router.get("")
def list_all(principal: Viewer, session: SessionDep) -> list[StorePublic]:
    """The company's stores by name."""
    return [
        StorePublic.of(s)
        for s in service.list_stores(session=session, company_id=principal.company_id)
    ]


@router.post("", status_code=status.HTTP_201_CREATED)
def create(body: StoreIn, principal: Manager, session: SessionDep, state: StateDep) -> StorePublic:
    """Add a store (422 with Russian reasons per field)."""
    store = service.create_store(
        session=session,
        clock=state.clock,
        company_id=principal.company_id,
        user_id=principal.user_id,
        data=body.data(),
    )
    return StorePublic.of(store)


@router.get("/{store_id}")
def get_one(store_id: int, principal: Viewer, session: SessionDep) -> StorePublic:
    """One store of the company (another company's: 404)."""
    return StorePublic.of(
        service.get_store(session=session, company_id=principal.company_id, store_id=store_id)
    )


@router.put("/{store_id}")
def update(
    store_id: int, body: StoreIn, principal: Manager, session: SessionDep, state: StateDep
) -> StorePublic:
    """Replace the store's data."""
    store = service.update_store(
        session=session,
        clock=state.clock,
        company_id=principal.company_id,
        user_id=principal.user_id,
        store_id=store_id,
        data=body.data(),
    )
    return StorePublic.of(store)


@router.delete("/{store_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete(store_id: int, principal: Manager, session: SessionDep, state: StateDep) -> Response:
    """Delete an empty store (registers still in it: 409)."""
    service.delete_store(
        session=session,
        clock=state.clock,
        company_id=principal.company_id,
        user_id=principal.user_id,
        store_id=store_id,
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)
