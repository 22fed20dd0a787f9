"""Rollouts end to end: the console's service and job, the fleet's real command sender and
ingest, and simulated registers running firmware/update.py (A/B slots on disk, trial boot,
health check, rollback). Completes, aborts on a failed canary and on the threshold, waits
for closed shifts, times out a silent register, refuses uncertified versions."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from fleet.access.principal import Principal
from fleet.core.clock import SettableClock
from fleet.link.command_models import SentCommand
from fleet.link.ingest_models import DeviceShadow
from fleet.registers.models import Register
from fleet.rollouts import bundles, service
from fleet.rollouts.exceptions import (
    BundleExistsError,
    InvalidBundleError,
    InvalidRolloutError,
    UncertifiedBundleError,
)
from fleet.rollouts.models import FirmwareBundle, Rollout, RolloutDevice
from fleet.rollouts.plan import quota
from oblako.firmware_build import bundle_bytes
from tests.console.world import company, operator, register
from tests.rollouts.simfleet import SimFleet, SimRegister

ROOT = "test/rollouts"
FILES = [("firmware/agent.mpy", b"M\x06" + b"agent" * 50), ("firmware/update.mpy", b"M\x06up")]


class World:
    def __init__(self, engine: Engine, clock: SettableClock, tmp: Path, n: int) -> None:
        self.engine, self.clock = engine, clock
        self.fleet = SimFleet(engine, clock, ROOT)
        with Session(engine, expire_on_commit=False) as s:
            c = company(s, clock, 1)
            _u, self.p = operator(s, clock, c.id or 0)
            self.regs: list[Register] = []
            for i in range(n):
                reg = register(s, clock, c, f"SER{i:07d}", slot=f"R1-S{i:02d}")
                reg.rnm = None  # not registered yet: any version may go to it
                s.add(reg)
                self.regs.append(reg)
            s.commit()
        for reg in self.regs:
            self.fleet.add(SimRegister(reg.serial or "", tmp / (reg.serial or ""), self.fetch))

    def fetch(self, url: str) -> Any:
        """The register's HTTP GET of the fleet's download URL."""
        sha = url.rsplit("/", 1)[1].removesuffix(".bin")
        with Session(self.engine) as s:
            b = s.exec(select(FirmwareBundle).where(FirmwareBundle.sha256 == sha)).first()
        if b is None:
            raise OSError("404")
        return io.BytesIO(b.data)

    def bundle(self, version: str, certified: bool = True) -> int:
        with Session(self.engine) as s:
            b = bundles.upload(s, self.clock, self.p, bundle_bytes(version, FILES, "test"))
            if certified:
                bundles.certify(s, self.clock, self.p, b.id or 0)
            s.commit()
            return b.id or 0

    def start(self, bundle_id: int, **form: str) -> int:
        raw = {"bundle_id": str(bundle_id), "timeout_min": "5", **form}
        with Session(self.engine) as s:
            r = service.create(s, self.clock, self.p, service.parse_form(raw), "http://fleet.test")
            s.commit()
            return r.id or 0

    def tick(self) -> None:
        with Session(self.engine) as s:
            service.advance(s, self.clock)
            s.commit()
        self.fleet.pump()
        self.clock.sleep(5)

    def run(self, rollout_id: int, ticks: int = 60) -> Rollout:
        for _ in range(ticks):
            self.tick()
            if self.rollout(rollout_id).status != "running":
                break
        return self.rollout(rollout_id)

    def rollout(self, rollout_id: int) -> Rollout:
        with Session(self.engine) as s:
            r = s.get(Rollout, rollout_id)
            assert r is not None
            return r

    def devices(self, rollout_id: int) -> list[RolloutDevice]:
        with Session(self.engine) as s:
            return service.devices(s, rollout_id)

    def commands(self) -> int:
        with Session(self.engine) as s:
            return s.exec(select(func.count()).select_from(SentCommand)).one()


def test_a_rollout_completes_phase_by_phase(
    engine: Engine, clock: SettableClock, tmp_path: Path
) -> None:
    w = World(engine, clock, tmp_path, 12)
    rid = w.start(w.bundle("1.1.0"), phases="10,50,100", min_devices="5", threshold_pct="10")
    r = w.run(rid)
    assert r.status == "completed" and r.abort_reason is None
    devs = w.devices(rid)
    assert [d.status for d in devs] == ["succeeded"] * 12
    policy = service.policy_of(r)
    for k in range(policy.last_phase + 1):  # no phase started more than its share
        assert sum(1 for d in devs if d.phase is not None and d.phase <= k) <= quota(policy, 12, k)
    assert [d.phase for d in devs][:1] == [0]
    for sim in w.fleet.registers.values():
        assert sim.version == "1.1.0" and sim.updater.record()["previous"]["version"] == "1.0.0"
    with Session(engine) as s:
        assert {r.firmware_version for r in s.exec(select(Register)).all()} == {"1.1.0"}
        assert {sh.firmware for sh in s.exec(select(DeviceShadow)).all()} == {"1.1.0"}
    assert w.commands() == 12  # one command per register


def test_a_failed_canary_rolls_back_and_aborts(
    engine: Engine, clock: SettableClock, tmp_path: Path
) -> None:
    w = World(engine, clock, tmp_path, 6)
    first = w.fleet.registers["SER0000000"]
    first.broken_with.add("2.0.0")
    rid = w.start(w.bundle("2.0.0"))
    r = w.run(rid)
    assert r.status == "aborted" and r.abort_reason and "Канареечное" in r.abort_reason
    devs = w.devices(rid)
    assert devs[0].status == "failed" and devs[0].reason and "Откат" not in devs[0].reason
    assert "ФН не отвечает" in devs[0].reason
    assert [d.status for d in devs[1:]] == ["waiting"] * 5
    assert w.commands() == 1
    assert first.version == "1.0.0" and first.updater.record()["active"] == "a"
    for _ in range(5):  # an aborted rollout sends nothing more
        w.tick()
    assert w.commands() == 1


def test_a_crash_after_reboot_rolls_back_by_itself(
    engine: Engine, clock: SettableClock, tmp_path: Path
) -> None:
    w = World(engine, clock, tmp_path, 3)
    w.fleet.registers["SER0000000"].crash_with.add("2.0.0")
    rid = w.start(w.bundle("2.0.0"))
    r = w.run(rid)
    assert r.status == "aborted"
    d = w.devices(rid)[0]
    assert d.status == "failed" and d.reason and "не прошла проверку" in d.reason
    sim = w.fleet.registers["SER0000000"]
    assert sim.version == "1.0.0" and sim.reboots == 2


def test_the_failure_threshold_stops_the_rollout(
    engine: Engine, clock: SettableClock, tmp_path: Path
) -> None:
    w = World(engine, clock, tmp_path, 20)
    for i in (3, 4, 5, 6, 7, 8):
        w.fleet.registers[f"SER{i:07d}"].broken_with.add("1.2.0")
    rid = w.start(w.bundle("1.2.0"), phases="50,100", threshold_pct="20", min_devices="5")
    r = w.run(rid)
    assert r.status == "aborted" and r.abort_reason and "порога 20 %" in r.abort_reason
    devs = w.devices(rid)
    started = [d for d in devs if d.status != "waiting"]
    assert len(started) <= 10 and w.commands() == len(started)
    assert any(d.status == "waiting" for d in devs)
    for _ in range(3):
        w.tick()
    assert w.commands() == len(started)


def test_a_register_updates_only_with_its_shift_closed(
    engine: Engine, clock: SettableClock, tmp_path: Path
) -> None:
    w = World(engine, clock, tmp_path, 2)
    canary = w.fleet.registers["SER0000000"]
    canary.shift_open = True
    w.fleet.report(canary.serial)
    rid = w.start(w.bundle("1.1.0"))
    for _ in range(3):
        w.tick()
    d, other = w.devices(rid)
    # the first register ready takes the canary's place; the busy one waits, never sent
    assert d.status == "waiting" and d.reason == "Ждёт: смена открыта"
    assert other.status == "succeeded" and other.phase == 0 and w.commands() == 1
    assert w.rollout(rid).status == "running"
    canary.shift_open = False
    w.fleet.report(canary.serial)
    assert w.run(rid).status == "completed"


def test_the_register_itself_refuses_with_a_shift_open(
    engine: Engine, clock: SettableClock, tmp_path: Path
) -> None:
    # the fleet's shadow is stale (the shift opened after the last state): the register says no
    w = World(engine, clock, tmp_path, 2)
    w.fleet.registers["SER0000000"].shift_open = True
    rid = w.start(w.bundle("1.1.0"))
    r = w.run(rid)
    assert r.status == "aborted"
    d = w.devices(rid)[0]
    assert d.status == "failed" and d.reason and "Смена открыта" in d.reason
    assert w.fleet.registers["SER0000000"].updater.record()["trial"] is None


def test_a_silent_register_times_out_as_a_failure(
    engine: Engine, clock: SettableClock, tmp_path: Path
) -> None:
    w = World(engine, clock, tmp_path, 3)
    w.fleet.deaf.add("SER0000000")
    rid = w.start(w.bundle("1.1.0"), timeout_min="1")
    r = w.run(rid)
    assert r.status == "aborted"
    d = w.devices(rid)[0]
    assert d.status == "failed" and d.reason and "Нет результата за 60 с" in d.reason
    with Session(engine) as s:  # its command is not re-sent any more
        cmd = s.exec(select(SentCommand)).one()
        assert cmd.status == "expired"


def test_an_uncertified_version_never_goes_to_registered_registers(
    engine: Engine, clock: SettableClock, tmp_path: Path
) -> None:
    w = World(engine, clock, tmp_path, 3)
    with Session(engine) as s:
        reg = s.get(Register, w.regs[1].id)
        assert reg is not None
        reg.rnm = "0000000001012345"
        s.add(reg)
        s.commit()
    bid = w.bundle("1.1.0-rc1", certified=False)
    with pytest.raises(UncertifiedBundleError, match=r"не сертифицирована.*SER0000001"):
        w.start(bid)
    with Session(engine) as s:
        assert s.exec(select(func.count()).select_from(Rollout)).one() == 0
        assert s.exec(select(func.count()).select_from(RolloutDevice)).one() == 0
    # certified, it goes
    with Session(engine) as s:
        bundles.certify(s, clock, w.p, bid)
        s.commit()
    assert w.run(w.start(bid)).status == "completed"


def test_bad_forms_and_bundles_write_nothing(
    engine: Engine, clock: SettableClock, tmp_path: Path
) -> None:
    w = World(engine, clock, tmp_path, 1)
    with pytest.raises(InvalidRolloutError) as e:
        service.parse_form(
            {"bundle_id": "", "phases": "50,10", "threshold_pct": "x", "target": "R 1"}
        )
    assert set(e.value.fields) == {"bundle_id", "phases", "threshold_pct", "target"}
    good = bundle_bytes("1.1.0", FILES, "test")
    for bad, why in (
        (b"junk", "заголовка"),
        (good[:-1], "не совпал"),
        (good + b"!", "лишние байты"),
        (good.replace(b'"format":1', b'"format":2'), "формата 1"),
    ):
        with Session(engine) as s, pytest.raises(InvalidBundleError, match=why):
            bundles.upload(s, clock, w.p, bad)
    bid = w.bundle("1.1.0")
    with Session(engine) as s, pytest.raises(BundleExistsError):
        bundles.upload(s, clock, w.p, good)
    rid = w.start(bid)
    assert w.run(rid).status == "completed"
    with Session(engine) as s, pytest.raises(InvalidRolloutError, match="нет касс"):
        service.create(s, clock, w.p, service.parse_form({"bundle_id": str(bid)}), "http://x")
    with Session(engine) as s:
        assert s.exec(select(func.count()).select_from(Rollout)).one() == 1
        assert s.exec(select(func.count()).select_from(FirmwareBundle)).one() == 1


def test_an_operator_abort_stops_sending(
    engine: Engine, clock: SettableClock, tmp_path: Path
) -> None:
    w = World(engine, clock, tmp_path, 4)
    w.fleet.deaf.update(w.fleet.registers)  # nobody answers: the canary stays in flight
    rid = w.start(w.bundle("1.1.0"))
    w.tick()
    with Session(engine) as s:
        service.abort(
            s,
            clock,
            Principal(company_id=0, permissions=frozenset(), user_id=None),
            rid,
            "проверка",
        )
        s.commit()
    for _ in range(3):
        w.tick()
    r = w.rollout(rid)
    assert r.status == "aborted" and r.abort_reason == "Остановлена оператором: проверка"
    with Session(engine) as s:
        assert [c.status for c in s.exec(select(SentCommand)).all()] == ["expired"]
        assert s.exec(select(col(RolloutDevice.status))).all().count("waiting") == 3
