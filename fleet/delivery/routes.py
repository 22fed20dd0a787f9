"""The client's channel order: for the company, a store or a register (the most specific wins),
filtered to the channels the service has switched on and to what the buyer's contact can use."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel import Session, col, select

from fleet.core.clock import Clock
from fleet.delivery.channels import CHANNELS, Channel, default_order
from fleet.delivery.exceptions import BadOrderError, UnknownChannelError
from fleet.delivery.models import DeliveryRoute

__all__ = ["Routes", "load_routes", "parse_order", "set_route"]

Scope = tuple[int | None, int | None]  # (store id, register id)


def parse_order(names: Sequence[str]) -> list[Channel]:
    """Channel names in order; blanks skipped; an unknown or repeated one is refused."""
    out: list[Channel] = []
    for raw in names:
        name = raw.strip()
        if not name:
            continue
        try:
            channel = Channel(name)
        except ValueError:
            raise UnknownChannelError(
                f"Неизвестный канал «{name}»", fields={"order": name}
            ) from None
        if channel in out:
            raise BadOrderError(f"Канал «{name}» указан в порядке дважды", fields={"order": name})
        out.append(channel)
    if not out:
        raise BadOrderError("Укажите хотя бы один канал", fields={"order": "пусто"})
    return out


class Routes:
    """A company's saved orders, looked up by store and register."""

    def __init__(self, rows: Sequence[DeliveryRoute]) -> None:
        self._by: dict[Scope, list[str]] = {(r.store_id, r.register_id): r.order for r in rows}

    def order_for(
        self,
        kind: str,
        store_id: int | None,
        register_id: int | None,
        enabled: Sequence[Channel],
    ) -> list[Channel]:
        """The channels to try for a contact of ``kind`` ("email" or "phone")."""
        saved = (
            (self._by.get((None, register_id)) if register_id is not None else None)
            or (self._by.get((store_id, None)) if store_id is not None else None)
            or self._by.get((None, None))
        )
        if saved is None:
            return default_order(kind, enabled)
        return [
            c
            for c in (Channel(n) for n in saved if n in Channel._value2member_map_)
            if c in enabled and CHANNELS[c].needs == kind
        ]


def load_routes(session: Session, company_ids: Sequence[int]) -> dict[int, Routes]:
    """The saved orders of these companies."""
    rows = session.exec(
        select(DeliveryRoute).where(col(DeliveryRoute.company_id).in_(set(company_ids)))
    ).all()
    out: dict[int, Routes] = {}
    for cid in set(company_ids):
        out[cid] = Routes([r for r in rows if r.company_id == cid])
    return out


def set_route(
    session: Session,
    clock: Clock,
    company_id: int,
    order: Sequence[str],
    *,
    store_id: int | None = None,
    register_id: int | None = None,
) -> DeliveryRoute:
    """Save the order for a scope (replacing the one saved there). Does not commit."""
    channels = parse_order(order)
    row = session.exec(
        select(DeliveryRoute).where(
            DeliveryRoute.company_id == company_id,
            col(DeliveryRoute.store_id).is_(None)
            if store_id is None
            else DeliveryRoute.store_id == store_id,
            col(DeliveryRoute.register_id).is_(None)
            if register_id is None
            else DeliveryRoute.register_id == register_id,
        )
    ).first()
    if row is None:
        row = DeliveryRoute(
            company_id=company_id,
            store_id=store_id,
            register_id=register_id,
            order=[],
            updated_at=clock.wall(),
        )
    row.order = [c.value for c in channels]
    row.updated_at = clock.wall()
    session.add(row)
    session.flush()
    return row
