"""The sandbox: each client company's test twin.

A twin is a company of its own (fleet/sandbox/models.py SandboxCompany) with a synthetic INN,
the built-in roles, and one simulated register with a test drive (SandboxRegister), answered
in-process by fleet/sandbox/simulated.py. Because routing only ever picks registers of the
receipt's company, a sandbox receipt cannot reach a production register and a production
receipt cannot reach a sandbox one; the simulated register is never registered through the
FNS gateway (it is made "active" here, with a routing profile of its own) and has no OFD.

Sandbox keys are API tokens of the twin whose secret starts with ``obt_`` instead of ``obl_``:
the production API does not take them (fleet/access/resolve.py treats only ``obl_`` as an API
token), and the sandbox's endpoints take only them (`sandbox_principal`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from fleet.access.models import ApiToken, Role, RoleKind
from fleet.access.principal import Principal
from fleet.access.roles import ensure_builtin_roles, role_folder_ids, role_permissions
from fleet.accounts.models import Company
from fleet.accounts.requisites import inn_check_digits, ogrn_check_digit
from fleet.billing.models import RegisterPeriod
from fleet.core.clock import Clock
from fleet.link.ingest_models import DeviceShadow
from fleet.receipts import service as receipts
from fleet.receipts.models import Receipt, RoutingProfile
from fleet.registers.models import Register, RegisterState
from fleet.sandbox.exceptions import SandboxCompanyError, SandboxKeyError
from fleet.sandbox.models import SandboxCompany, SandboxRegister

__all__ = [
    "KEY_PREFIX",
    "PROFILE",
    "IssuedSandboxKey",
    "ensure_sandbox",
    "is_sandbox_company",
    "issue_key",
    "production_company_of",
    "sandbox_principal",
    "send_test_receipt",
    "test_receipt_request",
]

KEY_PREFIX: Final = "obt_"
VISIBLE: Final = 12
TARIFF: Final = "business"  # no receipts quota; its months are marked paid at 0 ₽ (below)
#: The simulated register accepts everything a client may test: any tax system, agents,
#: marking, excise goods (the shared check still applies every rule of the schema).
PROFILE: Final[dict[str, Any]] = {
    "ffd": "1.2",
    "agent": True,
    "marking": True,
    "excise": True,
    # no registered address or place: a sandbox takes the client's own place of settlement
    "user_name": "Тестовая касса Облака (песочница)",
}
MSK: Final = dt.timezone(dt.timedelta(hours=3))


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _twin_inn(company_id: int) -> str:
    # "00" is no region: a twin's INN never equals a real company's
    body = f"00{company_id:07d}"
    return body + inn_check_digits(body)


def _twin_ogrn(company_id: int) -> str:
    body = f"10000{company_id:07d}"
    return body + ogrn_check_digit(body)


def is_sandbox_company(session: Session, company_id: int) -> bool:
    """Whether the company is a sandbox twin."""
    return (
        session.exec(
            select(SandboxCompany).where(SandboxCompany.sandbox_company_id == company_id)
        ).first()
        is not None
    )


def production_company_of(session: Session, sandbox_company_id: int) -> Company | None:
    """The client company whose twin this is (None when it is no twin)."""
    link = session.exec(
        select(SandboxCompany).where(SandboxCompany.sandbox_company_id == sandbox_company_id)
    ).first()
    return None if link is None else session.get(Company, link.company_id)


def _periods(now: float) -> list[str]:
    day = dt.datetime.fromtimestamp(now, MSK).date().replace(day=1)
    following = (day + dt.timedelta(days=32)).replace(day=1)
    return [day.strftime("%Y-%m"), following.strftime("%Y-%m")]


def mark_paid(session: Session, clock: Clock, register_id: int, company_id: int) -> None:
    """This and next Moscow month of a simulated register paid at 0 ₽: the monthly charge skips
    it and routing never finds it in arrears (a sandbox costs nothing). Flushes."""
    now = clock.wall()
    for period in _periods(now):
        row = session.exec(
            select(RegisterPeriod).where(
                RegisterPeriod.register_id == register_id, RegisterPeriod.period == period
            )
        ).first()
        if row is None:
            session.add(
                RegisterPeriod(
                    register_id=register_id,
                    company_id=company_id,
                    period=period,
                    tariff_code=TARIFF,
                    amount=0,
                    status="paid",
                    created_at=now,
                    updated_at=now,
                )
            )
        elif row.status != "paid":
            row.status, row.amount, row.updated_at = "paid", 0, now
            session.add(row)
    session.flush()


def _add_register(session: Session, clock: Clock, twin: Company) -> Register:
    assert twin.id is not None
    now = clock.wall()
    reg = Register(
        serial=f"SBX{twin.id:07d}{secrets.token_hex(3).upper()}",
        model="Симулятор (песочница)",
        state=RegisterState.ACTIVE.value,
        company_id=twin.id,
        tariff_code=TARIFF,
        name="Тестовая касса",
        created_at=now,
    )
    session.add(reg)
    session.flush()
    assert reg.id is not None
    fn = f"99990000{reg.id:08d}"
    session.add(RoutingProfile(register_id=reg.id, inn=twin.inn, profile=PROFILE, updated_at=now))
    session.add(
        DeviceShadow(
            register_id=reg.id,
            online=True,
            presence_at=now,
            last_seen_at=now,
            firmware="sandbox",
            reported={"drive": {"fn": fn, "phase": 3, "warnings": 0}, "clock_trusted": True},
            drive_fn=fn,
        )
    )
    session.add(
        SandboxRegister(register_id=reg.id, company_id=twin.id, fn_number=fn, created_at=now)
    )
    mark_paid(session, clock, reg.id, twin.id)
    return reg


def ensure_sandbox(session: Session, clock: Clock, company_id: int) -> SandboxCompany:
    """The company's sandbox twin, made on first use with one simulated register. Commits."""
    link = session.get(SandboxCompany, company_id)
    if link is not None:
        return link
    company = session.get(Company, company_id)
    if company is None or is_sandbox_company(session, company_id):
        raise SandboxCompanyError(f"Компания {company_id} не найдена")
    now = clock.wall()
    try:
        twin = Company(
            name=f"Песочница: {company.name}"[:200],
            inn=_twin_inn(company_id),  # unique: a concurrent first use fails here
            ogrn=_twin_ogrn(company_id),
            created_at=now,
        )
        session.add(twin)
        session.flush()
        assert twin.id is not None
        ensure_builtin_roles(session, clock, twin.id)
        _add_register(session, clock, twin)
        link = SandboxCompany(company_id=company_id, sandbox_company_id=twin.id, created_at=now)
        session.add(link)
        session.commit()
    except IntegrityError:
        session.rollback()
        found = session.get(SandboxCompany, company_id)
        if found is None:
            raise
        return found
    return link


