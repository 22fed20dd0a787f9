"""The register on the MQTT link (firmware/agent.py, firmware/outbox.py) with a simulated drive.

An in-memory MQTT client plays the broker's side: what the agent publishes is decoded with the
fleet's codec (protocol/mqtt), so every message is checked against the published schemas.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from firmware.agent import Agent, will
from firmware.ofd import OfdClient
from firmware.outbox import Outbox
from firmware.shared import link
from protocol.mqtt import codec
from tests.firmware.test_register import Rig, registration_request, sale

ROOT = "oblako/test"
SERIAL = "0001234567"


class FakeClient:
    """The MQTT client interface in memory: publish() records, deliver() plays the broker."""

    def __init__(self) -> None:
        self.on_message: Any = None
        self.connected = True
        self.connects = 1
        self.subs: list[str] = []
        self.out: list[tuple[str, bytes, bool]] = []
        self.inbox: list[tuple[str, bytes]] = []

    def subscribe(self, flt: str, qos: int = 1) -> None:
        self.subs.append(flt)

    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> int:
        self.out.append((topic, bytes(payload), retain))
        return len(self.out)

    def poll(self, timeout_s: float) -> int:
        n = 0
        while self.inbox:
            topic, payload = self.inbox.pop(0)
            self.on_message(topic, payload)
            n += 1
        return n

    def close(self) -> None:
        self.connected = False

    def taken(self, kind: str) -> list[dict[str, Any]]:
        """Published messages of a kind, decoded and validated by the fleet's codec."""
        found = []
        for topic, payload, _ in self.out:
            msg = codec.decode(ROOT, topic, payload)
            if msg.kind == kind:
                found.append(msg.payload)
        return found


def cmd(rid: str, action: str, request: dict[str, Any] | None = None, **kw: Any) -> bytes:
    c: dict[str, Any] = {"v": 1, "id": rid, "ttl": 3600, "issued_at": 0, "action": action}
    if request is not None:
        c["request"] = request
    c.update(kw)
    return json.dumps(c).encode()


class Board:
    def __init__(self, tmp: Path) -> None:
        self.rig = Rig(tmp)
        self.rig.start(register=False)
        self.client = FakeClient()
        self.boot_agent()

    def boot_agent(self) -> None:
        self.outbox = Outbox(self.rig.flash, self.rig.clock, window=4, resend_s=30)
        self.agent = Agent(self.rig.reg, self.client, self.outbox, ROOT, SERIAL, "1.0.0")

    def send(self, kind: str, payload: bytes) -> None:
        self.client.inbox.append((link.topic(ROOT, SERIAL, kind), payload))
        self.agent.step(0)


@pytest.fixture(name="board")
def fixture_board(tmp_path: Path) -> Board:
    return Board(tmp_path)


def _issued(board: Board) -> int:
    return int(board.rig.clock.wall())


def test_subscribes_and_says_online_with_a_will(board: Board) -> None:
    assert board.client.subs == [link.topic(ROOT, SERIAL, k) for k in link.DOWN]
    board.agent.step(0)
    presence = board.client.taken("presence")
    assert presence and presence[0]["status"] == "online"
    topic, payload, _, retain = will(ROOT, SERIAL)
    assert topic.endswith("/presence") and retain
    assert codec.decode(ROOT, topic, payload).payload["status"] == "offline"


def test_a_command_gives_ack_result_and_document_events(board: Board) -> None:
    now = _issued(board)
    board.send("cmd", cmd("reg-1", "registration", registration_request(), issued_at=now))
    board.send("cmd", cmd("r-1", "receipt", sale("r-1", 12345), issued_at=now))
    acks = board.client.taken("ack")
    assert [(a["id"], a["status"]) for a in acks] == [("reg-1", "accepted"), ("r-1", "accepted")]
    results = {r["id"]: r for r in board.client.taken("result")}
    assert results["r-1"]["status"] == "made" and results["r-1"]["kind"] == "receipt"
    docs = {d["fd"]: d for d in board.client.taken("doc")}
    archive = board.rig.docs()
    assert sorted(docs) == list(range(1, len(archive) + 1))  # registration, shift, receipt
    receipt = docs[results["r-1"]["fd"]]
    assert receipt["type"] == 3 and receipt["total"] == 12345 and receipt["operation"] == 1
    assert receipt["fs"] == str(results["r-1"]["fp"])
    assert base64.b64decode(receipt["tlv"])  # the archive's TLV
    state = board.client.taken("state")[-1]
    assert state["drive"]["last_fd"] == len(archive) and state["outbox"] == len(archive)
    assert state["shift"]["open"] is True


