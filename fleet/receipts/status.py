"""A receipt's status from its parts, and the callback events its changes raise.

A receipt is as far as its least advanced part (accepted < queued < fiscalised < confirmed);
one failed part fails the receipt (the reason names the part when there are several, and says
which parts were fiscalised all the same). Each change to fiscalised, confirmed or failed
queues one callback event (fleet/receipts/callbacks.py) in the same transaction.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Table, select
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


_RECEIPT_COLUMNS: tuple[str, ...] = tuple(c.name for c in _RECEIPT_VIEW)
#: the part's view, its receipt's (labelled r_…) and whether the company takes callbacks:
#: one read for the whole refresh
_READ = (
    *_PART_VIEW,
    *(c.label(f"r_{c.name}") for c in _RECEIPT_VIEW),
    _CALLBACK.c.company_id.is_not(None).label("hooked"),
)
_SET: tuple[str, ...] = (
    "status",
    "failure",
    "retryable",
    "updated_at",
    "fiscalised_at",
    "confirmed_at",
)


def refresh(conn: Connection, receipt_ids: Iterable[int], now: float) -> list[tuple[int, str]]:
    """Recompute the receipts' statuses; queue callback events for the changes. Returns the
    (receipt id, new status) of each change. Two statements (the parts with their receipts
    and callback settings in one read; the changed receipts in one write), plus one insert of
    the callback events when there are any."""
    ids = sorted(set(receipt_ids))
    if not ids:
        return []
    parts: dict[int, list[Any]] = {}
    receipts: dict[int, dict[str, Any]] = {}
    hooked: set[int] = set()
    # only the columns the status and the view read: not the request and body JSON; the id
    # list as one array parameter on PostgreSQL (fleet/receipts/idlist.py)
    found = conn.execute(
        select(*_READ)
        .select_from(
            _PART.join(_RECEIPT, _RECEIPT.c.id == _PART.c.receipt_id).outerjoin(
                _CALLBACK, _CALLBACK.c.company_id == _RECEIPT.c.company_id
            )
        )
        .where(in_ids(conn, _PART.c.receipt_id, ids))
    ).all()
    for p in found:
        parts.setdefault(p.receipt_id, []).append(p)
        if p.receipt_id not in receipts:
            m = p._mapping
            receipts[p.receipt_id] = {c: m[f"r_{c}"] for c in _RECEIPT_COLUMNS}
            if p.hooked:
                hooked.add(p.receipt_id)
    changes: list[tuple[int, str]] = []
    rows: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    for rid in ids:
        r = receipts.get(rid)
        if r is None:
            continue
        status, failure, retryable = _aggregate(parts[rid])
        if status == r["status"] and failure == r["failure"]:
            continue
        values: dict[str, Any] = {
            "id": rid,
            "status": status,
            "failure": failure,
            "retryable": retryable,
            "updated_at": now,
            "fiscalised_at": r["fiscalised_at"],
            "confirmed_at": r["confirmed_at"],
        }
        if status in (ReceiptStatus.FISCALISED, ReceiptStatus.CONFIRMED) and not r["fiscalised_at"]:
            values["fiscalised_at"] = now
        if status == ReceiptStatus.CONFIRMED:
            values["confirmed_at"] = now
        rows.append(values)
        if status != r["status"]:
            changes.append((rid, status))
            if status in EVENTS and rid in hooked:
                events.append(_event(r, parts[rid], {**r, **values}, now))
    _write(conn, rows)
    if events:
        conn.execute(_DELIVERY.insert(), events)
    return changes


def _write(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """The receipts' new columns in one statement: an UPDATE over one JSON parameter on
    PostgreSQL, the driver's executemany on SQLite (no per-row SQLAlchemy processing)."""
    if not rows:
        return
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(
            "UPDATE receipt AS r SET status = u.status, failure = u.failure,"
            " retryable = u.retryable, updated_at = u.updated_at,"
            " fiscalised_at = u.fiscalised_at, confirmed_at = u.confirmed_at"
            " FROM json_to_recordset(%s::json) AS u(id int, status text, failure text,"
            " retryable bool, updated_at float8, fiscalised_at float8, confirmed_at float8)"
            " WHERE r.id = u.id",
            (json.dumps(rows, ensure_ascii=False),),
        )
        return
    conn.exec_driver_sql(
        "UPDATE receipt SET status = ?, failure = ?, retryable = ?, updated_at = ?,"
        " fiscalised_at = ?, confirmed_at = ? WHERE id = ?",
        [tuple(r[c] for c in (*_SET, "id")) for r in rows],
    )


def _event(
    r: dict[str, Any], parts: list[Any], current: dict[str, Any], now: float
) -> dict[str, Any]:
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
        "company_id": r["company_id"],
        "receipt_id": r["id"],
        "event": current["status"],
        "payload": payload,
        "status": DeliveryStatus.PENDING.value,
        "attempts": 0,
        "next_at": now,
        "created_at": now,
        "delivered_at": None,
        "last_error": None,
    }
