"""The register keeps the drive's status (30h) across service rounds whose OFD step did not
use the drive, and reads it again after one that did (firmware/register.py service())."""

from __future__ import annotations

from pathlib import Path

from firmware.register import Register
from tests.firmware.test_register import Rig, sale


class FakeOfd:
    """An OFD client whose step either only checks its timer or talks to the drive."""

    def __init__(self, reg: Register) -> None:
        self.reg = reg
        self.use_drive = False
        self.steps = 0

    def step(self) -> float:
        self.steps += 1
        if self.use_drive:
            self.reg.drive.status()  # any command: the drive's state may have changed
        return 1.0


def _status_reads(rig: Rig) -> list[int]:
    reads = [0]
    real = rig.drive.status

    def counted() -> dict:  # type: ignore[type-arg]
        reads[0] += 1
        return real()

    rig.drive.status = counted  # type: ignore[method-assign]
    return reads


def test_an_idle_ofd_step_keeps_the_status_a_busy_one_drops_it(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.start()
    assert rig.reg.handle(sale("s-1", 10000))["status"] == "made"
    ofd = FakeOfd(rig.reg)
    rig.reg.ofd = ofd
    reads = _status_reads(rig)
    rig.reg._status()  # cached now
    base = reads[0]
    for _ in range(5):
        rig.reg.service()
        rig.reg._status()
    assert ofd.steps == 5 and reads[0] == base  # idle steps: not one 30h more
    ofd.use_drive = True
    calls = rig.drive.calls
    rig.reg.service()
    assert rig.drive.calls > calls
    before = reads[0]
    rig.reg._status()
    assert reads[0] == before + 1  # the step used the drive: 30h is read again
