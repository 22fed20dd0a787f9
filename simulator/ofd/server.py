"""The simulated OFD on TCP (asyncio): messages in, receipts out, with bad days on demand.

    server = OfdServer(OfdConfig(sign_algorithm="sha256"), clock=clock)
    port = server.start()            # 127.0.0.1, a free port; a background thread
    server.set_slow(30)              # answer 30 clock seconds late
    server.set_flaky(drop_rate=0.2, silent_rate=0.1, seed=7)
    server.go_down(31 * 86400)       # refuse connections for 31 clock days
    server.gateway.documents(fn)     # what the OFD stored (simulator/ofd/store.py)
    server.stop()

One connection carries messages one after another (§4.3: the register loops while the
drive has more); each is a 30-byte session header and its body, processed by `OfdService`
(simulator/ofd/service.py). Modes, all on the injected clock (DESIGN decision 6) so a test
can replay days in seconds:

- slow: the answer waits ``delay_s`` clock seconds (``clock.sleep`` off the event loop;
  a SimClock just moves on, the real clock really waits);
- flaky (seeded): after processing a message (the document is stored) the answer is lost:
  ``drop_rate`` closes the connection at once, ``silent_rate`` says nothing for
  ``silent_s`` clock seconds (default 310 s, past the register's 300 s wait, §4.5) and
  then closes. The register sends the document again and gets the same receipt;
- down: the listening socket is closed, so connections are refused (ECONNREFUSED) and
  open ones are cut; it reopens on the same port once the clock passes the end of the
  outage (checked every ``watch_s`` real seconds) or on ``come_up()``.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Final

from protocol.ofd import MAX_CONTAINER, SESSION_HEADER_SIZE, SIGNATURE
from simulator.clock import Clock, SystemClock
from simulator.ofd.service import OfdConfig, OfdService, Outcome
from simulator.ofd.store import OfdGateway, OfdStore, Refusal

__all__ = ["Modes", "OfdServer"]

_DEFAULT_SILENCE: Final = 310.0  # clock seconds: past the 300 s receipt wait (§4.5)


@dataclass
class Modes:
    """The server's current behaviour (change it through OfdServer's methods)."""

    delay_s: float = 0.0
    drop_rate: float = 0.0
    silent_rate: float = 0.0
    silent_s: float = _DEFAULT_SILENCE
    down: bool = False
    down_until: float | None = None  # clock wall seconds; None: until come_up()


class OfdServer:
    """An asyncio TCP OFD around an `OfdService`; start/stop from sync code or a loop."""

    def __init__(
        self,
        config: OfdConfig | None = None,
        *,
        clock: Clock | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        service: OfdService | None = None,
        store: OfdStore | None = None,
        idle_timeout_s: float = 120.0,
        watch_s: float = 0.02,
        seed: int = 0,
    ) -> None:
        """A server for ``host``:``port`` (0: a free port, known after start)."""
        self.clock: Clock = clock or SystemClock()
        self.service = service or OfdService(config, self.clock, store)
        self.host = host
        self.port = port
        self.idle_timeout_s = idle_timeout_s
        self.watch_s = watch_s
        self.modes = Modes()
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._server: asyncio.Server | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stop: asyncio.Event | None = None
        self._watcher: asyncio.Task[None] | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._listener_lock = asyncio.Lock()
        self.counters: dict[str, int] = {
            "connections": 0,
            "dropped": 0,
            "silenced": 0,
            "delayed": 0,
            "cut": 0,
        }

    # ---- what tests and the fleet read ------------------------------------------------------

    @property
    def gateway(self) -> OfdGateway:
        """The OFD gateway interface (documents, receipts, rejections, registers)."""
        return self.service.gateway

    @property
    def store(self) -> OfdStore:
        """Everything the OFD keeps."""
        return self.service.store

    @property
    def address(self) -> tuple[str, int]:
        """(host, port) to connect to."""
        return self.host, self.port

    def inject(self, container: bytes) -> Outcome:
        """Deliver an FN container without the network (the merchant's stationary
        registers, simulator/ofd/merchant.py); the outcome carries the receipt."""
        return self.service.inject(container)

    def stats(self) -> dict[str, int]:
        """Counters: connections, messages, accepted, rejected, redelivered, refused, ..."""
        return {**self.counters, **self.service.counters}

    # ---- modes --------------------------------------------------------------------------------

    def set_slow(self, delay_s: float) -> None:
        """Answer every container ``delay_s`` clock seconds late (0: on time)."""
        if delay_s < 0:
            raise ValueError("delay_s must not be negative")
        with self._lock:
            self.modes.delay_s = delay_s

    def set_flaky(
        self,
        *,
        drop_rate: float = 0.0,
        silent_rate: float = 0.0,
        seed: int | None = None,
        silent_s: float = _DEFAULT_SILENCE,
    ) -> None:
        """Lose answers: drop the connection (``drop_rate``) or stay silent for
        ``silent_s`` clock seconds then close (``silent_rate``); ``seed`` restarts the
        random sequence. Both 0: reliable again."""
        if not 0 <= drop_rate <= 1 or not 0 <= silent_rate <= 1 or drop_rate + silent_rate > 1:
            raise ValueError("rates are probabilities that add up to at most 1")
        with self._lock:
            self.modes.drop_rate = drop_rate
            self.modes.silent_rate = silent_rate
            self.modes.silent_s = silent_s
            if seed is not None:
                self._rng = random.Random(seed)

    def go_down(self, seconds: float | None = None) -> None:
        """Refuse connections for ``seconds`` of clock time (None: until come_up())."""
        with self._lock:
            self.modes.down = True
            self.modes.down_until = None if seconds is None else self.clock.wall() + seconds
        self._call(self._go_down())

    def come_up(self) -> None:
        """End an outage now."""
        with self._lock:
            self.modes.down = False
            self.modes.down_until = None
        self._call(self._open_listener())

    @property
    def down(self) -> bool:
        """True while connections are refused."""
        with self._lock:
            return self.modes.down

    # ---- life cycle -----------------------------------------------------------------------

    async def start_async(self) -> int:
        """Listen in the running loop; return the port."""
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self._listener_lock = asyncio.Lock()
        await self._open_listener()
        return self.port

    async def stop_async(self) -> None:
        """Stop listening and cut every connection."""
        if self._watcher is not None:
            self._watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watcher
            self._watcher = None
        await self._close_listener()
        # Connection handlers end once their transports are cut (above); one asleep on a
        # real clock (slow or silent mode) is given a second, then left to the loop's close.
        tasks = {t for t in self._tasks if not t.done()}
        if tasks:
            await asyncio.wait(tasks, timeout=1.0)

    async def serve_forever(self, on_ready: Callable[[int], object] | None = None) -> None:
        """Listen until `stop()` (or cancellation): for the CLI. ``on_ready(port)`` is
        called once listening."""
        port = await self.start_async()
        if on_ready is not None:
            on_ready(port)
        stop = self._stop
        try:
            if stop is not None:
                await stop.wait()
        finally:
            await self.stop_async()

    def start(self) -> int:
        """Run the server in a background thread; return the port it listens on."""
        if self._thread is not None:
            raise RuntimeError("the OFD server is already running")
        ready: Future[int] = Future()
        self._thread = threading.Thread(
            target=self._run, args=(ready,), name="ofd-simulator", daemon=True
        )
        self._thread.start()
        return ready.result(timeout=10)

    def _run(self, ready: Future[int]) -> None:
        # One run_until_complete for the server's whole life, so the loop is running (and
        # go_down() from another thread reaches it) from the moment start() returns.
        async def main() -> None:
            try:
                port = await self.start_async()
            except BaseException as e:  # report it to start(), then end the thread
                ready.set_exception(e)
                return
            ready.set_result(port)
            try:
                if self._stop is not None:
                    await self._stop.wait()
            finally:
                await self.stop_async()

        loop = asyncio.new_event_loop()
        try:
            loop.run_until_complete(main())
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.run_until_complete(loop.shutdown_default_executor())
            loop.close()

    def stop(self) -> None:
        """Stop the server (from any thread) and wait for its thread."""
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(stop.set)
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def __enter__(self) -> OfdServer:
        """Start in a background thread."""
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop."""
        self.stop()

    # ---- the loop's side ------------------------------------------------------------------

    def _call(self, coro: Any) -> None:
        # Run a coroutine on the server's loop from any thread (nothing if not running).
        loop = self._loop
        if loop is None or loop.is_closed() or not loop.is_running():
            coro.close()
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            loop.create_task(coro)
            return
        asyncio.run_coroutine_threadsafe(coro, loop).result(timeout=10)

    async def _open_listener(self) -> None:
        async with self._listener_lock:
            if self._server is not None or self.down:
                return
            self._server = await asyncio.start_server(
                self._handle, self.host, self.port, reuse_address=True
            )
            sock = self._server.sockets[0]
            self.port = int(sock.getsockname()[1])

    async def _close_listener(self) -> None:
        async with self._listener_lock:
            server, self._server = self._server, None
            if server is not None:
                server.close()
                await server.wait_closed()
            for writer in list(self._writers):
                writer.transport.abort()
                self.counters["cut"] += 1

    async def _go_down(self) -> None:
        await self._close_listener()
        if self._watcher is None or self._watcher.done():
            self._watcher = asyncio.create_task(self._watch())

    async def _watch(self) -> None:
        # Reopen after a timed outage once the (possibly simulated) clock says it is over;
        # runs only while down (an idle server up does not wake 50 times a second).
        while True:
            await asyncio.sleep(self.watch_s)
            with self._lock:
                if not self.modes.down:
                    return  # come_up() reopened it
                until = self.modes.down_until
                over = self.modes.down and until is not None and self.clock.wall() >= until
                if over:
                    self.modes.down = False
                    self.modes.down_until = None
            if over:
                try:
                    await self._open_listener()
                except OSError:  # the port is taken meanwhile: try again next tick
                    with self._lock:
                        self.modes.down = True
                        self.modes.down_until = self.clock.wall()
                    continue
                return

    async def _clock_sleep(self, seconds: float) -> None:
        # The injected clock decides: SimClock moves on at once, SystemClock really waits.
        if seconds > 0:
            await asyncio.to_thread(self.clock.sleep, seconds)

    def _fate(self) -> str:
        with self._lock:
            m = self.modes
            if not m.drop_rate and not m.silent_rate:
                return "answer"
            r = self._rng.random()
            if r < m.drop_rate:
                return "drop"
            if r < m.drop_rate + m.silent_rate:
                return "silent"
            return "answer"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peername = writer.get_extra_info("peername")
        peer = f"{peername[0]}:{peername[1]}" if isinstance(peername, tuple) else str(peername)
        self.counters["connections"] += 1
        self._writers.add(writer)
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            while await self._one(reader, writer, peer):
                pass
        except (ConnectionError, asyncio.IncompleteReadError, TimeoutError):
            pass
        finally:
            self._writers.discard(writer)
            if task is not None:
                self._tasks.discard(task)
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()

    async def _one(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, peer: str
    ) -> bool:
        # One message; False ends the connection.
        # asyncio.timeout, not wait_for: no task made per read (two reads a document)
        try:
            async with asyncio.timeout(self.idle_timeout_s):
                header = await reader.readexactly(SESSION_HEADER_SIZE)
        except asyncio.IncompleteReadError as e:
            if e.partial:
                self._refuse(peer, f"connection closed inside a header ({len(e.partial)} B)")
            return False
        size = int.from_bytes(header[24:26], "little")
        if header[:4] != SIGNATURE or size > MAX_CONTAINER:
            # Without a trustworthy size the rest of the stream cannot be framed.
            self._refuse(peer, f"not a session header or body of {size} B: {header[:4].hex()}")
            return False
        async with asyncio.timeout(self.idle_timeout_s):
            body = await reader.readexactly(size)
        try:
            outcome: Outcome = self.service.handle(header, body, peer=peer)
        except Exception as e:  # a simulator bug: record it, drop the connection, go on
            self._refuse(peer, f"internal error: {e!r}")
            return False
        if outcome.answer is None:
            return outcome.kind != "refused"
        if outcome.kind == "receipt":
            delay = self.modes.delay_s
            if delay:
                self.counters["delayed"] += 1
                await self._clock_sleep(delay)
            fate = self._fate()
            if fate == "drop":
                self.counters["dropped"] += 1
                return False
            if fate == "silent":
                self.counters["silenced"] += 1
                await self._clock_sleep(self.modes.silent_s)
                return False
        writer.write(outcome.answer)
        await writer.drain()
        return True

    def _refuse(self, peer: str, reason: str) -> None:
        self.service.counters["refused"] += 1
        self.store.refuse(Refusal(self.clock.wall(), peer, reason))
