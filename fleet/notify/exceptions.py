"""Notification refusals."""

from __future__ import annotations

from fleet.core.errors import InvalidInputError, NotFoundError

__all__ = ["InvalidPreferenceError", "NotificationNotFoundError"]


class NotificationNotFoundError(NotFoundError):
    """No such notification for this user."""


class InvalidPreferenceError(InvalidInputError):
    """An unknown kind of notification, or no user to hold the choice."""
