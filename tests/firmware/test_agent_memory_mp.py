# micropython
# Portable tests of the agent's memory fill in the state (firmware/agent.py, 3Dh): run by
# pytest on CPython and by tools/mprun.mjs on MicroPython 1.27. The drive here is a stand-in
# that counts its 3Dh exchanges; tests/firmware/test_agent_memory.py runs a simulated drive.
import json

from mpsupport import FakeClock

from firmware.agent import MEMORY_EVERY, Agent
from firmware.errors import RegisterError
from firmware.flashmodel import FlashModel

FN = "9999078900012345"


class Drive:
    def __init__(self, capacity):
        self.capacity = capacity
        self.last_fd = 0
        self.phase = 3
        self.asked = 0
        self.broken = False

    def status(self):
        return {"fn_number": FN, "phase": self.phase, "warnings": 0, "last_fd": self.last_fd}

    def validity(self):
        return {"valid_until": (2027, 1, 15)}

    def free_resource(self):
        self.asked += 1
        if self.broken:
            raise RegisterError("busy")
        left = self.capacity - self.last_fd
        return {"archive_docs_left": left, "ofd_storage_kib_left": 0, "notifications_percent": 0}


class Reg:
    def __init__(self, drive):
        self.clock = FakeClock()
        self.drive = drive
        self.shift_open = False

    def status(self):
        return {"shift": {"open": self.shift_open, "number": 1}, "time_trusted": True}


class Outbox:
    def __init__(self):
        self.storage = FlashModel()
        self.fn = FN
        self.seq = 0

    def use_drive(self, fn):
        self.fn = fn

    def next_seq(self):
        self.seq += 1
        return self.seq

    def pending(self, last_fd):
        return 0


class Client:
    def __init__(self):
        self.on_message = None
        self.out = []

    def subscribe(self, flt, qos=1):
        pass

    def publish(self, topic, payload, qos=1, retain=False):
        self.out.append(json.loads(payload))


def _board(capacity=1000):
    drive = Drive(capacity)
    reg = Reg(drive)
    client = Client()
    return drive, reg, client, Agent(reg, client, Outbox(), "r", "0001")


def _state(agent, client):
    agent._st = None  # the drive is read afresh, as after a command
    agent.publish_state()
    return client.out[-1]["drive"]


def test_the_fill_is_the_archive_s_share_and_a_shift_s_receipts_do_not_ask_again():
    drive, reg, client, agent = _board()
    drive.phase = 1  # before fiscalisation: no figure, no exchange
    assert "memory_used_pct" not in _state(agent, client) and drive.asked == 0
    drive.phase, drive.last_fd = 3, 14
    assert _state(agent, client)["memory_used_pct"] == 1  # 14 of 1000: 1.4 %
    reg.shift_open = True
    for fd in range(15, 14 + MEMORY_EVERY):
        drive.last_fd = fd
        assert _state(agent, client)["memory_used_pct"] == 1
    assert drive.asked == 1
    drive.last_fd = 14 + MEMORY_EVERY  # MEMORY_EVERY documents since the read
    assert _state(agent, client)["memory_used_pct"] == 6 and drive.asked == 2
    drive.last_fd += 1
    reg.shift_open = False  # the shift's close report
    assert _state(agent, client)["memory_used_pct"] == 7 and drive.asked == 3
    assert _state(agent, client)["memory_used_pct"] == 7 and drive.asked == 3  # no change


def test_a_busy_drive_keeps_the_last_figure_and_is_asked_again():
    drive, _reg, client, agent = _board(capacity=200)
    drive.last_fd = 10
    assert _state(agent, client)["memory_used_pct"] == 5
    drive.broken, drive.last_fd = True, 20
    assert _state(agent, client)["memory_used_pct"] == 5
    drive.broken = False
    assert _state(agent, client)["memory_used_pct"] == 10 and drive.asked == 3


def test_a_full_archive_is_100_and_an_empty_drive_0():
    drive, _reg, client, agent = _board(capacity=40)
    drive.last_fd = 40
    assert _state(agent, client)["memory_used_pct"] == 100
    _drive2, _r, client2, agent2 = _board(capacity=0)
    assert _state(agent2, client2)["memory_used_pct"] == 0
