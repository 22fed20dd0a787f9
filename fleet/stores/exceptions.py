"""Store refusals."""

from __future__ import annotations

from fleet.core.errors import ConflictError, InvalidInputError, NotFoundError

__all__ = ["InvalidStoreError", "StoreInUseError", "StoreNotFoundError"]


class StoreNotFoundError(NotFoundError):
    """No store with this id in the caller's company."""


class InvalidStoreError(InvalidInputError):
    """The store's name, kind, address, website or time zone is wrong."""


class StoreInUseError(ConflictError):
    """Registers are still placed in the store."""
