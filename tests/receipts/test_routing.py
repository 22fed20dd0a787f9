"""Routing and tracking on the database: which register takes a part, and how a part moves."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import pytest
from sqlalchemy import select as sa_select
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from fleet.accounts.models import Company
from fleet.billing.models import RegisterPeriod
from fleet.core.clock import SettableClock
from fleet.core.db import make_engine
from fleet.documents.models import FiscalDocument
from fleet.link.command_models import SentCommand
from fleet.link.ingest_models import DeviceShadow, LinkCommand
from fleet.receipts.exceptions import InvalidReceiptError
from fleet.receipts.models import (
    CallbackDelivery,
    CallbackSettings,
    Receipt,
    ReceiptPart,
    ReceiptStatus,
)
from fleet.receipts.queue import queue_depth
from fleet.receipts.routing import route
from fleet.receipts.service import create_receipt
from fleet.receipts.tracker import track
from fleet.registers.models import RegisterState
from tests.fleet.oracle import company_requisites
from tests.receipts.builders import add_register, sale


def company(session: Session, clock: SettableClock, n: int) -> Company:
    inn, ogrn = company_requisites(n)
    c = Company(name=f"ООО «{n}»", inn=inn, ogrn=ogrn, created_at=clock.wall())
    session.add(c)
    session.commit()
    return c


def parts(engine: Engine) -> list[ReceiptPart]:
    with Session(engine, expire_on_commit=False) as s:
        return list(s.exec(select(ReceiptPart).order_by(ReceiptPart.id)).all())  # type: ignore[arg-type]


def test_a_part_goes_only_to_a_register_that_matches_and_can_take_it(
    engine: Engine, clock: SettableClock
) -> None:
    with Session(engine, expire_on_commit=False) as s:
        a = company(s, clock, 1)
        b = company(s, clock, 2)
        good = add_register(s, clock, a, "GOOD0001")
        add_register(s, clock, a, "WRONGINN", inn=b.inn)
        add_register(s, clock, a, "USNONLY1", profile={"ffd": "1.2", "tax_systems": ["usn_income"]})
        add_register(s, clock, a, "UNPAID01", state=RegisterState.PAID)
        add_register(s, clock, a, "OFFLINE1", online=False)
        add_register(s, clock, a, "NOTFISC1", phase=1)
        add_register(s, clock, a, "CRITICAL", warnings=0x80)
        arrears = add_register(s, clock, a, "ARREARS1")
        add_register(s, clock, b, "OTHERCO1")
        s.add(
            RegisterPeriod(
                register_id=arrears.id,  # type: ignore[arg-type]
                company_id=a.id,  # type: ignore[arg-type]
                period="2024-01",  # the clock's Moscow month
                tariff_code="business",
                amount=250000,
                status="arrears",
                created_at=clock.wall(),
                updated_at=clock.wall(),
            )
        )
        s.commit()
        for i in range(6):
            create_receipt(s, a, sale(f"r-{i}", 1000 + i), clock=clock)
    stats = route(engine, clock)
    assert stats.routed == 6
    assert {p.register_id for p in parts(engine)} == {good.id}
    assert all(p.status == ReceiptStatus.QUEUED for p in parts(engine))
    with Session(engine, expire_on_commit=False) as s:
        assert {r.status for r in s.exec(select(Receipt)).all()} == {"queued"}
        cmds = s.exec(select(SentCommand)).all()
    assert sorted(c.request_id for c in cmds) == sorted(p.request_id for p in parts(engine))
    assert all(c.serial == "GOOD0001" and c.action == "receipt" for c in cmds)


def test_least_loaded_first_and_an_offline_register_is_waited_for(
    engine: Engine, clock: SettableClock
) -> None:
    with Session(engine, expire_on_commit=False) as s:
        a = company(s, clock, 1)
        r1 = add_register(s, clock, a, "LOAD0001")
        r2 = add_register(s, clock, a, "LOAD0002")
        for i in range(10):
            create_receipt(s, a, sale(f"l-{i}", 500 + i), clock=clock)
    route(engine, clock)
    assert Counter(p.register_id for p in parts(engine)) == {r1.id: 5, r2.id: 5}
    # both go offline: new receipts wait (accepted), nothing fails, nothing moves
    with Session(engine, expire_on_commit=False) as s:
        for sh in s.exec(select(DeviceShadow)).all():
            sh.online = False
            s.add(sh)
        s.commit()
        create_receipt(s, a, sale("w-1", 100), clock=clock)
    stats = route(engine, clock)
    assert stats.waiting == 1 and stats.routed == 0
    waiting = [p for p in parts(engine) if p.status == ReceiptStatus.ACCEPTED]
    assert len(waiting) == 1
    clock.advance(30)
    with Session(engine, expire_on_commit=False) as s:
        q = queue_depth(s.connection(), clock.wall(), group_by="register")
    assert {g["group"]: (g["waiting"], g["queued"], g["lag_s"]) for g in q} == {
        "не назначены кассе": (1, 0, 30.0),
        "LOAD0001": (0, 5, 30.0),
        "LOAD0002": (0, 5, 30.0),
    }


def test_no_matching_register_fails_at_once_with_the_reason(
    engine: Engine, clock: SettableClock
) -> None:
    with Session(engine, expire_on_commit=False) as s:
        a = company(s, clock, 1)
        add_register(s, clock, a, "PATENT01", profile={"ffd": "1.2", "tax_systems": ["patent"]})
        rec, _ = create_receipt(s, a, sale("n-1", 100), clock=clock)
        lonely = company(s, clock, 2)
        rec2, _ = create_receipt(s, lonely, sale("n-2", 100), clock=clock)
    stats = route(engine, clock)
    assert stats.unroutable == 2
    with Session(engine, expire_on_commit=False) as s:
        got = s.get(Receipt, rec.id)
        got2 = s.get(Receipt, rec2.id)
    assert got is not None and got.status == "failed" and got.retryable is False
    assert got.failure is not None and "PATENT01" in got.failure and "tax_system" in got.failure
    assert got2 is not None and "нет работающей кассы" in (got2.failure or "")


def answer(engine: Engine, part: ReceiptPart, **result: Any) -> None:
    """What the ingest writes for a register's result."""
    with Session(engine, expire_on_commit=False) as s:
        s.add(
            LinkCommand(
                register_id=part.register_id,  # type: ignore[arg-type]
                request_id=part.request_id,
                ack_status="accepted",
                result_status=result["status"],
                result={"id": part.request_id, **result},
                result_at=0.0,
            )
        )
        s.commit()


