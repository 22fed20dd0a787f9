"""Power-cut properties of firmware.journal over firmware.flashmodel (CPython, hypothesis).

A small register runtime drives the journal as the real one will (receive, begin before the
drive, make on the drive then journal it, fail, report, watermark reports, reconcile after a
restart) while the flash model cuts the power between calls, inside appends (torn records,
junk after them) and inside compactions (every phase of the atomic replace). An oracle keeps,
per request, every step the runtime attempted and the last one that surely reached flash (a
synced step, or any step before a barrier that completed). After every cut it asserts:

- every request the journal knows was really received, and its step is one the request
  reached (same fields), never one it did not;
- no synced step is lost: the recovered step is the synced one or a later attempted one;
- a request is forgotten only after it was reported and keep_done others were reported after
  it (the idempotency window);
- the drive never makes two documents for one request (the runtime begins only from what the
  journal says and reconciles BEGUN requests with the drive's documents);
- the file never passes its bound; over thousands of requests it stays under it.

Wear per receipt (no faults, UUID ids, default limits) is measured and bounded, and the
figures are the ones in docs/journal.md.
"""

from __future__ import annotations

import random
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from firmware.flashmodel import FlashModel, PowerCut
from firmware.journal import (
    BEGUN,
    FAILED,
    MADE,
    MAX_ID,
    MAX_PAYLOAD,
    MAX_REASON,
    RECEIVED,
    REPORTED,
    Entry,
    Journal,
    encode_record,
)

Event = tuple[int, Any]  # (step, the fields that step recorded)
NAME = "journal"


def event_of(e: Entry) -> Event:
    """The oracle's view of an entry's current step."""
    if e.step == RECEIVED:
        return (RECEIVED, e.ref)
    if e.step == BEGUN:
        return (BEGUN, (e.doc_type, e.fd_before))
    if e.step == MADE:
        return (MADE, (e.fd, e.fp))
    if e.step == FAILED:
        return (FAILED, (e.reason, e.retryable))
    return (REPORTED, (e.fd, e.reason))


