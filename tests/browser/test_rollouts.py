"""Firmware rollouts in Chromium: an operator uploads a bundle built by `oblako firmware
build`, certifies it and rolls it out to a rack, which completes; a second version whose
canary fails its health check after the reboot (and rolls back by itself) aborts the rollout,
and the other registers never get it.

The fleet runs as in the other browser tests (uvicorn, SQLite, no job loop); this test runs
the rollout job and simulated registers (tests/rollouts/simfleet.py: firmware/update.py with
A/B slots on disk) in a thread. The registers download the bundle over HTTP from the fleet's
download URL and answer through the fleet's real command sender and ingest.
"""

from __future__ import annotations

import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import Session, select

from fleet.accounts.models import User
from fleet.core.clock import SystemClock
from fleet.registers.models import Register, RegisterState
from fleet.rollouts.service import advance
from oblako.firmware_build import build, bundle_bytes
from tests.browser.conftest import Stack
from tests.browser.flow import signed_up_and_in
from tests.rollouts.simfleet import SimFleet, SimRegister


def _fetch(url: str) -> Any:
    return urllib.request.urlopen(url, timeout=10)


class Rack:
    """Registers in one rack of the fleet, simulated, with the rollout job beside them."""

    def __init__(self, stack: Stack, tmp: Path, company_id: int, n: int) -> None:
        self.name = f"RB{uuid.uuid4().hex[:4].upper()}"
        self.fleet = SimFleet(stack.engine, SystemClock(), f"test/rollouts/{self.name}")
        self.serials: list[str] = []
        with Session(stack.engine) as s:
            for i in range(n):
                serial = f"UPD{uuid.uuid4().hex[:10].upper()}"
                s.add(
                    Register(
                        serial=serial,
                        model="Облако-Ф1",
                        rack_slot=f"{self.name}-S{i:02d}",
                        firmware_version="1.0.0",
                        state=RegisterState.ACTIVE.value,
                        company_id=company_id,
                        created_at=time.time(),
                    )
                )
                self.serials.append(serial)
            s.commit()
        for serial in self.serials:
            self.fleet.add(SimRegister(serial, tmp / serial, _fetch))
        self.stop = threading.Event()
        self.errors: list[BaseException] = []
        self.thread = threading.Thread(target=self._run, args=(stack,), daemon=True)
        self.thread.start()

    def _run(self, stack: Stack) -> None:
        try:
            while not self.stop.is_set():
                with Session(stack.engine) as s:
                    advance(s, SystemClock())
                    s.commit()
                self.fleet.pump()
                self.stop.wait(0.2)
        except BaseException as e:  # reported by the test
            self.errors.append(e)

    def close(self) -> None:
        self.stop.set()
        self.thread.join(15)


@pytest.fixture(name="operator_company")
def fixture_operator_company(page: Page, stack: Stack) -> int:
    account = signed_up_and_in(page, stack)
    with Session(stack.engine) as s:
        user = s.exec(select(User).where(User.email == account.email)).one()
        user.is_operator = True
        s.add(user)
        s.commit()
        return user.company_id or 0


@pytest.fixture(name="rack")
def fixture_rack(stack: Stack, tmp_path: Path, operator_company: int) -> Iterator[Rack]:
    rack = Rack(stack, tmp_path, operator_company, 4)
    try:
        yield rack
    finally:
        rack.close()


def _upload_and_certify(page: Page, path: Path, version: str) -> None:
    page.goto("/console/firmware")
    page.get_by_label("Файл пакета (.bin)").set_input_files(str(path))
    page.get_by_role("button", name="Загрузить").click()
    row = page.locator(f'tr[data-version="{version}"]')
    expect(row).to_contain_text(version)
    row.get_by_role("button", name="Отметить сертифицированной").click()
    expect(
        page.locator(f'tr[data-version="{version}"]').get_by_test_id("certified")
    ).to_be_visible()


def _start(page: Page, version: str, rack: str) -> None:
    page.get_by_role("link", name="Прошивки").first.click()
    expect(page.get_by_role("heading", name="Выкатки прошивки")).to_be_visible()
    page.get_by_label("Пакет").select_option(label=version)
    page.get_by_label("Группа: стойка (пусто — весь парк)").fill(rack)
    page.get_by_label("Фазы, %").fill("50,100")
    page.get_by_label("Время на кассу, мин").fill("2")
    page.get_by_role("button", name="Начать выкатку").click()
    expect(page.get_by_role("heading", name=f"версия {version}")).to_be_visible()


def test_an_operator_runs_a_rollout_that_completes(
    page: Page, stack: Stack, rack: Rack, tmp_path: Path
) -> None:
    version = f"1.{uuid.uuid4().int % 10000}.0"
    built = build(version, tmp_path / "dist")
    _upload_and_certify(page, built.bundle, version)
    _start(page, version, rack.name)
    expect(page.get_by_test_id("rollout-status")).to_have_text("Завершена", timeout=30_000)
    expect(page.get_by_test_id("rollout-counts")).to_contain_text("Обновлены: 4, отказы: 0")
    rows = page.get_by_test_id("rollout-devices").locator("tbody tr")
    expect(rows).to_have_count(4)
    expect(rows.first).to_contain_text("канарейка")
    assert not rack.errors
    for serial in rack.serials:
        sim = rack.fleet.registers[serial]
        assert sim.version == version and sim.updater.record()["previous"]["version"] == "1.0.0"


def test_an_operator_runs_a_rollout_that_aborts_on_failures(
    page: Page, stack: Stack, rack: Rack, tmp_path: Path
) -> None:
    version = f"2.{uuid.uuid4().int % 10000}.0"
    path = tmp_path / f"oblako-fw-{version}.bin"
    path.write_bytes(bundle_bytes(version, [("firmware/agent.mpy", b"M\x06agent")], "test"))
    canary = rack.fleet.registers[rack.serials[0]]
    canary.broken_with.add(version)  # its drive does not answer the new runtime
    _upload_and_certify(page, path, version)
    _start(page, version, rack.name)
    expect(page.get_by_test_id("rollout-status")).to_have_text("Остановлена", timeout=30_000)
    expect(page.get_by_test_id("abort-reason")).to_contain_text("Канареечное обновление не удалось")
    canary_row = page.locator(f'tr[data-serial="{canary.serial}"]')
    expect(canary_row).to_contain_text("Отказ")
    expect(canary_row).to_contain_text("ФН не отвечает")
    for serial in rack.serials[1:]:
        expect(page.locator(f'tr[data-serial="{serial}"]')).to_have_attribute(
            "data-status", "waiting"
        )
    assert not rack.errors
    assert canary.version == "1.0.0" and canary.updater.record()["active"] == "a"
    assert all(rack.fleet.registers[s].reboots == 0 for s in rack.serials[1:])
