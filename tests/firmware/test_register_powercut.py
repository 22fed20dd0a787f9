"""Exactly once under power cuts: the register runtime over a persistent simulated drive and
the flash model (CPython).

Hundreds of random cut points, each followed by a restart (a new board: driver, journal and
Register over the same drive state file and flash; recover(); the fleet re-delivers what has
no final answer, with the same ids):

- the drive loses power after a random number of received bytes (mid-frame, mid-07h, inside
  a make command) and the board with it (`FaultPlan.power_cut(after_bytes=n)`);
- the drive loses power in the middle of a command's answer (`power_cut(command=c,
  after_bytes=n)`): the command ran, its answer is cut;
- the flash is cut inside a write (`FlashModel.crash_at(k)`: a torn append, any phase of an
  atomic replace), and the drive with it;
- the power goes between two requests (unsynced appends lost or torn);
- the drive alone goes away and comes back while the board keeps running (the runtime sees
  time-outs and lost make answers: "unknown", then reconciliation in the same session);
- the fleet loses a result before storing it (it must be reported again).

The oracle knows every request's unique total, so it can count the drive's documents per
request in the archive. It checks, after every restart and at the end, that no request ever
has two documents; at the end, that every request ended as exactly one document (the result
the fleet stored names that FD, with that total) or a clean failure (no document at all),
that every settlement report in the archive belongs to exactly one request, that the other
unclaimed documents are the runtime's own shift documents, that all reports of a request
agree, that the journal file stayed bounded, and that the counters agree with the drive.
"""

from __future__ import annotations

import copy
import random
from pathlib import Path
from typing import Any

from firmware.flashmodel import PowerCut
from tests.firmware.test_register import Rig, drive_config, registration_request, sale

# Answers worth cutting in the middle of (the commands of documents, status, archive).
_TX_COMMANDS = (0x30, 0x30, 0x15, 0x07, 0x07, 0x16, 0x16, 0x40, 0x10, 0x11, 0x12, 0x13, 0x14,
                0x18, 0x19, 0x06, 0x45, 0x46, 0x17)  # fmt: skip
_RECEIPT_DOCS = (3, 4, 31, 41)
JOURNAL_LIMITS = {"max_live": 32, "keep_done": 8, "max_done": 16, "max_bytes": 2048}
JOURNAL_BOUND = 8192  # bytes; the journal's own bound for these limits is about 6 KB


class BoardPort:
    """The register's UART. When the drive loses power, so does the board (PowerCut at the
    next byte), unless the test cuts the drive alone."""

    def __init__(self, inner: Any, run: PowerRun) -> None:
        self.inner = inner
        self.run = run

    def _alive(self) -> None:
        if self.run.board_follows_drive and not self.run.rig.model.powered:
            raise PowerCut("the drive's power went, and the board's")

    def write(self, buf: bytes | memoryview) -> int:
        self._alive()
        n: int = self.inner.write(buf)
        return n

    def readinto(self, buf: bytearray) -> int:
        self._alive()
        n: int = self.inner.readinto(buf)
        return n


