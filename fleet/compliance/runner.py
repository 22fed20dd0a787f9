"""Running the checks into findings: the weekly full run, the real-time pass, `open_counts`.

A run executes each check's SELECT (rules.py), at most a few rows per register, and brings
`compliancefinding` up to date for the registers and checks it covered: a match opens a finding
(or reopens a fixed one, with a new `first_seen`) or refreshes `last_seen` and `detail`; an open
finding the run no longer matches becomes fixed. A real-time pass covers only the critical
checks and only the registers that sent documents or shadows since the previous pass, after
filing the content of the documents past the content job's watermark (content.py), so a receipt
is checked within seconds of arriving.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import Table, func, insert, select
from sqlmodel import Session, col
from sqlmodel import select as orm_select

from fleet.billing.periods import moscow
from fleet.compliance.catalogue import CHECKS, Check, Severity
from fleet.compliance.models import ComplianceFinding, FindingStatus
from fleet.compliance.rules import RULES, Context, Tables, drop, prepare
from fleet.core.clock import Clock
from fleet.documents import content
from fleet.documents.models import FiscalDocument, ReceiptContent
from fleet.link.ingest_models import DeviceShadow
from fleet.receipts_cabinet.models import ReceiptFactsMark
from fleet.receipts_import.models import ReceivedPayment

__all__ = [
    "REALTIME_MARK",
    "RunResult",
    "file_fresh_content",
    "open_counts",
    "run_checks",
    "run_critical",
    "run_realtime",
    "run_weekly",
]

log = logging.getLogger(__name__)

REALTIME_MARK: Final = "compliance-realtime"
_D: Table = FiscalDocument.__table__  # type: ignore[attr-defined]
_C: Table = ReceiptContent.__table__  # type: ignore[attr-defined]
_S: Table = DeviceShadow.__table__  # type: ignore[attr-defined]
_F: Table = ComplianceFinding.__table__  # type: ignore[attr-defined]

# the detail line of each check: n (documents), value (a measure) from the rule's row
_DETAIL: Final[dict[str, str]] = {
    "K01": "Смена открыта {value:.0f} ч",
    "K02": "Не подтверждено ОФД: {n} док., самый старый — {value:.1f} сут.",
    "K03": "До конца срока ФН {value:.0f} дн.",
    "K04": "Заполнение ФН {value:.0f} %",
    "K05": "ФН на {value:.0f} мес.",
    "K17": "Возвратов {value:.0f} % от приходов за 30 дней ({n})",
    "K18": "Коррекций {value:.0f} % документов за 30 дней ({n})",
    "K19": "Нет документов {value:.0f} дн.",
    "K21": "ФН в кассе не совпадает с ФН в отчёте о регистрации",
    "K23": "Поступлений без чека: {n} на {value:,.2f} ₽",
    "K26": "Расхождение часов {value:.0f} с",
}
_DEFAULT_DETAIL: Final = "Документов: {n}"


@dataclass
class RunResult:
    """What a run changed."""

    checked: int = 0
    opened: int = 0
    refreshed: int = 0
    fixed: int = 0

    @property
    def changed(self) -> int:
        return self.opened + self.refreshed + self.fixed


# when the rule's row has no measure (a drive's own warning flag rather than a date or percent)
_NO_VALUE: Final[dict[str, str]] = {
    "K03": "ФН предупреждает: срок ключа подходит к концу",
    "K04": "ФН предупреждает: архив заполнен на 90 %",
    "K26": "Часы кассы расходятся со временем сервера",
}


def _detail(check: Check, n: int, value: float | None) -> str:
    if value is None and check.code in _NO_VALUE:
        return _NO_VALUE[check.code]
    fmt = _DETAIL.get(check.code, _DEFAULT_DETAIL)
    if value is None and "{value" in fmt:
        fmt = _DEFAULT_DETAIL
    text = fmt.format(n=n, value=value if value is not None else 0.0)
    if check.code == "K23":  # rubles as Russians write them: 1 500,00
        text = text.replace(",", " ").replace(".", ",")
    return text[:500]


def _oldest_payment(session: Session, payment_id: int | None) -> str:
    """K23's detail tail: the oldest unreceipted payment, so the person knows where to look."""
    p = session.get(ReceivedPayment, payment_id) if payment_id is not None else None
    if p is None:
        return ""
    kind = "п/п" if p.source == "bank" else "операция"
    day = moscow(p.paid_at).strftime("%d.%m.%Y")
    rub = f"{p.amount / 100:,.2f}".replace(",", " ").replace(".", ",")
    who = f", {p.payer}" if p.payer else ""
    return f"; первое — {kind} № {p.number} от {day} на {rub} ₽{who}"


# a finding's identity: its register, or (for a check about the company, K23) its company
Key = tuple[str, int]


def _key(register_id: int | None, company_id: int) -> Key:
    return ("register", register_id) if register_id is not None else ("company", company_id)


def _matches(session: Session, check: Check, ctx: Context, tables: Tables) -> list[Any]:
    return list(session.connection().execute(RULES[check.code](ctx, tables)).all())


