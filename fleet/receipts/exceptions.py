"""Receipt refusals."""

from __future__ import annotations

from fleet.core.errors import ConflictError, InvalidInputError, NotFoundError

__all__ = [
    "IdempotencyConflictError",
    "InvalidCallbackError",
    "InvalidReceiptError",
    "ReceiptNotFoundError",
]


class ReceiptNotFoundError(NotFoundError):
    """No receipt with this id (or external id) in the caller's company."""


class InvalidReceiptError(InvalidInputError):
    """The request breaks the shared schema's rules; ``fields`` maps each path to its reasons
    and ``errors`` keeps every (path, code, message) of protocol.portable.receipt.check."""

    def __init__(self, message: str, errors: list[tuple[str, str, str]]) -> None:
        fields: dict[str, str] = {}
        for path, _code, text in errors:
            key = path or "_"
            fields[key] = f"{fields[key]}; {text}" if key in fields else text
        super().__init__(message, fields=fields)
        self.errors = errors


class IdempotencyConflictError(ConflictError):
    """The external id or the Idempotency-Key names a receipt with another body."""

    def __init__(self, message: str, receipt_id: int) -> None:
        super().__init__(message, fields={"receipt_id": str(receipt_id)})
        self.receipt_id = receipt_id


class InvalidCallbackError(InvalidInputError):
    """The callback URL or secret is unusable."""
