"""Alarms on the database: raised after their damping, de-duplicated, escalated, cleared by
their rule or by an operator, acknowledged, assigned, mailed to operators."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from fleet.accounts.mail import MemoryMailSender
from fleet.audit import AuditLog
from fleet.console import alarms
from fleet.console.exceptions import AlarmStateError, InvalidAssigneeError
from fleet.console.models import Alarm, AlarmStatus
from fleet.core.clock import SettableClock
from fleet.jobs.runner import JobRunner
from fleet.jobs.schedule import SCHEDULE
from fleet.notify.delivery import deliver_pending
from fleet.notify.models import Notification, NotificationPreference
from tests.console.world import company, operator, register, set_shadow


def all_alarms(engine: Engine) -> list[Alarm]:
    with Session(engine, expire_on_commit=False) as s:
        return list(s.exec(select(Alarm).order_by(Alarm.id)).all())  # type: ignore[arg-type]


def evaluate(engine: Engine, clock: SettableClock) -> alarms.EvalStats:
    with Session(engine, expire_on_commit=False) as s:
        stats = alarms.evaluate_stats(s, clock)
        s.commit()
    return stats


def test_offline_raises_one_alarm_after_its_time_out_and_mails_operators(
    engine: Engine, clock: SettableClock
) -> None:
    with Session(engine, expire_on_commit=False) as s:
        c = company(s, clock, 1)
        user, _p = operator(s, clock, c.id or 0)
        reg = register(s, clock, c, "SER0000001")
        ok = register(s, clock, c, "SER0000002", slot="R1-S02")
        set_shadow(s, reg.id or 0, online=False, presence_at=clock.wall(), offline_reason="lost")
    assert evaluate(engine, clock).raised == 0
    clock.advance(60)
    assert evaluate(engine, clock).raised == 0  # a reboot takes less than two minutes
    clock.advance(61)
    stats = evaluate(engine, clock)
    assert stats.raised == 1 and stats.notified == 1
    [a] = all_alarms(engine)
    assert (a.register_id, a.rule, a.severity, a.status) == (reg.id, "offline", "critical", "open")
    assert ok.id != a.register_id
    clock.advance(5)
    assert evaluate(engine, clock).raised == 0  # still the same alarm
    assert len(all_alarms(engine)) == 1
    mailer = MemoryMailSender()
    with Session(engine, expire_on_commit=False) as s:
        [note] = s.exec(select(Notification)).all()
        assert note.user_id == user.id and note.kind == alarms.ALARM_KIND
        assert deliver_pending(s, clock, mailer, base_url="http://fleet") == 1
        s.commit()
    [letter] = mailer.outbox
    assert letter.to == user.email and "SER0000001" in letter.subject
    assert f"/console/alarms/{a.id}" in letter.body


def test_a_flapping_register_keeps_one_alarm_and_it_clears_after_a_quiet_minute(
    engine: Engine, clock: SettableClock
) -> None:
    with Session(engine, expire_on_commit=False) as s:
        c = company(s, clock, 1)
        reg = register(s, clock, c, "SER0000001")
        rid = reg.id or 0
        set_shadow(s, rid, online=False, presence_at=clock.wall())
    clock.advance(130)
    assert evaluate(engine, clock).raised == 1
    for _ in range(5):  # back for 20 s, gone for 20 s
        with Session(engine, expire_on_commit=False) as s:
            set_shadow(s, rid, online=True, presence_at=clock.wall(), last_seen_at=clock.wall())
        clock.advance(20)
        assert evaluate(engine, clock).cleared == 0
        with Session(engine, expire_on_commit=False) as s:
            set_shadow(s, rid, online=False, presence_at=clock.wall())
        clock.advance(20)
        assert evaluate(engine, clock).raised == 0
    assert len(all_alarms(engine)) == 1
    with Session(engine, expire_on_commit=False) as s:
        set_shadow(s, rid, online=True, presence_at=clock.wall(), last_seen_at=clock.wall())
    clock.advance(10)
    evaluate(engine, clock)  # recovering from now on
    clock.advance(50)
    assert evaluate(engine, clock).cleared == 0
    clock.advance(10)
    assert evaluate(engine, clock).cleared == 1
    [a] = all_alarms(engine)
    assert a.status == AlarmStatus.CLEARED.value and a.cleared_by is None


def test_critical_drive_error_at_once_and_unsent_documents_escalate(
    engine: Engine, clock: SettableClock
) -> None:
    with Session(engine, expire_on_commit=False) as s:
        c = company(s, clock, 1)
        reg = register(s, clock, c, "SER0000001")
        rid = reg.id or 0
        rep = {
            "seq": 2,
            "clock": int(clock.wall()),
            "clock_trusted": True,
            "drive": {
                "fn": "9999078900000001",
                "phase": 3,
                "warnings": 0x80,
                "last_fd": 9,
                "unsent": 3,
                "oldest_unsent_at": int(clock.wall() - 2 * 86400),
            },
        }
        set_shadow(s, rid, reported=rep, reported_at=clock.wall())
    assert evaluate(engine, clock).raised == 2
    by_rule = {a.rule: a for a in all_alarms(engine)}
    assert by_rule["drive_critical"].severity == "critical"
    assert by_rule["unsent"].severity == "warning"
    clock.advance(19 * 86400)  # the oldest unsent document is 21 days old now
    with Session(engine, expire_on_commit=False) as s:
        set_shadow(s, rid, last_seen_at=clock.wall(), presence_at=clock.wall())
        rep = {**rep, "clock": int(clock.wall())}
        set_shadow(s, rid, reported=rep, reported_at=clock.wall())
    evaluate(engine, clock)
    by_rule = {a.rule: a for a in all_alarms(engine)}
    assert by_rule["unsent"].severity == "critical" and "21 дн." in by_rule["unsent"].message
    assert len(all_alarms(engine)) == 2


def test_acknowledge_assign_and_clear_by_hand(engine: Engine, clock: SettableClock) -> None:
    with Session(engine, expire_on_commit=False) as s:
        c = company(s, clock, 1)
        user, principal = operator(s, clock, c.id or 0)
        other, _ = operator(s, clock, c.id or 0, 2)
        reg = register(s, clock, c, "SER0000001")
        rep = dict(reg and {"drive": {"fn": "9999078900000001", "phase": 3, "warnings": 128}})
        set_shadow(s, reg.id or 0, reported=rep)
    evaluate(engine, clock)
    [a] = all_alarms(engine)
    with Session(engine, expire_on_commit=False) as s:
        done = alarms.acknowledge(s, clock, principal, a.id or 0)
        assert done.assignee_id == user.id and done.acknowledged_by == user.id
        s.commit()
        with pytest.raises(AlarmStateError):
            alarms.acknowledge(s, clock, principal, a.id or 0)
        with pytest.raises(InvalidAssigneeError):
            alarms.assign(s, clock, principal, a.id or 0, 999_999)
        alarms.assign(s, clock, principal, a.id or 0, other.id)
        s.commit()
        assert s.get(Alarm, a.id).assignee_id == other.id  # type: ignore[union-attr]
        # the rule still finds a critical error: a repeat raise counts on the open alarm
        clock.advance(5)
        assert alarms.evaluate_stats(s, clock).raised == 0
        alarms.clear(s, clock, principal, a.id or 0)
        s.commit()
        actions = [r.action for r in s.exec(select(AuditLog).order_by(AuditLog.id)).all()]  # type: ignore[arg-type]
    assert actions == [
        "console.alarm.acknowledge",
        "console.alarm.assign",
        "console.alarm.clear",
    ]
    # cleared by hand while the drive still has its critical error: raised again as new
    clock.advance(5)
    assert evaluate(engine, clock).raised == 1
    assert [x.status for x in all_alarms(engine)] == ["cleared", "open"]


def test_the_job_runs_under_the_lock_on_the_injected_clock(
    engine: Engine, clock: SettableClock
) -> None:
    with Session(engine, expire_on_commit=False) as s:
        c = company(s, clock, 1)
        reg = register(s, clock, c, "SER0000001")
        set_shadow(s, reg.id or 0, online=False, presence_at=clock.wall() - 600)
    job = next(j for j in SCHEDULE if j.name == "console-alarms")
    assert job.interval_s <= 5.0  # issue 9: alarms within 5 s
    runner = JobRunner(engine, clock, [job])
    [outcome] = runner.run_due()
    assert outcome.ok and outcome.changed == 1
    assert [a.rule for a in all_alarms(engine)] == ["offline"]


def test_an_operator_who_chose_no_alarm_mail_sees_it_in_the_cabinet_only(
    engine: Engine, clock: SettableClock
) -> None:
    with Session(engine, expire_on_commit=False) as s:
        c = company(s, clock, 1)
        quiet, _ = operator(s, clock, c.id or 0)
        loud, _ = operator(s, clock, c.id or 0, 2)
        s.add(NotificationPreference(user_id=quiet.id or 0, kind=alarms.ALARM_KIND, email=False))
        reg = register(s, clock, c, "SER0000001")
        set_shadow(s, reg.id or 0, reported={"drive": {"fn": "1", "phase": 3, "warnings": 128}})
    assert evaluate(engine, clock).notified == 2
    mailer = MemoryMailSender()
    with Session(engine) as s:
        assert deliver_pending(s, clock, mailer, base_url="http://fleet") == 1
        s.commit()
    assert [m.to for m in mailer.outbox] == [loud.email]
