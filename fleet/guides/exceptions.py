"""Guide refusals."""

from __future__ import annotations

from fleet.core.errors import DomainError, NotFoundError

__all__ = ["GuideCompanyError", "GuideError", "GuideNotFoundError", "TestReceiptNotFoundError"]


class GuideError(DomainError):
    """Base of the guides' refusals."""


class GuideNotFoundError(GuideError, NotFoundError):
    """No guide with that address."""


class GuideCompanyError(GuideError, NotFoundError):
    """No such company."""


class TestReceiptNotFoundError(GuideError, NotFoundError):
    """Not a test receipt of this company's sandbox."""

    __test__ = False  # not a pytest class, despite the name
