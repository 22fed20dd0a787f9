"""The receipts worker: routing, sending commands, tracking answers, delivering callbacks.

`ReceiptWorker.step()` runs one pass of each (each its own short transaction); `run()` loops
every `poll_s` (50 ms by default, so a receipt waits at most that long between the ingest's
commit of its result and its status). `oblako fleet serve` runs it in a thread of the app
when the broker is configured (`FLEET_MQTT_URL`; `start_receipts_thread` from the app's
lifespan); `oblako fleet receipts run --mqtt URL` (or `python -m fleet.receipts.runner`, which
loads no CLI) serves it alone with a paho publisher: a process of its own, as the bench runs
it, so its passes never wait for the interpreter lock behind the app's other threads (in one
process with the ingest and the jobs each of a pass's ~25 statements took 5–7 ms under load;
docs/benchmarks.md, issue 8, stop 22). Any
number of workers may run against one PostgreSQL database (routing and sending lock rows with
SKIP LOCKED; on SQLite, writers are serialised). The same pass publishes the registers'
desired documents (fleet/link/desired.py), retained, at most once a second.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy.engine import Engine
from sqlalchemy.exc import ArgumentError, OperationalError

from fleet.core.clock import Clock, SystemClock
from fleet.core.db import make_engine
from fleet.core.wakeup import RECEIPTS, Listener
from fleet.link.commands import CommandSender, Publisher
from fleet.link.desired import DesiredSender
from fleet.link.ingest import broker_url
from fleet.receipts.callbacks import deliver_due
from fleet.receipts.routing import route
from fleet.receipts.tracker import track
from protocol.portable import link

__all__ = [
    "COMMAND_TIMEOUT_S",
    "PahoPublisher",
    "ReceiptWorker",
    "WorkerStats",
    "main",
    "run_receipts",
    "start_receipts_thread",
]

log = logging.getLogger(__name__)

#: The first re-send of a command without its ack. A register acks a command when it takes it
#: from its queue, after the commands before it (up to routing's MAX_INFLIGHT, 32), so under
#: load a 2 s timer re-sends many commands (in a profiled bench run 3,306 sends for ~2,060
#: parts), each answered with a duplicate ack and the result again. 10 s was tried
#: (docs/benchmarks.md, issue 8, stop 21): one run's p95 accept → fiscalised at half load sat
#: at the timer (10.5 s), which a loaded machine's runs at 2 s (5–9 s) cannot rule out as
#: commands lost and recovered by the re-send. So 2 s until the ack delays are measured.
COMMAND_TIMEOUT_S = 2.0


@dataclass
class WorkerStats:
    """Totals since the worker started."""

    routed: int = 0
    sent: int = 0
    resent: int = 0
    expired: int = 0
    fiscalised: int = 0
    confirmed: int = 0
    rerouted: int = 0
    failed: int = 0
    callbacks: int = 0
    desired: int = 0  # desired documents published (new seqs and repeats)
    errors: list[str] = field(default_factory=list)


class PahoPublisher:
    """QoS 1 publishing over paho (the fleet's broker account from the URL)."""

    def __init__(self, mqtt_url: str, client_id: str | None = None) -> None:
        url = broker_url(mqtt_url)
        c = paho.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id or f"fleet-cmd-{uuid.uuid4().hex[:8]}"
        )
        if url.username is not None:
            c.username_pw_set(url.username, url.password)
        if url.tls:
            c.tls_set()
        c.max_queued_messages_set(0)
        c.reconnect_delay_set(1, 5)
        c.connect_async(url.host, url.port, keepalive=30)
        c.loop_start()
        self.client = c

    def __call__(self, topic: str, payload: bytes, *, retain: bool = False) -> None:
        # queued by paho while disconnected; the sender re-sends what gets no ack anyway
        self.client.publish(topic, payload, qos=1, retain=retain)

    def close(self) -> None:
        """Disconnect."""
        self.client.disconnect()
        self.client.loop_stop()


