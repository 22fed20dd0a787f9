"""Broker credentials and the Mosquitto files that enforce them.

Provisioning (DESIGN: no shared secret baked into the image): an operator runs
`oblako fleet provision SERIAL`, which creates or rotates the register's broker account and
prints the register's identity once (serial, broker URL, topic root, user, password); the
board keeps it on its flash. Only the PBKDF2-SHA512 hash in Mosquitto's own format is stored,
so `oblako fleet mqtt-auth` can write Mosquitto's password file from the database without
knowing any password.

The ACL gives a register its own topics only (`pattern` with %u = the username = the serial):
it publishes presence/state/doc/ofd/ack/result and reads cmd/stored/desired under
<root>/v1/reg/<serial>/. Fleet accounts read and write the whole tree.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from sqlmodel import Session, col, select

from fleet import audit
from fleet.core.clock import Clock
from fleet.link.exceptions import BadSerialError
from fleet.link.models import MqttAccount
from protocol.portable import link

__all__ = [
    "ISSUED_ITERATIONS",
    "Identity",
    "acl_text",
    "ensure_fleet_account",
    "mosquitto_hash",
    "passwd_text",
    "provision_register",
    "verify",
    "write_auth_files",
]

ISSUED_ITERATIONS = 1000  # Mosquitto 2 reads the count from the hash ($7$<n>$...)
_SALT_BYTES = 12  # what mosquitto_passwd uses


def mosquitto_hash(
    password: str, *, iterations: int = ISSUED_ITERATIONS, salt: bytes | None = None
) -> str:
    """The password-file hash Mosquitto 2 checks: $7$iterations$b64(salt)$b64(PBKDF2-SHA512)."""
    salt = salt if salt is not None else os.urandom(_SALT_BYTES)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations)
    return f"$7${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def verify(password: str, hashed: str) -> bool:
    """Whether the password matches a $7$ hash (constant-time compare)."""
    parts = hashed.split("$")
    if len(parts) != 5 or parts[1] != "7" or not parts[2].isdigit():
        return False
    salt = base64.b64decode(parts[3])
    expected = mosquitto_hash(password, iterations=int(parts[2]), salt=salt)
    return secrets.compare_digest(expected, hashed)


@dataclass(frozen=True)
class Identity:
    """What a register needs to join the link; the password is shown only here."""

    serial: str
    username: str
    password: str
    root: str

    def as_dict(self, mqtt_url: str) -> dict[str, str]:
        """The provisioning file's content for the board."""
        return {
            "serial": self.serial,
            "mqtt_url": mqtt_url,
            "username": self.username,
            "password": self.password,
            "root": self.root,
        }


def _set_password(session: Session, clock: Clock, username: str, kind: str) -> str:
    password = secrets.token_urlsafe(24)
    account = session.get(MqttAccount, username)
    if account is None:
        account = MqttAccount(
            username=username, kind=kind, password_hash="", created_at=clock.wall()
        )
    account.password_hash = mosquitto_hash(password)
    account.revoked_at = None
    session.add(account)
    return password


def provision_register(
    session: Session, clock: Clock, serial: str, root: str = link.ROOT
) -> Identity:
    """Create or rotate the register's broker account (the old password stops working once
    the files are written again); commits."""
    if not link.serial_ok(serial):
        raise BadSerialError(
            "Серийный номер не годится для топика: 1–32 символа из цифр, латиницы, «-» и «_»",
            fields={"serial": "1–32 символа [0-9A-Za-z_-]"},
        )
    password = _set_password(session, clock, serial, "register")
    audit.record(session, clock, action="mqtt.provisioned", entity="register", entity_id=serial)
    session.commit()
    return Identity(serial=serial, username=serial, password=password, root=root)


def ensure_fleet_account(session: Session, clock: Clock, name: str) -> str:
    """A new password for the fleet account `name` (ingest workers, the command sender)."""
    username = f"fleet-{name}"
    password = _set_password(session, clock, username, "fleet")
    audit.record(session, clock, action="mqtt.fleet_account", entity="mqtt", entity_id=username)
    session.commit()
    return password


def _live(session: Session) -> list[MqttAccount]:
    rows = session.exec(
        select(MqttAccount)
        .where(col(MqttAccount.revoked_at).is_(None))
        .order_by(col(MqttAccount.username))
    )
    return list(rows)


def passwd_text(session: Session) -> str:
    """Mosquitto's password file for every live account."""
    return "".join(f"{a.username}:{a.password_hash}\n" for a in _live(session))


def acl_text(session: Session, root: str = link.ROOT) -> str:
    """Mosquitto's ACL file: fleet accounts see the tree, registers only their own topics."""
    lines = ["# generated by `oblako fleet mqtt-auth`; do not edit", ""]
    for a in _live(session):
        if a.kind == "fleet":
            lines += [f"user {a.username}", f"topic readwrite {root}/v{link.VERSION}/reg/#", ""]
    lines.append("# every register (its user name is its serial): its own topics only")
    for kind in link.UP:
        lines.append(f"pattern write {root}/v{link.VERSION}/reg/%u/{kind}")
    for kind in link.DOWN:
        lines.append(f"pattern read {root}/v{link.VERSION}/reg/%u/{kind}")
    return "\n".join(lines) + "\n"


def write_auth_files(session: Session, passwd: Path, acl: Path, root: str = link.ROOT) -> int:
    """Write both files atomically (then SIGHUP Mosquitto to reload); the accounts written."""
    for path, text in ((passwd, passwd_text(session)), (acl, acl_text(session, root))):
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    return len(_live(session))
