"""Refusals of a bank or acquiring registry: each names the line and the field."""

from __future__ import annotations

from fleet.core.errors import InvalidInputError

__all__ = ["ImportFileError", "InvalidImportError", "RegistryFieldError", "RegistryFormatError"]


class ImportFileError(InvalidInputError):
    """A registry file that cannot be read; ``line`` (1-based) and ``field`` say where.

    The message is "Строка N, поле «Ключ»: причина" (or without the field when the line's
    structure is wrong); ``fields`` carries it under ``file`` for the form.
    """

    def __init__(self, line: int, field: str | None, reason: str) -> None:
        where = f"Строка {line}" + (f", поле «{field}»" if field else "")
        text = f"{where}: {reason}"
        super().__init__(f"Файл не прочитан. {text}", fields={"file": text})
        self.line = line
        self.field = field
        self.reason = reason


class RegistryFormatError(ImportFileError):
    """The file's structure is broken: header, sections, ``Ключ=Значение`` lines, columns."""


class RegistryFieldError(ImportFileError):
    """One value is wrong: a sum, a date, an account or a required field missing."""


class InvalidImportError(InvalidInputError):
    """The import form is wrong (register, tax system, VAT, selection); nothing is sent."""
