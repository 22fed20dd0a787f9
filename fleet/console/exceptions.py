"""The console's typed errors (mapped to HTTP and Russian pages by fleet/core/errors.py)."""

from __future__ import annotations

from fleet.core.errors import ConflictError, InvalidInputError, NotFoundError

__all__ = [
    "AlarmNotFoundError",
    "AlarmStateError",
    "ArchiveIncompleteError",
    "CommandNotFoundError",
    "CommandStateError",
    "ConsoleRegisterNotFoundError",
    "InvalidAssigneeError",
    "InvalidCommandError",
    "RegisterAlreadyDeadError",
]


class ConsoleRegisterNotFoundError(NotFoundError):
    """No such register."""


class AlarmNotFoundError(NotFoundError):
    """No such alarm."""


class CommandNotFoundError(NotFoundError):
    """No such console command."""


class AlarmStateError(ConflictError):
    """The alarm is not in a state that allows this."""


class CommandStateError(ConflictError):
    """The command is not in a state that allows this (a retry of one still running)."""


class InvalidAssigneeError(InvalidInputError):
    """The assignee is not an operator."""


class InvalidCommandError(InvalidInputError):
    """An unknown action, bad parameters, or a register without hardware."""


class RegisterAlreadyDeadError(ConflictError):
    """The register was declared dead already."""


class ArchiveIncompleteError(ConflictError):
    """The fleet lacks documents the drive reported: what was made is not proved yet."""
