"""Operator commands on the fleet's database: `oblako fleet operator|provision|mqtt-auth`.

Each opens the database of the settings (DATABASE_URL, default SQLite under var/), migrates
it to head as the app does at start, and runs one service call of fleet/.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlmodel import Session

from fleet.access.staff import grant_operator
from fleet.core.clock import SystemClock
from fleet.core.config import Settings
from fleet.core.db import make_engine
from fleet.core.migrate import upgrade
from fleet.link import credentials

__all__ = ["make_operator", "mqtt_auth", "provision"]


@contextmanager
def _session(settings: Settings | None = None) -> Iterator[Session]:
    settings = settings or Settings()
    engine = make_engine(settings.database_url)
    try:
        upgrade(engine)
        with Session(engine, expire_on_commit=False) as session:
            yield session
    finally:
        engine.dispose()


def make_operator(email: str, settings: Settings | None = None) -> str:
    """Make a signed-up user an Oblako operator; their e-mail."""
    with _session(settings) as session:
        return grant_operator(session, SystemClock(), email).email


def provision(serial: str, mqtt_url: str, root: str, settings: Settings | None = None) -> str:
    """Create or rotate a register's broker account; the board's identity file as JSON."""
    with _session(settings) as session:
        identity = credentials.provision_register(session, SystemClock(), serial, root)
    return json.dumps(identity.as_dict(mqtt_url), ensure_ascii=False, indent=2)


def mqtt_auth(
    passwd: Path, acl: Path, root: str, fleet_account: str | None, settings: Settings | None = None
) -> tuple[int, str | None]:
    """Write Mosquitto's password and ACL files; (accounts written, a new fleet password)."""
    with _session(settings) as session:
        password = None
        if fleet_account:
            password = credentials.ensure_fleet_account(session, SystemClock(), fleet_account)
        return credentials.write_auth_files(session, passwd, acl, root), password
