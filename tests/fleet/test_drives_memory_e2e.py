"""The replacement forecast from a simulated register's own memory figures, end to end.

The firmware register (firmware/register.py, firmware/agent.py) on a simulated drive with a
small archive works three days; what the agent publishes goes through the fleet's real ingest
into the device shadow; the drive job copies the shadows into the history and the forecast.
The memory fill is the drive's 3Dh answer (its archive's real fill), never a figure typed in.
"""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from firmware.agent import Agent
from firmware.outbox import Outbox
from fleet.accounts.models import Company
from fleet.core.clock import SettableClock
from fleet.drives.history import date_of, day_of
from fleet.drives.jobs import refresh
from fleet.drives.models import Drive, DriveForecast, DriveReport
from fleet.link.ingest import Incoming, Store
from fleet.registers.models import Register, RegisterState
from protocol.portable import link
from tests.firmware.test_agent import FakeClient, cmd
from tests.firmware.test_register import Rig, drive_config, registration_request, sale

ROOT = "oblako/e2e7"
SERIAL = "0001234567"
CAPACITY = 400  # documents: each is 0.25 % of the archive
RECEIPTS = 38  # a day: the shift's open and close reports make it 40 documents, 10 %


class World:
    """A register on a simulated drive, its agent, and the fleet's ingest behind a fake link."""

    def __init__(self, tmp: Path, engine: Engine, clock: SettableClock) -> None:
        self.engine, self.clock = engine, clock
        self.rig = Rig(tmp, config=drive_config(archive_capacity=CAPACITY))
        self.rig.start(register=False)
        self.client = FakeClient()
        outbox = Outbox(self.rig.flash, self.rig.clock, window=64, resend_s=30)
        self.agent = Agent(self.rig.reg, self.client, outbox, ROOT, SERIAL, "1.0.0")
        self.store = Store(engine, ROOT, clock)
        self.sent = 0
        with Session(engine) as session:
            company = Company(
                name="ООО «Память»", inn="7700000071", ogrn="1027700000000", created_at=0.0
            )
            session.add(company)
            session.flush()
            register = Register(
                serial=SERIAL,
                state=RegisterState.ACTIVE.value,
                company_id=company.id,
                created_at=0.0,
            )
            session.add(register)
            session.commit()
            assert register.id is not None
            self.register_id = register.id

    def command(self, rid: str, action: str, request: dict[str, object]) -> None:
        now = int(self.rig.clock.wall())
        self.client.inbox.append(
            (link.topic(ROOT, SERIAL, link.CMD), cmd(rid, action, request, issued_at=now))
        )
        self.agent.step(0)
        self.pump()

    def pump(self) -> None:
        """What the register published since the last pump into the fleet's ingest, and the
        ingest's `stored` back to the register (the broker's part)."""
        new = self.client.out[self.sent :]
        self.sent = len(self.client.out)
        back = self.store.apply([Incoming(t, p, self.clock.wall()) for t, p, _retain in new])
        for serial, payload in back:
            topic = link.topic(ROOT, serial, link.STORED)
            self.client.inbox.append((topic, json.dumps(payload).encode()))
        self.agent.step(0)

    def day(self, n: int) -> None:
        for i in range(RECEIPTS):
            self.command(f"d{n}-r{i}", "receipt", sale(f"d{n}-r{i}", 100 + i))
        self.command(f"d{n}-z", "close_shift", {"id": f"d{n}-z", "kind": "close_shift"})


def test_the_forecast_fits_the_memory_fill_the_register_reported(
    tmp_path: Path, engine: Engine, clock: SettableClock
) -> None:
    world = World(tmp_path, engine, clock)
    world.command("reg-1", "registration", registration_request())
    fn = world.rig.model.config.fn_number
    days = []
    for n in range(3):
        world.day(n)
        days.append(day_of(clock.wall()))
        with Session(engine) as session:
            assert refresh(session, clock, lead_days=30) >= 1
            session.commit()
        clock.advance(86_400)
    with Session(engine) as session:
        drive = session.exec(select(Drive).where(Drive.fn_number == fn)).one()
        history = session.exec(
            select(DriveReport).where(DriveReport.drive_id == drive.id).order_by(DriveReport.day)  # type: ignore[arg-type]
        ).all()
        # the drive's archive after each day: 1 + 40 · (n + 1) documents of 400
        assert [(r.day, r.used_pct) for r in history] == [
            (days[0], 10),  # 41 of 400: 10.25 %
            (days[1], 20),  # 81: 20.25 %
            (days[2], 30),  # 121: 30.25 %
        ]
        assert len(world.rig.docs()) == 121
        fc = session.get(DriveForecast, drive.id)
        assert fc is not None and fc.last_pct == 30 and fc.n == 3
        # 10 % a day from 30 % on the last day: full seven days later
        assert fc.full_day is not None and date_of(fc.full_day) == date_of(days[2] + 7)
        assert fc.replace_by is not None and fc.replace_by <= fc.full_day - 30