@dataclass(frozen=True)
class IssuedSandboxKey:
    """A new sandbox key: its row and the secret (shown once)."""

    row: ApiToken
    secret: str


def issue_key(
    session: Session, clock: Clock, company_id: int, name: str = "Песочница"
) -> IssuedSandboxKey:
    """A new sandbox key (role «Интегратор» of the twin) for the client company. Commits."""
    link = ensure_sandbox(session, clock, company_id)
    roles = ensure_builtin_roles(session, clock, link.sandbox_company_id)
    role = roles[RoleKind.INTEGRATOR]
    assert role.id is not None
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        company_id=link.sandbox_company_id,
        role_id=role.id,
        name=" ".join(name.split())[:100] or "Песочница",
        token_hash=_hash(secret),
        prefix=secret[:VISIBLE],
        created_at=clock.wall(),
    )
    session.add(row)
    session.commit()
    return IssuedSandboxKey(row=row, secret=secret)


def sandbox_principal(session: Session, secret: str | None) -> Principal:
    """The principal of a sandbox key; a production key (or anything else) is refused."""
    if not secret or not secret.startswith(KEY_PREFIX):
        raise SandboxKeyError(
            "В песочнице действуют только ключи песочницы (obt_…): ключ рабочего контура "
            "здесь не принимается"
        )
    row = session.exec(select(ApiToken).where(ApiToken.token_hash == _hash(secret))).first()
    role = None if row is None else session.get(Role, row.role_id)
    if (
        row is None
        or row.revoked_at is not None
        or role is None
        or role.id is None
        or row.id is None
        or not is_sandbox_company(session, row.company_id)
    ):
        raise SandboxKeyError("Ключ песочницы недействителен или отозван")
    return Principal(
        company_id=row.company_id,
        permissions=role_permissions(role),
        token_id=row.id,
        folder_ids=role_folder_ids(session, role.id),
    )


def test_receipt_request(external_id: str) -> dict[str, Any]:
    """The "send a test receipt" request: one service at 1 ₽, no VAT, paid electronically."""
    return {
        "id": external_id,
        "operation": "sale",
        "tax_system": "usn_income",
        "items": [
            {
                "name": "Тестовая услуга",
                "price": 100,
                "quantity": "1",
                "measure": 0,
                "sum": 100,
                "vat": "none",
                "type": 4,
                "method": "full_payment",
            }
        ],
        "payments": {"electronic": 100},
        "total": 100,
    }


def send_test_receipt(session: Session, clock: Clock, company_id: int) -> Receipt:
    """Make a test receipt in the client company's sandbox (the twin and its simulated register
    are made on first use). Returns the sandbox receipt (status "accepted"; the receipt worker
    routes it, the simulated register fiscalises it; fleet/sandbox/jobs.py `settle` does
    both at once)."""
    link = ensure_sandbox(session, clock, company_id)
    external_id = f"test-{int(clock.wall())}-{secrets.token_hex(4)}"
    rec, _created = receipts.create_receipt(
        session, link.sandbox_company_id, test_receipt_request(external_id), clock=clock
    )
    return rec
