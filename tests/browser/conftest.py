"""Browser fixtures: the fleet and the acquiring simulator under uvicorn, headless Chromium.

The fleet runs in a thread on a free port with its own SQLite file (``create_all``), the
in-memory mail sink (the test reads the confirmation letter from it) and no job loop. The card
acquirer (``simulator.acquiring``) runs on a second port and the fleet's settings point at it.
Chromium is Debian's ``/usr/bin/chromium`` (browsers cannot be downloaded here, so Playwright's
own build is not used); without it the browser tests are skipped.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

import fleet.models  # noqa: F401  (registers the tables)
from fleet.accounts.mail import MemoryMailSender
from fleet.core.config import Settings
from fleet.core.db import make_engine
from fleet.main import create_app

CHROMIUM = Path(os.environ.get("OBLAKO_CHROMIUM", "/usr/bin/chromium"))
ACQUIRING_SECRET = "browser-test-acquiring-secret-0123456789"


def _skip_reason() -> str | None:
    if not CHROMIUM.exists():
        return f"no Chromium at {CHROMIUM}: install Debian's chromium (apt-get install chromium)"
    return None


class ServerThread:
    """A uvicorn server in a daemon thread on a socket bound to a free port."""

    def __init__(self, app: Any, name: str) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port: int = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.app = app
        self.name = name
        self.server: uvicorn.Server | None = None
        self.thread: threading.Thread | None = None

    def start(self, app: Any | None = None) -> None:
        """Serve ``app`` (given late when the app must know the other server's URL)."""
        config = uvicorn.Config(app or self.app, log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, name=self.name, daemon=True
        )
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError(f"{self.name} did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        if self.server is not None:
            self.server.should_exit = True
        if self.thread is not None:
            self.thread.join(timeout=10)
        self.sock.close()


@dataclass(frozen=True)
class Stack:
    """The running servers the browser talks to."""

    fleet_url: str
    acquiring_url: str | None
    mailer: MemoryMailSender
    settings: Settings
    engine: Engine


def _acquiring_app(secret: str) -> Any | None:
    """The billing helper's acquiring simulator, if it is there."""
    try:
        from simulator.acquiring import create_app as create_acquiring
    except ImportError:
        return None
    return create_acquiring(secret=secret)


@pytest.fixture(name="stack", scope="session")
def fixture_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    acquirer = ServerThread(None, "acquiring")
    acquiring_app = _acquiring_app(ACQUIRING_SECRET)
    fleet_server = ServerThread(None, "fleet")
    db = tmp_path_factory.mktemp("browser") / "fleet.db"
    settings = Settings(
        environment="test",
        database_url=f"sqlite:///{db}",
        secret_key="browser-test-secret-key-0123456789abcdef",
        migrate_on_start=False,
        run_jobs=False,
        argon2_time_cost=1,
        argon2_memory_kib=8,
        base_url=fleet_server.url,
        acquiring_url=acquirer.url,
        acquiring_secret=ACQUIRING_SECRET,
    )
    engine = make_engine(settings.database_url)
    SQLModel.metadata.create_all(engine)
    mailer = MemoryMailSender()
    fleet_server.start(create_app(settings, mailer=mailer, engine=engine))
    if acquiring_app is not None:
        acquirer.start(acquiring_app)
    try:
        yield Stack(
            fleet_url=fleet_server.url,
            acquiring_url=acquirer.url if acquiring_app is not None else None,
            mailer=mailer,
            settings=settings,
            engine=engine,
        )
    finally:
        fleet_server.stop()
        acquirer.stop()
        engine.dispose()


@pytest.fixture(name="browser", scope="session")
def fixture_browser(stack: Stack) -> Iterator[Browser]:
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
        )
        try:
            yield browser
        finally:
            browser.close()


def _context(browser: Browser, stack: Stack, **options: Any) -> BrowserContext:
    context = browser.new_context(base_url=stack.fleet_url, locale="ru-RU", **options)
    context.set_default_timeout(10_000)
    return context


@pytest.fixture(name="page")
def fixture_page(browser: Browser, stack: Stack) -> Iterator[Page]:
    """A desktop page (1280×800) in a fresh context (no cookies)."""
    context = _context(browser, stack, viewport={"width": 1280, "height": 800})
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture(name="phone")
def fixture_phone(browser: Browser, stack: Stack) -> Iterator[Page]:
    """A phone page (375×740, touch) in a fresh context."""
    context = _context(
        browser,
        stack,
        viewport={"width": 375, "height": 740},
        is_mobile=True,
        has_touch=True,
        device_scale_factor=2,
    )
    try:
        yield context.new_page()
    finally:
        context.close()