def test_a_command_delivered_twice_makes_one_document(board: Board) -> None:
    now = _issued(board)
    board.send("cmd", cmd("reg-1", "registration", registration_request(), issued_at=now))
    before = len(board.rig.docs())
    board.send("cmd", cmd("r-1", "receipt", sale("r-1", 500), issued_at=now))
    board.send("cmd", cmd("r-1", "receipt", sale("r-1", 500), issued_at=now))
    assert len(board.rig.docs()) == before + 2  # the shift and one receipt
    acks = [a["status"] for a in board.client.taken("ack") if a["id"] == "r-1"]
    assert acks == ["accepted", "duplicate"]
    made = [r for r in board.client.taken("result") if r["id"] == "r-1"]
    assert len(made) == 2 and made[0]["fd"] == made[1]["fd"]


def test_bad_and_expired_commands_change_nothing(board: Board) -> None:
    before = len(board.rig.docs())
    board.send("cmd", cmd("x-1", "dance"))
    board.send("cmd", cmd("x-2", "open_shift", {}, issued_at=_issued(board) - 7200))
    board.send("cmd", b"not json")
    board.send("cmd", json.dumps({"v": 2, "id": "x-3"}).encode())
    acks = {a["id"]: a for a in board.client.taken("ack")}
    assert acks["x-1"]["status"] == "rejected" and acks["x-1"]["errors"][0]["path"] == "action"
    assert acks["x-2"]["status"] == "expired"
    assert acks["x-3"]["status"] == "rejected" and acks["x-3"]["errors"][0]["code"] == "version"
    assert board.agent.bad_messages == 1
    assert len(board.rig.docs()) == before


def test_only_the_fleet_s_watermark_releases_documents_and_it_survives_a_restart(
    board: Board,
) -> None:
    now = _issued(board)
    board.send("cmd", cmd("reg-1", "registration", registration_request(), issued_at=now))
    for i in range(3):
        board.send("cmd", cmd(f"r-{i}", "receipt", sale(f"r-{i}", 100 + i), issued_at=now))
    last = len(board.rig.docs())
    sent = [d["fd"] for d in board.client.taken("doc")]
    assert sent == list(range(1, 5))  # the window: 4 in flight
    fn = board.outbox.fn
    stored = {"v": 1, "fn": fn, "through": 2}
    board.send("stored", json.dumps(stored).encode())
    sent = [d["fd"] for d in board.client.taken("doc")]
    assert sent == list(range(1, last + 1))[: 4 + 2]
    assert board.outbox.through == 2

    # power cut: a new board over the same drive and flash resends what was not stored
    board.rig.boot()
    board.rig.reg.trust_time("test")
    board.client = FakeClient()
    board.boot_agent()
    board.agent.step(0)
    assert board.outbox.through == 2
    assert [d["fd"] for d in board.client.taken("doc")] == list(range(3, min(last, 6) + 1))
    # the results the fleet has not acknowledged are reported again after the restart
    again = {r["id"] for r in board.client.taken("result")}
    assert again == {"r-0", "r-1", "r-2"}
    board.send("stored", json.dumps({"v": 1, "fn": fn, "through": last}).encode())
    board.send("stored", json.dumps({"v": 1, "fn": fn, "through": last}).encode())
    assert board.rig.reg.outbox() == []


def test_a_gap_the_fleet_reports_is_sent_again_at_once(board: Board) -> None:
    now = _issued(board)
    board.send("cmd", cmd("reg-1", "registration", registration_request(), issued_at=now))
    board.send("cmd", cmd("r-1", "receipt", sale("r-1", 100), issued_at=now))
    fn = board.outbox.fn
    board.send("stored", json.dumps({"v": 1, "fn": fn, "through": 1, "missing": [[2, 2]]}).encode())
    again = [d["fd"] for d in board.client.taken("doc")]
    assert again.count(2) == 2


def test_resend_after_silence(board: Board) -> None:
    board.send(
        "cmd", cmd("reg-1", "registration", registration_request(), issued_at=_issued(board))
    )
    first = len(board.client.taken("doc"))
    board.rig.clock.sleep(31)
    board.agent.step(0)
    assert len(board.client.taken("doc")) == 2 * first


