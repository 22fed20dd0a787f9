"""The register keeps the drive's status (30h) across service rounds, the OFD exchange's
included: the exchange (20h-26h) changes nothing the runtime reads from 30h, so after real
deliveries the cache still equals a fresh 30h; a round whose OFD step fails on the drive link
drops it (firmware/register.py service())."""

from __future__ import annotations

from pathlib import Path

from firmware import net
from firmware.errors import LinkError
from firmware.ofd import OfdClient
from firmware.register import Register
from simulator.ofd import OfdConfig, OfdServer
from tests.firmware.test_register import Rig, drive_config, sale

# what the runtime reads from 30h (firmware/register.py: _status, _ready, _at, _made)
_READ = ("phase", "current_document", "shift_open", "last_fd", "last_date_time", "fn_number")


class FakeOfd:
    """An OFD client whose step talks to the drive, or finds the link gone."""

    def __init__(self, reg: Register) -> None:
        self.reg = reg
        self.fail = False
        self.steps = 0

    def step(self) -> float:
        self.steps += 1
        if self.fail:
            raise LinkError("the drive does not answer", 0x20)
        self.reg.drive.ofd_exchange_status()  # 20h, as every exchange step begins
        return 1.0

    def status(self) -> dict:  # type: ignore[type-arg]
        return {"steps": self.steps}


def _status_reads(rig: Rig) -> list[int]:
    reads = [0]
    real = rig.drive.status

    def counted() -> dict:  # type: ignore[type-arg]
        reads[0] += 1
        return real()

    rig.drive.status = counted  # type: ignore[method-assign]
    return reads


def test_ofd_steps_keep_the_status_and_a_link_failure_drops_it(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.start()
    assert rig.reg.handle(sale("s-1", 10000))["status"] == "made"
    ofd = FakeOfd(rig.reg)
    rig.reg.ofd = ofd
    reads = _status_reads(rig)
    rig.reg._status()  # cached now
    base = reads[0]
    calls = rig.drive.calls
    for _ in range(5):
        rig.reg.service()
        rig.reg._status()
    assert ofd.steps == 5 and rig.drive.calls == calls + 5 and reads[0] == base
    ofd.fail = True
    out = rig.reg.service()
    assert out["errors"] and rig.reg._st is None
    rig.reg._status()
    assert reads[0] == base + 1  # read again after the failure


def test_after_real_deliveries_the_kept_status_is_the_drive_s(tmp_path: Path) -> None:
    rig = Rig(tmp_path, config=drive_config())
    server = OfdServer(OfdConfig(sign_algorithm="sha256"), clock=rig.clock)
    server.start()
    try:
        client = OfdClient(rig.drive, net.connector(0.05), "127.0.0.1", server.port, rig.clock)
        rig.reg.ofd = client
        rig.start()
        for i in range(3):
            assert rig.reg.handle(sale(f"s-{i}", 1000 + i))["status"] == "made"
        reads = _status_reads(rig)
        kept = dict(rig.reg._status())
        for _ in range(400):
            rig.reg.service()
            if client.delivered == 5:  # registration, shift, 3 receipts
                break
            rig.clock.sleep(0.01)
        assert client.delivered == 5 and reads[0] == 0
        fresh = rig.drive.status()
        assert {k: kept[k] for k in _READ} == {k: fresh[k] for k in _READ}
        assert {k: rig.reg._st[k] for k in _READ} == {k: fresh[k] for k in _READ}  # type: ignore[index]
        client.close()
    finally:
        server.stop()
