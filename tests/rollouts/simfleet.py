"""Simulated registers that run the board's update path (firmware/update.py: A/B slots in
directories, the boot record in FileStorage, trial boot, health check, rollback) behind the
fleet's real command sender and ingest (codec-checked messages, as tests/console do).

What is simulated is the rest of a register: its shift and unsent documents (the shadow it
reports), its link (the wire, instant), and whether its drive answers the new bundle's health
check (`broken_with`: the versions whose runtime cannot talk to this register's drive).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from firmware.storage import FileStorage
from firmware.update import DirSlots, Updater, command
from fleet.core.clock import Clock
from fleet.link.commands import CommandSender
from fleet.link.ingest import Incoming, Store
from protocol.mqtt import codec
from protocol.portable import link

Fetch = Callable[[str], Any]


@dataclass
class SimRegister:
    """One register: the update path for real, the rest as plain fields."""

    serial: str
    home: Path
    fetch: Fetch
    version: str = "1.0.0"
    shift_open: bool = False
    unsent: int = 0
    broken_with: set[str] = field(default_factory=set)  # versions failing the health check
    crash_with: set[str] = field(default_factory=set)  # versions that crash before the check
    online: bool = True
    reboots: int = 0
    seq: int = 0
    updater: Updater = field(init=False)

    def __post_init__(self) -> None:
        self.updater = Updater(
            FileStorage(str(self.home / "store")), DirSlots(str(self.home / "fw")), self.fetch
        )
        self.updater.install_initial(self.version)

    def status(self) -> dict[str, Any]:
        return {"shift_open": self.shift_open, "unsent": self.unsent, "outbox": 0}

    def on_cmd(self, msg: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
        """The agent's handling of a `firmware_update`; the messages it sends."""
        out: list[tuple[str, dict[str, Any]]] = [
            (link.ACK, {"id": msg["id"], "status": "accepted"})
        ]
        r = command(self.updater, msg.get("params") or {}, self.status(), msg["id"])
        data = {k: v for k, v in r.items() if k not in ("status", "errors", "retryable")}
        res: dict[str, Any] = {"id": msg["id"], "action": msg["action"], "status": r["status"]}
        if "errors" in r:
            res["errors"] = r["errors"]
            res["retryable"] = r.get("retryable", False)
        if data:
            res["data"] = data
        out.append((link.RESULT, res))
        if r["status"] == "done" and "staged" in r:
            out.extend(self.reboot())
        return out

    def reboot(self) -> list[tuple[str, dict[str, Any]]]:
        """The board's start: boot record, then (if the runtime comes up) health, presence,
        the update's final result and state."""
        self.reboots += 1
        slot = self.updater.boot()
        running = self.updater.version()
        if running in self.crash_with and self.updater.record().get("trial"):
            # the new runtime dies before its check; the watchdog resets the board
            return self.reboot()
        self.version = running
        if self.updater.record().get("trial"):
            ok = self.updater.health(
                lambda: "ФН не отвечает" if running in self.broken_with else ""
            )
            self.version = self.updater.version()
            if not ok:
                self.updater.boot()  # the rollback reboot: back into the active slot
        assert slot in ("a", "b")
        out: list[tuple[str, dict[str, Any]]] = [
            (link.PRESENCE, {"status": "online", "firmware": self.version})
        ]
        final = self.updater.final_result()
        if final is not None:
            rid, r = final
            res: dict[str, Any] = {"id": rid, "action": "firmware_update", "status": r["status"]}
            if "errors" in r:
                res["errors"] = r["errors"]
                res["retryable"] = r["retryable"]
            else:
                res["data"] = {k: v for k, v in r.items() if k != "status"}
            out.append((link.RESULT, res))
            self.updater.result_sent()
        out.append((link.STATE, self.state()))
        return out

    def state(self) -> dict[str, Any]:
        self.seq += 1
        return {
            "seq": self.seq,
            "clock": 0,
            "clock_trusted": True,
            "firmware": self.version,
            "drive": {
                "fn": "999907890"
                + "".join(c for c in self.serial if c.isdigit())[-7:].rjust(7, "0"),
                "phase": 3,
                "warnings": 0,
                "last_fd": 0,
                "unsent": self.unsent,
            },
            "shift": {"open": self.shift_open, "number": 1},
            "outbox": 0,
        }


class SimFleet:
    """The registers behind the fleet's sender and ingest: `pump()` delivers what the sender
    publishes and stores what the registers answer."""

    def __init__(self, engine: Engine, clock: Clock, root: str) -> None:
        self.engine = engine
        self.clock = clock
        self.root = root
        self.registers: dict[str, SimRegister] = {}
        self.outbox: list[tuple[str, bytes]] = []
        self.sender = CommandSender(engine, self._publish, clock, root=root)
        self.store = Store(engine, root, clock)
        self.deaf: set[str] = set()  # registers whose link is down: commands are lost

    def _publish(self, topic: str, payload: bytes) -> None:
        self.outbox.append((topic, payload))

    def add(self, reg: SimRegister) -> SimRegister:
        self.registers[reg.serial] = reg
        self.send(reg.serial, [(link.PRESENCE, {"status": "online", "firmware": reg.version}),
                               (link.STATE, reg.state())])  # fmt: skip
        return reg

    def send(self, serial: str, messages: list[tuple[str, dict[str, Any]]]) -> None:
        now = self.clock.wall()
        batch = []
        for kind, body in messages:
            data = codec.encode(kind, {"v": 1, "at": int(now), **body})
            batch.append(Incoming(link.topic(self.root, serial, kind), data, now))
        self.store.apply(batch)

    def report(self, serial: str) -> None:
        """The register's periodic state (after its shift or documents changed)."""
        self.send(serial, [(link.STATE, self.registers[serial].state())])

    def pump(self) -> int:
        """Send due commands and let the registers answer; the commands delivered."""
        self.sender.step()
        n = 0
        while self.outbox:
            topic, payload = self.outbox.pop(0)
            serial, kind, why = link.parse_topic(self.root, topic)
            assert not why and kind == link.CMD
            if serial in self.deaf or serial not in self.registers:
                continue  # not ours: another test's register left a command in the database
            msg = json.loads(payload)
            self.send(serial, self.registers[serial].on_cmd(msg))
            n += 1
        return n
