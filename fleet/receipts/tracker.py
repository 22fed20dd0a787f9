"""Tracking: queued parts move by what their registers answered; fiscalised ones by the OFD.

Reads only what the ingest stores (fleet/link/ingest.py): `linkcommand` (ack and result by
register and request id) and `fiscaldocument` (by FN and FD). One `track()` pass is one
transaction; run it after each ingest batch or on a short poll.

- result `made`: fiscalised (FN, FD, ФП, shift, number, time, QR string);
- result `failed`, retryable (nothing was made): `quiet_s` after the command's last send,
  back to the router with the register in `tried` and a new request id; after `max_routes`
  attempts it fails (retryable);
- result `failed`, not retryable: failed with the register's reasons;
- result `unknown`: waits (the register settles it with its drive and reports again);
- ack `rejected`: failed, not retryable (the register refused the command's form);
- ack `expired`, or no ack within the command's TTL: failed, retryable (nothing was made);
- fiscalised, and the OFD accepted the document: confirmed.

The quiet period guards against a re-sent command still on its way: the runtime re-runs a
retryable failure when the same id comes again (firmware/register.py), so a part is moved only
when the sender has stopped sending it and the register's last word has stood for a while.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import Table, and_, select
from sqlalchemy.engine import Connection, Engine

from fleet.core.clock import Clock
from fleet.documents.models import FiscalDocument
from fleet.link.command_models import CommandStatus, SentCommand
from fleet.link.ingest_models import LinkCommand
from fleet.receipts.models import ReceiptPart, ReceiptStatus
from fleet.receipts.quota import add_usage, period_of
from fleet.receipts.status import refresh

__all__ = ["TrackStats", "not_executed", "track"]

MAX_ROUTES: Final = 3
_PART: Table = ReceiptPart.__table__  # type: ignore[attr-defined]
_LINK: Table = LinkCommand.__table__  # type: ignore[attr-defined]
_SENT: Table = SentCommand.__table__  # type: ignore[attr-defined]
_DOCS: Table = FiscalDocument.__table__  # type: ignore[attr-defined]


@dataclass
class TrackStats:
    """What one pass did."""

    fiscalised: int = 0
    confirmed: int = 0
    rerouted: int = 0
    failed: int = 0


def _reasons(errors: Any) -> str:
    if not isinstance(errors, list) or not errors:
        return "касса не сообщила причину"
    out = []
    for e in errors[:5]:
        if isinstance(e, dict):
            path = e.get("path") or ""
            out.append(f"{path}: {e.get('message')}" if path else str(e.get("message")))
    return "; ".join(out)[:480]


def track(
    engine: Engine,
    clock: Clock,
    *,
    quiet_s: float = 5.0,
    max_routes: int = MAX_ROUTES,
    limit: int = 2000,
) -> TrackStats:
    """One pass: answers of queued parts, then OFD confirmations of fiscalised ones."""
    stats = TrackStats()
    now = clock.wall()
    touched: set[int] = set()
    with engine.begin() as conn:
        rows = conn.execute(
            select(
                _PART.c.id,
                _PART.c.receipt_id,
                _PART.c.register_id,
                _PART.c.tried,
                _PART.c.request_id,
                _PART.c.routed_at,
                _LINK.c.ack_status,
                _LINK.c.ack_errors,
                _LINK.c.result_status,
                _LINK.c.result,
                _SENT.c.status.label("sent_status"),
                _SENT.c.sent_at,
            )
            .select_from(
                _PART.join(
                    _SENT,
                    and_(
                        _SENT.c.register_id == _PART.c.register_id,
                        _SENT.c.request_id == _PART.c.request_id,
                    ),
                ).outerjoin(
                    _LINK,
                    and_(
                        _LINK.c.register_id == _PART.c.register_id,
                        _LINK.c.request_id == _PART.c.request_id,
                    ),
                )
            )
            .where(
                _PART.c.status == ReceiptStatus.QUEUED.value,
                (_LINK.c.result_status.is_not(None))
                | (_LINK.c.ack_status.in_(("rejected", "expired")))
                | (_SENT.c.status == CommandStatus.EXPIRED.value),
            )
            .order_by(_PART.c.id)
            .limit(limit)
        ).all()
        changes: list[dict[str, Any]] = []
        unmade: dict[tuple[int, str], int] = defaultdict(int)
        for r in rows:
            values = _decide(r, now, quiet_s, max_routes, stats)
            if values is None:
                continue
            values["updated_at"] = now
            values["id"] = r.id
            changes.append(values)
            touched.add(r.receipt_id)
            if values["status"] != ReceiptStatus.FISCALISED.value:
                # nothing was made there: the part no longer counts against its quota
                unmade[(r.register_id, period_of(r.routed_at or now))] -= 1
        _apply(conn, changes)
        add_usage(conn, unmade)
        # the OFD's verdicts on fiscalised parts, read and written in one statement
        for receipt_id, status in conn.exec_driver_sql(
            _OFD_PG if conn.dialect.name == "postgresql" else _OFD_SQLITE,
            (now, limit),
        ).all():
            if status == ReceiptStatus.CONFIRMED.value:
                stats.confirmed += 1
            touched.add(receipt_id)
        refresh(conn, touched, now)
    return stats


#: the fiscalised parts whose document's OFD status changed (up to a limit): their
#: `ofd_status`, and confirmed when the OFD accepted the document
_OFD = (
    "UPDATE receiptpart SET ofd_status = d.ofd_status, updated_at = {p},"
    " status = CASE WHEN d.ofd_status = 'accepted' THEN 'confirmed' ELSE 'fiscalised' END"
    " FROM fiscaldocument AS d"
    " WHERE receiptpart.id IN (SELECT q.id FROM receiptpart AS q JOIN fiscaldocument AS e"
    " ON e.fn_number = q.fn_number AND e.fd_number = q.fd_number"
    " WHERE q.status = 'fiscalised' AND e.ofd_status <> 'pending'"
    " AND (q.ofd_status IS NULL OR q.ofd_status <> e.ofd_status) LIMIT {p})"
    " AND receiptpart.status = 'fiscalised'"
    " AND d.fn_number = receiptpart.fn_number AND d.fd_number = receiptpart.fd_number"
    " AND (receiptpart.ofd_status IS NULL OR receiptpart.ofd_status <> d.ofd_status)"
    " RETURNING receiptpart.receipt_id, receiptpart.status"
)
_OFD_PG = _OFD.format(p="%s")
_OFD_SQLITE = _OFD.format(p="?")

#: every column a decision may set (`_decide`), with its PostgreSQL type; JSON ones marked.
#: A new `request_id` also goes into the request's own `id` (in SQL: the request JSON is
#: neither read nor sent back).
_COLUMNS: Final = (
    ("status", "text"), ("fn_number", "text"), ("fd_number", "int8"), ("fiscal_sign", "text"),
    ("shift_number", "int8"), ("receipt_number", "int8"), ("document_time", "text"),
    ("qr", "text"), ("failure", "text"), ("retryable", "bool"), ("register_id", "int"),
    ("routed_at", "float8"), ("tried", "json"), ("request_id", "text"), ("updated_at", "float8"),
)  # fmt: skip
_JSON: Final = frozenset(c for c, t in _COLUMNS if t == "json")
#: one UPDATE for every decision of a pass: a column is set where the row names it in `s`
_APPLY_PG: Final = (
    "UPDATE receiptpart AS p SET "
    + ", ".join(
        f"{c} = CASE WHEN u.s::jsonb ? '{c}' THEN u.{c} ELSE p.{c} END" for c, _t in _COLUMNS
    )
    + ", request = CASE WHEN u.s::jsonb ? 'request_id'"
    " THEN jsonb_set(p.request::jsonb, '{id}', to_jsonb(u.request_id))::json ELSE p.request END"
    " FROM json_to_recordset(%s::json) AS u(id int, s json, "
    + ", ".join(f"{c} {t}" for c, t in _COLUMNS)
    + f") WHERE p.id = u.id AND p.status = '{ReceiptStatus.QUEUED.value}'"
)


def _apply(conn: Connection, changes: list[dict[str, Any]]) -> None:
    """The parts' new columns (each dict: its id and the columns it sets), guarded by their
    status still being queued: one statement over one JSON parameter on PostgreSQL; on SQLite
    the driver's executemany per set of columns (no per-row SQLAlchemy processing)."""
    if not changes:
        return
    if conn.dialect.name == "postgresql":
        rows = [{**v, "s": [c for c in v if c != "id"]} for v in changes]
        conn.exec_driver_sql(_APPLY_PG, (json.dumps(rows, ensure_ascii=False),))
        return
    batches: dict[tuple[str, ...], list[tuple[Any, ...]]] = defaultdict(list)
    for v in changes:
        columns = tuple(sorted(c for c in v if c != "id"))
        values = [json.dumps(v[c], ensure_ascii=False) if c in _JSON else v[c] for c in columns]
        if "request_id" in v:
            values.append(v["request_id"])
        batches[columns].append((*values, v["id"]))
    for columns, params in batches.items():
        sets = [f"{c} = ?" for c in columns]
        if "request_id" in columns:
            sets.append("request = json_set(request, '$.id', ?)")
        conn.exec_driver_sql(
            f"UPDATE receiptpart SET {', '.join(sets)}"
            f" WHERE id = ? AND status = '{ReceiptStatus.QUEUED.value}'",
            params,
        )


