"""The `billing-monthly` job: each register in service is charged once a month (two runners
racing included); a company that cannot pay goes into arrears and is charged once it can."""

from __future__ import annotations

import datetime as dt
import threading

from sqlalchemy.engine import Engine
from sqlmodel import Session, func, select

from fleet.access.permissions import CLIENT_PERMISSIONS
from fleet.access.principal import Principal
from fleet.accounts.mail import MemoryMailSender
from fleet.accounts.service import AccountsContext
from fleet.audit import AuditLog
from fleet.billing import ledger
from fleet.billing.models import ACCOUNT_BANK, LedgerTransaction, RegisterPeriod
from fleet.bookings import service as bookings
from fleet.contract import service as offer
from fleet.core.clock import SettableClock
from fleet.core.db import make_engine
from fleet.jobs.runner import JobOutcome, JobRunner
from fleet.jobs.schedule import SCHEDULE
from fleet.registers.models import Register
from tests.fleet.helpers import confirmed_user

MONTHLY = next(spec for spec in SCHEDULE if spec.name == "billing-monthly")
FEB_1_MSK = dt.datetime(2024, 2, 1, 0, 5, tzinfo=dt.timezone(dt.timedelta(hours=3))).timestamp()


def _paid_registers(
    engine: Engine,
    clock: SettableClock,
    ctx: AccountsContext,
    mailer: MemoryMailSender,
    n: int,
    *,
    quantity: int,
    extra: int,
    tariff: str = "start",
) -> int:
    """Company n with a paid booking of ``quantity`` registers and ``extra`` kopecks left."""
    with Session(engine, expire_on_commit=False) as session:
        user, company = confirmed_user(session, ctx, mailer, n)
        assert company.id is not None and user.id is not None
        booking = bookings.create_booking(
            session=session,
            clock=clock,
            company_id=company.id,
            user_id=user.id,
            quantity=quantity,
            tariff_code=tariff,
        )
        price = bookings.booking_price(session, booking)
        ledger.credit(
            session,
            clock,
            company_id=company.id,
            amount=price + extra,
            source=ACCOUNT_BANK,
            kind="bank",
            memo="приход",
            idempotency_key=f"seed:{n}",
        )
        session.commit()
        principal = Principal(
            company_id=company.id, permissions=CLIENT_PERMISSIONS, user_id=user.id
        )
        assert booking.id is not None
        offer.accept(session, clock, principal, "127.0.0.1")
        bookings.pay_booking(
            session=session, clock=clock, principal=principal, booking_id=booking.id
        )
        return company.id


def _count(engine: Engine, kind: str) -> int:
    with Session(engine) as session:
        return int(
            session.exec(
                select(func.count())
                .select_from(LedgerTransaction)
                .where(LedgerTransaction.kind == kind)
            ).one()
        )


def test_monthly_charge_once_per_month_under_two_runners(
    engine: Engine, clock: SettableClock, ctx: AccountsContext, mailer: MemoryMailSender
) -> None:
    cid = _paid_registers(engine, clock, ctx, mailer, 1, quantity=2, extra=1_000_000)
    second_engine = make_engine(engine.url.render_as_string(hide_password=False))
    runners = [
        JobRunner(engine, clock, [MONTHLY], owner="worker-a"),
        JobRunner(second_engine, clock, [MONTHLY], owner="worker-b"),
    ]
    ran: list[JobOutcome] = []
    lock = threading.Lock()

    def race() -> None:
        barrier = threading.Barrier(2)

        def one(i: int) -> None:
            barrier.wait()
            outcomes = runners[i].run_due()
            with lock:
                ran.extend(outcomes)

        threads = [threading.Thread(target=one, args=(i,)) for i in (0, 1)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)

    try:
        race()  # January: the booking's payment covered it
        assert [o.changed for o in ran] == [0] and all(o.ok for o in ran)
        clock.advance(FEB_1_MSK - clock.wall())
        ran.clear()
        race()
        assert [o.changed for o in ran] == [2] and all(o.ok for o in ran)
        for _ in range(3):  # later runs in February charge nothing
            clock.advance(MONTHLY.interval_s)
            ran.clear()
            race()
            assert [o.changed for o in ran] == [0]
    finally:
        second_engine.dispose()
    assert _count(engine, "subscription") == 2
    with Session(engine) as session:
        assert ledger.balance(session, cid) == 1_000_000 - 2 * 150_000
        periods = session.exec(select(RegisterPeriod.period, RegisterPeriod.status)).all()
        assert sorted(periods) == [("2024-01", "paid")] * 2 + [("2024-02", "paid")] * 2


def test_arrears_are_recorded_and_charged_once_money_arrives(
    engine: Engine, clock: SettableClock, ctx: AccountsContext, mailer: MemoryMailSender
) -> None:
    rich = _paid_registers(engine, clock, ctx, mailer, 1, quantity=1, extra=150_000)
    poor = _paid_registers(engine, clock, ctx, mailer, 2, quantity=2, extra=100_000)
    yearly = _paid_registers(engine, clock, ctx, mailer, 3, quantity=1, extra=0, tariff="year")
    runner = JobRunner(engine, clock, [MONTHLY])
    clock.advance(FEB_1_MSK - clock.wall())
    [outcome] = runner.run_due()
    # rich pays; poor cannot pay either register (arrears); the yearly plan is prepaid.
    assert outcome.ok and outcome.changed == 3
    with Session(engine) as session:
        assert ledger.balance(session, rich) == 0
        assert ledger.balance(session, poor) == 100_000  # 1 000 ₽ < 1 500 ₽: nothing taken
        assert ledger.balance(session, yearly) == 0
        arrears = session.exec(
            select(RegisterPeriod).where(RegisterPeriod.status == "arrears")
        ).all()
        assert len(arrears) == 2 and {a.company_id for a in arrears} == {poor}
        states = {
            r.state for r in session.exec(select(Register).where(Register.company_id == poor))
        }
        assert states == {"paid"}  # not blocked (yet)
        audits = session.exec(select(AuditLog).where(AuditLog.action == "register.arrears")).all()
        assert len(audits) == 2 and "500,00 ₽" in audits[0].detail
    clock.advance(MONTHLY.interval_s)
    assert [o.changed for o in runner.run_due()] == [0]  # still short; no new arrears rows
    with Session(engine) as session:
        ledger.credit(
            session,
            clock,
            company_id=poor,
            amount=250_000,
            source=ACCOUNT_BANK,
            kind="bank",
            memo="доплата",
            idempotency_key="late",
        )
        session.commit()
    clock.advance(MONTHLY.interval_s)
    assert [o.changed for o in runner.run_due()] == [2]
    with Session(engine) as session:
        assert ledger.balance(session, poor) == 50_000
        statuses = session.exec(
            select(RegisterPeriod.status).where(
                RegisterPeriod.company_id == poor, RegisterPeriod.period == "2024-02"
            )
        ).all()
        assert statuses == ["paid", "paid"]
    clock.advance(MONTHLY.interval_s)
    assert [o.changed for o in runner.run_due()] == [0]
    assert _count(engine, "subscription") == 3
