"""Factories of path-parameter objects for the route walker (tests/fleet/test_walker.py).

Contract: ``FACTORIES`` maps a path parameter name (``{register_id}`` → ``"register_id"``) to a
function ``(session, clock, company_id) -> id`` that creates such an object belonging to that
company (committing is up to the walker; flush so the id exists) and returns its id. The walker
calls every route with objects of the caller's own company (must not be 401/403 when the caller
holds the permission) and with another company's objects (must be 404). Every helper adds entries
for the path parameters it introduces; never remove another helper's entries.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from sqlmodel import Session

from fleet.access.models import ApiToken, RegisterFolder, Role, RoleKind
from fleet.accounts.models import Company, User
from fleet.billing.models import BankPayment, BankPaymentStatus, CardPayment, Invoice
from fleet.bookings.models import Booking
from fleet.core.clock import Clock
from fleet.registers.models import Register, RegisterState
from fleet.stores.models import Store

__all__ = ["FACTORIES", "Factory"]

Factory = Callable[[Session, Clock, int], int]


def _unique() -> str:
    return uuid.uuid4().hex[:12]


def _added(session: Session, row: object) -> int:
    session.add(row)
    session.flush()
    row_id = getattr(row, "id", None)
    assert isinstance(row_id, int)
    return row_id


def company(session: Session, clock: Clock, company_id: int) -> int:
    """The company itself (the caller's own company)."""
    return company_id


def role(session: Session, clock: Clock, company_id: int) -> int:
    """A custom role with one permission that every role managing users also holds."""
    return _added(
        session,
        Role(
            company_id=company_id,
            name=f"Роль {_unique()}",
            permissions="registers.view",
            kind=RoleKind.CUSTOM.value,
            created_at=clock.wall(),
        ),
    )


def folder(session: Session, clock: Clock, company_id: int) -> int:
    """An empty folder of registers."""
    return _added(
        session,
        RegisterFolder(company_id=company_id, name=f"Папка {_unique()}", created_at=clock.wall()),
    )


def user(session: Session, clock: Clock, company_id: int) -> int:
    """A confirmed, non-owner user with a custom role."""
    return _added(
        session,
        User(
            email=f"walker-{_unique()}@example.ru",
            password_hash="",
            company_id=company_id,
            email_confirmed=True,
            created_at=clock.wall(),
            role_id=role(session, clock, company_id),
        ),
    )


def token(session: Session, clock: Clock, company_id: int) -> int:
    """A live API token with a custom role."""
    return _added(
        session,
        ApiToken(
            company_id=company_id,
            role_id=role(session, clock, company_id),
            name=f"Токен {_unique()}",
            token_hash=uuid.uuid4().hex + uuid.uuid4().hex,
            prefix="obl_walker",
            created_at=clock.wall(),
        ),
    )


def booking(session: Session, clock: Clock, company_id: int) -> int:
    """An active booking of one register."""
    return _added(session, Booking(company_id=company_id, quantity=1, created_at=clock.wall()))


def register(session: Session, clock: Clock, company_id: int) -> int:
    """A paid register with hardware."""
    now = clock.wall()
    return _added(
        session,
        Register(
            serial=_unique(),
            model="Облако-Ф",
            rack_slot="R1-S01",
            firmware_version="1.0.0",
            state=RegisterState.PAID.value,
            company_id=company_id,
            created_at=now,
            booked_at=now,
            paid_at=now,
        ),
    )


def store(session: Session, clock: Clock, company_id: int) -> int:
    """A shop with an address."""
    return _added(
        session,
        Store(
            company_id=company_id,
            name=f"Магазин {_unique()}",
            postal_code="101000",
            region_code="77",
            city="Москва",
            street="ул. Мясницкая",
            house="1",
            created_at=clock.wall(),
        ),
    )


def card_payment(session: Session, clock: Clock, company_id: int) -> int:
    """A pending card top-up of 1 000 ₽."""
    return _added(
        session, CardPayment(company_id=company_id, amount=100_000, created_at=clock.wall())
    )


def invoice(session: Session, clock: Clock, company_id: int) -> int:
    """An issued invoice of 5 000 ₽."""
    row = Invoice(company_id=company_id, amount=500_000, created_at=clock.wall())
    row_id = _added(session, row)
    row.number = f"СЧ-2024-{row_id:06d}"
    session.add(row)
    session.flush()
    return row_id


def bank_payment(session: Session, clock: Clock, company_id: int) -> int:
    """An unmatched statement line paid by the company (operators' queue: not tenant-owned)."""
    company_row = session.get(Company, company_id)
    return _added(
        session,
        BankPayment(
            line_key=f"{_unique()}|15.01.2024|{company_row.inn if company_row else ''}|100",
            doc_number=_unique()[:8],
            doc_date="15.01.2024",
            amount=100,
            payer_inn=company_row.inn if company_row else "7700000000",
            status=BankPaymentStatus.UNMATCHED,
            reason="В назначении платежа нет номера счёта",
            created_at=clock.wall(),
        ),
    )


FACTORIES: dict[str, Factory] = {
    "company_id": company,
    "role_id": role,
    "folder_id": folder,
    "user_id": user,
    "token_id": token,
    "booking_id": booking,
    "register_id": register,
    "store_id": store,
    "payment_id": card_payment,
    "invoice_id": invoice,
    "bank_payment_id": bank_payment,
}
