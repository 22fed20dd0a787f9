"""Refusals of the reports section."""

from __future__ import annotations

from fleet.core.errors import ConflictError, InvalidInputError, NotFoundError

__all__ = [
    "FontMissingError",
    "InvalidReportError",
    "ReportNotFoundError",
    "TemplateInUseError",
]


class InvalidReportError(InvalidInputError):
    """A filter, template or schedule field is wrong (per field)."""


class ReportNotFoundError(NotFoundError):
    """No such report, template, schedule or finished report in the company."""


class TemplateInUseError(ConflictError):
    """A template an auto-report still uses cannot be deleted."""


class FontMissingError(RuntimeError):
    """The PDF export's Cyrillic font is not installed (a deployment fault, not user input)."""
