"""Shared EDO test pieces: a company with charges in a month, the simulator behind a gateway."""

from __future__ import annotations

import re
from dataclasses import dataclass

from fastapi.testclient import TestClient
from sqlmodel import Session

from fleet.accounts.mail import MemoryMailSender
from fleet.accounts.models import Company
from fleet.accounts.service import AccountsContext
from fleet.billing import ledger
from fleet.billing.models import ACCOUNT_BANK
from fleet.core.clock import SettableClock
from fleet.deps import SESSION_COOKIE
from fleet.edo.gateway import HttpEdoGateway
from fleet.edo.service import Seller
from simulator.edo import EdoFaults, EdoState, create_app
from tests.fleet.helpers import PASSWORD, confirmed_user

SELLER = Seller(
    name="ООО «Облако»", inn="7701999993", kpp="770701001", participant_id="2AE-OBLAKO-0001"
)
DECEMBER = 1_701_421_200.0  # 2023-12-01 12:00 MSK
JANUARY = 1_704_103_200.0  # 2024-01-01 13:00 MSK
CHARGES = (
    ("subscription", "Абонентская плата за кассу № 1, тариф «Базовый», 2023-12", 150_000),
    ("booking", "Оплата брони № 3: 2 касс(ы), тариф «Базовый»", 300_000),
    ("drives", "ФН-1.2 на 36 месяцев × 1", 1_200_000),
    ("delivery.sms", "SMS с чеком покупателю", 399),
)


@dataclass
class Simulated:
    """The simulator's state, its clock and a gateway to it."""

    state: EdoState
    now: list[float]
    gateway: HttpEdoGateway


def simulator(sign_after_s: float = 60.0) -> Simulated:
    """The EDO simulator in-process, behind the HTTP gateway (TestClient is an httpx client)."""
    now = [JANUARY]
    state = EdoState(clock=lambda: now[0], faults=EdoFaults(sign_after_s=sign_after_s))
    gateway = HttpEdoGateway("http://edo", client=TestClient(create_app(state)))
    return Simulated(state, now, gateway)


def company_with_charges(
    session: Session, ctx: AccountsContext, mailer: MemoryMailSender, n: int
) -> Company:
    """A signed-up company topped up and charged for December 2023 (four charges) plus one
    charge in January (not in December's documents)."""
    _user, company = confirmed_user(session, ctx, mailer, n)
    assert company.id is not None
    clock = SettableClock(DECEMBER)
    ledger.credit(
        session,
        clock,
        company_id=company.id,
        amount=10_000_000,
        source=ACCOUNT_BANK,
        kind="bank",
        memo="Пополнение",
        idempotency_key=f"topup:{company.id}",
    )
    for i, (kind, memo, amount) in enumerate(CHARGES):
        clock.advance(3600.0)
        ledger.charge(session, clock, company.id, amount, kind, memo, f"t:{company.id}:{i}")
    clock.advance(JANUARY + 600.0 - clock.wall())
    ledger.charge(
        session, clock, company.id, 150_000, "subscription", "Январь", f"jan:{company.id}"
    )
    session.commit()
    return company


def sign_in_pages(client: TestClient, n: int) -> None:
    """Sign company n's first user (made by `company_with_charges`) in on the pages."""
    answer = client.post(
        "/api/auth/signin", json={"email": f"user{n}@example.ru", "password": PASSWORD}
    )
    assert answer.status_code == 200, answer.text
    client.cookies.set(SESSION_COOKIE, answer.json()["token"])


def csrf_of(html: str) -> str:
    """The CSRF token of a page's form."""
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, html[:500]
    return match.group(1)