class PowerRun:
    """The register, the fleet and the oracle, with a power cut in every round."""

    def __init__(self, tmp: Path, seed: int) -> None:
        self.rng = random.Random(seed)
        self.board_follows_drive = True
        self.in_flight: str | None = None
        self.rig = Rig(
            tmp,
            drive_config(),
            seed=seed,
            journal_limits=JOURNAL_LIMITS,
            wrap_port=lambda port: BoardPort(port, self),
        )
        self.rig.start(register=False)
        self.requests: dict[str, dict[str, Any]] = {"reg-1": registration_request()}
        self.totals: dict[int, str] = {}  # receipt total -> request id
        self.queue: list[str] = []
        self.final: dict[str, dict[str, Any]] = {}
        self.reports: dict[str, list[dict[str, Any]]] = {}
        self.made_sales: list[tuple[int, int]] = []  # (fd, total) of sales the fleet stored
        self.counter = 0
        self.stats: dict[str, int] = {
            "rounds": 0,
            "restarts": 0,
            "cut_drive_rx": 0,
            "cut_drive_answer": 0,
            "cut_flash_write": 0,
            "cut_between": 0,
            "drive_only": 0,
            "lost_results": 0,
            "deliveries": 0,
            "unknown": 0,
            "retryable": 0,
            "recovered": 0,
            "duplicates": 0,
            "torn_journal": 0,
        }
        self.max_journal = 0
        self.take(self.rig.reg.handle(copy.deepcopy(self.requests["reg-1"])))
        assert self.final["reg-1"]["status"] == "made"

    # -- the board ---------------------------------------------------------------------------

    def restart(self) -> None:
        """Power is back: a new board over the same drive and flash; recover; report."""
        rig = self.rig
        rig.flash.cut_power(self.rng)  # unsynced appends: lost, or torn
        rig.endpoint.power_off()
        rig.endpoint.faults = _fresh_faults()
        _disarm(rig)
        rig.flash.power_on()
        rig.endpoint.power_on()
        rig.boot()
        if self.in_flight is not None and self.in_flight not in self.final:
            if self.in_flight not in self.queue:
                self.queue.append(self.in_flight)  # no answer came: the fleet re-sends it
        self.in_flight = None
        if rig.journal.dropped_bytes:
            self.stats["torn_journal"] += 1
        assert rig.journal.lost_records == 0
        self.stats["restarts"] += 1
        self.check_never_two()
        reg = rig.reg
        try:
            results = reg.recover()
        except PowerCut:  # an armed fault may hit recovery too: cut again
            self.restart()
            return
        reg.trust_time("fleet")
        for r in results:
            self.take(r)

    # -- the fleet ----------------------------------------------------------------------------

    def new_request(self) -> str:
        self.counter += 1
        i = self.counter
        rid = f"r{i:05d}-{self.rng.getrandbits(24):06x}"
        roll = self.rng.random()
        req: dict[str, Any]
        if roll < 0.06:
            req = {"id": rid, "kind": "report"}
        elif roll < 0.11:
            req = sale(rid, 100000 + i, items=2)
            req["items"][0]["price"] = -1  # refused by validation: no document, no journal
        elif roll < 0.21 and self.made_sales:
            fd, orig = self.rng.choice(self.made_sales)
            req = sale(rid, 40000 + i, operation="sale_return", original={"fd": fd})
            assert req["total"] <= orig
        elif roll < 0.27:
            req = sale(rid, 30000 + i, correction={"type": "self", "original_date": "2024-01-10"})
        elif roll < 0.32:
            req = sale(rid, 70000 + i, operation="expense", pay="electronic")
        else:
            req = sale(rid, 100000 + i, items=self.rng.choice((1, 1, 2, 3)), pay="cash")
        if "total" in req and req["items"][0]["price"] > 0:
            self.totals[req["total"]] = rid
        self.requests[rid] = req
        self.queue.append(rid)
        return rid

    def take(self, r: dict[str, Any]) -> None:
        """The fleet stores a result (and acknowledges it), or re-queues the request."""
        rid = r["id"]
        assert rid in self.requests, r
        self.reports.setdefault(rid, []).append(r)
        if r.get("recovered"):
            self.stats["recovered"] += 1
        if r.get("duplicate"):
            self.stats["duplicates"] += 1
        final = r["status"] == "made" or (r["status"] == "failed" and not r["retryable"])
        if not final:
            self.stats["unknown" if r["status"] == "unknown" else "retryable"] += 1
            if any(e["code"].startswith("time") for e in r["errors"]):
                self.rig.reg.trust_time("fleet")  # the fleet confirms the time again
            if rid not in self.queue:
                self.queue.append(rid)
            return
        if rid in self.final:
            assert _same(self.final[rid], r), (self.final[rid], r)
        self.final[rid] = r
        if rid in self.queue:
            self.queue.remove(rid)
        if r["status"] == "made" and self.requests[rid].get("operation") == "sale":
            if "correction" not in self.requests[rid]:
                self.made_sales.append((r["fd"], r["total"]))
        self.rig.reg.ack(rid)

    # -- faults -------------------------------------------------------------------------------

    def arm(self) -> str:
        rig = self.rig
        rig.endpoint.faults = _fresh_faults()
        _disarm(rig)
        self.board_follows_drive = True
        kind = self.rng.choice(
            ("drive_rx", "drive_rx", "drive_rx", "drive_answer", "drive_answer", "flash",
             "flash", "between", "drive_only", "lost_result")
        )  # fmt: skip
        if kind == "drive_rx":
            rig.endpoint.faults.power_cut(after_bytes=self.rng.randrange(0, 1600))
        elif kind == "drive_only":
            # the board keeps running: a cut while receiving, or inside a make's answer
            # (the document is made, the answer lost, and 30h does not answer either)
            self.board_follows_drive = False
            if self.rng.random() < 0.5:
                rig.endpoint.faults.power_cut(after_bytes=self.rng.randrange(0, 1600))
            else:
                cmd = self.rng.choice((0x16, 0x16, 0x16, 0x12, 0x14, 0x19))
                rig.endpoint.faults.power_cut(command=cmd, after_bytes=self.rng.randrange(0, 8))
        elif kind == "drive_answer":
            cmd = self.rng.choice(_TX_COMMANDS)
            rig.endpoint.faults.power_cut(command=cmd, after_bytes=self.rng.randrange(0, 12))
        elif kind == "flash":
            rig.flash.crash_at(self.rng.randint(1, 8))
        return kind

    def deliver(self, rid: str, lose: bool = False) -> None:
        self.stats["deliveries"] += 1
        reg = self.rig.reg
        self.in_flight = rid
        r = reg.handle(copy.deepcopy(self.requests[rid]))
        self.in_flight = None
        if lose:
            self.stats["lost_results"] += 1
            if rid not in self.queue:
                self.queue.append(rid)  # no answer: the fleet re-sends it later
            return
        self.take(r)

    def round(self) -> None:
        self.stats["rounds"] += 1
        kind = self.arm()
        rig = self.rig
        limit = self.rng.randint(1, 6)
        try:
            for n in range(limit):
                if len(self.queue) < 3:
                    self.new_request()
                rid = self.queue.pop(0) if self.rng.random() < 0.8 else self.rng.choice(self.queue)
                if rid in self.queue:
                    self.queue.remove(rid)
                self.deliver(rid, lose=kind == "lost_result" and n == 0)
                self.check_journal()
                if self.rng.random() < 0.3:
                    rig.clock.advance(self.rng.randrange(60, 4 * 3600))
                if self.rng.random() < 0.1:
                    rig.reg.service()
                if kind == "drive_only" and not rig.model.powered:
                    self.stats["drive_only"] += 1
                    rig.endpoint.power_on()  # the drive is back; the board never went down
                    rig.endpoint.faults = _fresh_faults()
                    return
            if kind == "between":
                self.stats["cut_between"] += 1
                self.restart()
            elif kind == "lost_result":
                if self.rng.random() < 0.5:
                    self.restart()  # the outbox comes back through recover()
                else:
                    for r in rig.reg.outbox():
                        self.take(r)
        except PowerCut as cut:
            text = str(cut)
            if "append(" in text or "write(" in text:
                self.stats["cut_flash_write"] += 1
            elif kind == "drive_answer":
                self.stats["cut_drive_answer"] += 1
            else:
                self.stats["cut_drive_rx"] += 1
            self.restart()
        # a lost drive-only outage or an unfired fault leaves the drive as it is
        if not rig.model.powered:
            rig.endpoint.power_on()

    def settle_all(self) -> None:
        """No more faults: deliver until every request has a final answer."""
        rig = self.rig
        rig.endpoint.faults = _fresh_faults()
        _disarm(rig)
        rig.flash.crash_at(0)
        self.restart()
        for _ in range(50):
            if not self.queue:
                break
            for rid in list(self.queue):
                self.queue.remove(rid)
                self.deliver(rid)
            for r in rig.reg.outbox():
                self.take(r)
        assert not self.queue, self.queue
        for r in rig.reg.outbox():
            self.take(r)
        assert rig.journal.live == 0, rig.journal.state()

    # -- the oracle ---------------------------------------------------------------------------

    def check_journal(self) -> None:
        data = self.rig.flash.live.get("journal") or b""
        self.max_journal = max(self.max_journal, len(data))
        assert len(data) <= JOURNAL_BOUND, len(data)

    def check_never_two(self) -> None:
        seen: dict[int, int] = {}
        for doc in self.rig.docs():
            if doc.doc_type in _RECEIPT_DOCS:
                total = int.from_bytes(doc.record[14:19], "little")
                seen[total] = seen.get(total, 0) + 1
                assert seen[total] == 1, f"two documents for {self.totals.get(total)}"

    def check_end(self) -> dict[str, int]:
        docs = {d.fd: d for d in self.rig.docs()}
        by_total = {}
        for d in docs.values():
            if d.doc_type in _RECEIPT_DOCS:
                by_total[int.from_bytes(d.record[14:19], "little")] = d.fd
        claimed: dict[int, str] = {}
        outcomes = {"made": 0, "failed": 0, "invalid": 0, "reports": 0}
        for rid, req in self.requests.items():
            r = self.final[rid]  # every request has a final answer
            for other in self.reports[rid]:
                if other["status"] == "made":
                    assert other["fd"] == r["fd"], (rid, self.reports[rid])
            total = req.get("total")
            if r["status"] == "made":
                assert r["fd"] not in claimed, (rid, claimed[r["fd"]])
                claimed[r["fd"]] = rid
                doc = docs[r["fd"]]
                if req.get("kind") == "registration":
                    assert doc.doc_type == 1
                elif req.get("kind") == "report":
                    outcomes["reports"] += 1
                    assert doc.doc_type == 21
                else:
                    outcomes["made"] += 1
                    assert doc.doc_type in _RECEIPT_DOCS
                    assert by_total[total] == r["fd"]
            else:
                outcomes["invalid" if not r["retryable"] and _invalid(r) else "failed"] += 1
                if total is not None:
                    assert total not in by_total, (rid, r)
        for fd, d in docs.items():
            if fd not in claimed:
                # only the runtime's own shift documents are nobody's
                assert d.doc_type in (2, 5), (fd, d.doc_type)
        audit = self.rig.reg.audit()
        assert audit["ok"], audit
        return outcomes


