"""The main page's refusals."""

from __future__ import annotations

from fleet.core.errors import ConflictError, DomainError, InvalidInputError

__all__ = [
    "DashboardError",
    "InvalidLayoutError",
    "StaleLayoutError",
    "UnknownWidgetError",
]


class DashboardError(DomainError):
    """The base of the main page's errors."""


class UnknownWidgetError(DashboardError, InvalidInputError):
    """A widget id that is not in the catalogue, or one the user may not see."""


class InvalidLayoutError(DashboardError, InvalidInputError):
    """A layout or a move that cannot be applied (a duplicate, a move past an edge, a widget
    not on the page, an unknown period)."""


class StaleLayoutError(DashboardError, ConflictError):
    """A new order that does not list exactly the widgets on the page (another tab changed
    it meanwhile)."""
