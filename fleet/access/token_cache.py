"""API tokens' principals kept for a few seconds: the integrator API's hot path (every
`POST /api/receipts`) without three queries per request for the token, its role and folders.

Bounded: an entry lives `TTL_S` seconds of the injected clock (a clock moved back drops it),
and the cache holds at most `MAX_ENTRIES` tokens (full: emptied). In this process a revoked
token, a changed or deleted role are dropped at once (`clear()` from the functions that
change them); another process of the app sees such a change within `TTL_S`.
"""

from __future__ import annotations

import threading
from typing import Final

from fleet.access.principal import Principal

__all__ = ["MAX_ENTRIES", "TTL_S", "TokenCache", "token_cache"]

TTL_S: Final = 5.0
MAX_ENTRIES: Final = 10_000


class TokenCache:
    """Token hash → (when cached, principal); thread-safe."""

    def __init__(self, ttl_s: float = TTL_S, max_entries: int = MAX_ENTRIES) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[float, Principal]] = {}

    def get(self, token_hash: str, now: float) -> Principal | None:
        """The principal cached under the hash, if younger than the TTL."""
        with self._lock:
            entry = self._entries.get(token_hash)
            if entry is None:
                return None
            at, principal = entry
            if not 0 <= now - at < self.ttl_s:
                del self._entries[token_hash]
                return None
            return principal

    def put(self, token_hash: str, now: float, principal: Principal) -> None:
        """Keep the principal from `now`."""
        with self._lock:
            if len(self._entries) >= self.max_entries:
                self._entries.clear()
            self._entries[token_hash] = (now, principal)

    def clear(self) -> None:
        """Forget every entry (a token revoked, a role changed)."""
        with self._lock:
            self._entries.clear()


#: the app's cache (fleet/access/tokens.py reads and fills it)
token_cache = TokenCache()
