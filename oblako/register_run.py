"""`oblako register run`: one register runtime against a drive and an OFD, requests as JSON lines.

Until the MQTT link exists the register takes its requests from a local JSON-lines file or
stdin, so it is usable on the bench:

    oblako register run --fn /dev/ttyUSB0 --ofd ofd.example:7777 --journal var/register \\
        < requests.jsonl > results.jsonl

Wiring: hil.transport.open_transport (any pyserial URL: a device, a pty of `oblako sim fn
--pty`, `socket://host:port`) -> firmware.drive.FiscalDrive -> firmware.storage.FileStorage
(the journal and the counters snapshot under the journal directory) -> firmware.register
.Register, with the OFD client of firmware/ofd.py when --ofd is given. The board's clock is
the host's (NTP-disciplined on a bench), trusted at start unless told otherwise.

Input: one JSON object a line, a request of firmware/register.py (docs/register.md), or a
control line: {"kind": "ack", "id"} / {"kind": "ack_upto", "fd"} (the fleet stored it),
{"kind": "status"}, {"kind": "audit"}, {"kind": "outbox"}, {"kind": "service"},
{"kind": "trust_time", "source"}, {"kind": "profile", "profile"}. Output: one JSON object a
line for each input line (a bad line gives {"status": "error", ...}, never a crash), after
the results of recover() at start. With auto_ack (the default while no fleet exists) a
result written to `out` counts as stored and is acknowledged to the journal.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

from firmware import net
from firmware.clock import SystemClock
from firmware.drive import FiscalDrive
from firmware.errors import RegisterError
from firmware.journal import Journal
from firmware.ofd import OfdClient
from firmware.register import Register
from firmware.storage import FileStorage
from hil.transport import HilLinkError, open_transport

PROFILE_FILE = "profile"  # the register profile, kept next to the journal (storage name)
CONTROL_KINDS = (
    "ack",
    "ack_upto",
    "status",
    "audit",
    "outbox",
    "service",
    "trust_time",
    "profile",
)


def _ofd_client(drive: FiscalDrive, ofd: str | None, clock: SystemClock) -> OfdClient | None:
    """The OFD client (firmware/ofd.py) for HOST:PORT, or None without an OFD.

    :raises ValueError: `ofd` is not HOST:PORT.
    """
    if not ofd:
        return None
    host, _, port = ofd.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError(f"--ofd wants HOST:PORT, got {ofd!r}")
    return OfdClient(
        drive, net.connector(), host, int(port), clock, utc_offset_min=drive.utc_offset_min
    )


def _load_profile(storage: FileStorage) -> dict[str, Any] | None:
    raw = storage.read(PROFILE_FILE)
    if not raw:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _save_profile(storage: FileStorage, profile: dict[str, Any]) -> None:
    storage.write(PROFILE_FILE, json.dumps(profile, ensure_ascii=False).encode())


def _write(out: IO[str], obj: Any) -> None:
    out.write(json.dumps(obj, ensure_ascii=False, default=str) + "\n")
    out.flush()


def _control(reg: Register, storage: FileStorage, line: dict[str, Any]) -> dict[str, Any]:
    kind = line["kind"]
    # Control answers carry "kind" and "result" (never "status": that is a request's).
    kind = line["kind"]
    result: Any
    if kind == "ack":
        result = reg.ack(str(line.get("id")))
    elif kind == "ack_upto":
        fd = line.get("fd")
        if not isinstance(fd, int) or isinstance(fd, bool) or fd < 0:
            return {"status": "error", "kind": kind, "code": "fd", "message": "fd: an integer"}
        result = reg.ack_upto(fd)
    elif kind == "status":
        result = reg.status()
    elif kind == "audit":
        result = reg.audit()
    elif kind == "outbox":
        result = reg.outbox()
    elif kind == "service":
        result = reg.service()
    elif kind == "trust_time":
        reg.trust_time(str(line.get("source") or "fleet"))
        result = reg.time_trusted
    else:
        profile = line.get("profile")
        if not isinstance(profile, dict):
            return {"status": "error", "kind": kind, "code": "profile", "message": "an object"}
        result = reg.set_profile(profile)
        if not result:
            _save_profile(storage, profile)
    return {"kind": kind, "result": result}


def run(
    fn_url: str,
    ofd: str | None,
    journal_dir: str | Path,
    source: Iterable[str],
    out: IO[str],
    *,
    profile: dict[str, Any] | None = None,
    settings: dict[str, Any] | None = None,
    auto_ack: bool = True,
    trust: str | None = "host",
) -> dict[str, int]:
    """Run one register until `source` ends; return counts {"lines", "made", "failed",
    "unknown", "errors"}.

    fn_url: the drive (a pyserial URL); ofd: "HOST:PORT" or None; journal_dir: where the
    journal and the counters snapshot live; source: lines of JSON (a file, sys.stdin);
    out: where a JSON line per input line goes. profile: the register profile (default:
    the one saved by a registration, under journal_dir); settings: Register settings;
    auto_ack: acknowledge each result once written; trust: the time source to trust at
    start ("host": the host clock), None to wait for a {"kind": "trust_time"} line.

    Raises HilLinkError when the port cannot be opened, LinkError when the drive does not
    answer at start (recover() needs it).
    """
    storage = FileStorage(str(journal_dir))
    clock = SystemClock()
    port = open_transport(fn_url)
    counts = {"lines": 0, "made": 0, "failed": 0, "unknown": 0, "errors": 0}
    try:
        drive = FiscalDrive(port, clock)
        reg = Register(
            drive,
            Journal(storage),
            clock,
            profile if profile is not None else _load_profile(storage),
            storage=storage,
            ofd=_ofd_client(drive, ofd, clock),
            settings=settings,
        )
        for result in reg.recover():
            _write(out, result)
            if auto_ack and result["status"] != "unknown":
                reg.ack(result["id"])
        if trust:
            reg.trust_time(trust)
        for number, text in enumerate(source, 1):
            if not text.strip():
                continue
            counts["lines"] += 1
            answer = _one(reg, storage, number, text)
            status = answer.get("status")
            if status in ("made", "failed", "unknown"):
                counts[str(status)] += 1
            elif status == "error":
                counts["errors"] += 1
            _write(out, answer)
            if auto_ack and status in ("made", "failed") and "id" in answer:
                final = status == "made" or not answer.get("retryable")
                if final and isinstance(answer["id"], str):
                    reg.ack(answer["id"])
            if "profile" in answer and status == "made":
                _save_profile(storage, answer["profile"])
            reg.service()
    finally:
        port.close()
        storage.close()
    return counts


def _one(reg: Register, storage: FileStorage, number: int, text: str) -> dict[str, Any]:
    """The answer to one input line; never raises (a broken line or a bug is an error line)."""
    try:
        line = json.loads(text)
    except ValueError as e:
        return {"status": "error", "line": number, "code": "json", "message": str(e)}
    try:
        if isinstance(line, dict) and line.get("kind") in CONTROL_KINDS:
            return _control(reg, storage, line)
        return reg.handle(line)
    except (RegisterError, HilLinkError, OSError) as e:
        return {"status": "error", "line": number, "code": type(e).__name__, "message": str(e)}
    except Exception as e:  # a bug must not stop the register: report it on its line
        return {"status": "error", "line": number, "code": "internal", "message": repr(e)}
