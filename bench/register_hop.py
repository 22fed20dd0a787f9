"""`oblako bench register-hop`: the register hop of `oblako bench receipts` in one process, the
changes of issue 8's third pass measured against the code before them in the same run.

Per receipt the loop does what the MQTT agent does for a receipt in the receipts bench: the
register makes it (firmware/register.py `handle`, journal on files with their fsyncs), the
agent builds the `doc` event of every new document (firmware/agent.py `_document`), and the
agent's loop runs the register's `service()` rounds between messages (a profiled receipts
bench: 3,530 rounds for 530 documents, ~7 a document), then the OFD client delivers what is
unsent (firmware/ofd.py; the OFD simulator in a process of its own, not counted). The drive
is the simulator on TCP with no wire time and its durable state file (as `oblako bench
receipts` serves it), in this process: the CPU per receipt is the process's
(`time.process_time`: the runtime and the drive simulator), as the receipts bench counts the
registers' processes; of it, the register thread's own (`time.thread_time`).

Variants, alternated round by round so the machine's load falls on all alike:
  before   the `doc` event re-read from the drive's archive (40h, 45h, a 46h per TLV); the
           simulator's state file rewritten whole per save (temp file, 2 fsyncs, rename); the
           drive status read again after every OFD step that used the drive; the OFD
           connection opened and closed per document
  image    only the event from the image of the document just made (firmware/docimage.py)
  journal  only the state file appended per save (simulator/fn/state.py, fsync per line)
  status   only the 30h kept across OFD exchange steps (before: dropped after each step that
           used the drive, so the next round read it again)
  linger   only the OFD connection kept between documents (firmware/ofd.py linger_s, 10 s as
           firmware/board.py sets it; before: connect, 21h(1) ... 21h(0), close per document)
  after    all four (the code now)

Stop 21 (2026-11-29), the same loop with all four, the variants by default now:
  start    the sums in Python as before: the link's and the journal's CRC-16 by the table
           loop (firmware/crc16.py crc16_table), the request digest's canonical form by the
           isinstance chain and its Adler-32 by the loop (was on CPython; the code on
           MicroPython still); the drive simulator's fault plan consulted under its lock
           ~9 times a command with nothing planned, and the OFD's receipt container decoded
           whole by protocol.ofd.parse_container (construct) to read its header
  c-sums   only the C sums and the type-dispatched canonical form (binascii.crc_hqx,
           zlib.adler32)
  drive    only the simulator's two: the idle fault plan answered without the lock
           (simulator/fn/faults.py), the receipt's header read with struct
           (simulator/fn/exchange.py `_container`)
  flash    only the journal's barriers without a directory fsync when no name changed
           (firmware/storage.py; before: every barrier after an append synced the directory)
  now      all three (the code now)
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import tempfile
import time
import types
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.register import PROFILE, SETTINGS, _config, _register, request
from firmware import drive as drive_mod
from firmware import framing, net
from firmware import journal as journal_mod
from firmware import ofd as ofd_mod
from firmware import register as register_mod
from firmware.agent import Agent
from firmware.clock import SystemClock as FirmwareClock
from firmware.crc16 import crc16_table
from firmware.drive import FiscalDrive
from firmware.journal import Journal
from firmware.ofd import OfdClient
from firmware.outbox import Outbox
from firmware.register import Register
from firmware.storage import FileStorage
from hil.transport import SocketTransport
from protocol.errors import ProtocolError
from protocol.fn.codes import OfdRejectReason
from protocol.ofd import CONTAINER_HEADER_SIZE, parse_container
from simulator.clock import SystemClock
from simulator.fn import DriveModel, LinkTiming, StateStore, exchange, serve_tcp
from simulator.fn.faults import Fault, FaultKind, FaultPlan
from simulator.fn.state import DriveState

__all__ = ["PASS3_VARIANTS", "VARIANTS", "HopFigures", "measure"]

PASS3_VARIANTS = ("before", "image", "journal", "status", "linger", "after")
VARIANTS = ("start", "c-sums", "drive", "flash", "now")
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


class _Rewrite(StateStore):
    """The state file as before the journal: the whole state rewritten on every save."""

    def save(self, state: DriveState) -> None:
        self.saves += 1
        self._compact(state)


class _Quiet:
    """The MQTT client's side the agent needs, publishing nowhere."""

    on_message: Any = None
    connected = True
    connects = 1

    def subscribe(self, flt: str, qos: int = 1) -> None:
        pass

    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> int:
        return 0


