"""`oblako bench register-hop`: the register hop of `oblako bench receipts` in one process, its
two changes of issue 8 measured against the previous code in the same run.

Per receipt the loop does what the MQTT agent does for a receipt in the receipts bench: the
register makes it (firmware/register.py `handle`, journal on files with their fsyncs), the
agent reads the document back from the drive's archive for its `doc` event (45h/46h), and
the agent's loop runs the register's `service()` rounds between messages (a profiled receipts
bench: 3,530 rounds for 530 documents, ~7 a document). The drive is the simulator on TCP with
no wire time (as `oblako bench receipts` serves it), in this process: the CPU per receipt is
the process's (`time.process_time`: the runtime and the drive simulator), as the receipts
bench counts the registers' processes; of it, the register thread's own (`time.thread_time`).

Variants, alternated round by round so the machine's load falls on all alike:
  before     pyserial's socket:// handler; every service round forgets the drive status
             (the previous code did so after each OFD step, whether it used the drive or not);
             the simulator frames its answers through construct (protocol.fn.frame)
  transport  only hil.transport.SocketTransport (the socket itself)
  status     only the status kept when the round did not use the drive
  frames     only the simulator's struct framing (simulator/fn/model.py pack_frame)
  after      all three (the code now)
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass

from bench.register import PROFILE, SETTINGS, _config, _register, request
from firmware.clock import SystemClock as FirmwareClock
from firmware.drive import FiscalDrive
from firmware.journal import Journal
from firmware.register import Register
from firmware.storage import FileStorage
from hil.transport import SerialTransport, SocketTransport
from protocol.fn.frame import build_frame
from simulator.clock import SystemClock
from simulator.fn import DriveModel, LinkTiming, serve_tcp

__all__ = ["VARIANTS", "HopFigures", "measure"]

VARIANTS = ("before", "transport", "status", "frames", "after")
ROUNDS_PER_RECEIPT = 7


@dataclass
class HopFigures:
    """One variant's totals over its rounds."""

    variant: str
    receipts: int = 0
    cpu_s: float = 0.0
    runtime_s: float = 0.0  # of which the register's thread (the rest: the drive simulator)
    commands: int = 0  # drive commands sent
    status_reads: int = 0  # 30h among them

    @property
    def cpu_ms(self) -> float:
        """CPU milliseconds a receipt."""
        return 1000 * self.cpu_s / max(self.receipts, 1)

    @property
    def runtime_ms(self) -> float:
        """The register thread's CPU milliseconds a receipt."""
        return 1000 * self.runtime_s / max(self.receipts, 1)


def _one(variant: str, receipts: int, fig: HopFigures) -> None:
    model = DriveModel(_config(), clock=SystemClock())
    if variant not in ("frames", "after"):
        # the previous framing, on this drive only
        model._frame_raw = lambda b, d: _construct_frame(model, b, d)  # type: ignore[method-assign,assignment]
    new_transport = variant in ("transport", "after")
    keep_status = variant in ("status", "after")
    with (
        tempfile.TemporaryDirectory() as tmp,
        serve_tcp(model, timing=LinkTiming(default_latency=0.0)) as server,
    ):
        port = SocketTransport(server.url) if new_transport else SerialTransport(server.url)
        try:
            clock = FirmwareClock()
            drive = FiscalDrive(port, clock)
            storage = FileStorage(tmp)
            reg = Register(drive, Journal(storage), clock, dict(PROFILE), storage, None, SETTINGS)
            _register(reg)
            status = drive.status
            reads = [0]

            def counted() -> dict:  # type: ignore[type-arg]
                reads[0] += 1
                return status()

            drive.status = counted  # type: ignore[method-assign]
            calls0 = drive.calls
            t0 = time.process_time()
            r0 = time.thread_time()
            for i in range(receipts):
                r = reg.handle(request(f"hop-{variant}-{i}", 1))
                if r["status"] != "made":
                    raise RuntimeError(f"receipt not made: {r}")
                reg.ack(f"hop-{variant}-{i}")
                drive.read_document(r["fd"])  # the agent's `doc` event
                for _ in range(ROUNDS_PER_RECEIPT):
                    reg.service()
                    if not keep_status:
                        reg._st = None  # the previous code: forgotten after every OFD step
                    reg._status()  # what the next round or request reads first
            fig.runtime_s += time.thread_time() - r0
            fig.cpu_s += time.process_time() - t0
            fig.receipts += receipts
            fig.commands += drive.calls - calls0
            fig.status_reads += reads[0]
            storage.close()
        finally:
            port.close()


def _construct_frame(model: DriveModel, answer_byte: int, data: bytes) -> bytes:
    frame = build_frame(answer_byte, data)
    model._last_answer = frame
    return frame


def measure(receipts: int = 100, rounds: int = 3) -> list[HopFigures]:
    """Each variant `rounds` times, `receipts` receipts a round, alternated."""
    figs = {v: HopFigures(v) for v in VARIANTS}
    for _ in range(rounds):
        for v in VARIANTS:
            _one(v, receipts, figs[v])
    return [figs[v] for v in VARIANTS]
