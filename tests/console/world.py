"""Builders for the console tests: an operator, a company, registers with shadows."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from fleet.access.permissions import Permission
from fleet.access.principal import Principal
from fleet.accounts.models import Company, User
from fleet.core.clock import Clock
from fleet.link.ingest_models import DeviceShadow
from fleet.registers.models import Register
from tests.fleet.oracle import company_requisites
from tests.receipts.builders import add_register


def company(session: Session, clock: Clock, n: int) -> Company:
    inn, ogrn = company_requisites(n)
    c = Company(name=f"ООО «Клиент {n}»", inn=inn, ogrn=ogrn, created_at=clock.wall())
    session.add(c)
    session.commit()
    return c


def operator(session: Session, clock: Clock, company_id: int, n: int = 1) -> tuple[User, Principal]:
    """A confirmed operator user (of the given company) and its principal."""
    user = User(
        email=f"operator{n}@oblako.example",
        password_hash="",
        company_id=company_id,
        email_confirmed=True,
        is_operator=True,
        created_at=clock.wall(),
    )
    session.add(user)
    session.commit()
    assert user.id is not None
    return user, Principal(
        company_id=company_id, permissions=frozenset(Permission), user_id=user.id
    )


def register(
    session: Session, clock: Clock, c: Company, serial: str, *, slot: str = "R1-S01", **shadow: Any
) -> Register:
    """An active register with a routing profile, in a rack slot, with a reported shadow."""
    reg = add_register(session, clock, c, serial)
    reg.rack_slot = slot
    reg.model = "Облако-Ф1"
    reg.firmware_version = "1.0.0"
    reg.drive_number = "9999078900000001"
    session.add(reg)
    sh = session.get(DeviceShadow, reg.id)
    assert sh is not None
    sh.online = True
    sh.presence_at = clock.wall()
    sh.last_seen_at = clock.wall()
    sh.firmware = "1.0.0"
    sh.seq = 1
    sh.reported_at = clock.wall()
    sh.reported = {
        "seq": 1,
        "clock": int(clock.wall()),
        "clock_trusted": True,
        "drive": {"fn": "9999078900000001", "phase": 3, "warnings": 0, "last_fd": 0},
        "shift": {"open": False},
        "ofd": {"connected": True},
        "outbox": 0,
    }
    sh.drive_fn = "9999078900000001"
    sh.drive_last_fd = 0
    for k, v in shadow.items():
        setattr(sh, k, v)
    session.add(sh)
    session.commit()
    session.refresh(reg)
    return reg


def set_shadow(session: Session, register_id: int, **values: Any) -> None:
    sh = session.get(DeviceShadow, register_id)
    assert sh is not None
    for k, v in values.items():
        setattr(sh, k, v)
    session.add(sh)
    session.commit()
