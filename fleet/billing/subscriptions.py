"""Register subscriptions: a register costs its tariff's price every month it is in service.

A booking's payment covers the first period (``months`` of the tariff, from the month it is
paid); after that the `billing-monthly` job charges each register in service once per month
(Moscow calendar): one `RegisterPeriod` row per register and month, and the ledger key
``sub:<register id>:<YYYY-MM>``, so a second run or a second runner charges nothing twice. A
company that cannot pay gets the month recorded as ``arrears`` (the register keeps working for
now); the job retries arrears on every run and charges them once the balance allows.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from sqlmodel import Session, col, select

from fleet import audit
from fleet.billing import ledger, tariffs
from fleet.billing.exceptions import InsufficientFundsError
from fleet.billing.models import RegisterPeriod, Tariff
from fleet.billing.money import rubles
from fleet.billing.periods import add_months, period_of
from fleet.core.clock import Clock
from fleet.registers.models import Register, RegisterState

__all__ = ["ARREARS", "BILLABLE_STATES", "PAID", "charge_monthly", "cover_periods"]

PAID: Final = "paid"
ARREARS: Final = "arrears"

#: From payment until deregistration a register is in service and billed.
BILLABLE_STATES: Final = frozenset(
    s.value
    for s in RegisterState
    if s not in (RegisterState.FREE, RegisterState.BOOKED, RegisterState.DEREGISTERED)
)


def cover_periods(
    session: Session,
    clock: Clock,
    *,
    register_ids: Iterable[int],
    company_id: int,
    tariff: Tariff,
    first_period: str,
    transaction_id: int | None,
) -> None:
    """Mark ``tariff.months`` months from ``first_period`` paid for each register."""
    now = clock.wall()
    for register_id in register_ids:
        for offset in range(tariff.months):
            period = add_months(first_period, offset)
            row = session.exec(
                select(RegisterPeriod).where(
                    RegisterPeriod.register_id == register_id, RegisterPeriod.period == period
                )
            ).first()
            if row is None:
                row = RegisterPeriod(
                    register_id=register_id,
                    company_id=company_id,
                    period=period,
                    tariff_code=tariff.code,
                    amount=tariff.price_kop,
                    status=PAID,
                    created_at=now,
                    updated_at=now,
                )
            row.status = PAID
            row.transaction_id = transaction_id
            row.updated_at = now
            session.add(row)
    session.flush()


def _charge_register(
    session: Session, clock: Clock, register: Register, period: str, row: RegisterPeriod | None
) -> bool:
    """Charge one register's month; False if the company cannot pay (recorded as arrears)."""
    assert register.id is not None and register.company_id is not None
    tariff = tariffs.get_tariff(session, register.tariff_code or tariffs.DEFAULT_TARIFF)
    amount = tariffs.first_period_price(tariff)
    try:
        posting = ledger.charge(
            session,
            clock,
            register.company_id,
            amount,
            "subscription",
            f"Абонентская плата за кассу № {register.id}, тариф «{tariff.name}», {period}"
            + (f" и ещё {tariff.months - 1} мес." if tariff.months > 1 else ""),
            f"sub:{register.id}:{period}",
        )
    except InsufficientFundsError as exc:
        if row is None:
            now = clock.wall()
            session.add(
                RegisterPeriod(
                    register_id=register.id,
                    company_id=register.company_id,
                    period=period,
                    tariff_code=tariff.code,
                    amount=amount,
                    status=ARREARS,
                    created_at=now,
                    updated_at=now,
                )
            )
            audit.record(
                session,
                clock,
                action="register.arrears",
                entity="register",
                entity_id=register.id,
                company_id=register.company_id,
                period=period,
                amount=amount,
                shortfall=rubles(exc.shortfall),
            )
            session.flush()
        return False
    cover_periods(
        session,
        clock,
        register_ids=[register.id],
        company_id=register.company_id,
        tariff=tariff,
        first_period=period,
        transaction_id=posting.transaction.id,
    )
    audit.record(
        session,
        clock,
        action="register.charge",
        entity="register",
        entity_id=register.id,
        company_id=register.company_id,
        period=period,
        amount=amount,
    )
    return True


def charge_monthly(session: Session, clock: Clock) -> int:
    """The `billing-monthly` job: charge this month for every register in service that has not
    paid it; returns how many were charged or newly put in arrears. Does not commit."""
    period = period_of(clock.wall())
    registers = session.exec(
        select(Register)
        .where(
            col(Register.state).in_(sorted(BILLABLE_STATES)),
            col(Register.company_id).is_not(None),
        )
        .order_by(col(Register.id))
    ).all()
    rows = {
        r.register_id: r
        for r in session.exec(select(RegisterPeriod).where(RegisterPeriod.period == period)).all()
    }
    changed = 0
    for register in registers:
        row = rows.get(register.id or 0)
        if row is not None and row.status == PAID:
            continue
        charged = _charge_register(session, clock, register, period, row)
        if charged or row is None:
            changed += 1
    return changed
