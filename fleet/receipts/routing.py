"""Routing: each accepted part goes to exactly one register that matches it and can take it.

**Matches** (DESIGN decision 5): a register of the receipt's company, in state "active" with
hardware (a serial), on a tariff and not in arrears this Moscow month, whose routing profile
(fleet/receipts/models.py RoutingProfile: the registration's INN, FFD version, tax systems and
usage flags) names the company's INN and passes the shared `check()` for this request — the
same rules the register applies, so a part is never sent where it would be refused. The
shared rules run on the register's own local day (its store's time zone; Moscow without a
store): dated rules such as VAT rates change at its midnight, not Moscow's. A part that names
a store goes only to that store's registers (registered at its address, in its time zone); a
part that names a place of settlement (1187) only to registers registered there (profile
`place` or `address`), or with no registered place. A register whose tariff's receipts quota
for this Moscow month is used up (fleet/receipts/quota.py) takes no more; its places are
claimed atomically at assignment (`claim_usages`), so concurrent routers never overshoot it.
**Can take**: online (presence), the drive in the fiscal phase without its critical-error flag
(30h byte 4 bit 7), the clock trusted (the runtime refuses documents otherwise), fewer than
`max_inflight` parts in flight. Among those, the least loaded (parts queued on it), then the
lowest id. A part pinned to a register (the cabinet's manual form) considers only that one.

A part that no register matches fails at once (not retryable, with the reasons); one that only
lacks a register able to take it waits ("accepted"). A queued part moves only when its register
answered "not executed" (fleet/receipts/tracker.py): its register joins `tried`, the part gets
a new request id, and it is routed again — to a register not tried yet when one can take it,
else back to a tried one (the new id is a new request there; the old one failed and is never
sent again). An offline register keeps what it was given.

Assignment is one transaction: on PostgreSQL the parts are read `FOR UPDATE SKIP LOCKED`, so
two routers never take one part; on SQLite the transaction starts with a write, which takes the
database's single write lock before anything is read. Each assignment is also guarded
(`WHERE status = 'accepted'`).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Table, and_, func, select, text, update
from sqlalchemy.engine import Connection, Engine

from fleet.accounts.models import Company
from fleet.billing.models import RegisterPeriod, Tariff
from fleet.core.clock import Clock
from fleet.link.commands import DEFAULT_TTL_S, CommandSender, command_row, enqueue_rows
from fleet.link.ingest_models import DeviceShadow
from fleet.receipts.models import ReceiptPart, ReceiptStatus, RoutingProfile, RoutingUsage
from fleet.receipts.quota import claim_usages, period_of
from fleet.receipts.status import refresh
from fleet.registers.models import Register, RegisterState
from fleet.stores.models import Store
from protocol.portable import receipt as schema

__all__ = ["Candidate", "RouteStats", "candidates", "route"]

MSK: Final = dt.timezone(dt.timedelta(hours=3))
FISCAL_PHASE: Final = 3  # 30h byte 0: the fiscal mode (reference fiscal-protocols.md §1.5)
CRITICAL_WARNING: Final = 0x80  # 30h byte 4: «Критическая ошибка ФН»

_PART: Table = ReceiptPart.__table__  # type: ignore[attr-defined]
_REG: Table = Register.__table__  # type: ignore[attr-defined]
_PROFILE: Table = RoutingProfile.__table__  # type: ignore[attr-defined]
_COMPANY: Table = Company.__table__  # type: ignore[attr-defined]
_SHADOW: Table = DeviceShadow.__table__  # type: ignore[attr-defined]
_PERIOD: Table = RegisterPeriod.__table__  # type: ignore[attr-defined]
_STORE: Table = Store.__table__  # type: ignore[attr-defined]
_TARIFF: Table = Tariff.__table__  # type: ignore[attr-defined]
_USAGE: Table = RoutingUsage.__table__  # type: ignore[attr-defined]
MOSCOW: Final = "Europe/Moscow"


@dataclass
class Candidate:
    """A register that matches the company's receipts in general, and whether it can take one."""

    register_id: int
    serial: str
    company_id: int
    profile: dict[str, Any]
    ready: bool  # online, drive healthy, clock trusted
    why_not: str  # in Russian, when not ready
    load: int = 0
    store_id: int | None = None
    timezone: str = MOSCOW  # its store's (IANA): the register's local day
    quota: int | None = None  # its tariff's receipts a month; None: unlimited
    used: int = 0  # parts routed to it this Moscow month (RoutingUsage)
    places: frozenset[str] = frozenset()  # registered 1187 and 1009, normalised
    profile_key: str = ""  # the profile as canonical JSON: one check per part and profile

    def local_now(self, now: float) -> str:
        """`now` as the register's local time (ISO), the `now` its shared check runs on."""
        return dt.datetime.fromtimestamp(now, _zone(self.timezone)).isoformat(timespec="seconds")


