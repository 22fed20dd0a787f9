"""Password hashing with argon2id (argon2-cffi)."""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

__all__ = ["Passwords"]


class Passwords:
    """Hash and verify passwords; the cost comes from the settings."""

    def __init__(self, *, time_cost: int = 3, memory_kib: int = 65536) -> None:
        """argon2id with ``time_cost`` passes over ``memory_kib`` KiB."""
        self._hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=1)
        self._dummy = self._hasher.hash("dummy password for constant-time refusals")

    def hash(self, password: str) -> str:
        """A salted argon2id hash string."""
        return self._hasher.hash(password)

    def verify(self, password_hash: str | None, password: str) -> bool:
        """True if ``password`` matches; with no hash, spend the same time and refuse."""
        try:
            return self._hasher.verify(password_hash or self._dummy, password) and bool(
                password_hash
            )
        except (VerificationError, InvalidHashError):
            return False
