"""Broker accounts: one per register (its serial) and one per fleet role (ingest, commands)."""

from __future__ import annotations

from sqlmodel import Field, SQLModel

__all__ = ["MqttAccount"]


class MqttAccount(SQLModel, table=True):
    """A broker user; only the Mosquitto PBKDF2 hash of its password is kept."""

    username: str = Field(primary_key=True, max_length=64)
    kind: str = Field(max_length=16)  # "register" or "fleet"
    password_hash: str = Field(max_length=200)  # $7$<iterations>$<salt>$<hash>, mosquitto's
    created_at: float
    revoked_at: float | None = None
