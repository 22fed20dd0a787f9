"""The guides' "Отправить тестовый чек": a receipt in the client's sandbox and its progress.

The receipt goes through the sandbox (fleet/sandbox: the client's twin company and its
simulated register with a test drive), so it is fiscalised like a real one but never reaches the
tax service; the page polls `trial_view` until it is final.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlmodel import Session, col, select

from fleet.core.clock import Clock
from fleet.guides.exceptions import TestReceiptNotFoundError
from fleet.receipts.models import STATUS_LABEL, Receipt, ReceiptPart, ReceiptStatus
from fleet.sandbox.models import SandboxCompany
from fleet.sandbox.service import send_test_receipt

__all__ = ["TrialView", "send_trial", "trial_view"]


@dataclass(frozen=True)
class TrialView:
    """What the page shows of a test receipt."""

    receipt_id: int
    status: str
    label: str
    final: bool
    total: int
    fd_number: int | None = None
    fiscal_sign: str | None = None
    fn_number: str | None = None
    document_time: str | None = None
    failure: str | None = None


def _local(iso: str | None) -> str | None:
    """The register's local time as the page shows times (ДД.ММ.ГГГГ ЧЧ:ММ:СС)."""
    try:
        return None if iso is None else dt.datetime.fromisoformat(iso).strftime("%d.%m.%Y %H:%M:%S")
    except ValueError:
        return iso  # shown as the register sent it


def send_trial(session: Session, clock: Clock, company_id: int) -> int:
    """Send a test receipt in the company's sandbox (made on first use). Commits; the id."""
    receipt = send_test_receipt(session, clock, company_id)
    session.commit()
    assert receipt.id is not None  # flushed by create_receipt
    return receipt.id


def trial_view(session: Session, company_id: int, receipt_id: int) -> TrialView:
    """A test receipt of the company's sandbox; any other receipt is "not found"."""
    link = session.get(SandboxCompany, company_id)
    receipt = session.get(Receipt, receipt_id)
    if link is None or receipt is None or receipt.company_id != link.sandbox_company_id:
        raise TestReceiptNotFoundError(f"Тестовый чек № {receipt_id} не найден")
    part = session.exec(
        select(ReceiptPart)
        .where(ReceiptPart.receipt_id == receipt_id)
        .order_by(col(ReceiptPart.part_no))
    ).first()
    status = ReceiptStatus(receipt.status)
    return TrialView(
        receipt_id=receipt_id,
        status=status.value,
        label=STATUS_LABEL[status],
        final=status in (ReceiptStatus.FISCALISED, ReceiptStatus.CONFIRMED, ReceiptStatus.FAILED),
        total=receipt.total,
        fd_number=part.fd_number if part else None,
        fiscal_sign=part.fiscal_sign if part else None,
        fn_number=part.fn_number if part else None,
        document_time=_local(part.document_time) if part else None,
        failure=receipt.failure,
    )