def run_checks(
    session: Session,
    now: float,
    checks: Iterable[Check] = CHECKS,
    registers: Sequence[int] | None = None,
    ctx: Context | None = None,
) -> RunResult:
    """Run the checks (on `registers`, or all) and bring their findings up to date."""
    ctx = ctx or Context(now=now)
    result = RunResult()
    scope = None if registers is None else set(registers)
    conn = session.connection()
    tables = prepare(conn, ctx, registers)
    for check in checks:
        rows = [
            r
            for r in _matches(session, check, ctx, tables)
            if scope is None or r.register_id in scope
        ]
        result.checked += 1
        stmt = orm_select(ComplianceFinding).where(col(ComplianceFinding.check_code) == check.code)
        if registers is not None:
            stmt = stmt.where(col(ComplianceFinding.register_id).in_(list(registers)))
        existing = {_key(f.register_id, f.company_id): f for f in session.exec(stmt).all()}
        seen: set[Key] = set()
        for r in rows:
            if r.company_id is None or _key(r.register_id, r.company_id) in seen:
                continue
            key = _key(r.register_id, r.company_id)
            seen.add(key)
            severity = r.severity or check.severity.value
            detail = _detail(check, int(r.n or 0), r.value)
            if check.code == "K23":
                detail = (detail + _oldest_payment(session, r.example))[:500]
            f = existing.get(key)
            if f is None:
                f = ComplianceFinding(
                    company_id=r.company_id,
                    register_id=r.register_id,
                    check_code=check.code,
                    severity=severity,
                    first_seen=now,
                    last_seen=now,
                )
                result.opened += 1
            elif f.status != FindingStatus.OPEN.value:
                f.first_seen = now
                f.fixed_at = None
                result.opened += 1
            else:
                result.refreshed += 1
            f.status = FindingStatus.OPEN.value
            f.company_id = r.company_id
            f.severity = severity
            f.last_seen = now
            f.detail = detail
            f.document_id = r.example
            session.add(f)
        for key, f in existing.items():
            if key in seen or f.status != FindingStatus.OPEN.value:
                continue
            if scope is not None and f.register_id not in scope:
                continue
            f.status = FindingStatus.FIXED.value
            f.fixed_at = now
            session.add(f)
            result.fixed += 1
    session.flush()
    drop(conn)
    return result


def file_fresh_content(session: Session) -> int:
    """File the content of documents past the content job's watermark that have none yet
    (the job replaces these rows when it passes them); returns rows filed."""
    rows = content.fresh_content(session)
    if not rows:
        return 0
    ids = [r["document_id"] for r in rows]
    conn = session.connection()
    have = set(
        conn.execute(select(_C.c.document_id).where(col(_C.c.document_id).in_(ids))).scalars()
    )
    new = [r for r in rows if r["document_id"] not in have]
    if new:
        conn.execute(insert(_C), new)
    return len(new)


def _touched(session: Session, clock: Clock) -> list[int]:
    """Registers with documents or shadows since the previous real-time pass; moves the mark."""
    mark = session.get(ReceiptFactsMark, REALTIME_MARK)
    now = clock.wall()
    if mark is None:
        top = session.connection().execute(select(_D.c.id).order_by(_D.c.id.desc()).limit(1))
        mark = ReceiptFactsMark(name=REALTIME_MARK, through_id=top.scalar() or 0, updated_at=0.0)
    conn = session.connection()
    docs = conn.execute(
        select(_D.c.register_id, _D.c.id).where(_D.c.id > mark.through_id).order_by(_D.c.id)
    ).all()
    shadows = conn.execute(
        select(_S.c.register_id).where(_S.c.reported_at > mark.updated_at)
    ).scalars()
    touched = {r for r, _ in docs} | set(shadows)
    if docs:
        mark.through_id = docs[-1][1]
    mark.updated_at = now
    session.add(mark)
    session.flush()
    return sorted(touched)


def run_realtime(session: Session, clock: Clock) -> int:
    """The `compliance-realtime` job: critical checks on the registers that reported."""
    file_fresh_content(session)
    registers = _touched(session, clock)
    if not registers:
        return 0
    critical = [c for c in CHECKS if c.realtime]
    return run_checks(session, clock.wall(), critical, registers).changed


def run_critical(session: Session, clock: Clock) -> int:
    """The `compliance-critical` job: the critical checks on every register (time alone makes
    a shift too long or a drive expire, with nothing arriving)."""
    critical = [c for c in CHECKS if c.realtime]
    return run_checks(session, clock.wall(), critical).changed


def run_weekly(session: Session, clock: Clock) -> RunResult:
    """Every check on every register."""
    file_fresh_content(session)
    return run_checks(session, clock.wall())


def open_counts(session: Session, company_id: int) -> dict[str, int]:
    """Open findings of a company by severity (every severity present, zeros included) and
    ``total`` — for the main page widget."""
    rows = (
        session.connection()
        .execute(
            select(_F.c.severity, func.count())
            .where(_F.c.company_id == company_id, _F.c.status == FindingStatus.OPEN.value)
            .group_by(_F.c.severity)
        )
        .all()
    )
    out = {s.value: 0 for s in Severity}
    for severity, n in rows:
        out[severity] = int(n)
    out["total"] = sum(out.values())
    return out
