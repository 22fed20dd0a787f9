"""Registration refusals."""

from __future__ import annotations

from fleet.core.errors import ConflictError, DomainError, InvalidInputError, NotFoundError

__all__ = [
    "CertificateRevokedError",
    "CertificateStatusUnknownError",
    "CertificateUnknownToCaError",
    "ClosingNotConfirmedError",
    "FnsUnavailableError",
    "InvalidApplicationError",
    "InvalidCrlError",
    "InvalidPoaError",
    "InvalidSignatureError",
    "RegistrationNotFoundError",
    "RegistrationStateError",
    "ReportMismatchError",
    "ReportNotStoredError",
]


class InvalidApplicationError(InvalidInputError):
    """The application's data are wrong; ``fields`` says which and why."""


class InvalidSignatureError(InvalidInputError):
    """The uploaded signature is not acceptable (bad, untrusted, expired, another signer)."""


class RegistrationStateError(ConflictError):
    """The application is in a state that forbids the action."""


class ReportMismatchError(InvalidApplicationError):
    """A report's requisites differ from the fiscal document the register sent the fleet (its
    drive number, FD number, type, fiscal sign or date); ``fields`` names each. Nothing is sent."""


class ReportNotStoredError(RegistrationStateError):
    """The fiscal document a report's requisites name has not reached the fleet (yet): they
    cannot be checked, so nothing is sent; ``fields`` names the FD number."""


class ClosingNotConfirmedError(RegistrationStateError):
    """The OFD has not (yet) accepted the report on closing the drive's fiscal mode, or refused
    it: the drive is not replaced nor the register deregistered without an operator's override."""


class RegistrationNotFoundError(NotFoundError):
    """No application for this register yet."""


class FnsUnavailableError(ConflictError):
    """The tax service's gateway did not answer; nothing was lost, retry later."""


class InvalidPoaError(InvalidSignatureError):
    """The uploaded power of attorney (МЧД) is unreadable, or does not cover this signer."""


class CertificateRevokedError(InvalidSignatureError):
    """A certificate of the signature's chain is on its CA's list of revoked certificates."""


class CertificateStatusUnknownError(InvalidSignatureError):
    """Neither the CA's OCSP responder nor its list of revoked certificates gave a usable answer
    (unreachable, a bad signature, a wrong nonce, stale, or no source at all): the signer's
    certificate may be revoked, so the signature is not accepted."""


class CertificateUnknownToCaError(InvalidSignatureError):
    """The CA's OCSP responder answered "unknown": it has no record of issuing the certificate,
    so a list of revoked ones cannot vouch for it either."""


class InvalidCrlError(DomainError):
    """A configured list of revoked certificates (CRL) is not one: a setup error."""
