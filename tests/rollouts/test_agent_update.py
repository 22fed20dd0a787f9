"""The register's agent on the update command (firmware/agent.py + firmware/update.py), on a
simulated drive: refused with a shift open, staged and rebooted, committed after the health
check with the final result under the same request id, rolled back when the drive does not
answer the new runtime."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from firmware.agent import Agent
from firmware.outbox import Outbox
from firmware.storage import FileStorage
from firmware.update import DirSlots, Updater, sha256_hex
from oblako.firmware_build import bundle_bytes
from tests.firmware.test_agent import ROOT, SERIAL, FakeClient, cmd
from tests.firmware.test_register import Rig, sale

FILES = [("firmware/agent.mpy", b"M\x06agent"), ("firmware/update.mpy", b"M\x06update")]
DATA = bundle_bytes("1.1.0", FILES, "test")
URL = "http://fleet.test/firmware/bundles/x.bin"


class Board:
    """A register with its flash (slots on disk, boot record in FileStorage) that reboots."""

    def __init__(self, tmp: Path) -> None:
        self.rig = Rig(tmp)
        self.rig.start(register=True)
        self.home = tmp / "board"
        self.fetched = 0
        self.updater = self.new_updater()
        self.updater.install_initial("1.0.0")
        self.start()
        # the fleet stored the registration report: nothing is left unstored
        fn = self.client.taken("state")[-1]["drive"]["fn"]
        stored = json.dumps({"v": 1, "fn": fn, "through": 1}).encode()
        self.client.inbox.append((f"{ROOT}/v1/reg/{SERIAL}/stored", stored))
        self.agent.step(0)

    def fetch(self, url: str) -> Any:
        assert url == URL
        self.fetched += 1
        return io.BytesIO(DATA)

    def new_updater(self) -> Updater:
        return Updater(
            FileStorage(str(self.home / "store")), DirSlots(str(self.home / "fw")), self.fetch
        )

    def start(self) -> None:
        """Power on: the boot record picks the slot, the agent connects."""
        self.updater = self.new_updater()
        self.slot = self.updater.boot()
        self.client = FakeClient()
        self.outbox = Outbox(self.rig.flash, self.rig.clock, window=4, resend_s=30)
        self.agent = Agent(
            self.rig.reg, self.client, self.outbox, ROOT, SERIAL,
            self.updater.version(), updater=self.updater,
        )  # fmt: skip
        self.agent.step(0)

    def update(self, rid: str) -> None:
        params = {"firmware": {"version": "1.1.0", "url": URL, "sha256": sha256_hex(DATA)}}
        now = int(self.rig.clock.wall())
        topic = f"{ROOT}/v1/reg/{SERIAL}/cmd"
        self.client.inbox.append((topic, cmd(rid, "firmware_update", params=params, issued_at=now)))
        self.agent.step(0)

    def results(self) -> list[dict[str, Any]]:
        return self.client.taken("result")


@pytest.fixture(name="board")
def fixture_board(tmp_path: Path) -> Board:
    return Board(tmp_path)


def test_the_update_is_refused_while_the_shift_is_open(board: Board) -> None:
    now = int(board.rig.clock.wall())
    board.client.inbox.append(
        (f"{ROOT}/v1/reg/{SERIAL}/cmd", cmd("r-1", "receipt", sale("r-1", 100), issued_at=now))
    )
    board.agent.step(0)
    board.update("fw-1")
    [res] = [r for r in board.results() if r["id"] == "fw-1"]
    assert res["status"] == "failed" and res["errors"][0]["code"] == "shift_open"
    assert res["retryable"] is True
    assert not board.agent.reboot_requested and board.fetched == 0


def test_staged_rebooted_and_committed_with_the_final_result(board: Board) -> None:
    board.agent.step(0)
    board.update("fw-2")
    [ack] = [a for a in board.client.taken("ack") if a["id"] == "fw-2"]
    assert ack["status"] == "accepted"
    [res] = [r for r in board.results() if r["id"] == "fw-2"]
    assert res["status"] == "done" and res["data"]["staged"] == "1.1.0"
    assert board.agent.reboot_requested and board.fetched == 1
    board.start()  # the reboot
    assert board.slot == "b"
    presence = board.client.taken("presence")[-1]
    assert presence["firmware"] == "1.1.0"
    [final] = [r for r in board.results() if r["id"] == "fw-2"]
    assert final["status"] == "done" and final["data"] == {
        "update": "committed",
        "firmware": "1.1.0",
    }
    assert board.updater.record()["active"] == "b"
    assert not board.agent.reboot_requested
    board.start()  # a later start says nothing more about it
    assert [r for r in board.results() if r["id"] == "fw-2"] == []
    assert board.slot == "b"


def test_a_new_runtime_the_drive_does_not_answer_rolls_back(board: Board) -> None:
    board.agent.step(0)
    board.update("fw-3")
    board.rig.model.power_off()  # the new bundle cannot talk to the drive
    board.start()
    [final] = [r for r in board.results() if r["id"] == "fw-3"]
    assert final["status"] == "failed" and final["errors"][0]["code"] == "rolled_back"
    assert "ФН не отвечает" in final["errors"][0]["message"]
    assert board.client.taken("presence")[-1]["firmware"] == "1.0.0"
    assert board.agent.reboot_requested  # back into the previous bundle
    board.rig.model.power_on()
    board.start()
    assert board.slot == "a" and board.updater.version() == "1.0.0"
    assert json.loads(json.dumps(board.updater.record()))["trial"] is None
