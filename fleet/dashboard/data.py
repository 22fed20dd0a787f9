"""What each widget on the page shows: one small query per widget, only for widgets shown."""

from __future__ import annotations

import datetime as dt
import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import func
from sqlmodel import Session, col, select

from fleet.access.principal import Principal
from fleet.billing import ledger
from fleet.billing.money import rubles
from fleet.billing.periods import MSK, moscow
from fleet.core.clock import Clock
from fleet.delivery.models import DeliveryAttempt
from fleet.drives.schedule import schedule
from fleet.general.figures import Totals, sales_totals
from fleet.web.summary import Summary, summarise, summarise_fleet

__all__ = [
    "ComplianceView",
    "DrivesView",
    "MessagesView",
    "SalesView",
    "compliance_view",
    "drives_view",
    "messages_view",
    "sales_view",
    "widget_data",
]

_DAY: Final = 86400
MESSAGE_DAYS: Final = 30
SEVERITY_LABEL: Final = {"critical": "критичных", "high": "серьёзных", "medium": "прочих"}


@dataclass(frozen=True)
class SalesView:
    """Sales over the chosen period."""

    period: str
    since: dt.date
    totals: Totals


@dataclass(frozen=True)
class MessagesView:
    """Receipts sent to buyers over the last 30 days, by outcome."""

    sent: int
    delivered: int
    failed: int
    queued: int


@dataclass(frozen=True)
class ComplianceView:
    """Open findings (None: the checks are not there yet)."""

    total: int | None
    by_severity: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True)
class DrivesView:
    """Drives to replace: overdue, within a week, within a month."""

    overdue: int
    urgent: int
    soon: int
    tracked: int


def _period_start(clock: Clock, period: str) -> dt.datetime:
    now = moscow(clock.wall())
    today = dt.datetime.combine(now.date(), dt.time(), MSK)
    if period == "today":
        return today
    if period == "30d":
        return today - dt.timedelta(days=29)
    if period == "month":
        return today.replace(day=1)
    return today - dt.timedelta(days=6)


def sales_view(session: Session, clock: Clock, principal: Principal, period: str) -> SalesView:
    """Sales from the period's first Moscow day to now, over the registers the principal sees."""
    start = _period_start(clock, period)
    totals = sales_totals(
        session,
        principal.company_id,
        start.timestamp(),
        clock.wall() + 1,
        folder_ids=principal.visible_folders(),
    )
    return SalesView(period, start.date(), totals)


def messages_view(session: Session, clock: Clock, principal: Principal) -> MessagesView:
    """Delivery attempts of the company's receipts over the last 30 days."""
    since = clock.wall() - MESSAGE_DAYS * _DAY
    counts = {
        status: int(n)
        for status, n in session.exec(
            select(DeliveryAttempt.status, func.count())
            .where(
                DeliveryAttempt.company_id == principal.company_id,
                col(DeliveryAttempt.at) >= since,
            )
            .group_by(DeliveryAttempt.status)
        ).all()
    }
    delivered, failed = counts.get("delivered", 0), counts.get("failed", 0)
    return MessagesView(
        sent=counts.get("sent", 0) + delivered + failed,
        delivered=delivered,
        failed=failed,
        queued=counts.get("queued", 0),
    )


#: Where the compliance package keeps its counter (it was built alongside this page).
_COUNTER_MODULES: Final = (
    "fleet.compliance",
    "fleet.compliance.runner",
    "fleet.compliance.service",
)


def _open_counts() -> Callable[[Session, int], Any] | None:
    """The compliance package's ``open_counts``, once it exists."""
    for name in _COUNTER_MODULES:
        try:
            found = getattr(importlib.import_module(name), "open_counts", None)
        except ImportError:
            continue
        if callable(found):
            return found  # type: ignore[no-any-return]
    return None


def compliance_view(session: Session, principal: Principal) -> ComplianceView:
    """Open findings by severity, or «нет данных» while the checks are not there."""
    counter = _open_counts()
    if counter is None:
        return ComplianceView(None)
    counts = counter(session, principal.company_id)
    if isinstance(counts, int):
        return ComplianceView(counts)
    if isinstance(counts, Mapping):
        # by severity, plus (in the compliance package's answer) a "total" key
        pairs = tuple((str(k), int(v)) for k, v in counts.items() if k != "total" and int(v))
        total = counts.get("total")
        return ComplianceView(int(total) if total is not None else sum(v for _, v in pairs), pairs)
    return ComplianceView(None)


def drives_view(session: Session, clock: Clock, principal: Principal, lead: int) -> DrivesView:
    """The replacement schedule's urgency counts (the «График замены ФН» page's levels)."""
    rows = schedule(session, clock, principal, lead_days=lead)
    levels = [r.level for r in rows]
    return DrivesView(
        overdue=levels.count("overdue"),
        urgent=levels.count("urgent"),
        soon=levels.count("soon"),
        tracked=len(rows),
    )


def widget_data(
    session: Session,
    clock: Clock,
    principal: Principal,
    widgets: tuple[str, ...],
    *,
    sales_period: str,
    drive_lead: int,
) -> dict[str, Any]:
    """The data of the widgets shown (the others cost nothing)."""
    data: dict[str, Any] = {}
    summary: Summary | None = None
    if "registers" in widgets or "next_steps" in widgets:
        summary = summarise(session, principal)
        data["registers"] = data["next_steps"] = summary
    if "balance" in widgets:
        data["balance"] = rubles(ledger.balance(session, principal.company_id))
    if "sales" in widgets:
        data["sales"] = sales_view(session, clock, principal, sales_period)
    if "messages" in widgets:
        data["messages"] = messages_view(session, clock, principal)
    if "compliance" in widgets:
        data["compliance"] = compliance_view(session, principal)
    if "drives" in widgets:
        data["drives"] = drives_view(session, clock, principal, drive_lead)
    if "fleet" in widgets:
        data["fleet"] = summarise_fleet(session)
    return data
