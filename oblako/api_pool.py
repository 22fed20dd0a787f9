"""`python -m oblako.api_pool`: the fleet app in a child process, one of N serving one port.

The parent (oblako/demo_stack.py `DemoStack(api_processes=N)`) binds the listening socket and
starts N of these with its descriptor inherited; each runs the whole app (API, cabinet) under
uvicorn on that socket, so the kernel shares the connections out and the API's CPU spreads over
the machine's cores instead of one interpreter lock. On stdin: one JSON line
`{"fd": N, "settings": {...}}` (fleet/core/config.py Settings, secrets in clear: a pipe
between our own processes); it answers `ready` on stdout once serving and stops at stdin's EOF.
The app runs no jobs and no receipts worker here (the parent's process does), like the
production setting `oblako fleet serve --workers N` with FLEET_RUN_JOBS where one runs them.
"""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
from typing import Any

import uvicorn
from pydantic import SecretStr

from fleet.core.config import Settings
from fleet.main import create_app
from fleet.serve import freeze_heap, server_options

__all__ = ["main", "settings_spec"]


def settings_spec(settings: Settings, **override: Any) -> dict[str, Any]:
    """The settings as JSON-ready values, secrets in clear, with `override` applied."""
    out: dict[str, Any] = {}
    for name, value in settings.model_dump().items():
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        out[name] = value
    out.update(override)
    return json.loads(json.dumps(out, default=str))  # type: ignore[no-any-return]


def main() -> None:
    """Serve the app on the inherited socket until stdin closes."""
    spec = json.loads(sys.stdin.readline())
    settings = Settings(**spec["settings"])
    sock = socket.socket(fileno=int(spec["fd"]))
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), log_level="warning", lifespan="on", **server_options())
    )

    def watch() -> None:
        while not server.started and not server.should_exit:
            time.sleep(0.02)
        print("ready", flush=True)
        sys.stdin.read()  # EOF: the parent stops us
        server.should_exit = True

    threading.Thread(target=watch, name="api-pool-watch", daemon=True).start()
    freeze_heap()
    server.run(sockets=[sock])


if __name__ == "__main__":
    main()