class Runtime:
    """A register runtime in miniature plus the oracle that judges the journal."""

    def __init__(self, seed: int, limits: dict[str, int], crash_rate: float = 0.0) -> None:
        self.rng = random.Random(seed)
        self.flash = FlashModel(random.Random(seed ^ 0x5EED))
        self.limits = limits
        self.crash_rate = crash_rate
        self.j = Journal(self.flash, **limits)
        self.hist: dict[str, list[Event]] = {}
        self.floor: dict[str, int] = {}  # index of the last step surely on flash
        self.unsynced: list[tuple[str, int]] = []
        self.order: list[str] = []  # report order (attempted), for the forgetting rule
        self.refs: dict[str, str] = {}
        self.drive: dict[int, str] = {}  # FD number -> request it was made for
        self.last_fd = 0
        self.counter = 0
        self.max_size = 0
        self.stats = {"restarts": 0, "in_append": 0, "in_write": 0, "torn": 0, "between": 0}

    # -- calling the journal ------------------------------------------------------------

    def _call(self, events: list[tuple[str, Event]], barrier: bool, fn: Any, *args: Any) -> bool:
        """Call fn(*args), which records events; restart on a power cut. True if it ran."""
        compactions = self.j.compactions
        idx = []
        for rid, ev in events:
            self.hist.setdefault(rid, []).append(ev)
            idx.append((rid, len(self.hist[rid]) - 1))
            if ev[0] == REPORTED:
                self.order.append(rid)
        try:
            fn(*args)
        except PowerCut as cut:
            self.stats["in_write" if "write(" in str(cut) else "in_append"] += 1
            self.restart()
            return False
        if barrier or self.j.compactions != compactions:
            for rid, i in self.unsynced + idx:
                self.floor[rid] = max(self.floor.get(rid, -1), i)
            self.unsynced = []
        else:
            self.unsynced.extend(idx)
        self.check_size()
        return True

    def maybe_arm(self) -> None:
        if self.crash_rate and self.rng.random() < self.crash_rate:
            self.flash.crash_at(self.rng.randint(1, 3))

    # -- the runtime's steps --------------------------------------------------------------

    def receive(self) -> None:
        self.counter += 1
        rid = "%08x-%04d-req" % (self.rng.getrandbits(32), self.counter)
        ref = "sha-%06x" % self.rng.getrandbits(24)
        if self.j.live >= self.j.max_live:
            return
        self.refs[rid] = ref
        self._call([(rid, (RECEIVED, ref))], False, self.j.received, rid, ref)

    def duplicate(self, rid: str) -> None:
        writes = self.flash.writes
        e = self.j.received(rid, self.refs[rid])
        assert e is not None and e.rid == rid and self.flash.writes == writes

    def begin(self, rid: str) -> None:
        dt = self.rng.choice([3, 3, 3, 31, 2, 5])
        self._call([(rid, (BEGUN, (dt, self.last_fd)))], True, self.j.begun, rid, dt, self.last_fd)

    def make(self, rid: str) -> None:
        """The drive makes the document, then the journal hears of it (unless a cut)."""
        e = self.j.get(rid)
        assert e is not None and e.step == BEGUN
        assert rid not in self.drive.values(), "the runtime would make a second document"
        self.last_fd += 1
        self.drive[self.last_fd] = rid
        self.journal_made(rid, e.doc_type or 0, self.last_fd)

    def journal_made(self, rid: str, dt: int, fd: int) -> bool:
        fp = (fd * 2654435761) & 0xFFFFFFFF
        return self._call([(rid, (MADE, (fd, fp)))], True, self.j.made, rid, dt, fd, fp, 7, fd)

    def fail(self, rid: str) -> None:
        reason = self.rng.choice(["нет бумаги", "drive 0x14", "Неверная сумма чека", "x" * 90])
        retry = self.rng.random() < 0.5
        ev = (FAILED, (reason[:MAX_REASON], retry))
        self._call([(rid, ev)], True, self.j.failed, rid, reason, retry)

    def report(self, rid: str) -> None:
        e = self.j.get(rid)
        assert e is not None
        self._call([(rid, (REPORTED, (e.fd, e.reason)))], False, self.j.reported, rid)

    def report_upto(self) -> None:
        made = [e for e in self.j.state() if e.step == MADE]
        if not made:
            return
        w = self.rng.choice([e.fd for e in made if e.fd is not None])
        done = [e for e in made if e.fd is not None and e.fd <= w]
        events = [(e.rid, (REPORTED, (e.fd, None))) for e in done]
        self._call(events, False, self.j.reported_upto, w)

    def sync(self) -> None:
        self._call([], True, self.j.sync)

    def step(self) -> None:
        """One random runtime action."""
        self.maybe_arm()
        live = self.j.state()
        r = self.rng.random()
        if r < 0.02:
            self.cut()
            return
        if r < 0.25 or not live:
            self.receive()
            return
        e = self.rng.choice(live)
        if r < 0.28:
            self.duplicate(e.rid)
        elif r < 0.3:
            self.sync()
        elif r < 0.32:
            self.report_upto()
        elif e.step == RECEIVED and self.rng.random() < 0.9:
            self.begin(e.rid)
        elif e.step == BEGUN and self.rng.random() < 0.9:
            self.make(e.rid)
        elif e.step == RECEIVED or e.step == BEGUN:
            self.fail(e.rid)
        elif e.step == FAILED and e.retryable and self.rng.random() < 0.3:
            self.begin(e.rid)
        else:
            self.report(e.rid)

    # -- power ------------------------------------------------------------------------------

    def cut(self) -> None:
        self.stats["between"] += 1
        self.flash.cut_power()
        self.restart()

    def restart(self) -> None:
        """Power on, reopen the journal, judge it, then reconcile as the runtime will."""
        self.stats["restarts"] += 1
        self.flash.cut_power()  # a no-op when the cut already happened inside a call
        self.flash.power_on()
        self.j = Journal(self.flash, **self.limits)
        self.stats["torn"] += 1 if self.j.dropped_bytes else 0
        assert self.j.lost_records == 0, "damage that is not a torn tail"
        self.check_recovered()
        self.reconcile()

    def reconcile(self) -> None:
        """BEGUN requests: the drive's documents say whether they were made (30h/40h)."""
        for e in self.j.state():
            if e.step != BEGUN:
                continue
            fds = [fd for fd, rid in self.drive.items() if rid == e.rid]
            assert len(fds) <= 1
            if fds:
                assert e.fd_before is not None and fds[0] > e.fd_before
                self.maybe_arm()
                if not self.journal_made(e.rid, e.doc_type or 0, fds[0]):
                    return  # cut again: that restart reconciled everything

    # -- the oracle -------------------------------------------------------------------------

    def check_size(self) -> None:
        size = len(self.flash.live.get(NAME, b""))
        if not self.j._rewrite:  # else a torn tail is still there, until the next write
            assert size == self.j.size
        k = self.j.max_bytes
        assert self.j.size <= max(k, self.j._base + k // 2)
        self.max_size = max(self.max_size, self.j.size)

    def check_recovered(self) -> None:
        j = self.j
        known = {e.rid: e for e in j.state()}
        for rid in j.finished():
            e = j.get(rid)
            assert e is not None
            known[rid] = e
        for rid, e in known.items():
            assert rid in self.hist, "journal invented request %s" % rid
            assert e.ref == self.refs[rid]
        keep = self.limits.get("keep_done", 32)
        for rid, h in self.hist.items():
            fl = self.floor.get(rid, -1)
            e = known.get(rid)
            if e is None:
                if fl < 0:
                    continue  # never on flash for sure: losing it is allowed
                assert h[-1][0] == REPORTED, "lost %s, synced at %r (%r)" % (rid, h[fl], h)
                pos = len(self.order) - 1 - self.order[::-1].index(rid)
                assert len(self.order) - 1 - pos >= keep, "forgot %s too early" % rid
                continue
            got = event_of(e)
            ok = [i for i in range(max(fl, 0), len(h)) if h[i] == got]
            assert ok, "request %s recovered at %r; history %r, synced up to %d" % (rid, got, h, fl)
        # The runtime goes on from what the journal says: that is now on flash.
        self.hist = {rid: [event_of(e)] for rid, e in known.items()}
        self.floor = {rid: 0 for rid in known}
        self.unsynced = []
        self.order = j.finished()


@settings(max_examples=300, deadline=None)
@given(
    ops=st.lists(
        st.tuples(st.sampled_from("aaaswrc"), st.sampled_from(["f", "g"]), st.binary(max_size=12)),
        max_size=30,
    ),
    seed=st.integers(0, 2**32 - 1),
)
def test_flash_model_keeps_synced_bytes_and_a_prefix_of_the_rest(
    ops: list[tuple[str, str, bytes]], seed: int
) -> None:
    """The model itself: after a cut (between calls or inside an append) a file holds its
    synced content, then a prefix of the appends made since (the last maybe torn and followed
    by junk of at most the missing length); reads before the cut see every call."""
    flash = FlashModel(random.Random(seed))
    synced: dict[str, bytes] = {}
    live: dict[str, bytes] = {}
    removed: set[str] = set()  # removed since the last barrier: a cut may or may not keep it

    def judge() -> None:
        for n in ("f", "g"):
            if n in removed:
                continue  # the removal may or may not have reached the flash
            got = flash.read(n)
            base = synced.get(n)
            if base is None:
                if got is None:
                    continue  # created since the barrier, and none of it survived
                base = b""
            assert got is not None and got.startswith(base), "synced bytes lost"
            tail = got[len(base) :]
            pending = live.get(n, b"")[len(base) :]
            common = 0
            while common < len(tail) and tail[common] == pending[common]:
                common += 1
            # a prefix of the later appends, then at most one torn append's junk (<= 12 bytes)
            assert len(tail) <= len(pending) and len(tail) - common <= 12

    for op, name, data in ops:
        if op == "a":
            flash.append(name, data)
            live[name] = live.get(name, b"") + data
        elif op in "ws":
            if op == "w":
                flash.write(name, data)
                live[name] = data
            else:
                flash.sync()
            synced = dict(live)
            removed = set()
        elif op == "r":
            flash.remove(name)
            live.pop(name, None)
            removed.add(name)
        else:
            flash.crash_at(1)
            try:
                flash.append(name, data)
            except PowerCut:
                pass
            else:
                raise AssertionError("crash_at(1) did not cut")
            live[name] = live.get(name, b"") + data
            flash.power_on()
            judge()
            live = {}
            for n in ("f", "g"):
                got = flash.read(n)
                if got is not None:
                    live[n] = got
            synced = dict(live)
            removed = set()
        assert flash.read(name) == live.get(name)
    flash.cut_power()
    flash.power_on()
    judge()


SMALL = {"max_live": 8, "keep_done": 3, "max_done": 6, "max_bytes": 1024}


class JournalMachine(RuleBasedStateMachine):
    """Hypothesis chooses the runtime's actions and where the power goes out."""

    rt: Runtime

    @initialize(seed=st.integers(0, 2**32 - 1))
    def boot(self, seed: int) -> None:
        self.rt = Runtime(seed, SMALL)

    @rule()
    def receive(self) -> None:
        self.rt.receive()

    @rule(data=st.data())
    def advance(self, data: st.DataObject) -> None:
        live = self.rt.j.state()
        if not live:
            return
        e = data.draw(st.sampled_from(live))
        rt = self.rt
        if e.step == RECEIVED and data.draw(st.booleans()):
            rt.begin(e.rid)
        elif e.step == BEGUN and data.draw(st.integers(0, 4)):
            rt.make(e.rid)
        elif e.step == RECEIVED or e.step == BEGUN:
            rt.fail(e.rid)
        elif e.step == FAILED and e.retryable and data.draw(st.booleans()):
            rt.begin(e.rid)
        else:
            rt.report(e.rid)

    @rule()
    def report_upto(self) -> None:
        self.rt.report_upto()

    @rule(data=st.data())
    def duplicate(self, data: st.DataObject) -> None:
        rids = [e.rid for e in self.rt.j.state()] + self.rt.j.finished()
        if rids:
            self.rt.duplicate(data.draw(st.sampled_from(rids)))

    @rule()
    def sync(self) -> None:
        self.rt.sync()

    @rule()
    def cut_between_calls(self) -> None:
        self.rt.cut()

    @rule(n=st.integers(1, 4))
    def cut_inside_a_write(self, n: int) -> None:
        self.rt.flash.crash_at(n)

    @invariant()
    def bounded(self) -> None:
        if hasattr(self, "rt"):
            assert self.rt.j.live <= SMALL["max_live"]
            assert len(self.rt.j.finished()) <= SMALL["max_done"] + SMALL["max_live"]


JournalMachine.TestCase.settings = settings(
    max_examples=150,
    stateful_step_count=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestJournalMachine = JournalMachine.TestCase


def test_thousands_of_requests_with_power_cuts() -> None:
    """Long runs: every cut judged by the oracle, the file under its bound all along."""
    totals = dict.fromkeys(["restarts", "in_append", "in_write", "torn", "between"], 0)
    for seed in range(3):
        rt = Runtime(seed, SMALL, crash_rate=0.03)
        while rt.counter < 1500:
            rt.step()
        for k, v in rt.stats.items():
            totals[k] += v
        assert rt.max_size <= worst_case_bound(SMALL)
        docs = list(rt.drive.values())
        assert len(docs) == len(set(docs)), "a request was fiscalised twice"
    # every kind of cut really happened, many times
    assert totals["in_append"] > 100 and totals["in_write"] > 20 and totals["between"] > 50
    assert totals["torn"] > 30


def test_size_bound_with_default_limits_and_the_fleet_offline() -> None:
    """Nothing reported for a while (fleet offline): max_live requests pile up, still bounded."""
    limits = {"max_live": 64, "keep_done": 32, "max_done": 64, "max_bytes": 16384}
    flash = FlashModel(random.Random(1))
    j = Journal(flash, **limits)
    biggest = 0
    fd = 0

    def check() -> int:
        size = len(flash.live[NAME])
        assert size == j.size <= max(16384, j._base + 8192)
        return max(biggest, size)

    for round_ in range(40):
        rids = ["%s-%02d-%02d" % ("0f8fad5b-d9cb-469f-a165-7086772", round_, i) for i in range(64)]
        for rid in rids:
            j.received(rid, "sha256:" + "ab" * 28)
            j.begun(rid, 3, fd)
            fd += 1
            j.made(rid, 3, fd, 4000000000 + fd, 1000, fd)
            biggest = check()
        j.reported_upto(fd)
        biggest = check()
    # 64 live requests with 36-char ids and 63-char refs compact to ~9.7 KiB, so the file
    # reaches ~17.5 KiB at most before the next compaction; the worst case is ~64.5 KiB.
    assert 16384 < biggest <= 18 * 1024
    assert biggest <= worst_case_bound(limits)


def worst_case_bound(limits: dict[str, int]) -> int:
    """The largest the file can get: max(K, C_max + K // 2)."""
    big = "\x00" * MAX_REASON  # escaped as \\u0000 by CPython's json: 6 bytes a char
    rid = "x" * MAX_ID
    u = 0xFFFFFFFF
    snap = encode_record([6, rid, FAILED, rid, u, u, u, u, u, u, big, 1])
    header = encode_record([0, 1, u, u])
    assert len(snap) <= MAX_PAYLOAD + 6
    c_max = len(header) + (limits["max_live"] + limits["keep_done"]) * len(snap)
    return max(limits["max_bytes"], c_max + limits["max_bytes"] // 2)


def test_worst_case_bound_figures() -> None:
    """The figures docs/journal.md quotes."""
    default = {"max_live": 64, "keep_done": 32, "max_done": 64, "max_bytes": 16384}
    assert worst_case_bound(default) == 65_825
    assert worst_case_bound(SMALL) == 7_145


def measure_wear(n: int = 2000) -> dict[str, float]:
    """Flash traffic per receipt with default limits, UUID ids, no faults."""
    flash = FlashModel(random.Random(0))
    j = Journal(flash)
    rng = random.Random(7)
    for i in range(1, n + 1):
        rid = "%08x-%04x-4%03x-a%03x-%012x" % (
            rng.getrandbits(32),
            rng.getrandbits(16),
            rng.getrandbits(12),
            rng.getrandbits(12),
            rng.getrandbits(48),
        )
        j.received(rid, "sha1:%016x" % rng.getrandbits(64))
        j.begun(rid, 3, i - 1)
        j.made(rid, 3, i, rng.getrandbits(32), 1 + i // 500, 1 + i % 500)
        j.reported(rid)
    return {
        "writes": flash.writes / n,
        "bytes": flash.bytes_written / n,
        "syncs": flash.syncs / n,
        "compactions": j.compactions,
        "max_size": len(flash.live[NAME]),
    }


def test_wear_per_receipt_is_bounded() -> None:
    w = measure_wear()
    # 4 appends + a compaction every 32 receipts (it replaces the append that triggered it)
    assert 4.0 <= w["writes"] <= 4.0
    assert w["syncs"] <= 2.0 + 1 / 32 + 0.001  # begun and made; compaction is its own barrier
    assert 300 <= w["bytes"] <= 500
    assert w["max_size"] <= 16384


if __name__ == "__main__":
    print(measure_wear())