def test_not_executed_moves_the_part_then_made_and_the_ofd_confirm_it(
    engine: Engine, clock: SettableClock
) -> None:
    with Session(engine, expire_on_commit=False) as s:
        a = company(s, clock, 1)
        r1 = add_register(s, clock, a, "MOVE0001")
        r2 = add_register(s, clock, a, "MOVE0002")
        s.add(
            CallbackSettings(
                company_id=a.id,  # type: ignore[arg-type]
                url="http://127.0.0.1:9/hook",
                secret="s" * 20,
                updated_at=0,
            )
        )
        s.commit()
        rec, _ = create_receipt(s, a, sale("m-1", 4200), clock=clock)
    route(engine, clock)
    (p,) = parts(engine)
    assert p.register_id == r1.id
    # the sender's side is not under test here: the command was sent now
    with Session(engine, expire_on_commit=False) as s:
        cmd = s.exec(select(SentCommand)).one()
        cmd.sent_at = clock.wall()
        s.add(cmd)
        s.commit()
    err = [{"path": "", "code": "drive_unreachable", "message": "ФН не отвечает"}]
    answer(engine, p, status="failed", retryable=True, errors=err)
    assert track(engine, clock, quiet_s=5).rerouted == 0  # a copy may still be on its way
    clock.advance(6)
    assert track(engine, clock, quiet_s=5).rerouted == 1
    (p,) = parts(engine)
    assert p.status == ReceiptStatus.ACCEPTED and p.tried == [r1.id]
    first_id = p.request_id
    assert p.request_id.endswith(".1") and p.request["id"] == p.request_id
    route(engine, clock)
    (p,) = parts(engine)
    assert p.status == ReceiptStatus.QUEUED and p.register_id == r2.id  # r2 before r1 again
    assert p.request_id == first_id
    qr = "t=20240115T1030&s=42.00&fn=9999078900000002&i=7&fp=123456&n=1"
    answer(
        engine, p, status="made", fn="9999078900000002", fd=7, fp="123456", shift=1,
        number=3, date_time="2024-01-15T10:30", qr=qr,
    )  # fmt: skip
    assert track(engine, clock).fiscalised == 1
    (p,) = parts(engine)
    assert (p.status, p.fn_number, p.fd_number, p.fiscal_sign, p.qr) == (
        "fiscalised", "9999078900000002", 7, "123456", qr,
    )  # fmt: skip
    with Session(engine, expire_on_commit=False) as s:
        s.add(
            FiscalDocument(
                register_id=r2.id,  # type: ignore[arg-type]
                company_id=a.id,
                fn_number="9999078900000002",
                fd_number=7,
                doc_type=3,
                fiscal_sign="123456",
                issued_at=clock.wall(),
                received_at=clock.wall(),
                ofd_status="accepted",
            )
        )
        s.commit()
    assert track(engine, clock).confirmed == 1
    with Session(engine, expire_on_commit=False) as s:
        got = s.get(Receipt, rec.id)
        events = s.exec(select(CallbackDelivery).order_by(CallbackDelivery.id)).all()  # type: ignore[arg-type]
    assert got is not None and got.status == "confirmed" and got.confirmed_at is not None
    assert [e.event for e in events] == ["fiscalised", "confirmed"]
    assert events[1].payload["receipt"]["parts"][0]["fd_number"] == 7
    assert len({e.event_id for e in events}) == 2