def _reroute(r: Any, why: str, max_routes: int, stats: TrackStats) -> dict[str, Any]:
    """ "Not executed" on r.register_id: back to routing under a new id, or failed (retryable)
    after `max_routes` registers."""
    tried = [*list(r.tried or []), r.register_id]
    if len(tried) >= max_routes:
        stats.failed += 1
        return {
            "status": ReceiptStatus.FAILED.value,
            "failure": f"Не пробит за {len(tried)} попытки: {why}"[:500],
            "retryable": True,
        }
    stats.rerouted += 1
    # a new request id: the register that failed it never sees the old id again, and the
    # next register's journal and answers are keyed apart from the first's
    rid = f"{r.request_id.split('.')[0]}.{len(tried)}"
    return {
        "status": ReceiptStatus.ACCEPTED.value,
        "register_id": None,
        "routed_at": None,
        "tried": tried,
        "request_id": rid,  # and the request's own id (`_apply`)
        "failure": why,
    }


def not_executed(
    conn: Connection,
    register_id: int,
    part_ids: Iterable[int],
    now: float,
    why: str,
    *,
    max_routes: int = MAX_ROUTES,
) -> TrackStats:
    """Parts queued on `register_id` that it is known not to have made (an operator declared it
    dead and its drive's archive proves it: fleet/console/dead.py) move as a "not executed"
    answer moves them: the register joins `tried`, a new request id, back to routing (or
    failed after `max_routes`); their quota places are given back and the receipts' statuses
    follow. Parts no longer queued there are left alone. In the caller's transaction."""
    stats = TrackStats()
    ids = sorted(set(part_ids))
    if not ids:
        return stats
    rows = conn.execute(
        select(
            _PART.c.id,
            _PART.c.receipt_id,
            _PART.c.register_id,
            _PART.c.tried,
            _PART.c.request_id,
            _PART.c.routed_at,
        ).where(
            _PART.c.id.in_(ids),
            _PART.c.register_id == register_id,
            _PART.c.status == ReceiptStatus.QUEUED.value,
        )
    ).all()
    unmade: dict[tuple[int, str], int] = defaultdict(int)
    changes: list[dict[str, Any]] = []
    for r in rows:
        values = _reroute(r, why, max_routes, stats)
        values["updated_at"] = now
        values["id"] = r.id
        changes.append(values)
        unmade[(register_id, period_of(r.routed_at or now))] -= 1
    _apply(conn, changes)
    add_usage(conn, unmade)
    refresh(conn, {r.receipt_id for r in rows}, now)
    return stats


