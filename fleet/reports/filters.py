"""A report's filters (period, company, store, register) and the scope they give.

The company is the principal's (a user acts for one company at a time; an operator may name
any); the registers are the
ones the principal sees (its folders, fleet/access) narrowed by the store and the register, as
the receipt search scopes them (fleet/receipts_cabinet/search.py). A store or register of
another company narrows to nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import Table, select
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session

from fleet.access.permissions import Permission
from fleet.access.principal import Principal
from fleet.registers.models import Register
from fleet.reports.exceptions import InvalidReportError, ReportNotFoundError
from fleet.reports.rollup import Scope
from fleet.reports.table import MSK

__all__ = ["MAX_DAYS", "ReportFilter", "parse_filter", "scope_for"]

MAX_DAYS: Final = 366 * 3
_REG: Table = Register.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class ReportFilter:
    """Moscow days [date_from, date_to] (both included), and optional store and register."""

    date_from: dt.date
    date_to: dt.date
    store_id: int | None = None
    register_id: int | None = None
    company_id: int | None = None  # None: the principal's; another only for an operator

    def check(self) -> None:
        """`InvalidReportError` naming the field."""
        if self.date_to < self.date_from:
            raise InvalidReportError(
                "Отчёт не построен: конец периода раньше начала",
                fields={"date_to": "Конец периода раньше начала"},
            )
        if (self.date_to - self.date_from).days >= MAX_DAYS:
            raise InvalidReportError(
                "Отчёт не построен: период длиннее трёх лет",
                fields={"date_to": "Период — не больше трёх лет"},
            )

    @property
    def bounds(self) -> tuple[float, float]:
        """UTC seconds [start of date_from, start of the day after date_to)."""
        start = dt.datetime.combine(self.date_from, dt.time.min, tzinfo=MSK)
        end = dt.datetime.combine(self.date_to + dt.timedelta(days=1), dt.time.min, tzinfo=MSK)
        return start.timestamp(), end.timestamp()

    def previous(self) -> ReportFilter:
        """The period of the same length just before this one."""
        days = (self.date_to - self.date_from).days + 1
        return ReportFilter(
            date_from=self.date_from - dt.timedelta(days=days),
            date_to=self.date_from - dt.timedelta(days=1),
            store_id=self.store_id,
            register_id=self.register_id,
            company_id=self.company_id,
        )

    def label(self) -> str:
        """«01.03.2026 — 31.03.2026»."""
        return f"{self.date_from:%d.%m.%Y} — {self.date_to:%d.%m.%Y}"

    def params(self) -> dict[str, str]:
        """The filter as query parameters (what `parse_filter` reads)."""
        out = {"date_from": self.date_from.isoformat(), "date_to": self.date_to.isoformat()}
        if self.store_id is not None:
            out["store_id"] = str(self.store_id)
        if self.register_id is not None:
            out["register_id"] = str(self.register_id)
        if self.company_id is not None:
            out["company_id"] = str(self.company_id)
        return out


def parse_filter(params: Any, today: dt.date) -> ReportFilter:
    """The filter from query or form parameters; the default period is this month so far."""
    fields: dict[str, str] = {}

    def day(name: str, default: dt.date) -> dt.date:
        text = str(params.get(name, "") or "").strip()
        if not text:
            return default
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            fields[name] = "Дата в виде ГГГГ-ММ-ДД"
            return default

    def number(name: str, label: str) -> int | None:
        text = str(params.get(name, "") or "").strip()
        if not text:
            return None
        if not text.isdigit() or len(text) > 12:
            fields[name] = f"{label}: выберите из списка"
            return None
        return int(text)

    flt = ReportFilter(
        date_from=day("date_from", today.replace(day=1)),
        date_to=day("date_to", today),
        store_id=number("store_id", "Магазин"),
        register_id=number("register_id", "Касса"),
        company_id=number("company_id", "Компания"),
    )
    if fields:
        raise InvalidReportError("Отчёт не построен: проверьте фильтры", fields=fields)
    flt.check()
    return flt


def scope_for(session: Session, principal: Principal, flt: ReportFilter) -> Scope:
    """The documents the principal may see under the filter; another company's only for an
    Oblako operator (anyone else gets "not found", as for any other tenant's object)."""
    start, end = flt.bounds
    company = principal.company_id
    if flt.company_id is not None and flt.company_id != company:
        if not principal.has(Permission.OPERATOR_FLEET):
            raise ReportNotFoundError("Компания не найдена")
        company = flt.company_id
    folders = principal.visible_folders()
    if folders is None and flt.store_id is None and flt.register_id is None:
        return Scope(company, start, end, None)
    where: list[ColumnElement[bool]] = [_REG.c.company_id == company]
    if folders is not None:
        where.append(_REG.c.folder_id.in_(sorted(folders)))
    if flt.store_id is not None:
        where.append(_REG.c.store_id == flt.store_id)
    if flt.register_id is not None:
        where.append(_REG.c.id == flt.register_id)
    ids = tuple(session.connection().execute(select(_REG.c.id).where(*where)).scalars())
    return Scope(company, start, end, ids)