class ReceiptWorker:
    """One worker; see the module docstring."""

    def __init__(
        self,
        engine: Engine,
        publish: Publisher,
        clock: Clock | None = None,
        *,
        root: str = link.ROOT,
        http: httpx.Client | None = None,
        command_timeout_s: float = COMMAND_TIMEOUT_S,
        quiet_s: float = 5.0,
        callbacks_every_s: float = 0.5,
        desired_every_s: float = 1.0,
    ) -> None:
        self.engine = engine
        self.clock = clock or SystemClock()
        self.sender = CommandSender(engine, publish, self.clock, root, timeout_s=command_timeout_s)
        self.http = http or httpx.Client()
        self.quiet_s = quiet_s
        self.callbacks_every_s = callbacks_every_s
        self._callbacks_at = -1e18
        self.desired = DesiredSender(engine, publish, self.clock, root)
        self.desired_every_s = desired_every_s
        self._desired_at = -1e18
        self.stats = WorkerStats()

    def step(self) -> None:
        """Route, send, track, and (now and then) deliver callbacks."""
        s = self.stats
        r = route(self.engine, self.clock, sender=self.sender)  # sent in the same pass
        s.routed += r.routed
        s.sent += r.sent
        c = self.sender.step()
        s.sent += c.sent
        s.resent += c.resent
        s.expired += c.expired
        t = track(self.engine, self.clock, quiet_s=self.quiet_s)
        s.fiscalised += t.fiscalised
        s.confirmed += t.confirmed
        s.rerouted += t.rerouted
        s.failed += t.failed
        if self.clock.monotonic() - self._callbacks_at >= self.callbacks_every_s:
            self._callbacks_at = self.clock.monotonic()
            s.callbacks += deliver_due(self.engine, self.clock, self.http).delivered
        if self.clock.monotonic() - self._desired_at >= self.desired_every_s:
            self._desired_at = self.clock.monotonic()
            d = self.desired.step()
            s.desired += d.published + d.republished

    def run(self, stop: threading.Event, poll_s: float = 0.05, idle_s: float = 0.25) -> None:
        """step() until stop is set; a database hiccup is logged and retried. On PostgreSQL
        the next pass starts when the API or the ingest notifies work (fleet/core/wakeup.py),
        else after `idle_s` (the timers: re-sends, quiet periods, TTLs, callbacks); on SQLite
        every `poll_s`."""
        listener = Listener(self.engine, RECEIPTS)
        pg = self.engine.dialect.name == "postgresql"
        try:
            if pg:
                listener.wait(0)  # listening before the first pass: nothing slips between
            while not stop.is_set():
                try:
                    self.step()
                except OperationalError as e:  # locked, lost connection: the next pass retries
                    log.warning("receipts worker: %s", e)
                    self.stats.errors.append(str(e)[:200])
                if pg:
                    listener.wait(idle_s)
                else:
                    stop.wait(poll_s)
        finally:
            listener.close()


def run_receipts(
    database: str | Engine,
    mqtt_url: str,
    root: str = link.ROOT,
    *,
    stop: threading.Event | None = None,
    poll_s: float = 0.05,
    quiet_s: float = 5.0,
    clock: Clock | None = None,
) -> WorkerStats:
    """`oblako fleet receipts run`: serve until `stop` is set; the totals at the end."""
    engine = make_engine(database) if isinstance(database, str) else database
    publisher = PahoPublisher(mqtt_url)
    worker = ReceiptWorker(engine, publisher, clock, root=root, quiet_s=quiet_s)
    try:
        worker.run(stop or threading.Event(), poll_s)
    finally:
        publisher.close()
        worker.http.close()
        if isinstance(database, str):
            engine.dispose()
    return worker.stats


def supervise(
    run: Callable[[], object], stop: threading.Event, *, first_s: float = 1.0, most_s: float = 30.0
) -> int:
    """Run `run` until `stop` is set, starting it again after a crash with a doubling pause:
    a worker that died once (the database restarting, a bug in one pass) must not leave the
    app serving the API while no receipt is ever routed again. Returns the restarts made."""
    pause = first_s
    restarts = 0
    while not stop.is_set():
        try:
            run()
        except Exception:  # logged; the app goes on serving the API and the cabinet
            log.exception("receipts worker stopped; starting it again in %.0f s", pause)
        if stop.wait(pause):
            break
        restarts += 1
        pause = min(pause * 2, most_s)
    return restarts


def start_receipts_thread(
    engine: Engine,
    mqtt_url: str,
    root: str,
    stop: threading.Event,
    *,
    clock: Clock | None = None,
    poll_s: float = 0.05,
) -> threading.Thread:
    """The worker in a daemon thread named "receipts" (the app's lifespan starts it and sets
    `stop` at shutdown); a bad broker URL raises ValueError here, before the thread starts."""
    broker_url(mqtt_url)

    def work() -> None:
        supervise(
            lambda: run_receipts(engine, mqtt_url, root, stop=stop, poll_s=poll_s, clock=clock),
            stop,
        )

    thread = threading.Thread(target=work, name="receipts", daemon=True)
    thread.start()
    return thread


def main(argv: list[str] | None = None) -> int:
    """`python -m fleet.receipts.runner`: one worker until SIGTERM; prints `{"ready": true}`
    once its engine is made, and its totals as JSON at the end."""
    ap = argparse.ArgumentParser(prog="python -m fleet.receipts.runner")
    ap.add_argument("--database-url", required=True)
    ap.add_argument("--mqtt-url", required=True)
    ap.add_argument("--root", default=link.ROOT)
    ap.add_argument("--poll-ms", type=int, default=50, help="pause between passes on SQLite")
    args = ap.parse_args(argv)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        broker_url(args.mqtt_url)
        engine = make_engine(args.database_url)
    except (ValueError, ArgumentError) as e:
        print(f"receipts worker: {e}", file=sys.stderr)
        return 2
    print(json.dumps({"ready": True}), flush=True)
    try:
        stats = run_receipts(
            engine, args.mqtt_url, args.root, stop=stop, poll_s=args.poll_ms / 1000
        )
    finally:
        engine.dispose()
    out = {
        "cpu_s": time.process_time(),
        **{k: v for k, v in stats.__dict__.items() if k != "errors"},
    }
    print(json.dumps(out), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
