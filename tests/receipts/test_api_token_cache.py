"""The API token's principal kept a few seconds (fleet/access/token_cache.py): the integrator
API without three queries a request, and what that costs — a change made by another process
of the app counts within the TTL; one made in this process at once."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import Engine

from fleet.access.principal import Principal
from fleet.access.token_cache import TTL_S, TokenCache
from fleet.accounts.mail import MemoryMailSender
from fleet.core.clock import SettableClock
from tests.receipts.builders import sale
from tests.receipts.test_api import integrator


def _revoke_elsewhere(engine: Engine, now: float) -> None:
    """What another process's «отозвать» writes (this process's cache is not told)."""
    with engine.begin() as c:
        c.execute(text("UPDATE apitoken SET revoked_at = :t"), {"t": now})


def test_another_process_revoking_a_token_counts_within_the_ttl(
    client: TestClient, mailer: MemoryMailSender, engine: Engine, clock: SettableClock
) -> None:
    h = integrator(client, mailer)
    assert client.post("/api/receipts", json=sale("c-1", 100), headers=h).status_code == 201
    _revoke_elsewhere(engine, clock.wall())
    clock.advance(TTL_S - 0.5)  # still the principal read before the revocation
    assert client.post("/api/receipts", json=sale("c-2", 100), headers=h).status_code == 201
    clock.advance(0.5)
    gone = client.post("/api/receipts", json=sale("c-3", 100), headers=h)
    assert gone.status_code == 401 and "отозван" in gone.json()["message"]


def test_entries_expire_drop_on_a_clock_moved_back_and_are_bounded() -> None:
    cache = TokenCache(ttl_s=5.0, max_entries=2)
    p = Principal(company_id=1, permissions=frozenset())
    cache.put("a", 100.0, p)
    assert cache.get("a", 104.9) is p
    assert cache.get("a", 105.0) is None  # expired, and dropped
    cache.put("a", 100.0, p)
    assert cache.get("a", 99.0) is None  # a clock moved back does not stretch the TTL
    cache.put("a", 100.0, p)
    cache.put("b", 100.0, p)
    cache.put("c", 100.0, p)  # full: emptied first
    assert cache.get("a", 100.0) is None and cache.get("c", 100.0) is p
    cache.clear()
    assert cache.get("c", 100.0) is None