@dataclass
class RouteStats:
    """What one routing pass did."""

    routed: int = 0
    sent: int = 0  # commands published by this pass (with a sender)
    waiting: int = 0  # matched, but no register could take them now
    unroutable: int = 0  # no register matches: failed
    by_register: dict[int, int] = field(default_factory=dict)


_ZONES: dict[str, dt.tzinfo] = {}


def _zone(name: str) -> dt.tzinfo:
    zone = _ZONES.get(name)
    if zone is None:
        try:
            zone = ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):  # the stores module checks names on input
            zone = MSK
        _ZONES[name] = zone
    return zone


_SCHEME = re.compile(r"^[a-z]+://")


def normal_place(place: Any) -> str:
    """A place of settlement or address compared loosely: case, spaces, a URL's scheme and
    trailing slash do not matter ("https://Shop.ru/" is "shop.ru")."""
    text = " ".join(str(place).split()).casefold()
    return _SCHEME.sub("", text).rstrip("/")


def _places(profile: dict[str, Any]) -> frozenset[str]:
    return frozenset(normal_place(profile[k]) for k in ("place", "address") if profile.get(k))


def _health(shadow: Any) -> str:
    """'' when the register can take a document now, else why not (Russian)."""
    if not shadow.online:
        return "касса не в сети"
    rep = shadow.reported or {}
    drive = rep.get("drive") or {}
    if drive.get("phase") != FISCAL_PHASE:
        return "ФН не в фискальном режиме"
    if int(drive.get("warnings") or 0) & CRITICAL_WARNING:
        return "критическая ошибка ФН"
    if rep.get("clock_trusted") is False:
        return "время кассы не подтверждено"
    return ""


#: Parts in flight per register: half the register journal's 64 unfinished requests
#: (firmware/journal.py max_live), so its own commands and re-sends still fit; at 64 the bench
#: saw "journal full" refusals.
MAX_INFLIGHT: Final = 32


def candidates(conn: Connection, company_ids: set[int], now: float) -> dict[int, list[Candidate]]:
    """Registers that match each company's receipts (state, tariff, INN, a routing profile),
    each with its readiness and current load."""
    if not company_ids:
        return {}
    period = dt.datetime.fromtimestamp(now, MSK).strftime("%Y-%m")
    arrears = (
        select(_PERIOD.c.id)
        .where(
            _PERIOD.c.register_id == _REG.c.id,
            _PERIOD.c.period == period,
            _PERIOD.c.status == "arrears",
        )
        .exists()
    )
    month = _PERIOD.alias("month")
    # each register's load (parts queued on it) in the same read
    loads = (
        select(_PART.c.register_id, func.count().label("load"))
        .where(_PART.c.status == ReceiptStatus.QUEUED.value)
        .group_by(_PART.c.register_id)
        .subquery("loads")
    )
    rows = conn.execute(
        select(
            _REG.c.id,
            _REG.c.serial,
            _REG.c.company_id,
            _REG.c.store_id,
            _PROFILE.c.profile,
            _SHADOW.c.online,
            _SHADOW.c.reported,
            _STORE.c.timezone,
            _TARIFF.c.receipts_quota,
            _USAGE.c.routed,
            loads.c.load,
        )
        .select_from(
            _REG.join(_PROFILE, _PROFILE.c.register_id == _REG.c.id)
            .join(
                _COMPANY, and_(_COMPANY.c.id == _REG.c.company_id, _COMPANY.c.inn == _PROFILE.c.inn)
            )
            .outerjoin(_SHADOW, _SHADOW.c.register_id == _REG.c.id)
            .outerjoin(_STORE, _STORE.c.id == _REG.c.store_id)
            .outerjoin(
                month,
                and_(month.c.register_id == _REG.c.id, month.c.period == period),
            )
            # the tariff in force: this month's billed one, else the register's current one
            .outerjoin(
                _TARIFF, _TARIFF.c.code == func.coalesce(month.c.tariff_code, _REG.c.tariff_code)
            )
            .outerjoin(_USAGE, and_(_USAGE.c.register_id == _REG.c.id, _USAGE.c.period == period))
            .outerjoin(loads, loads.c.register_id == _REG.c.id)
        )
        .where(
            _REG.c.company_id.in_(sorted(company_ids)),
            _REG.c.state == RegisterState.ACTIVE.value,
            _REG.c.serial.is_not(None),
            _REG.c.tariff_code.is_not(None),
            ~arrears,
        )
        .order_by(_REG.c.id)
    ).all()
    out: dict[int, list[Candidate]] = defaultdict(list)
    for r in rows:
        why = _health(r) if r.online is not None else "касса ещё не выходила на связь"
        out[r.company_id].append(
            Candidate(
                register_id=r.id,
                serial=r.serial,
                company_id=r.company_id,
                profile=dict(r.profile),
                ready=not why,
                why_not=why,
                load=int(r.load or 0),
                store_id=r.store_id,
                timezone=r.timezone or MOSCOW,
                quota=r.receipts_quota,
                used=int(r.routed or 0),
                places=_places(r.profile),
                profile_key=json.dumps(r.profile, sort_keys=True),
            )
        )
    return out


