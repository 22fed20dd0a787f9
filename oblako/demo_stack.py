"""The services of `make demo`, each on a free port, started and stopped as one.

An MQTT broker (the embedded amqtt one, or Mosquitto at `MQTT_URL` under a unique topic root),
the fleet's database (a SQLite file under var/demo, or a fresh `oblako_demo` database on the
PostgreSQL server of `DATABASE_URL`), a simulated OFD, a simulated tax service, the test CA's
OCSP responder (the cabinet checks signers' certificates with it), the fleet app
(cabinet, console, API, jobs) under uvicorn, the fleet's ingest, and simulated registers: a
simulated drive each, served on TCP, and the register runtime (`run_mqtt`, the board's code)
on it. Everything runs in threads of one process so Ctrl-C stops it all.
"""

from __future__ import annotations

import contextlib
import json
import select
import shutil
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url

from fleet.core.config import Settings
from fleet.core.db import make_engine
from fleet.core.migrate import upgrade
from fleet.link.ingest import run_ingest
from fleet.main import create_app
from fleet.receipts.runner import run_receipts
from fleet.serve import server_options
from oblako.register_mqtt import run_mqtt
from protocol.kep.testca import TestCa
from simulator.broker import EmbeddedBroker, free_port
from simulator.ca import CaServer, OcspResponder
from simulator.clock import SystemClock
from simulator.edo.app import EdoFaults, EdoState
from simulator.edo.app import create_app as create_edo
from simulator.fn import DriveConfig, DriveModel, LinkTiming, serve_tcp
from simulator.fns.app import create_app as create_fns
from simulator.ofd import OfdConfig, OfdServer

__all__ = [
    "DemoRegister",
    "DemoStack",
    "StartError",
    "demo_database",
    "drop_database",
    "preferred_port",
]

MODEL = "Облако-Ф"
DEMO_DLR_TOKEN = "demo-dlr-token"  # the demo SMSC simulator's delivery-report URL
FIRMWARE = "1.0.0"
DEMO_DB = "oblako_demo"


class StartError(RuntimeError):
    """A demo service did not come up (the message says which and why)."""


def preferred_port(host: str, preferred: int) -> int:
    """`preferred` when it is free (the cabinet's usual 8000), else any free port."""
    if preferred:
        with socket.socket() as s:
            try:
                s.bind((host, preferred))
            except OSError:
                pass
            else:
                return preferred
    return free_port(host)


def demo_database(base: Path, database_url: str | None, name: str = DEMO_DB) -> str:
    """The demo's own database: a fresh SQLite file, or a fresh database `name` on the given
    PostgreSQL server (any other URL is used as it is)."""
    if not database_url:
        db = base / "oblako.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
        return f"sqlite:///{db}"
    url = make_url(database_url)
    if not url.drivername.startswith("postgresql"):
        return database_url
    drop_database(database_url, name)
    _admin(database_url, f'CREATE DATABASE "{name}"')
    return url.set(database=name).render_as_string(hide_password=False)