def test_a_refusal_fails_the_part_and_an_unknown_outcome_waits(
    engine: Engine, clock: SettableClock
) -> None:
    with Session(engine, expire_on_commit=False) as s:
        a = company(s, clock, 1)
        add_register(s, clock, a, "REFUSE01")
        create_receipt(s, a, sale("f-1", 100), clock=clock)
        create_receipt(s, a, sale("f-2", 200), clock=clock)
    route(engine, clock)
    p1, p2 = parts(engine)
    err = [{"path": "items[0].vat", "code": "rate_date", "message": "Ставка не действует"}]
    answer(engine, p1, status="failed", retryable=False, errors=err)
    answer(engine, p2, status="unknown", retryable=True, errors=[])
    clock.advance(60)
    track(engine, clock)
    p1, p2 = parts(engine)
    assert p1.status == "failed" and p1.retryable is False
    assert p1.failure == "items[0].vat: Ставка не действует"
    assert p2.status == "queued"


def test_two_routers_never_route_one_part_twice(engine: Engine, clock: SettableClock) -> None:
    with Session(engine, expire_on_commit=False) as s:
        a = company(s, clock, 1)
        for i in range(3):
            add_register(s, clock, a, f"RACE{i:04d}")
        for i in range(120):
            create_receipt(s, a, sale(f"race-{i}", 100 + i), clock=clock)
    url = engine.url.render_as_string(hide_password=False)
    errors: list[BaseException] = []
    routed: list[int] = []

    def work() -> None:
        own = make_engine(url)
        try:
            for _ in range(10):
                routed.append(route(own, clock, limit=7, max_inflight=64).routed)
        except BaseException as e:  # reported below
            errors.append(e)
        finally:
            own.dispose()

    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert sum(routed) == 120
    with Session(engine, expire_on_commit=False) as s:
        rows = s.execute(sa_select(SentCommand.request_id)).scalars().all()  # type: ignore[call-overload]
    assert len(rows) == len(set(rows)) == 120
    assert all(p.status == "queued" for p in parts(engine))


