"""`oblako fleet serve`: run the fleet app under uvicorn."""

from __future__ import annotations

import gc
import importlib.util
import logging
import os
from typing import Literal, TypedDict

import uvicorn

from fleet.core.config import Settings
from fleet.core.db import make_engine
from fleet.core.migrate import upgrade
from fleet.main import create_app

__all__ = ["ServerOptions", "freeze_heap", "serve", "server_options"]


class ServerOptions(TypedDict):
    """uvicorn's `http` and `loop` settings."""

    http: Literal["httptools", "h11"]
    loop: Literal["uvloop", "asyncio"]


def server_options() -> ServerOptions:
    """uvicorn's HTTP parser and event loop: httptools and uvloop (C; pyproject's
    dependencies) when installed, else h11 and asyncio — what uvicorn's "auto" picks, named
    here so every server of the app (`serve`, oblako/api_pool.py, the demo) says the same."""
    have = importlib.util.find_spec
    return {
        "http": "httptools" if have("httptools") else "h11",
        "loop": "uvloop" if have("uvloop") else "asyncio",
    }


def freeze_heap() -> None:
    """Move everything alive now (the modules, the app and its routes: ~360k objects) out of
    the collector's reach, as a server process's last step before serving. Otherwise every
    full collection walks them all again (~90 µs of CPU a created receipt in the API's
    process, issue 8); what requests make is collected as before."""
    gc.collect()
    gc.freeze()


def serve(
    host: str = "127.0.0.1",
    port: int = 8000,
    settings: Settings | None = None,
    *,
    workers: int = 1,
) -> None:
    """Serve the cabinet and API on ``host:port`` until interrupted (jobs inside).

    ``workers`` > 1: that many processes on the port (uvicorn's workers, each building the app
    from the environment; `settings` must then be None). Safe on PostgreSQL: the jobs lease
    keeps each job once, and each process's receipts worker (with FLEET_MQTT_URL) routes with
    SKIP LOCKED and the atomic quota claim, woken across processes by LISTEN/NOTIFY
    (docs/receipts.md "Running"). SQLite allows one writer: keep one process there.
    """
    # INFO for fleet/: job failures, and in development the confirmation letters of the
    # in-memory mail sink (no SMTP host configured) show up on the console.
    logging.basicConfig(level=logging.INFO, format="%(levelname)s:     %(name)s: %(message)s")
    if workers > 1:
        if settings is not None:
            raise ValueError("several workers read their settings from the environment")
        env = Settings()
        if env.migrate_on_start:  # once, here: workers migrating at once would race
            engine = make_engine(env.database_url)
            try:
                upgrade(engine)
            finally:
                engine.dispose()
        os.environ["FLEET_MIGRATE_ON_START"] = "false"  # the workers inherit it
        uvicorn.run(
            "fleet.main:create_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level="info",
            proxy_headers=True,
            **server_options(),
        )
        return
    app = create_app(settings or Settings())
    freeze_heap()
    uvicorn.run(app, host=host, port=port, log_level="info", proxy_headers=True, **server_options())
