"""Drive stock and replacement work orders: orders from the forecast (once, within the
horizon, not for dead registers), stock reserved and taken, the checklist run in order with
its commands followed through the fleet's real sender and ingest."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from fleet.console.models import ConsoleCommand
from fleet.core.clock import SettableClock
from fleet.drives.models import Drive, DriveForecast
from fleet.link.commands import CommandSender
from fleet.registers.models import RegisterState
from fleet.stock import service
from fleet.stock.exceptions import InvalidStockError, StepStateError
from fleet.stock.models import DriveStock, WorkOrder
from protocol.portable import link
from tests.console.test_commands import ROOT, Wire, answer
from tests.console.world import company, operator, register

DAY = 86400


def _drive(
    s: Session, clock: SettableClock, reg_id: int, fn: str, term: int | None, due_in: int
) -> None:
    d = Drive(fn_number=fn, register_id=reg_id, term_months=term, first_seen_at=clock.wall())
    s.add(d)
    s.flush()
    today = int(clock.wall() // DAY)
    s.add(DriveForecast(drive_id=d.id or 0, replace_by=today + due_in))


def test_orders_come_from_the_forecast_once(engine: Engine, clock: SettableClock) -> None:
    with Session(engine, expire_on_commit=False) as s:
        c = company(s, clock, 1)
        a = register(s, clock, c, "STK0000001", slot="R1-S01")
        b = register(s, clock, c, "STK0000002", slot="R1-S02")
        dead = register(s, clock, c, "STK0000003", slot="R1-S03")
        dead.state = RegisterState.DEAD.value
        s.add(dead)
        _drive(s, clock, a.id or 0, "9999078900000011", 36, 10)
        _drive(s, clock, b.id or 0, "9999078900000012", None, 45)  # beyond the horizon
        _drive(s, clock, dead.id or 0, "9999078900000013", 15, 5)
        s.commit()
        assert service.generate(s, clock) == 1
        s.commit()
        assert service.generate(s, clock) == 0  # once
        [o] = s.exec(select(WorkOrder)).all()
        assert (o.register_id, o.fn_number, o.model_code) == (a.id, "9999078900000011", "fn12-36")
        assert [st["code"] for st in o.steps] == [st.code for st in service.STEPS]
        clock.sleep(20 * DAY)
        assert service.generate(s, clock) == 1
        s.commit()
        o2 = s.exec(select(WorkOrder).where(WorkOrder.register_id == b.id)).one()
        assert o2.model_code == service.DEFAULT_MODEL  # the term unknown
        rows = {r.model_code: r for r in service.stock(s)}
        assert rows["fn12-36"].reserved == 1 and rows["fn12-36"].free == -1


def test_stock_receipt_is_checked(engine: Engine, clock: SettableClock) -> None:
    with Session(engine, expire_on_commit=False) as s:
        c = company(s, clock, 1)
        _u, p = operator(s, clock, c.id or 0)
        for model, qty in (("fn99", "1"), ("fn12-36", "0"), ("fn12-36", "x"), ("fn12-36", "")):
            with pytest.raises(InvalidStockError):
                service.receive(s, clock, p, model, qty)
        assert s.exec(select(DriveStock)).all() == []
        service.receive(s, clock, p, "fn12-36", "3")
        service.receive(s, clock, p, "fn12-36", "2")
        s.commit()
        assert {r.model_code: r.quantity for r in service.stock(s)}["fn12-36"] == 5


def test_the_checklist_runs_its_commands_in_order(engine: Engine, clock: SettableClock) -> None:
    with Session(engine, expire_on_commit=False) as s:
        c = company(s, clock, 1)
        _u, p = operator(s, clock, c.id or 0)
        reg = register(s, clock, c, "STK0000009", slot="R1-S09")
        _drive(s, clock, reg.id or 0, "9999078900000019", 15, 3)
        service.receive(s, clock, p, "fn12-15", "1")
        service.generate(s, clock)
        s.commit()
        oid = s.exec(select(WorkOrder.id)).one() or 0
    sender = CommandSender(engine, Wire(), clock, root=ROOT)

    def step(code: str, confirm: str = "") -> None:
        with Session(engine) as s:
            service.run_step(s, clock, p, oid, code, confirm)
            s.commit()

    def request_id(code: str) -> str:
        with Session(engine) as s:
            o = s.get(WorkOrder, oid)
            assert o is not None
            cid = {st["code"]: st["command_id"] for st in o.steps}[code]
            cc = s.get(ConsoleCommand, cid)
            assert cc is not None
            return cc.request_id

    def done(code: str) -> bool:
        with Session(engine) as s:
            o = s.get(WorkOrder, oid)
            assert o is not None
            service.refresh(s, clock, o)
            s.commit()
            return {st["code"]: st["done_at"] for st in o.steps}[code] is not None

    with pytest.raises(StepStateError, match="предыдущие"):
        step("ofd_exchange")
    step("close_shift")
    with pytest.raises(StepStateError, match="выполняется"):
        step("close_shift")  # sent, no answer yet: not sent twice
    sender.step()
    rid = request_id("close_shift")
    # the shift was closed already: the register refuses, which completes the step
    refused = [{"path": "", "code": "shift_closed", "message": "Смена закрыта"}]
    answer(engine, clock, "STK0000009", link.RESULT,
           {"id": rid, "action": "close_shift", "status": "failed", "errors": refused})  # fmt: skip
    assert done("close_shift")
    step("ofd_exchange")
    sender.step()
    rid = request_id("ofd_exchange")
    answer(engine, clock, "STK0000009", link.RESULT,
           {"id": rid, "action": "ofd_exchange", "status": "done"})  # fmt: skip
    assert done("ofd_exchange")
    with Session(engine) as s, pytest.raises(Exception, match="заводской номер"):
        service.run_step(s, clock, p, oid, "close_fiscal_mode", "WRONG")
    step("close_fiscal_mode", "STK0000009")
    sender.step()
    answer(engine, clock, "STK0000009", link.RESULT, {"id": request_id("close_fiscal_mode"),
           "action": "close_fiscal_mode", "status": "made", "fd": 40, "fp": "123"})  # fmt: skip
    assert done("close_fiscal_mode")
    step("install")
    step("reregistration")
    with Session(engine) as s:
        o = s.get(WorkOrder, oid)
        assert o is not None and o.status == "done" and o.closed_at is not None
        assert {r.model_code: r.quantity for r in service.stock(s)}["fn12-15"] == 0
        assert len(s.exec(select(ConsoleCommand)).all()) == 3


def test_no_drive_on_the_shelf_no_install(engine: Engine, clock: SettableClock) -> None:
    with Session(engine, expire_on_commit=False) as s:
        c = company(s, clock, 1)
        _u, p = operator(s, clock, c.id or 0)
        reg = register(s, clock, c, "STK0000008", slot="R1-S08")
        _drive(s, clock, reg.id or 0, "9999078900000018", 13, 3)
        service.generate(s, clock)
        o = s.exec(select(WorkOrder)).one()
        first = ("close_shift", "ofd_exchange", "close_fiscal_mode")
        o.steps = [{**st, "done_at": clock.wall()} if st["code"] in first else st for st in o.steps]
        s.add(o)
        s.commit()
        with pytest.raises(StepStateError, match="нет ФН модели fn12-13"):
            service.run_step(s, clock, p, o.id or 0, "install")
