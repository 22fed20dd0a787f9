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

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import Table, and_, bindparam, select, update
from sqlalchemy.engine import Connection, Engine

from fleet.core.clock import Clock
from fleet.documents.models import FiscalDocument, OfdStatus
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
                _PART.c.request,
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
        # one executemany per kind of change (the columns it sets), not a statement a part
        batches: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
        unmade: dict[tuple[int, str], int] = defaultdict(int)
        for r in rows:
            values = _decide(r, now, quiet_s, max_routes, stats)
            if values is None:
                continue
            values["updated_at"] = now
            batches[tuple(sorted(values))].append(
                {"pid": r.id, **{f"v_{k}": v for k, v in values.items()}}
            )
            touched.add(r.receipt_id)
            if values["status"] != ReceiptStatus.FISCALISED.value:
                # nothing was made there: the part no longer counts against its quota
                unmade[(r.register_id, period_of(r.routed_at or now))] -= 1
        for columns, params in batches.items():
            conn.execute(
                update(_PART)
                .where(
                    _PART.c.id == bindparam("pid"),
                    _PART.c.status == ReceiptStatus.QUEUED.value,
                )
                .values({c: bindparam(f"v_{c}", type_=_PART.c[c].type) for c in columns}),
                params,
            )
        add_usage(conn, unmade)
        confirmed = conn.execute(
            select(_PART.c.id, _PART.c.receipt_id, _DOCS.c.ofd_status)
            .select_from(
                _PART.join(
                    _DOCS,
                    and_(
                        _DOCS.c.fn_number == _PART.c.fn_number,
                        _DOCS.c.fd_number == _PART.c.fd_number,
                    ),
                )
            )
            .where(
                _PART.c.status == ReceiptStatus.FISCALISED.value,
                _DOCS.c.ofd_status != OfdStatus.PENDING.value,
                (_PART.c.ofd_status.is_(None)) | (_PART.c.ofd_status != _DOCS.c.ofd_status),
            )
            .limit(limit)
        ).all()
        ofd_rows: list[dict[str, Any]] = []
        for c in confirmed:
            status = ReceiptStatus.FISCALISED.value
            if c.ofd_status == OfdStatus.ACCEPTED.value:
                status = ReceiptStatus.CONFIRMED.value
                stats.confirmed += 1
            ofd_rows.append({"pid": c.id, "v_ofd": c.ofd_status, "v_status": status})
            touched.add(c.receipt_id)
        if ofd_rows:  # one executemany (the rows read above were fiscalised)
            conn.execute(
                update(_PART)
                .where(_PART.c.id == bindparam("pid"))
                .values(
                    ofd_status=bindparam("v_ofd"), status=bindparam("v_status"), updated_at=now
                ),
                ofd_rows,
            )
        refresh(conn, touched, now)
    return stats


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
        "request_id": rid,
        "request": {**r.request, "id": rid},
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
            _PART.c.request,
            _PART.c.routed_at,
        ).where(
            _PART.c.id.in_(ids),
            _PART.c.register_id == register_id,
            _PART.c.status == ReceiptStatus.QUEUED.value,
        )
    ).all()
    unmade: dict[tuple[int, str], int] = defaultdict(int)
    for r in rows:
        values = _reroute(r, why, max_routes, stats)
        values["updated_at"] = now
        conn.execute(
            update(_PART)
            .where(_PART.c.id == r.id, _PART.c.status == ReceiptStatus.QUEUED.value)
            .values(**values)
        )
        unmade[(register_id, period_of(r.routed_at or now))] -= 1
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
