"""Producing a report for a principal: a ready report or a saved template, over a filter."""

from __future__ import annotations

from dataclasses import replace

from sqlmodel import Session

from fleet.access.permissions import Permission
from fleet.access.principal import Principal
from fleet.reports import catalog, custom
from fleet.reports.filters import ReportFilter, scope_for
from fleet.reports.table import ReportTable

__all__ = ["produce", "ready", "templated"]


def ready(session: Session, principal: Principal, code: str, flt: ReportFilter) -> ReportTable:
    """A ready report over the filter, scoped to what the principal sees."""
    principal.check(Permission.RECEIPTS_VIEW)
    spec = catalog.report(code)
    flt.check()
    scope = scope_for(session, principal, flt)
    previous = scope_for(session, principal, flt.previous()) if spec.needs_previous else None
    table = catalog.build(session, code, scope, previous)
    table.period = flt.label()
    return table


def templated(
    session: Session, principal: Principal, template_id: int, flt: ReportFilter
) -> ReportTable:
    """A saved custom report over the filter's period (its own store and register filters
    apply unless the filter names others)."""
    spec = custom.spec_of(custom.get(session, principal, template_id))
    flt = replace(
        flt,
        store_id=flt.store_id if flt.store_id is not None else spec.store_id,
        register_id=flt.register_id if flt.register_id is not None else spec.register_id,
    )
    return custom.apply(ready(session, principal, spec.base, flt), spec)


def produce(
    session: Session,
    principal: Principal,
    flt: ReportFilter,
    *,
    code: str = "",
    template_id: int | None = None,
) -> ReportTable:
    """The template's report when one is named, else the ready one."""
    if template_id is not None:
        return templated(session, principal, template_id, flt)
    return ready(session, principal, code, flt)