def test_desired_state_is_kept_and_reported(board: Board) -> None:
    board.send("desired", json.dumps({"v": 1, "seq": 3, "max_clock_drift_s": 30}).encode())
    board.send("desired", json.dumps({"v": 1, "seq": 2}).encode())  # older: ignored
    assert board.client.taken("state")[-1]["desired_seq"] == 3


def test_desired_ofd_endpoint_is_applied_and_an_older_one_ignored(board: Board) -> None:
    reg = board.rig.reg
    reg.ofd = OfdClient(reg.drive, _no_network, "ofd.old", 7777, board.rig.clock)
    board.send("desired", json.dumps({"v": 1, "seq": 5, "ofd_host": "ofd.new"}).encode())
    assert (reg.ofd.host, reg.ofd.port) == ("ofd.new", 7777)  # only what the document names
    board.send("desired", json.dumps({"v": 1, "seq": 4, "ofd_port": 1}).encode())  # older
    board.send("desired", json.dumps({"v": 1, "seq": 6, "ofd_port": 70000}).encode())  # bad
    assert (reg.ofd.host, reg.ofd.port) == ("ofd.new", 7777)
    assert board.agent.bad_messages == 1
    assert reg.status()["ofd"]["ofd"] == "ofd.new:7777"
    assert board.client.taken("state")[-1]["desired_seq"] == 5
    board.send("desired", json.dumps({"v": 1, "seq": 7, "ofd_port": 19081}).encode())
    assert (reg.ofd.host, reg.ofd.port) == ("ofd.new", 19081)
    assert board.client.taken("state")[-1]["desired_seq"] == 7


def _no_network(host: str, port: int, timeout: float) -> Any:
    raise OSError("no network in this test")


def test_state_sequence_grows_across_restarts(board: Board) -> None:
    board.agent.step(0)
    seq1 = board.client.taken("state")[-1]["seq"]
    board.boot_agent()
    board.agent.publish_state()
    assert board.client.taken("state")[-1]["seq"] > seq1


def test_a_reconnect_sends_what_was_not_stored_at_once(board: Board) -> None:
    now = _issued(board)
    board.send("cmd", cmd("reg-1", "registration", registration_request(), issued_at=now))
    first = [d["fd"] for d in board.client.taken("doc")]
    board.agent.step(0)
    assert [d["fd"] for d in board.client.taken("doc")] == first  # within resend_s: nothing
    board.client.connects += 1  # the link came back
    board.agent.step(0)
    assert [d["fd"] for d in board.client.taken("doc")] == first + first


class PacedOfd:
    """An OFD client stand-in that wants its next step after `wait` s; counts steps and kicks."""

    def __init__(self, wait: float) -> None:
        self.wait = wait
        self.steps = 0
        self.kicks = 0

    def step(self) -> float:
        self.steps += 1
        return self.wait

    def kick(self) -> None:
        self.kicks += 1

    def events(self) -> list[dict[str, Any]]:
        return []

    def status(self) -> dict[str, Any]:
        return {"state": "idle", "unsent": 0}


def _run_for(board: Board, seconds: float, tick: float = 0.1) -> None:
    for _ in range(round(seconds / tick)):
        board.rig.clock.sleep(tick)
        board.agent.step(0)


def test_a_busy_ofd_exchange_is_stepped_at_its_own_pace_and_an_idle_one_once_a_period(
    board: Board,
) -> None:
    busy = PacedOfd(0.05)  # mid-exchange: wants to run again at once
    board.rig.reg.ofd = busy
    _run_for(board, 2.0)
    assert busy.steps >= 15  # every agent round, not once a 1 s service period
    idle = PacedOfd(60.0)  # nothing to send: the idle poll
    board.rig.reg.ofd = idle
    _run_for(board, 2.0)
    assert idle.steps <= 3


def test_a_made_document_wakes_the_ofd_client(board: Board) -> None:
    ofd = PacedOfd(60.0)
    board.rig.reg.ofd = ofd
    board.send(
        "cmd", cmd("reg-1", "registration", registration_request(), issued_at=_issued(board))
    )
    assert ofd.kicks >= 1


class PollLog(FakeClient):
    """FakeClient that records how long each poll() was allowed to wait, and stops run()."""

    def __init__(self, rounds: int) -> None:
        super().__init__()
        self.waits: list[float] = []
        self.rounds = rounds

    def poll(self, timeout_s: float) -> int:
        self.waits.append(timeout_s)
        return super().poll(timeout_s)


