"""A receipt's status from its parts, and the callback events its changes raise.

A receipt is as far as its least advanced part (accepted < queued < fiscalised < confirmed);
one failed part fails the receipt (the reason names the part when there are several, and says
which parts were fiscalised all the same). Each change to fiscalised, confirmed or failed
queues one callback event (fleet/receipts/callbacks.py) in the same transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.engine import Connection

from fleet.receipts.idlist import in_ids
from fleet.receipts.models import (
    PROGRESS,
    CallbackDelivery,
    CallbackSettings,
    DeliveryStatus,
    Receipt,
    ReceiptPart,
    ReceiptStatus,
)
from fleet.receipts.schemas import receipt_view

__all__ = ["EVENTS", "refresh"]

_RECEIPT: Table = Receipt.__table__  # type: ignore[attr-defined]
_PART: Table = ReceiptPart.__table__  # type: ignore[attr-defined]
_CALLBACK: Table = CallbackSettings.__table__  # type: ignore[attr-defined]
_DELIVERY: Table = CallbackDelivery.__table__  # type: ignore[attr-defined]

EVENTS = frozenset({ReceiptStatus.FISCALISED, ReceiptStatus.CONFIRMED, ReceiptStatus.FAILED})

_PART_VIEW = tuple(
    _PART.c[c]
    for c in (
        "receipt_id",
        "part_no",
        "status",
        "total",
        "register_id",
        "fn_number",
        "fd_number",
        "fiscal_sign",
        "shift_number",
        "receipt_number",
        "document_time",
        "qr",
        "ofd_status",
        "failure",
        "retryable",
    )
)
_RECEIPT_VIEW = tuple(
    _RECEIPT.c[c]
    for c in (
        "id",
        "company_id",
        "external_id",
        "kind",
        "status",
        "total",
        "failure",
        "retryable",
        "created_at",
        "fiscalised_at",
        "confirmed_at",
    )
)


def _aggregate(parts: list[Any]) -> tuple[str, str | None, bool | None]:
    failed = [p for p in parts if p.status == ReceiptStatus.FAILED]
    if failed:
        many = len(parts) > 1
        reasons = [f"часть {p.part_no}: {p.failure}" if many else str(p.failure) for p in failed]
        made = [str(p.part_no) for p in parts if p.fd_number is not None]
        if made:
            reasons.append("фискализированы части " + ", ".join(made))
        return (
            ReceiptStatus.FAILED.value,
            "; ".join(reasons)[:500],
            all(bool(p.retryable) for p in failed),
        )
    least = min(parts, key=lambda p: PROGRESS[p.status])
    return least.status, None, None


def refresh(conn: Connection, receipt_ids: Iterable[int], now: float) -> list[tuple[int, str]]:
    """Recompute the receipts' statuses; queue callback events for the changes. Returns the
    (receipt id, new status) of each change."""
    ids = sorted(set(receipt_ids))
    if not ids:
        return []
    parts: dict[int, list[Any]] = {i: [] for i in ids}
    # only the columns the status and the view read: not the request and body JSON
    # the id lists as one array parameter on PostgreSQL (fleet/receipts/idlist.py)
    found = conn.execute(select(*_PART_VIEW).where(in_ids(conn, _PART.c.receipt_id, ids))).all()
    for p in found:
        parts[p.receipt_id].append(p)
    receipts = {
        r.id: r
        for r in conn.execute(select(*_RECEIPT_VIEW).where(in_ids(conn, _RECEIPT.c.id, ids)))
    }
    companies = {r.company_id for r in receipts.values()}
    hooked = {
        c
        for (c,) in conn.execute(
            select(_CALLBACK.c.company_id).where(in_ids(conn, _CALLBACK.c.company_id, companies))
        )
    }
    changes: list[tuple[int, str]] = []
    rows: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    for rid in ids:
        r = receipts.get(rid)
        if r is None or not parts[rid]:
            continue
        status, failure, retryable = _aggregate(parts[rid])
        if status == r.status and failure == r.failure:
            continue
        values: dict[str, Any] = {
            "status": status,
            "failure": failure,
            "retryable": retryable,
            "updated_at": now,
            "fiscalised_at": r.fiscalised_at,
            "confirmed_at": r.confirmed_at,
        }
        if status in (ReceiptStatus.FISCALISED, ReceiptStatus.CONFIRMED) and not r.fiscalised_at:
            values["fiscalised_at"] = now
        if status == ReceiptStatus.CONFIRMED:
            values["confirmed_at"] = now
        rows.append({"b_id": rid, **{f"b_{k}": v for k, v in values.items()}})
        if status != r.status:
            changes.append((rid, status))
            if status in EVENTS and r.company_id in hooked:
                events.append(_event(r, parts[rid], {**r._mapping, **values}, now))
    if rows:
        # one statement for the batch (bind names apart from the columns they set)
        conn.execute(
            update(_RECEIPT)
            .where(_RECEIPT.c.id == bindparam("b_id"))
            .values(
                {
                    k: bindparam(f"b_{k}")
                    for k in (
                        "status",
                        "failure",
                        "retryable",
                        "updated_at",
                        "fiscalised_at",
                        "confirmed_at",
                    )
                }
            ),
            rows,
        )
    if events:
        conn.execute(_DELIVERY.insert(), events)
    return changes


def _event(r: Any, parts: list[Any], current: dict[str, Any], now: float) -> dict[str, Any]:
    """The callback delivery row of the receipt's new status."""
    event_id = uuid.uuid4().hex
    payload = {
        "event_id": event_id,
        "event": current["status"],
        "occurred_at": now,
        "receipt": receipt_view(current, parts),
    }
    return {
        "event_id": event_id,
        "company_id": r.company_id,
        "receipt_id": r.id,
        "event": current["status"],
        "payload": payload,
        "status": DeliveryStatus.PENDING.value,
        "attempts": 0,
        "next_at": now,
        "created_at": now,
        "delivered_at": None,
        "last_error": None,
    }