def _invalid(r: dict[str, Any]) -> bool:
    return any(e["path"].startswith("items") for e in r["errors"])


def _same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    if a["status"] != b["status"]:
        return False
    return a["status"] != "made" or (a["fd"], a["fp"]) == (b["fd"], b["fp"])


def _fresh_faults() -> Any:
    from simulator.fn import FaultPlan

    return FaultPlan()


def _disarm(rig: Rig) -> None:
    # A receive-side cut armed but not reached must not carry over to the next round
    # (DriveEndpoint keeps the armed byte count privately).
    rig.endpoint._cut_at_rx = None


def run_power_cuts(tmp: Path, seed: int, rounds: int) -> tuple[dict[str, int], dict[str, int]]:
    run = PowerRun(tmp, seed)
    for _ in range(rounds):
        run.round()
    run.settle_all()
    outcomes = run.check_end()
    stats = dict(run.stats)
    stats["requests"] = len(run.requests)
    stats["documents"] = len(run.rig.docs())
    stats["max_journal_bytes"] = run.max_journal
    stats["cuts"] = (
        stats["cut_drive_rx"]
        + stats["cut_drive_answer"]
        + stats["cut_flash_write"]
        + stats["cut_between"]
        + stats["drive_only"]
    )
    return stats, outcomes


def test_hundreds_of_power_cuts_exactly_once(tmp_path: Path) -> None:
    stats, outcomes = run_power_cuts(tmp_path, seed=20240115, rounds=600)
    print(stats, outcomes)
    assert stats["cuts"] >= 300, stats
    for kind in ("cut_drive_rx", "cut_drive_answer", "cut_flash_write", "cut_between"):
        assert stats[kind] >= 20, (kind, stats)
    assert stats["drive_only"] >= 10 and stats["recovered"] >= 10, stats
    assert stats["torn_journal"] >= 5, stats
    assert outcomes["made"] >= 300 and outcomes["reports"] >= 10, outcomes


if __name__ == "__main__":
    import sys
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        seed = int(sys.argv[1]) if len(sys.argv) > 1 else 20240115
        print(run_power_cuts(Path(d), seed=seed, rounds=600))
