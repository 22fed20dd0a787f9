"""The drive's memory fill in the state shadow (firmware/agent.py, 3Dh on a simulated drive).

The figure comes from the drive's real archive: the simulator answers 3Dh from its archive's
fill, and the agent reads it once per drive, after a shift's close, and every MEMORY_EVERY
documents — never per receipt.
"""

from __future__ import annotations

from pathlib import Path

from firmware import agent as agent_module
from tests.firmware.test_agent import Board, FakeClient, cmd
from tests.firmware.test_register import Rig, drive_config, registration_request, sale

CAPACITY = 200  # documents: each one is 0.5 % of the archive


class SmallDrive(Board):
    """The agent's board with a drive whose archive holds CAPACITY documents."""

    def __init__(self, tmp: Path) -> None:
        self.rig = Rig(tmp, config=drive_config(archive_capacity=CAPACITY))
        self.rig.start(register=False)
        self.client = FakeClient()
        self.boot_agent()


def _used(board: Board) -> int | None:
    drive = board.client.taken("state")[-1]["drive"]
    assert drive["last_fd"] == len(board.rig.docs())
    pct = drive.get("memory_used_pct")
    assert pct is None or isinstance(pct, int)
    return pct


def _pct(docs: int) -> int:
    return (200 * docs + CAPACITY) // (2 * CAPACITY)  # half up, as the agent rounds


def test_memory_fill_is_reported_from_the_drive_s_archive(tmp_path: Path) -> None:
    board = SmallDrive(tmp_path)
    board.agent.step(0)
    assert "memory_used_pct" not in board.client.taken("state")[-1]["drive"]  # not fiscal yet
    now = int(board.rig.clock.wall())
    board.send("cmd", cmd("reg-1", "registration", registration_request(), issued_at=now))
    assert _used(board) == _pct(1) == 1
    # a receipt (with the shift it opens) does not ask the drive again: the figure stays
    board.send("cmd", cmd("r-1", "receipt", sale("r-1", 1000), issued_at=now))
    assert len(board.rig.docs()) == 3 and _used(board) == _pct(1)
    # the shift's close does: the archive now holds 4 documents of 200
    board.send(
        "cmd", cmd("z-1", "close_shift", {"id": "z-1", "kind": "close_shift"}, issued_at=now)
    )
    assert len(board.rig.docs()) == 4 and _used(board) == _pct(4) == 2


def test_a_long_shift_is_read_again_every_memory_every_documents(tmp_path: Path) -> None:
    board = SmallDrive(tmp_path)
    now = int(board.rig.clock.wall())
    board.send("cmd", cmd("reg-1", "registration", registration_request(), issued_at=now))
    for i in range(agent_module.MEMORY_EVERY - 2):  # the shift's open report is one more
        board.send("cmd", cmd(f"r-{i}", "receipt", sale(f"r-{i}", 100), issued_at=now))
    assert len(board.rig.docs()) == agent_module.MEMORY_EVERY
    assert _used(board) == _pct(1)  # 49 documents since the last read
    board.send("cmd", cmd("r-x", "receipt", sale("r-x", 100), issued_at=now))
    docs = len(board.rig.docs())
    assert docs == agent_module.MEMORY_EVERY + 1 and _used(board) == _pct(docs) == 26
    # the simulated drive's own count: what 3Dh answered is its archive's room
    left = board.rig.reg.drive.free_resource()["archive_docs_left"]
    assert left == CAPACITY - docs