def _refusal(
    p: Any, c: Candidate, now: float, verdicts: dict[tuple[int, str, str], list[Any]]
) -> tuple[str, bool]:
    """Why register `c` cannot make part `p` ('' when it can), and whether the reason is only
    its used-up quota. The shared check runs once per part, profile and local day."""
    if p.store_id is not None and c.store_id != p.store_id:
        return "касса другой торговой точки", False
    place = (p.request or {}).get("place")
    if place and c.places and normal_place(place) not in c.places:
        return f"касса зарегистрирована не для места расчётов «{place}»", False
    local = c.local_now(now)
    key = (p.id, c.profile_key, local[:10])
    if key not in verdicts:
        verdicts[key] = schema.check(p.request, c.profile, local)[1]
    errs = verdicts[key]
    if errs:
        return f"{errs[0][0] or 'чек'} — {errs[0][2]}", False
    if c.quota is not None and c.used >= c.quota:
        return f"исчерпана квота тарифа: {c.quota} чеков в месяц", True
    return "", False


def _lock(conn: Connection) -> None:
    if conn.dialect.name == "sqlite":
        # the single-writer section: a write first, so the read below sees the latest state
        # and no other router can write until this transaction ends
        conn.execute(text("UPDATE receiptpart SET status = status WHERE 1 = 0"))


