"""Errors of the MQTT link's administration."""

from __future__ import annotations

from fleet.core.errors import InvalidInputError, NotFoundError

__all__ = ["BadSerialError", "InvalidDesiredError", "UnknownAccountError"]


class BadSerialError(InvalidInputError):
    """A serial that cannot be a topic level (1..32 of [0-9A-Za-z_-])."""


class UnknownAccountError(NotFoundError):
    """No such broker account."""


class InvalidDesiredError(InvalidInputError):
    """A desired document the register would refuse (link.check_desired); nothing changed."""