def test_an_offline_register_keeps_what_it_was_given(engine: Engine, clock: SettableClock) -> None:
    with Session(engine, expire_on_commit=False) as s:
        a = company(s, clock, 1)
        r1 = add_register(s, clock, a, "KEEP0001")
        create_receipt(s, a, sale("k-1", 100), clock=clock)
    route(engine, clock)
    with Session(engine, expire_on_commit=False) as s:
        add_register(s, clock, a, "KEEP0002")
        shadow = s.get(DeviceShadow, r1.id)
        assert shadow is not None
        shadow.online = False
        s.add(shadow)
        s.commit()
    for _ in range(3):
        clock.advance(3600)
        route(engine, clock)
        track(engine, clock)
    (p,) = parts(engine)
    assert p.status == "queued" and p.register_id == r1.id


def test_a_lone_register_gets_the_part_again_under_a_new_id_until_the_limit(
    engine: Engine, clock: SettableClock
) -> None:
    with Session(engine, expire_on_commit=False) as s:
        a = company(s, clock, 1)
        only = add_register(s, clock, a, "ALONE001")
        rec, _ = create_receipt(s, a, sale("alone-1", 100), clock=clock)
    ids = []
    err = [{"path": "", "code": "link", "message": "нет ответа ФН"}]
    for _ in range(3):
        route(engine, clock)
        (p,) = parts(engine)
        assert p.status == "queued" and p.register_id == only.id
        ids.append(p.request_id)
        with Session(engine) as s:
            cmd = s.exec(select(SentCommand).where(SentCommand.request_id == p.request_id)).one()
            assert cmd.body["id"] == p.request_id
        answer(engine, p, status="failed", retryable=True, errors=err)
        clock.advance(10)
        track(engine, clock)
    assert len(set(ids)) == 3 and ids[1] == ids[0] + ".1" and ids[2] == ids[0] + ".2"
    (p,) = parts(engine)
    assert p.status == "failed" and p.retryable is True
    with Session(engine) as s:
        got = s.get(Receipt, rec.id)
    assert got is not None and got.status == "failed" and "3 попытки" in (got.failure or "")
    assert got.failure is not None and "нет ответа ФН" in got.failure


def test_concurrent_creations_of_one_external_id_make_one_receipt(
    engine: Engine, clock: SettableClock
) -> None:
    with Session(engine, expire_on_commit=False) as s:
        a = company(s, clock, 1)
    url = engine.url.render_as_string(hide_password=False)
    results: list[tuple[int | None, bool]] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def work() -> None:
        own = make_engine(url)
        try:
            with Session(own, expire_on_commit=False) as s:
                barrier.wait()
                rec, created = create_receipt(s, a.id or 0, sale("race-1", 4321), clock=clock)
                results.append((rec.id, created))
        except BaseException as e:  # reported below
            errors.append(e)
        finally:
            own.dispose()

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert len({rid for rid, _c in results}) == 1
    assert sorted(c for _r, c in results) == [False, False, False, True]
    assert len(parts(engine)) == 1


def test_a_receipt_pinned_to_a_register_goes_only_there(
    engine: Engine, clock: SettableClock
) -> None:
    with Session(engine, expire_on_commit=False) as s:
        a = company(s, clock, 1)
        b = company(s, clock, 2)
        add_register(s, clock, a, "PIN00001")
        chosen = add_register(s, clock, a, "PIN00002")
        foreign = add_register(s, clock, b, "PIN00003")
        for i in range(4):
            create_receipt(s, a, sale(f"pin-{i}", 100 + i), clock=clock, register_id=chosen.id)
        with pytest.raises(InvalidReceiptError) as refused:
            create_receipt(s, a, sale("pin-x", 100), clock=clock, register_id=foreign.id)
        assert refused.value.fields == {"register_id": f"Касса {foreign.id} не найдена в компании"}
    route(engine, clock)
    assert {p.register_id for p in parts(engine)} == {chosen.id}  # not the least loaded one
