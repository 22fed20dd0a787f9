"""`oblako fleet serve`: run the fleet app under uvicorn."""

from __future__ import annotations

import logging

import uvicorn

from fleet.core.config import Settings
from fleet.main import create_app

__all__ = ["serve"]


def serve(host: str = "127.0.0.1", port: int = 8000, settings: Settings | None = None) -> None:
    """Serve the cabinet and API on ``host:port`` until interrupted (one process, jobs inside)."""
    # INFO for fleet/: job failures, and in development the confirmation letters of the
    # in-memory mail sink (no SMTP host configured) show up on the console.
    logging.basicConfig(level=logging.INFO, format="%(levelname)s:     %(name)s: %(message)s")
    app = create_app(settings or Settings())
    uvicorn.run(app, host=host, port=port, log_level="info", proxy_headers=True)