_OFD = """
from simulator.ofd.cli import run_ofd_server
run_ofd_server(0, sign_algorithm="sha256", echo=lambda s: print(s.split()[4], flush=True))
"""


@contextmanager
def ofd_server() -> Iterator[tuple[str, int]]:
    """The OFD simulator (HMAC-SHA-256, as the bench's drives sign) in a process of its own."""
    proc = subprocess.Popen([sys.executable, "-c", _OFD], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        host, port = proc.stdout.readline().strip().rsplit(":", 1)
        yield host, int(port)
    finally:
        proc.terminate()
        proc.wait(10)


_drives = [0]


def _take_locked(self: FaultPlan, kind: FaultKind, command: int | None) -> Fault | None:
    # FaultPlan.take before stop 21 with nothing planned and no noise: the lock, the empty
    # loop, then _random's "no noise"
    with self._lock:
        if not self._faults:
            return self._random(kind, command)
    return FaultPlan.take(self, kind, command)


_CRC_USERS = (drive_mod, framing, journal_mod, ofd_mod, register_mod)


@contextmanager
def _sums(c: bool) -> Iterator[None]:
    """The C sums (the code now) or the portable Python ones, for the register's runtime."""
    names = vars(register_mod)  # _adler32: the module's private switch to the C sum
    saved = [m.crc16 for m in _CRC_USERS], register_mod._feed, names["_adler32"]
    if not c:
        for m in _CRC_USERS:
            m.crc16 = crc16_table  # type: ignore[attr-defined]
        register_mod._feed = register_mod._feed_other  # the isinstance chain, as before
        names["_adler32"] = None
    try:
        yield
    finally:
        for m, f in zip(_CRC_USERS, saved[0], strict=True):
            m.crc16 = f  # type: ignore[attr-defined]
        register_mod._feed = saved[1]
        names["_adler32"] = saved[2]


def _container_construct(message: bytes) -> tuple[int, str, int, bytes]:
    # simulator/fn/exchange.py before stop 21: the whole container decoded by construct
    if len(message) < CONTAINER_HEADER_SIZE + 4:
        raise exchange._RejectError(OfdRejectReason.BAD_FORMAT)
    try:
        c = parse_container(message)
    except ProtocolError as exc:
        reason = OfdRejectReason.BAD_CRC if "CRC" in str(exc) else OfdRejectReason.BAD_FORMAT
        raise exchange._RejectError(reason) from exc
    return c.doc_type, c.fn_number, c.fd_number, message[CONTAINER_HEADER_SIZE:]


@contextmanager
def _drive(now: bool) -> Iterator[None]:
    """The receipt container's header read with struct (the code now) or construct."""
    saved = exchange._container
    if not now:
        exchange._container = _container_construct
    try:
        yield
    finally:
        exchange._container = saved


def _one(variant: str, receipts: int, fig: HopFigures, ofd: tuple[str, int] | None) -> None:
    if variant in VARIANTS:  # stop 21: the third pass's four changes in every variant
        with _sums(variant in ("c-sums", "now")), _drive(variant in ("drive", "now")):
            _one_pass3("after", variant, receipts, fig, ofd)
    else:
        _one_pass3(variant, variant, receipts, fig, ofd)


def _one_pass3(
    variant: str, name: str, receipts: int, fig: HopFigures, ofd: tuple[str, int] | None
) -> None:
    store_kind = StateStore if variant in ("journal", "after") else _Rewrite
    with tempfile.TemporaryDirectory() as tmp:
        store = store_kind(Path(tmp) / "fn.json")
        # a drive of its own each time: the OFD refuses another document under a known FD
        _drives[0] += 1
        config = dataclasses.replace(_config(), fn_number=f"9999078901{_drives[0]:06d}")
        model = DriveModel(config, clock=SystemClock(), state_file=store)
        faults = FaultPlan()
        if name in ("start", "c-sums", "flash"):
            faults.take = types.MethodType(_take_locked, faults)  # type: ignore[method-assign]
        with serve_tcp(model, timing=LinkTiming(default_latency=0.0), faults=faults) as server:
            port = SocketTransport(server.url)
            try:
                kind = _DirEachSync if name in ("start", "c-sums", "drive") else FileStorage
                _receipts(variant, receipts, fig, port, Path(tmp), ofd, kind)
            finally:
                port.close()


class _DirEachSync(FileStorage):
    """The storage before stop 21: each barrier after an append also synced the directory."""

    def _commit(self) -> None:
        self._names_changed = True
        super()._commit()


def _receipts(
    variant: str,
    receipts: int,
    fig: HopFigures,
    port: SocketTransport,
    tmp: Path,
    ofd_at: tuple[str, int] | None,
    storage_kind: type[FileStorage] = FileStorage,
) -> None:
    clock = FirmwareClock()
    drive = FiscalDrive(port, clock)
    storage = storage_kind(str(tmp / "flash"))
    ofd = None
    if ofd_at is not None:
        linger = 10.0 if variant in ("linger", "after") else 0.0
        ofd = OfdClient(drive, net.connector(), ofd_at[0], ofd_at[1], clock, linger_s=linger)
    reg = Register(drive, Journal(storage), clock, dict(PROFILE), storage, ofd, SETTINGS)
    agent = Agent(reg, _Quiet(), Outbox(storage, clock), "bench", "hop")
    if variant not in ("image", "after"):
        reg.images = None
    keep_status = variant in ("status", "after")
    _register(reg)
    agent.outbox.use_drive(reg.fn)
    status = drive.status
    reads = [0]

    def counted() -> dict:  # type: ignore[type-arg]
        reads[0] += 1
        return status()

    drive.status = counted  # type: ignore[method-assign]
    published = reg._status()["last_fd"]
    calls0 = drive.calls
    t0 = time.process_time()
    r0 = time.thread_time()
    for i in range(receipts):
        r = reg.handle(request(f"hop-{variant}-{i}", 1))
        if r["status"] != "made":
            raise RuntimeError(f"receipt not made: {r}")
        reg.ack(f"hop-{variant}-{i}")
        for fd in range(published + 1, r["fd"] + 1):  # the receipt and a shift opened for it
            if agent._document(fd) is None:
                raise RuntimeError(f"no document {fd}")
        published = r["fd"]
        for _ in range(ROUNDS_PER_RECEIPT):
            _round(reg, keep_status)
        # then the rounds until the OFD has every document (the agent's loop runs them at
        # the pace step() asks for; the wait for the OFD's answer costs no CPU here)
        deadline = time.monotonic() + 10
        while ofd is not None and not _delivered(ofd):
            if time.monotonic() > deadline:
                raise RuntimeError(f"the OFD took no receipt: {ofd.status()}")
            wait = _round(reg, keep_status)
            if wait:
                time.sleep(min(wait, 0.01))
    fig.runtime_s += time.thread_time() - r0
    fig.cpu_s += time.process_time() - t0
    fig.receipts += receipts
    fig.commands += drive.calls - calls0
    fig.status_reads += reads[0]
    storage.close()


def _round(reg: Register, keep_status: bool) -> float:
    # One service round as the agent runs it; the clock seconds the OFD client asks to wait.
    calls = reg.drive.calls
    out = reg.service()
    if not keep_status and reg.drive.calls != calls:
        reg._st = None  # the previous rule: any drive command in the round drops 30h
    reg._status()  # what the next round or request reads first
    wait = out.get("ofd")
    return float(wait) if isinstance(wait, (int, float)) else 0.0


def _delivered(ofd: OfdClient) -> bool:
    st = ofd.status()
    return bool(st["state"] == "idle" and st["unsent"] == 0)


def measure(
    receipts: int = 100, rounds: int = 3, ofd: bool = True, variants: tuple[str, ...] = VARIANTS
) -> list[HopFigures]:
    """Each variant `rounds` times, `receipts` receipts a round, alternated; with the OFD
    exchange of every document unless `ofd` is false. `variants`: VARIANTS (stop 21's) or
    PASS3_VARIANTS (the third pass's), the first the base of the ratios."""
    figs = {v: HopFigures(v) for v in variants}
    with ofd_server() if ofd else _none() as at:
        for _ in range(rounds):
            for v in variants:
                _one(v, receipts, figs[v], at)
    return [figs[v] for v in variants]


@contextmanager
def _none() -> Iterator[None]:
    yield None
