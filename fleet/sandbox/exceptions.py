"""Sandbox refusals."""

from __future__ import annotations

from fleet.core.errors import AuthenticationError, DomainError, NotFoundError

__all__ = ["SandboxCompanyError", "SandboxError", "SandboxKeyError"]


class SandboxError(DomainError):
    """Base of the sandbox's refusals."""


class SandboxCompanyError(SandboxError, NotFoundError):
    """No such client company (a sandbox twin has no sandbox of its own)."""


class SandboxKeyError(SandboxError, AuthenticationError):
    """A production key in the sandbox, or a sandbox key that is unknown or revoked."""
