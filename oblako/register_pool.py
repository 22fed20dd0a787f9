"""Simulated registers in a process of their own: `python -m oblako.register_pool`.

On the real rack each register is its own board; `oblako bench receipts` runs them (the
drive simulators and the runtime on them) in a few child processes so they do not share the
fleet process's interpreter lock. The parent writes one JSON line on stdin:

    {"host", "ofd", "mqtt_url", "root", "firmware", "instant",
     "registers": [{"serial", "fn", "dir"}, ...]}

and the child starts a drive (served on TCP) and `run_mqtt` per register, prints `ready`,
and runs until its stdin closes (the parent stopped or died). A register that stops on an
error is reported on stderr as `error SERIAL: …`. With `OBLAKO_PROFILE_DIR` set, every thread
runs under cProfile and leaves `<pid>-<thread>.prof` there (what the bench's figures came from).
"""

from __future__ import annotations

import cProfile
import json
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

from oblako.register_mqtt import run_mqtt
from simulator.clock import SystemClock
from simulator.fn import DriveConfig, DriveModel, LinkTiming, serve_tcp

__all__ = ["drive_model", "main"]


def drive_model(fn: str, directory: Path) -> DriveModel:
    """The demo's drive: HMAC-SHA-256 signs, room for a long run, state kept in `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    return DriveModel(
        DriveConfig(
            fn_number=fn, sign_algorithm="sha256", ofd_storage_bytes=1 << 30, lifetime_days=3650
        ),
        clock=SystemClock(),
        state_file=str(directory / "fn.json"),
    )


def _serve(spec: dict[str, Any], reg: dict[str, Any], stop: threading.Event) -> None:
    timing = LinkTiming(default_latency=0.0) if spec.get("instant") else None
    directory = Path(reg["dir"])
    with serve_tcp(drive_model(reg["fn"], directory), host=spec["host"], timing=timing) as server:
        try:
            run_mqtt(
                server.url,
                spec["ofd"],
                directory / "journal",
                spec["mqtt_url"],
                reg["serial"],
                root=spec["root"],
                stop=stop,
                firmware_version=spec.get("firmware", "cpython"),
            )
        except BaseException as e:  # the parent shows it; the other registers go on
            print(f"error {reg['serial']}: {e!r}", file=sys.stderr, flush=True)


def _profile_threads(directory: str) -> None:
    """Run every thread started from now on under cProfile; each dumps on its way out."""
    run = threading.Thread.run

    def profiled(self: threading.Thread) -> None:
        prof = cProfile.Profile(time.thread_time)  # CPU, not the waits
        try:
            prof.runcall(run, self)
        finally:
            prof.dump_stats(os.path.join(directory, f"{os.getpid()}-{self.name}.prof"))

    threading.Thread.run = profiled  # type: ignore[method-assign]


def main() -> None:
    """Serve the registers of the spec on stdin until stdin closes."""
    if os.environ.get("OBLAKO_PROFILE_DIR"):
        _profile_threads(os.environ["OBLAKO_PROFILE_DIR"])
    spec = json.loads(sys.stdin.readline())
    stop = threading.Event()
    threads = [
        threading.Thread(
            target=_serve, args=(spec, reg, stop), name=f"register-{reg['serial']}", daemon=True
        )
        for reg in spec["registers"]
    ]
    for t in threads:
        t.start()
    print("ready", flush=True)
    sys.stdin.read()  # EOF: the parent is done
    stop.set()
    for t in threads:
        t.join(15)


if __name__ == "__main__":
    main()