def route(
    engine: Engine,
    clock: Clock,
    *,
    limit: int = 500,
    max_inflight: int = MAX_INFLIGHT,
    ttl_s: int = DEFAULT_TTL_S,
    sender: CommandSender | None = None,
) -> RouteStats:
    """One routing pass over up to `limit` accepted parts (oldest first), in one transaction.
    With a `sender`, the commands are sent in this pass: their rows go in marked as sent once
    (`CommandSender.first_sends`) and the messages leave after the commit; without one, the
    rows are queued due and the sender's next step sends them."""
    stats = RouteStats()
    now = clock.wall()
    if engine.dialect.name == "sqlite":
        with engine.connect() as probe:  # most passes find nothing: no write lock for those
            if (
                probe.execute(
                    select(_PART.c.id)
                    .where(_PART.c.status == ReceiptStatus.ACCEPTED.value)
                    .limit(1)
                ).first()
                is None
            ):
                return stats
    # (on PostgreSQL the locking read below costs an empty pass what a probe would)
    messages: list[tuple[str, bytes]] = []
    with engine.begin() as conn:
        _lock(conn)
        stmt = (
            select(_PART)
            .where(_PART.c.status == ReceiptStatus.ACCEPTED.value)
            .order_by(_PART.c.id)
            .limit(limit)
        )
        if conn.dialect.name == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True)
        parts = conn.execute(stmt).all()
        if not parts:
            return stats
        regs = candidates(conn, {p.company_id for p in parts}, now)
        verdicts: dict[tuple[int, str, str], list[tuple[str, str, str]]] = {}
        touched: set[int] = set()
        assigned: list[dict[str, Any]] = []
        commands: list[dict[str, Any]] = []
        picked: dict[int, list[Any]] = defaultdict(list)  # register id → its parts, in order
        period = period_of(now)
        for p in parts:
            tried = set(p.tried or [])
            mine = [
                c
                for c in regs.get(p.company_id, [])
                if p.pinned_register_id is None or c.register_id == p.pinned_register_id
            ]
            # the registers that can take it now, best first: the first that matches wins (a
            # register that answered "not executed" only when no other can take it now)
            best: Candidate | None = None
            for c in sorted(
                (c for c in mine if c.ready and c.load < max_inflight),
                key=lambda c: (c.register_id in tried, c.load, c.register_id),
            ):
                if not _refusal(p, c, now, verdicts)[0]:
                    best = c
                    break
            if best is not None:
                picked[best.register_id].append(p)
                best.load += 1
                best.used += 1
                touched.add(p.receipt_id)
                continue
            # none of those: fail it when no register matches at all (with the reasons), else
            # it waits for one that matches to become ready
            matching: list[Candidate] = []
            reasons: list[str] = []
            quota_only = True
            for c in mine:
                why, by_quota = _refusal(p, c, now, verdicts)
                if why:
                    reasons.append(f"касса {c.serial}: {why}")
                    quota_only = quota_only and by_quota
                else:
                    matching.append(c)
            if not matching:
                why = "; ".join(reasons[:3]) or (
                    "выбранная касса не работает или не зарегистрирована"
                    if p.pinned_register_id is not None
                    else "у компании нет работающей кассы"
                )
                conn.execute(
                    update(_PART)
                    .where(_PART.c.id == p.id, _PART.c.status == ReceiptStatus.ACCEPTED.value)
                    .values(
                        status=ReceiptStatus.FAILED.value,
                        failure=f"Нет подходящей кассы: {why}"[:500],
                        # a used-up quota passes with the month or a larger tariff
                        retryable=bool(reasons) and quota_only,
                        updated_at=now,
                    )
                )
                stats.unroutable += 1
                touched.add(p.receipt_id)
                continue
            stats.waiting += 1  # matching registers, none ready now
        by_id = {c.register_id: c for cs in regs.values() for c in cs}
        # the snapshot's `used` may be stale under several routers: claim the places
        # atomically, all registers at once (row locks in one order: no deadlock); the parts
        # beyond what was granted stay accepted for the next pass
        grants = claim_usages(
            conn, period, {rid: (len(ps), by_id[rid].quota) for rid, ps in picked.items()}
        )
        for rid, ps in sorted(picked.items()):
            best = by_id[rid]
            stats.waiting += len(ps) - grants[rid]
            ps = ps[: grants[rid]]
            for p in ps:
                assigned.append({"id": p.id, "register_id": rid})
                commands.append(
                    command_row(
                        now,
                        register_id=rid,
                        serial=best.serial,
                        request_id=p.request_id,
                        action=p.action,
                        body=p.request,
                        ttl_s=ttl_s,
                    )
                )
            if ps:
                stats.routed += len(ps)
                stats.by_register[rid] = len(ps)
        if assigned:
            # one statement each (the rows are ours: locked on PostgreSQL, under the single
            # writer on SQLite; the status guard stays)
            _queue(conn, assigned, now)
            if sender is not None:
                messages = sender.first_sends(commands, now)
            enqueue_rows(conn, commands)
        refresh(conn, touched, now)
    if sender is not None and messages:
        sender.publish_all(messages)  # after the commit: never a command for a rolled-back row
        stats.sent = len(messages)
    return stats


def _queue(conn: Connection, assigned: list[dict[str, Any]], now: float) -> None:
    """Parts (id, register_id) queued on their registers: one UPDATE over one JSON parameter
    on PostgreSQL, the driver's executemany on SQLite (no per-row SQLAlchemy processing)."""
    queued, accepted = ReceiptStatus.QUEUED.value, ReceiptStatus.ACCEPTED.value
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(
            "UPDATE receiptpart AS p SET status = %s, register_id = u.register_id,"
            " routed_at = %s, updated_at = %s"
            " FROM json_to_recordset(%s::json) AS u(id int, register_id int)"
            " WHERE p.id = u.id AND p.status = %s",
            (queued, now, now, json.dumps(assigned), accepted),
        )
        return
    conn.exec_driver_sql(
        "UPDATE receiptpart SET status = ?, register_id = ?, routed_at = ?, updated_at = ?"
        " WHERE id = ? AND status = ?",
        [(queued, a["register_id"], now, now, a["id"], accepted) for a in assigned],
    )