def test_run_waits_for_a_message_until_the_next_duty_not_a_fixed_poll(tmp_path: Path) -> None:
    rig = Rig(tmp_path)
    rig.start(register=False)
    client = PollLog(rounds=4)
    agent = Agent(rig.reg, client, Outbox(rig.flash, rig.clock), ROOT, SERIAL, "1.0.0")
    agent.step(0)  # the first round: presence, service, state
    clock = rig.clock
    first = agent.next_wait(10.0)  # the service period less the drive time its round took
    assert 0.5 < first <= agent.service_every_s
    clock.sleep(0.4)
    assert agent.next_wait(10.0) == pytest.approx(first - 0.4)
    assert agent.next_wait(0.25) == 0.25  # the cap: how soon stop() is seen
    clock.sleep(first - 0.4)
    assert agent.next_wait(10.0) == 0.0  # the service is due

    def stop() -> bool:
        return len(client.waits) >= client.rounds

    agent.run(stop, idle_s=0.5)
    # the due service ran at once, then each round waited in the client (a message would end
    # it at once) for as long as run() allows, not a fixed 0.1 s poll
    assert client.waits[1:] == [0.0, 0.5, 0.5]


def test_an_idle_register_publishes_no_state_until_something_changes(board: Board) -> None:
    board.agent.step(0)
    board.send(
        "cmd", cmd("reg-1", "registration", registration_request(), issued_at=_issued(board))
    )
    board.agent.step(0)
    states = len(board.client.taken("state"))
    for _ in range(5):  # service rounds, nothing happens
        board.rig.clock.sleep(board.agent.service_every_s)
        board.agent.step(0)
    assert len(board.client.taken("state")) == states
    board.rig.clock.sleep(board.agent.state_every_s)  # the periodic state still goes
    board.agent.step(0)
    assert len(board.client.taken("state")) == states + 1


class WaitingPort:
    """A slow drive link with wait(): an answer shows 10 ms (simulated) after each write, so
    only the driver's own sleeps let it come; `ready` is what wait() answers (True: "bytes are
    there", which a closed link also says while bringing nothing)."""

    def __init__(self, port: Any, ready: bool) -> None:
        self.port = port
        self.clock = port.endpoint.clock
        self.ready = ready
        self.waits = 0
        self.due = 0.0

    def write(self, buf: Any) -> Any:
        self.due = self.clock.monotonic() + 0.01
        return self.port.write(buf)

    def readinto(self, buf: bytearray) -> Any:
        if self.clock.monotonic() < self.due:
            return 0
        return self.port.readinto(buf)

    def wait(self, timeout_s: float) -> bool:
        self.waits += 1
        if self.waits > 100_000:  # a driver that never sleeps would never see the answer
            raise AssertionError("the driver spins on wait() and its clock never moves")
        return self.ready


@pytest.mark.parametrize("ready", [False, True])
def test_the_driver_sleeps_in_the_links_wait_and_never_spins_on_it(
    tmp_path: Path, ready: bool
) -> None:
    ports: list[WaitingPort] = []

    def wrap(port: Any) -> WaitingPort:
        ports.append(WaitingPort(port, ready))
        return ports[-1]

    rig = Rig(tmp_path, wrap_port=wrap)
    rig.start()
    r = rig.reg.handle(sale("s-1", 1000))
    assert r["status"] == "made"
    # the driver waited in wait() for the answers; a wait that said "ready" and brought
    # nothing was followed by a real sleep, so the simulated clock moved and answers came
    assert ports[-1].waits > 0


class AnsweringOfd(PacedOfd):
    """An OFD client stand-in that hands the agent the answers queued in `pending`."""

    def __init__(self) -> None:
        super().__init__(60.0)
        self.pending: list[dict[str, Any]] = []

    def events(self) -> list[dict[str, Any]]:
        out, self.pending = self.pending, []
        return out


