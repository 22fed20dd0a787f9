"""Receipt requests, registers with routing profiles and shadows, for the receipts tests."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from fleet.accounts.models import Company
from fleet.core.clock import Clock
from fleet.link.ingest_models import DeviceShadow
from fleet.receipts.models import RoutingProfile
from fleet.registers.models import Register, RegisterState

CASHIER = {"name": "Кассир Иванова А. П."}


def sale(rid: str, total: int, items: int = 1, vat: str = "vat20", **over: Any) -> dict[str, Any]:
    """A valid sale whose total is exactly `total` (the first item takes the rest)."""
    rest = 1000 * (items - 1)
    rows = []
    for i in range(items):
        price = total - rest if i == 0 else 1000
        rows.append(
            {
                "name": f"Товар {i + 1}",
                "price": price,
                "quantity": "1",
                "measure": 0,
                "sum": price,
                "vat": vat,
                "type": 1,
                "method": "full_payment",
            }
        )
    r: dict[str, Any] = {
        "id": rid,
        "operation": "sale",
        "tax_system": "osn",
        "items": rows,
        "payments": {"electronic": total},
        "total": total,
        "cashier": CASHIER,
    }
    r.update(over)
    return r


def add_register(
    session: Session,
    clock: Clock,
    company: Company,
    serial: str,
    *,
    profile: dict[str, Any] | None = None,
    inn: str | None = None,
    online: bool = True,
    state: RegisterState = RegisterState.ACTIVE,
    phase: int = 3,
    warnings: int = 0,
) -> Register:
    """An active register of the company with a routing profile and a reported shadow."""
    reg = Register(
        serial=serial,
        state=state.value,
        company_id=company.id,
        tariff_code="business",
        created_at=clock.wall(),
    )
    session.add(reg)
    session.flush()
    assert reg.id is not None
    session.add(
        RoutingProfile(
            register_id=reg.id,
            inn=inn or company.inn,
            profile=profile if profile is not None else {"ffd": "1.2", "tax_systems": ["osn"]},
            updated_at=clock.wall(),
        )
    )
    session.add(
        DeviceShadow(
            register_id=reg.id,
            online=online,
            reported={
                "drive": {"fn": "9999078900000001", "phase": phase, "warnings": warnings},
                "clock_trusted": True,
            },
        )
    )
    session.commit()
    return reg
