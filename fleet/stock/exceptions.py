"""The stock's typed errors (mapped to HTTP and Russian pages by fleet/core/errors.py)."""

from __future__ import annotations

from fleet.core.errors import ConflictError, InvalidInputError, NotFoundError

__all__ = ["InvalidStockError", "StepStateError", "WorkOrderNotFoundError"]


class InvalidStockError(InvalidInputError):
    """An unknown drive model or a bad quantity."""


class WorkOrderNotFoundError(NotFoundError):
    """No such work order (or step)."""


class StepStateError(ConflictError):
    """The step cannot run now: an earlier one is not done, or it is done already."""
