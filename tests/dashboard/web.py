"""Signing a test client in as a given user (a minted session, as the walker does) and
reading the CSRF token from a page."""

from __future__ import annotations

import re
import secrets

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session

from fleet.accounts.models import AuthSession
from fleet.accounts.service import hash_token
from fleet.core.clock import Clock
from fleet.deps import SESSION_COOKIE

__all__ = ["csrf_of", "sign_in_as"]


def sign_in_as(client: TestClient, engine: Engine, clock: Clock, user_id: int) -> None:
    """Give the client a valid session cookie of the user."""
    secret = secrets.token_urlsafe(24)
    with Session(engine) as session:
        session.add(
            AuthSession(
                token_hash=hash_token(secret),
                user_id=user_id,
                created_at=clock.wall(),
                expires_at=clock.wall() + 3600,
            )
        )
        session.commit()
    client.cookies.set(SESSION_COOKIE, secret)


def csrf_of(html: str) -> str:
    """The CSRF token of the first form on the page."""
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no form on the page"
    return match.group(1)
