"""The rollouts' typed errors (mapped to HTTP and Russian pages by fleet/core/errors.py)."""

from __future__ import annotations

from fleet.core.errors import ConflictError, InvalidInputError, NotFoundError

__all__ = [
    "BundleExistsError",
    "BundleNotFoundError",
    "InvalidBundleError",
    "InvalidRolloutError",
    "RolloutNotFoundError",
    "RolloutStateError",
    "UncertifiedBundleError",
]


class BundleNotFoundError(NotFoundError):
    """No such firmware bundle."""


class RolloutNotFoundError(NotFoundError):
    """No such rollout."""


class InvalidBundleError(InvalidInputError):
    """The uploaded file is not a bundle, or a file in it does not match its manifest."""


class BundleExistsError(ConflictError):
    """A bundle of this version (or with these bytes) is registered already."""


class InvalidRolloutError(InvalidInputError):
    """Bad phases, threshold, time-out or target group, or nobody to update."""


class UncertifiedBundleError(ConflictError):
    """An uncertified version may not go to registered registers."""


class RolloutStateError(ConflictError):
    """The rollout is not running (it finished or was aborted)."""