def _admin(database_url: str, statement: str) -> None:
    admin = create_engine(database_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as c:
            c.execute(text(statement))
    finally:
        admin.dispose()


def drop_database(database_url: str | None, name: str) -> None:
    """Drop the demo's database `name` on a PostgreSQL server (the bench's throwaway one)."""
    if not database_url or not make_url(database_url).drivername.startswith("postgresql"):
        return
    _admin(database_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


class _Uvicorn:
    """A uvicorn server in a thread, stopped by `stop()`."""

    def __init__(self, app: FastAPI, host: str, port: int, name: str) -> None:
        # Bound here, not by uvicorn later: port 0 takes a free port with no window in which
        # another process could take it (a port found free and bound later raced in tests).
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self.sock.bind((host, port))
        except OSError as e:
            self.sock.close()
            raise StartError(f"{name}: порт {host}:{port} занят ({e.strerror})") from e
        self.port: int = self.sock.getsockname()[1]
        self.server = uvicorn.Server(
            uvicorn.Config(
                app,
                host=host,
                port=self.port,
                log_level="warning",
                lifespan="on",
                **server_options(),
            )
        )
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, name=name, daemon=True
        )
        self.name = name

    def start(self, timeout: float = 30.0) -> None:
        self.thread.start()
        end = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > end:
                raise StartError(f"{self.name}: сервер не запустился")
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(15)
        self.sock.close()


@dataclass
class DemoRegister:
    """One simulated register: its drive (served on TCP) and the runtime on it."""

    serial: str
    fn_number: str
    model: DriveModel
    journal: Path
    server: Any = None
    stop: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None
    errors: list[BaseException] = field(default_factory=list)


#: how long a child process (the ingest, the receipts worker) may take to say it is ready
CHILD_READY_S = 60.0


class DemoStack:
    """Every service of the demo; `with DemoStack(...) as stack:` starts and stops them."""

    def __init__(
        self,
        base: Path,
        *,
        registers: int = 5,
        port: int = 8000,
        database_url: str | None = None,
        mqtt_url: str | None = None,
        host: str = "127.0.0.1",
        database_name: str = DEMO_DB,
        api_processes: int = 0,
        fleet_processes: bool = False,
    ) -> None:
        self.base = base
        # the ingest and the receipts worker each in a child process (as `oblako fleet ingest
        # run` and `oblako fleet receipts run` beside `fleet serve`): PostgreSQL only, SQLite
        # takes one writer
        self.fleet_processes = fleet_processes
        self.ingest_pids: list[int] = []
        self.worker_pids: list[int] = []
        self.database_name = database_name
        # >0: the app also in that many child processes sharing the served port
        # (oblako/api_pool.py); this process's app (jobs) then listens on a port of its own
        self.api_processes = api_processes
        self.api_pids: list[int] = []
        self.host = host
        self.count = registers
        self.wanted_port = port
        self.database_url = database_url
        self.mqtt_url_env = mqtt_url
        self.root = f"demo-{uuid.uuid4().hex[:8]}" if mqtt_url else "oblako"
        self.ca = TestCa()
        self.registers: list[DemoRegister] = []
        self.register_pids: list[int] = []  # child processes of start_registers(processes=)
        self._stops: list[Callable[[], None]] = []
        self._ingest_stop = threading.Event()
        self._receipts: tuple[threading.Event, threading.Thread] | None = None
        self._receipts_proc: subprocess.Popen[str] | None = None
        self.db_url = ""
        self.engine: Engine | None = None
        self.mqtt_url = ""
        self.url = ""
        self.app: FastAPI | None = None
        self.ofd_address: tuple[str, int] = ("", 0)
        self.edo_url = ""
        self.ocsp_url = ""

    # -- start ------------------------------------------------------------------------------

    def __enter__(self) -> DemoStack:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        self.base.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(self.base / "registers", ignore_errors=True)  # drives are made anew
        db_url = demo_database(self.base, self.database_url, self.database_name)
        self.db_url = db_url
        self.engine = make_engine(db_url)
        self._stops.append(self.engine.dispose)
        upgrade(self.engine)
        self._start_broker()
        self._start_ofd()
        fns_url = self._start_fns()
        self.ocsp_url = self._start_ca()
        self.edo_url = self._start_edo()
        self._start_fleet(db_url, fns_url)

    def _start_broker(self) -> None:
        if self.mqtt_url_env:
            self.mqtt_url = self.mqtt_url_env
            return
        broker = EmbeddedBroker(self.host).start()
        self._stops.append(broker.stop)
        self.mqtt_url = broker.url

    def _start_ofd(self) -> None:
        server = OfdServer(
            OfdConfig(sign_algorithm="sha256"), clock=SystemClock(), host=self.host
        )  # the drives sign with HMAC-SHA-256 (fast; DriveConfig below)
        server.start()
        self._stops.append(server.stop)
        self.ofd_address = server.address
        self.ofd = server

    def _start_fns(self) -> str:
        app = create_fns([self.ca.cert], [MODEL], {MODEL: [FIRMWARE]})
        server = _Uvicorn(app, self.host, 0, "ФНС (симулятор)")
        server.start()
        self._stops.append(server.stop)
        return f"http://{self.host}:{server.port}"

    def _start_ca(self) -> str:
        """The test CA's OCSP responder: the cabinet checks every signer's certificate with it
        (FLEET_KEP_OCSP_URL); `oblako sign --revoke-in <base>/kep CERT` revokes one."""
        store = self.base / "kep" / "revoked.json"
        store.parent.mkdir(parents=True, exist_ok=True)
        store.unlink(missing_ok=True)  # the demo starts anew, its revocations too
        server = CaServer(OcspResponder(ca=self.ca, store=store, next_update_s=60.0), self.host)
        server.start()
        self._stops.append(server.stop)
        return server.ocsp_url

    def _start_edo(self) -> str:
        """The EDO operator simulator (docs/integrations.md): «Настройки → ЭДО» connects to it
        and the monthly УПД go through it, signed by the recipient after 5 s."""
        app = create_edo(EdoState(faults=EdoFaults(sign_after_s=5.0)))
        server = _Uvicorn(app, self.host, 0, "ЭДО (симулятор оператора)")
        server.start()
        self._stops.append(server.stop)
        return f"http://{self.host}:{server.port}"

    def _start_fleet(self, db_url: str, fns_url: str) -> None:
        assert self.engine is not None
        port = preferred_port(self.host, self.wanted_port)
        self.url = f"http://{self.host}:{port}"
        shared = port
        if self.api_processes > 0:
            port = 0  # this process's app on any free port; `shared` is the pool's
        ca_file = self.base / "kep-ca.cer"
        ca_file.write_bytes(self.ca.cert)
        settings = Settings(
            database_url=db_url,
            base_url=self.url,
            fns_url=fns_url,
            edo_url=self.edo_url,
            kep_trusted_roots=str(ca_file),
            kep_ocsp_url=self.ocsp_url,
            job_poll_s=2.0,
            run_delivery=False,  # the demo's delivery worker uses the channel simulators
            delivery_smsc_dlr_token=SecretStr(DEMO_DLR_TOKEN),  # the SMSC simulator reports
            argon2_time_cost=2,
            argon2_memory_kib=19456,
        )
        self.settings = settings
        self.app = create_app(settings, engine=self.engine)
        server = _Uvicorn(self.app, self.host, port, "Облако (кабинет и API)")
        server.start()
        self._stops.append(server.stop)
        if self.api_processes > 0:
            self._start_api_pool(shared, settings)

    def _start_api_pool(self, port: int, settings: Settings) -> None:
        """The app in `api_processes` children on one listening socket (oblako/api_pool.py):
        no jobs, no migrations, no receipts worker there (this process runs those)."""
        from oblako.api_pool import settings_spec

        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, port))
        sock.listen(2048)
        sock.set_inheritable(True)
        spec = {
            "fd": sock.fileno(),
            "settings": settings_spec(
                settings, run_jobs=False, migrate_on_start=False, mqtt_url=None
            ),
        }
        procs: list[subprocess.Popen[str]] = []

        def stop() -> None:
            for proc in procs:
                with contextlib.suppress(OSError):
                    if proc.stdin is not None:
                        proc.stdin.close()  # EOF: it stops serving
            for proc in procs:
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    proc.kill()
            sock.close()

        self._stops.append(stop)
        for _ in range(self.api_processes):
            proc = subprocess.Popen(
                [sys.executable, "-m", "oblako.api_pool"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                pass_fds=(sock.fileno(),),
            )
            procs.append(proc)
            assert proc.stdin is not None and proc.stdout is not None
            proc.stdin.write(json.dumps(spec) + "\n")
            proc.stdin.flush()
            if proc.stdout.readline().strip() != "ready":
                raise StartError("Процесс API парка не запустился")
            self.api_pids.append(proc.pid)

    def _child(self, module: str, args: list[str], what: str) -> subprocess.Popen[str]:
        """`python -m module args…` that prints a JSON line with "ready" once it serves."""
        proc = subprocess.Popen(
            [sys.executable, "-m", module, "--database-url", self.db_url, *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout is not None
        # a child that never says ready (a broker it cannot reach) must not hang the start
        waited = select.select([proc.stdout], [], [], CHILD_READY_S)[0]
        line = proc.stdout.readline() if waited else ""
        try:
            ready = bool(json.loads(line).get("ready"))
        except (ValueError, AttributeError):
            ready = False
        if not ready:
            proc.kill()
            raise StartError(f"{what} не запустился: {line.strip() or 'нет ответа'}")
        return proc

    @staticmethod
    def _stop_child(proc: subprocess.Popen[str]) -> None:
        proc.terminate()  # SIGTERM: it finishes its pass or batch and stops
        try:
            proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()

    def start_ingest(self) -> None:
        """The fleet's ingest (one worker; the embedded broker has no shared subscriptions)."""
        assert self.engine is not None
        if self.fleet_processes:
            proc = self._child(
                "fleet.link.ingest",
                [
                    "--mqtt-url",
                    self.mqtt_url,
                    "--root",
                    self.root,
                    "--no-shared",
                    "--client-id",
                    f"demo-ingest-{uuid.uuid4().hex[:6]}",
                ],
                "Приём данных от касс",
            )
            self.ingest_pids.append(proc.pid)
            self._stops.append(lambda: self._stop_child(proc))
            return
        ready = threading.Event()
        errors: list[BaseException] = []

        def work() -> None:
            try:
                run_ingest(
                    self.engine,  # type: ignore[arg-type]
                    self.mqtt_url,
                    self.root,
                    shared=False,
                    stop=self._ingest_stop,
                    client_id=f"demo-ingest-{uuid.uuid4().hex[:6]}",
                    ready=ready,
                )
            except BaseException as e:  # shown by the caller
                errors.append(e)
                ready.set()

        thread = threading.Thread(target=work, name="ingest", daemon=True)
        thread.start()
        if not ready.wait(20) or errors:
            raise StartError(f"Приём данных от касс не запустился: {errors or 'нет ответа'}")

        def stop() -> None:
            self._ingest_stop.set()
            thread.join(15)

        self._stops.append(stop)

    def start_receipts(self) -> None:
        """The receipts worker (routing, commands, tracking, callbacks) in a thread (or its
        own process, `fleet_processes`)."""
        self.stop_receipts()
        if self.fleet_processes:
            self._receipts_proc = self._child(
                "fleet.receipts.runner",
                ["--mqtt-url", self.mqtt_url, "--root", self.root],
                "Обработчик чеков",
            )
            self.worker_pids = [self._receipts_proc.pid]
            return
        stop = threading.Event()
        thread = threading.Thread(
            target=run_receipts,
            args=(self.engine, self.mqtt_url, self.root),
            kwargs={"stop": stop},
            name="receipts",
            daemon=True,
        )
        thread.start()
        self._receipts = (stop, thread)

    def start_delivery(self) -> None:
        """E-receipts to buyers (fleet/delivery): e-mail through the in-process channel
        simulator, SMS and VK/OK through the SMSC adapter to the HTTP gateway simulator, which
        posts its delivery reports (after 2 s) back to the fleet's endpoint."""
        from bench.delivery_sim import SimProvider
        from fleet.delivery.cascade import Provider
        from fleet.delivery.channels import Channel
        from fleet.delivery.providers.reports import StoredReports
        from fleet.delivery.providers.smsc import SmscProvider
        from fleet.delivery.worker import DeliveryWorker
        from simulator.channels import FakeChannels
        from simulator.channels.smsc import SmscState
        from simulator.channels.smsc import create_app as create_smsc

        assert self.engine is not None
        clock = SystemClock()
        gateway = SmscState(callback_url=f"{self.url}/api/delivery/dlr/smsc/{DEMO_DLR_TOKEN}")
        server = _Uvicorn(create_smsc(gateway), self.host, 0, "SMSC (симулятор SMS)")
        server.start()
        self._stops.append(server.stop)
        smsc = SmscProvider(
            f"http://{self.host}:{server.port}",
            gateway.login,
            gateway.password,
            sender="Oblako",
            reports=StoredReports(self.engine),
        )
        sim = SimProvider(FakeChannels(now=clock.wall, delay_s=2.0))
        providers: dict[Channel, Provider] = {
            Channel.EMAIL: sim,
            Channel.SMS: smsc,
            Channel.VK: smsc,
            Channel.OK: smsc,
        }
        worker = DeliveryWorker(self.engine, clock, providers, self.url, self.settings.secret_key)
        stop = threading.Event()

        def loop() -> None:
            while not stop.is_set():
                if not worker.run_once():
                    stop.wait(0.5)

        thread = threading.Thread(target=loop, name="delivery", daemon=True)
        thread.start()

        def halt() -> None:
            stop.set()
            thread.join(15)
            worker.close()
            smsc.close()

        self._stops.append(halt)

    def stop_receipts(self) -> None:
        """Stop the receipts worker (the bench pauses it to time the API alone)."""
        if self._receipts_proc is not None:
            self._stop_child(self._receipts_proc)
            self._receipts_proc = None
            self.worker_pids = []
        if self._receipts is not None:
            stop, thread = self._receipts
            stop.set()
            thread.join(15)
            self._receipts = None

    def start_registers(
        self,
        serials: list[str],
        fn_numbers: list[str],
        *,
        instant: bool = False,
        processes: int = 0,
    ) -> None:
        """One simulated drive and register runtime per serial, connected to the broker;
        `instant`: no wire or processing time emulated on the drives (the bench);
        `processes`: in that many child processes (oblako/register_pool.py), not threads."""
        if processes > 0:
            self._start_register_pools(serials, fn_numbers, instant, processes)
            return
        timing = LinkTiming(default_latency=0.0) if instant else None
        for serial, fn in zip(serials, fn_numbers, strict=True):
            d = self.base / "registers" / serial
            d.mkdir(parents=True, exist_ok=True)
            model = DriveModel(
                DriveConfig(
                    fn_number=fn,
                    sign_algorithm="sha256",
                    ofd_storage_bytes=1 << 30,
                    lifetime_days=3650,
                ),
                clock=SystemClock(),
                state_file=str(d / "fn.json"),
            )
            reg = DemoRegister(serial=serial, fn_number=fn, model=model, journal=d / "journal")
            reg.server = serve_tcp(model, host=self.host, timing=timing)
            reg.server.__enter__()
            self._run_register(reg)
            self.registers.append(reg)

    def _start_register_pools(
        self, serials: list[str], fn_numbers: list[str], instant: bool, processes: int
    ) -> None:
        ofd = f"{self.ofd_address[0]}:{self.ofd_address[1]}"
        pairs = list(zip(serials, fn_numbers, strict=True))
        for k in range(min(processes, len(pairs))):
            mine = pairs[k::processes]
            spec = {
                "host": self.host,
                "ofd": ofd,
                "mqtt_url": self.mqtt_url,
                "root": self.root,
                "firmware": FIRMWARE,
                "instant": instant,
                "registers": [
                    {"serial": s, "fn": fn, "dir": str(self.base / "registers" / s)}
                    for s, fn in mine
                ],
            }
            proc = subprocess.Popen(
                [sys.executable, "-m", "oblako.register_pool"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            assert proc.stdin is not None and proc.stdout is not None
            proc.stdin.write(json.dumps(spec) + "\n")
            proc.stdin.flush()
            if proc.stdout.readline().strip() != "ready":
                proc.kill()
                raise StartError("Процесс симулированных касс не запустился")
            self.register_pids.append(proc.pid)

            def stop(proc: subprocess.Popen[str] = proc) -> None:
                with contextlib.suppress(OSError):
                    if proc.stdin is not None:
                        proc.stdin.close()  # EOF: the pool stops its registers
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    proc.kill()

            self._stops.append(stop)

    def _run_register(self, reg: DemoRegister) -> None:
        ofd = f"{self.ofd_address[0]}:{self.ofd_address[1]}"

        def serve() -> None:
            try:
                run_mqtt(
                    reg.server.url,
                    ofd,
                    reg.journal,
                    self.mqtt_url,
                    reg.serial,
                    root=self.root,
                    stop=reg.stop,
                    firmware_version=FIRMWARE,
                )
            except BaseException as e:  # the demo stops on it (demo_fleet._stream)
                reg.errors.append(e)

        reg.thread = threading.Thread(target=serve, name=f"register-{reg.serial}", daemon=True)
        reg.thread.start()

        def stop() -> None:
            reg.stop.set()
            if reg.thread is not None:
                reg.thread.join(15)
            with contextlib.suppress(Exception):
                reg.server.__exit__(None, None, None)

        self._stops.append(stop)

    # -- stop -------------------------------------------------------------------------------

    def close(self) -> None:
        """Stop everything, the last started first."""
        self.stop_receipts()
        while self._stops:
            stop = self._stops.pop()
            with contextlib.suppress(Exception):
                stop()
