"""The job runner's database lock and the 7-day booking lapse, on the injected clock."""

from __future__ import annotations

import threading
import time

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from fleet.accounts.mail import MemoryMailSender
from fleet.accounts.service import AccountsContext
from fleet.audit import AuditLog
from fleet.bookings import service as bookings
from fleet.bookings.models import Booking
from fleet.core.clock import Clock, SettableClock
from fleet.core.db import make_engine
from fleet.jobs.models import Job
from fleet.jobs.runner import JobOutcome, JobRunner, JobSpec
from fleet.jobs.schedule import SCHEDULE
from tests.fleet.helpers import confirmed_user

DAY = 86400.0


def test_two_concurrent_runners_run_each_due_job_once(engine: Engine, clock: SettableClock) -> None:
    calls: list[str] = []
    calls_lock = threading.Lock()

    def slow_job(session: Session, job_clock: Clock) -> int:
        with calls_lock:
            calls.append(threading.current_thread().name)
        session.add(AuditLog(at=job_clock.wall(), action="test.tick", entity="job"))
        session.flush()
        time.sleep(0.02)  # widen the race window
        return 1

    spec = JobSpec("tick", interval_s=60.0, run=slow_job)
    second_engine = make_engine(engine.url.render_as_string(hide_password=False))
    runners = [
        JobRunner(engine, clock, [spec], owner="worker-a"),
        JobRunner(second_engine, clock, [spec], owner="worker-b"),
    ]
    rounds = 8
    ran: list[list[JobOutcome]] = [[], []]
    try:
        for _ in range(rounds):
            barrier = threading.Barrier(2)

            def race(i: int, barrier: threading.Barrier = barrier) -> None:
                barrier.wait()
                ran[i].extend(runners[i].run_due())

            threads = [threading.Thread(target=race, args=(i,), name=f"r{i}") for i in (0, 1)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=30)
            # Not due again until the interval passes.
            assert runners[0].run_due() == [] and runners[1].run_due() == []
            clock.advance(60.0)
    finally:
        second_engine.dispose()
    assert len(calls) == rounds
    assert len(ran[0]) + len(ran[1]) == rounds
    assert all(o.ok and o.changed == 1 for o in ran[0] + ran[1])
    with Session(engine) as session:
        job = session.get(Job, "tick")
        assert job is not None and job.runs == rounds and job.owner is None
        ticks = session.exec(select(AuditLog).where(AuditLog.action == "test.tick")).all()
        assert len(ticks) == rounds


def test_a_held_lease_blocks_others_until_it_expires(engine: Engine, clock: SettableClock) -> None:
    spec = JobSpec("held", interval_s=60.0, run=lambda s, c: 0)
    a = JobRunner(engine, clock, [spec], owner="a", lease_s=120.0)
    b = JobRunner(engine, clock, [spec], owner="b", lease_s=120.0)
    a._ensure_row(spec)
    assert a._acquire(spec)  # a "dies" holding the lease
    assert b.run_due() == []
    clock.advance(121.0)
    assert [o.ok for o in b.run_due()] == [True]
    # a wakes up: its lease is gone, so it must not run or release.
    with Session(engine) as session:
        assert not a._confirm(session, spec)


def test_a_pass_with_nothing_due_is_one_query(engine: Engine, clock: SettableClock) -> None:
    ran: list[str] = []

    def job(name: str) -> JobSpec:
        return JobSpec(name, 60.0, lambda s, c: ran.append(name) or 0)

    runner = JobRunner(engine, clock, [job("one"), job("two"), job("three")])
    assert [o.name for o in runner.run_due()] == ["one", "two", "three"]  # new rows: all due
    statements: list[str] = []

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    event.listen(engine, "before_cursor_execute", count)
    try:
        clock.advance(30.0)
        assert runner.run_due() == []
        assert len(statements) == 1 and statements[0].lstrip().upper().startswith("SELECT")
        clock.advance(31.0)  # due again: each run as before, under its compare-and-set
        assert [o.name for o in runner.run_due()] == ["one", "two", "three"]
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert ran == ["one", "two", "three"] * 2


def test_failed_job_is_recorded_and_retried(engine: Engine, clock: SettableClock) -> None:
    attempts: list[int] = []

    def flaky(session: Session, job_clock: Clock) -> int:
        attempts.append(1)
        if len(attempts) == 1:
            session.add(AuditLog(at=job_clock.wall(), action="test.partial", entity="job"))
            session.flush()
            raise RuntimeError("шлюз недоступен")
        return 0

    runner = JobRunner(engine, clock, [JobSpec("flaky", 600.0, flaky)], retry_s=30.0)
    [outcome] = runner.run_due()
    assert not outcome.ok and "шлюз недоступен" in (outcome.error or "")
    with Session(engine) as session:
        job = session.get(Job, "flaky")
        assert job is not None and job.last_status == "failed" and job.owner is None
        assert session.exec(select(AuditLog).where(AuditLog.action == "test.partial")).all() == []
    clock.advance(29.0)
    assert runner.run_due() == []
    clock.advance(2.0)
    assert [o.ok for o in runner.run_due()] == [True]


def test_booking_lapses_after_seven_unpaid_days(
    engine: Engine, clock: SettableClock, ctx: AccountsContext, mailer: MemoryMailSender
) -> None:
    with Session(engine, expire_on_commit=False) as session:
        user, company = confirmed_user(session, ctx, mailer, 1)
        assert user.id is not None and company.id is not None
        kept = bookings.create_booking(
            session=session, clock=clock, company_id=company.id, user_id=user.id, quantity=2
        )
        paid = bookings.create_booking(
            session=session, clock=clock, company_id=company.id, user_id=user.id, quantity=1
        )
        bookings.mark_paid(
            session=session, clock=clock, company_id=company.id, booking_id=paid.id or 0, user_id=1
        )
    lapse = [job for job in SCHEDULE if job.name == "booking-lapse"]
    runner = JobRunner(engine, clock, lapse)
    clock.advance(7 * DAY - 1)
    assert [o.changed for o in runner.run_due()] == [0]
    clock.advance(lapse[0].interval_s)  # now past 7 days and due again
    assert [o.changed for o in runner.run_due()] == [1]
    with Session(engine) as session:
        lapsed = session.get(Booking, kept.id)
        still_paid = session.get(Booking, paid.id)
        assert lapsed is not None and lapsed.status == "lapsed"
        assert lapsed.lapsed_at == clock.wall()
        assert still_paid is not None and still_paid.status == "paid"
        rows = session.exec(select(AuditLog).where(AuditLog.action == "booking.lapse")).all()
        assert [r.entity_id for r in rows] == [str(kept.id)]
    clock.advance(lapse[0].interval_s)
    assert [o.changed for o in runner.run_due()] == [0]  # idempotent