def test_an_ofd_answer_lost_on_the_way_is_sent_again_until_the_fleet_stores_it(
    board: Board,
) -> None:
    board.send(
        "cmd", cmd("reg-1", "registration", registration_request(), issued_at=_issued(board))
    )
    fn = board.outbox.fn
    ofd = AnsweringOfd()
    board.rig.reg.ofd = ofd
    ofd.pending = [
        {"event": "delivered", "fd": 1, "code": 0},
        {"event": "rejected", "fd": 2, "code": 14},
    ]
    _run_for(board, 1.5)
    first = board.client.taken("ofd")
    assert [(a["fd"], a["status"], a.get("code")) for a in first] == [
        (1, "accepted", None),
        (2, "rejected", 14),
    ]
    board.client.out.clear()  # the broker lost them: nothing came back
    _run_for(board, 31)
    assert sorted(a["fd"] for a in board.client.taken("ofd")) == [1, 2]
    # the fleet stores FD 1's answer; the board restarts; FD 2's is still owed
    board.send("stored", json.dumps({"v": 1, "fn": fn, "through": 0, "ofd": [1]}).encode())
    board.client.out.clear()
    board.boot_agent()
    board.agent.step(0)
    assert [a["fd"] for a in board.client.taken("ofd")] == [2]
    board.send("stored", json.dumps({"v": 1, "fn": fn, "through": 0, "ofd": [2]}).encode())
    board.client.out.clear()
    _run_for(board, 61)
    assert board.client.taken("ofd") == []


def test_the_fleet_s_nudge_brings_the_state_and_the_owed_answers_at_once(board: Board) -> None:
    # after the fleet subscribes again it sends `stored` with `missing` (ingest pending_drives):
    # what the register published while the fleet was away may be lost
    board.send(
        "cmd", cmd("reg-1", "registration", registration_request(), issued_at=_issued(board))
    )
    fn = board.outbox.fn
    through = board.outbox.through
    ofd = AnsweringOfd()
    board.rig.reg.ofd = ofd
    ofd.pending = [{"event": "delivered", "fd": 1, "code": 0}]
    _run_for(board, 1.5)
    board.client.out.clear()
    _run_for(board, 2.0)
    assert board.client.taken("state") == [] and board.client.taken("ofd") == []  # quiet
    last = board.rig.reg.drive.status()["last_fd"]
    nudge = {"v": 1, "fn": fn, "through": through, "missing": [[last + 1, last + 1]]}
    board.send("stored", json.dumps(nudge).encode())
    assert [a["fd"] for a in board.client.taken("ofd")] == [1]
    assert len(board.client.taken("state")) == 1


def test_a_burst_of_commands_publishes_every_document_from_its_image(tmp_path: Path) -> None:
    # 24 receipts delivered in one poll (paho hands over what it has read): each document's
    # `doc` event goes out right after its command, from the image just made, not after the
    # poll, when the images of the first ones (Images keeps 16) were gone and the documents
    # were read back from the archive (45h, a 46h per TLV)
    board = Board(tmp_path)
    board.outbox = Outbox(board.rig.flash, board.rig.clock, window=16, resend_s=30)
    board.agent = Agent(board.rig.reg, board.client, board.outbox, ROOT, SERIAL, "1.0.0")
    now = _issued(board)
    board.send("cmd", cmd("reg-1", "registration", registration_request(), issued_at=now))
    fn = board.client.taken("state")[-1]["drive"]["fn"]
    board.send("stored", json.dumps({"v": 1, "fn": fn, "through": 1}).encode())
    reads: list[int] = []
    real = board.rig.drive.read_document
    board.rig.drive.read_document = lambda fd: reads.append(fd) or real(fd)  # type: ignore[method-assign]
    for i in range(24):
        board.client.inbox.append(
            (
                link.topic(ROOT, SERIAL, "cmd"),
                cmd(f"b-{i}", "receipt", sale(f"b-{i}", 100 + i), issued_at=now),
            )
        )
    board.agent.step(0)
    docs = {d["fd"]: d for d in board.client.taken("doc")}
    last = max(docs)
    board.send("stored", json.dumps({"v": 1, "fn": fn, "through": last}).encode())
    board.agent.step(0)
    docs = {d["fd"]: d for d in board.client.taken("doc")}
    archive = board.rig.docs()
    assert sorted(docs) == list(range(1, len(archive) + 1))
    assert len({r["id"] for r in board.client.taken("result") if r["status"] == "made"}) == 25
    # the archive was read only for the first image of each kind (the shift, a receipt)
    assert len(reads) == 2 and board.rig.reg.images is not None
    assert board.rig.reg.images.used == len(archive) - 3
    for fd in docs:  # and every event says what the archive holds
        assert base64.b64decode(docs[fd]["tlv"]) == bytes(archive[fd - 1].stlv[4:])
