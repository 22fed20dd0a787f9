"""A register on a simulated drive whose messages go through the fleet's ingest (no broker).

The firmware register (firmware/register.py on simulator/fn, a SimClock) runs its MQTT agent
against an in-memory client; `pump` hands every published message to the ingest's database
half (fleet.link.ingest.Store.apply), so fiscaldocument rows and the shadow are exactly what
the ingest makes of real documents. The fleet side shares the SimClock.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import random
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from firmware import register as fw_register
from firmware.agent import Agent
from firmware.drive import FiscalDrive
from firmware.flashmodel import FlashModel
from firmware.journal import Journal
from firmware.outbox import Outbox
from firmware.register import Register as FirmwareRegister
from firmware.shared import receipt as schema
from fleet.accounts.models import Company
from fleet.compliance.catalogue import by_code
from fleet.compliance.models import ComplianceFinding, FindingStatus
from fleet.compliance.runner import RunResult, run_checks
from fleet.documents.content import index_content
from fleet.link.ingest import Incoming, Store
from fleet.registers.models import Register
from simulator.clock import SimClock
from simulator.fn import DriveEndpoint, DriveModel, DrivePort, FaultPlan
from tests.console.world import company as make_company
from tests.firmware.test_agent import FakeClient
from tests.firmware.test_register import CASHIER, PROFILE, drive_config, registration_request
from tests.receipts.builders import add_register

ROOT = "oblako/test"  # FakeClient.taken decodes under this root
MSK = dt.timezone(dt.timedelta(hours=3))
#: a date after the 2025-09-01 Internet rules and the 2026 VAT rates
START = dt.datetime(2026, 2, 2, 10, 0, tzinfo=MSK)


def cmd(rid: str, action: str, request: dict[str, Any], issued_at: int) -> bytes:
    c = {"v": 1, "id": rid, "ttl": 3600, "issued_at": issued_at, "action": action}
    c["request"] = request
    return json.dumps(c).encode()


class World:
    """One company, one register (fleet row + firmware on a simulated drive)."""

    def __init__(
        self,
        engine: Engine,
        tmp: Path,
        *,
        start: dt.datetime = START,
        company_no: int = 1,
        drive: dict[str, Any] | None = None,
        fleet_behind_s: float = 0.0,
        company_id: int | None = None,
    ) -> None:
        self.engine = engine
        self.tmp = tmp
        tmp.mkdir(parents=True, exist_ok=True)
        self.clock = SimClock(start)
        # the fleet's clock: the register's minus `fleet_behind_s` (a register clock ahead)
        self.fleet_clock = _Shifted(self.clock, -fleet_behind_s)
        self.serial = uuid.uuid4().hex[:10]
        fn = f"9999{uuid.uuid4().int % 10**12:012d}"
        self.model = DriveModel(
            drive_config(fn_number=fn, **(drive or {})),
            clock=self.clock,
            state_file=str(tmp / f"{self.serial}-fn.json"),
        )
        self._boot()
        self.store = Store(engine, ROOT, self.fleet_clock)
        self._sent = 0
        self._n = 0
        with Session(engine) as s:
            if company_id is not None:
                c = s.get(Company, company_id)
            else:
                name = f"ООО «Клиент {company_no}»"
                c = s.exec(select(Company).where(col(Company.name) == name)).first()
            self.company = c if c is not None else make_company(s, self.clock, company_no)
            r = add_register(s, self.clock, self.company, self.serial)
            r.drive_number = fn
            s.add(r)
            s.commit()
            assert r.id is not None and self.company.id is not None
            self.register_id = r.id
            self.company_id = self.company.id
        self.fn = fn

    def _boot(self, keep_flash: bool = False) -> None:
        """The register's board on the current drive model (journal, agent; the flash kept
        when only the drive changes)."""
        self.endpoint = DriveEndpoint(self.model, faults=FaultPlan())
        if not keep_flash:
            self.flash = FlashModel(random.Random(1))
            self.flash.power_on()
        self.drive = FiscalDrive(
            DrivePort(self.endpoint, timeout=0.05), self.clock, idle_s=0.02, settle_s=0.02
        )
        self.reg = FirmwareRegister(
            self.drive,
            Journal(self.flash),
            self.clock,
            copy.deepcopy(PROFILE),
            storage=self.flash,
            settings={"cashier": CASHIER},
        )
        recovered = self.reg.recover()
        assert keep_flash or recovered == []
        self.reg.trust_time("test")
        self.client = FakeClient()
        self.outbox = Outbox(self.flash, self.clock, window=64, resend_s=30)
        self.agent = Agent(self.reg, self.client, self.outbox, ROOT, self.serial, "1.0.0")
        self._sent = 0

    def swap_drive(self) -> str:
        """Put a new, unregistered drive into the register (and reboot it); its FN number."""
        fn = f"9999{uuid.uuid4().int % 10**12:012d}"
        self.model = DriveModel(
            drive_config(fn_number=fn), clock=self.clock, state_file=str(self.tmp / f"{fn}.json")
        )
        self._boot(keep_flash=True)
        self.agent.step(0)
        self.pump()
        return fn

    # ---- the register ---------------------------------------------------------------------

    def request(self, action: str, request: dict[str, Any]) -> dict[str, Any]:
        """Send a command; the register's result (made or failed)."""
        self._n += 1
        rid = request.get("id") or f"{action}-{self._n}"
        request = {**request, "id": rid}
        self.client.inbox.append(
            (f"{ROOT}/v1/reg/{self.serial}/cmd", cmd(rid, action, request, int(self.clock.wall())))
        )
        self.agent.step(0)
        self.agent.step(0)
        self.pump()
        results = [r for r in self.client.taken("result") if r["id"] == rid]
        assert results, f"no result for {rid}"
        return results[-1]

    def register(self, **over: Any) -> dict[str, Any]:
        r = self.request("registration", registration_request(**over))
        assert r["status"] == "made", r
        return r

    def receipt(self, request: dict[str, Any]) -> dict[str, Any]:
        r = self.request("receipt", request)
        assert r["status"] == "made", r
        return r

    def unchecked(self, request: dict[str, Any], change: Callable[[dict[str, Any]], None]) -> int:
        """A receipt from a register whose software skips the shared receipt rules (another
        firmware, a broken build): the register checks the request as usual, then `change`
        breaks the checked form before the register streams it into the simulated drive; the
        document reaches the fleet through the agent's outbox and the ingest. Its FD number."""
        fw_register.schema = _Lenient(change)  # type: ignore[assignment]
        try:
            r = self.receipt(request)
        finally:
            fw_register.schema = schema
        return int(r["fd"])

    def advance(self, seconds: float, *, step: bool = True) -> None:
        """Move time; with `step` the register runs its duties (shifts, state) and reports."""
        self.clock.advance(seconds)
        if step:
            self.agent.step(0)
            self.pump()

    def pump(self) -> None:
        """Everything the agent published since the last pump, through the ingest."""
        out = self.client.out[self._sent :]
        self._sent = len(self.client.out)
        now = self.fleet_clock.wall()
        msgs = [Incoming(topic, payload, now) for topic, payload, _ in out if payload]
        if msgs:
            self.store.apply(msgs)

    # ---- the fleet ------------------------------------------------------------------------

    def check(self, code: str) -> list[ComplianceFinding]:
        """File content, run one check, return this register's open findings of it."""
        check = by_code(code)
        assert check is not None
        self.run([code])
        with Session(self.engine) as s:
            return list(
                s.exec(
                    select(ComplianceFinding).where(
                        col(ComplianceFinding.register_id) == self.register_id,
                        col(ComplianceFinding.check_code) == code,
                        col(ComplianceFinding.status) == FindingStatus.OPEN.value,
                    )
                ).all()
            )

    def run(self, codes: list[str]) -> RunResult:
        with Session(self.engine) as s:
            # the content job with no lag (SimClock time far ahead of received_at is fine)
            index_content(s, Ahead(self.clock))
            checks = [c for c in (by_code(x) for x in codes) if c is not None]
            res = run_checks(s, self.fleet_clock.wall(), checks)
            s.commit()
            return res

    def fleet_register(self) -> Register:
        with Session(self.engine) as s:
            r = s.get(Register, self.register_id)
            assert r is not None
            return r


class Ahead:
    """The world's clock seen by the content job: far enough ahead that no lag holds it."""

    def __init__(self, clock: SimClock) -> None:
        self.clock = clock

    def wall(self) -> float:
        return max(self.clock.wall(), 4e9)

    def monotonic(self) -> float:
        return self.clock.monotonic()

    def sleep(self, seconds: float) -> None:
        self.clock.sleep(seconds)


class _Lenient:
    """The shared receipt module with a `check` that lets `change` break what it accepted."""

    def __init__(self, change: Callable[[dict[str, Any]], None]) -> None:
        self.change = change

    def __getattr__(self, name: str) -> Any:
        return getattr(schema, name)

    def check(self, *args: Any) -> Any:
        norm, errors = schema.check(*args)
        if norm is not None and not errors:
            self.change(norm)
        return norm, errors


class _Shifted:
    """A clock `offset` seconds from another."""

    def __init__(self, clock: SimClock, offset: float) -> None:
        self.clock = clock
        self.offset = offset

    def wall(self) -> float:
        return self.clock.wall() + self.offset

    def monotonic(self) -> float:
        return self.clock.monotonic()

    def sleep(self, seconds: float) -> None:
        self.clock.sleep(seconds)