def _decide(
    r: Any, now: float, quiet_s: float, max_routes: int, stats: TrackStats
) -> dict[str, Any] | None:
    """The part's new columns from its register's answer; None to leave it as it is."""
    result = r.result if isinstance(r.result, dict) else {}
    if r.result_status == "made":
        stats.fiscalised += 1
        fp = result.get("fp")
        return {
            "status": ReceiptStatus.FISCALISED.value,
            "fn_number": result.get("fn"),
            "fd_number": result.get("fd"),
            "fiscal_sign": None if fp is None else str(fp),
            "shift_number": result.get("shift"),
            "receipt_number": result.get("number"),
            "document_time": result.get("date_time"),
            "qr": result.get("qr"),
            "failure": None,
            "retryable": None,
        }
    if r.result_status == "failed":
        why = _reasons(result.get("errors"))
        if not result.get("retryable"):
            stats.failed += 1
            return {"status": ReceiptStatus.FAILED.value, "failure": why, "retryable": False}
        if now - (r.sent_at or 0) < quiet_s:
            return None  # a re-sent copy may still be on its way (the sender stops once the
            # answer is stored; its last send is `sent_at` on the fleet's clock): wait
        return _reroute(r, why, max_routes, stats)
    if r.result_status is not None:
        return None  # "unknown": the register settles it with its drive and reports again
    if r.ack_status == "rejected":
        stats.failed += 1
        return {
            "status": ReceiptStatus.FAILED.value,
            "failure": "Касса отклонила команду: " + _reasons(r.ack_errors),
            "retryable": False,
        }
    stats.failed += 1
    return {
        "status": ReceiptStatus.FAILED.value,
        "failure": "Касса не приняла чек за время жизни команды; чек не пробит",
        "retryable": True,
    }
