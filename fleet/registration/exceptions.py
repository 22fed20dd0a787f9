"""Registration refusals."""

from __future__ import annotations

from fleet.core.errors import ConflictError, DomainError, InvalidInputError, NotFoundError

__all__ = [
    "CertificateRevokedError",
    "CertificateStatusUnknownError",
    "FnsUnavailableError",
    "InvalidApplicationError",
    "InvalidCrlError",
    "InvalidPoaError",
    "InvalidSignatureError",
    "RegistrationNotFoundError",
    "RegistrationStateError",
]


class InvalidApplicationError(InvalidInputError):
    """The application's data are wrong; ``fields`` says which and why."""


class InvalidSignatureError(InvalidInputError):
    """The uploaded signature is not acceptable (bad, untrusted, expired, another signer)."""


class RegistrationStateError(ConflictError):
    """The application is in a state that forbids the action."""


class RegistrationNotFoundError(NotFoundError):
    """No application for this register yet."""


class FnsUnavailableError(ConflictError):
    """The tax service's gateway did not answer; nothing was lost, retry later."""


class InvalidPoaError(InvalidSignatureError):
    """The uploaded power of attorney (МЧД) is unreadable, or does not cover this signer."""


class CertificateRevokedError(InvalidSignatureError):
    """A certificate of the signature's chain is on its CA's list of revoked certificates."""


class CertificateStatusUnknownError(InvalidSignatureError):
    """The CA's list of revoked certificates is older than the staleness limit (or was never
    obtained): the signer's certificate may be revoked, so the signature is not accepted."""


class InvalidCrlError(DomainError):
    """A configured list of revoked certificates (CRL) is not one: a setup error."""
