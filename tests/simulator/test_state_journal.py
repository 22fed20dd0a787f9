"""The drive simulator's state journal (simulator/fn/state.py StateStore): appended per
document, compacted now and then; a torn tail or a killed process loses nothing completed and
invents nothing."""

from __future__ import annotations

import hashlib
import os
import random
import signal
import subprocess
import sys
from pathlib import Path

from simulator.fn import DriveModel
from simulator.fn.state import DriveState, StateStore, encode_state
from tests.simulator.kkt import FAST, make_drive, text, tlv

ROOT = Path(__file__).resolve().parents[2]


class _Recording(StateStore):
    """The store, noting the file's size and the state after every save it completed."""

    def __init__(self, path: Path, **kw: int) -> None:
        super().__init__(path, durable=False, **kw)
        self.after: list[tuple[int, bytes]] = []

    def save(self, state: DriveState) -> None:
        super().save(state)
        self.after.append((self.path.stat().st_size, encode_state(state)))


def _a_day(path: Path, **kw: int) -> _Recording:
    store = _Recording(path, **kw)
    drive, kkt, _ = make_drive(state_file=store)
    kkt.register()
    kkt.open_shift()
    for i in range(6):
        kkt.receipt(total=100 + i, data=text(1030, f"Товар {i}") + tlv(1079, b"\x10\x27"))
    kkt.ok(0x21, connected=1)
    for _ in range(3):
        kkt.deliver_one()  # OFD receipts: journal lines with "k"
    kkt.close_shift()
    assert drive.state.last_fd == 9
    return store


def _expected(store: _Recording, cut: int) -> tuple[int, bytes]:
    return max((a for a in store.after if a[0] <= cut), key=lambda a: a[0])


def test_a_torn_tail_keeps_every_completed_save_and_nothing_after(tmp_path: Path) -> None:
    store = _a_day(tmp_path / "fn.json")
    # the first save wrote the snapshot, then only appends
    assert store.compactions == 1 and store.appends > 10
    raw = store.path.read_bytes()
    first = store.after[0][0]
    cuts = {len(raw)}
    for size, _ in store.after:
        cuts |= {size - 1, size, size + 1}
    rng = random.Random(8)
    cuts |= {rng.randrange(first, len(raw)) for _ in range(150)}
    for n, cut in enumerate(sorted(c for c in cuts if first <= c <= len(raw))):
        junk = (b"", b"\x00" * 37, b"deadbeef {}\n", bytes(rng.randrange(256) for _ in range(50)))
        tail = junk[n % len(junk)]
        path = tmp_path / f"cut-{cut}.json"
        path.write_bytes(raw[:cut] + tail)
        size, state = _expected(store, cut)
        loaded = StateStore(path).load()
        assert loaded is not None and encode_state(loaded) == state, cut
        assert path.stat().st_size == size  # the torn tail is cut off before any append
        # the drive works on from there, and the next load sees its new document
        drive, kkt, _ = make_drive(state_file=StateStore(path, durable=False))
        last = drive.state.last_fd
        if drive.state.shift_open:
            kkt.receipt(total=7)
        else:
            kkt.open_shift()
        again = StateStore(path).load()
        assert again is not None and again.last_fd == last + 1
        assert encode_state(again) == encode_state(drive.state)
        path.unlink()


def test_compaction_keeps_the_same_state_and_bounds_the_file(tmp_path: Path) -> None:
    store = _a_day(tmp_path / "fn.json", compact_bytes=2048)
    assert store.compactions > 1
    loaded = StateStore(store.path).load()
    assert loaded is not None and encode_state(loaded) == store.after[-1][1]
    snapshot = len(store.path.read_bytes().split(b"\n", 1)[0]) + 1
    assert store.path.stat().st_size <= snapshot + max(snapshot, 2048)
    assert not list(tmp_path.glob("*.tmp"))


def test_an_old_single_json_state_file_loads_and_is_rewritten_as_a_journal(
    tmp_path: Path,
) -> None:
    store = _a_day(tmp_path / "fn.json")
    path = tmp_path / "old.json"
    path.write_bytes(store.after[-1][1])  # the format before the journal
    drive, kkt, _ = make_drive(state_file=StateStore(path, durable=False))
    assert encode_state(drive.state) == store.after[-1][1]
    kkt.open_shift()
    assert not path.read_bytes().startswith(b"{")
    again = DriveModel(FAST, state_file=path)
    assert again.state.last_fd == 10


_CHILD = """
import hashlib, sys
from simulator.fn.state import StateStore
from tests.simulator.kkt import make_drive
drive, kkt, _ = make_drive(state_file=StateStore(sys.argv[1], compact_bytes=4096))
if drive.state.last_fd == 0:
    kkt.register()
    kkt.open_shift()
print("ready", drive.state.last_fd, flush=True)
n = 0
while True:
    n += 1
    fd = kkt.receipt(total=n)["fd"]
    print(fd, hashlib.sha256(drive.state.document(fd).stlv).hexdigest(), flush=True)
"""


def test_a_killed_drive_process_keeps_every_document_it_answered(tmp_path: Path) -> None:
    # SIGKILL at a random moment of a drive making receipts as fast as it can (fsync per
    # document, a compaction every ~4 KB): every document it answered for is on file with
    # the same bytes; at most the one in flight is there besides; the next start goes on.
    path = tmp_path / "fn.json"
    rng = random.Random(3)
    answered: dict[int, str] = {}
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    for _ in range(4):
        child = subprocess.Popen(
            [sys.executable, "-c", _CHILD, str(path)],
            stdout=subprocess.PIPE,
            env=env,
            cwd=ROOT,
        )
        assert child.stdout is not None
        ready = child.stdout.readline().split()
        assert ready[0] == b"ready" and int(ready[1]) >= max(answered, default=0)
        for _ in range(rng.randrange(5, 60)):
            number, sha = child.stdout.readline().split()
            answered[int(number)] = sha.decode()
        os.kill(child.pid, signal.SIGKILL)
        for line in child.stdout.read().splitlines():
            parts = line.split()
            if len(parts) == 2:  # a line cut by the kill is no answer
                answered[int(parts[0])] = parts[1].decode()
        child.wait()
        state = StateStore(path).load()
        assert state is not None
        for fd, digest in answered.items():
            doc = state.document(fd)
            assert doc is not None and hashlib.sha256(doc.stlv).hexdigest() == digest, fd
        assert max(answered) <= state.last_fd <= max(answered) + 1
