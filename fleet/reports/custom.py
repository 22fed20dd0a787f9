"""Custom reports: a ready report with chosen columns, a grouping, saved filters and a sort.

A template is applied to the ready report's table: grouping by a column sums the numeric
columns (counts, money, quantities) of the rows with equal values and drops the other ones;
then the rows are sorted and the chosen columns kept in the chosen order.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Final

from sqlmodel import Session, col, select

from fleet.access.principal import Principal
from fleet.core.clock import Clock
from fleet.reports import catalog
from fleet.reports.exceptions import InvalidReportError, ReportNotFoundError, TemplateInUseError
from fleet.reports.models import ReportSchedule, ReportTemplate
from fleet.reports.rollup import Scope
from fleet.reports.table import Column, ReportTable

__all__ = [
    "TemplateSpec",
    "apply",
    "base_columns",
    "delete",
    "get",
    "list_templates",
    "save",
    "spec_of",
]

NAME_MAX: Final = 120


@dataclass(frozen=True)
class TemplateSpec:
    """What the user chose: base report, column keys, grouping key, sort, store/register."""

    name: str
    base: str
    columns: tuple[str, ...]
    group_by: str = ""
    sort: str = ""  # a column key; "-key" for descending
    store_id: int | None = None
    register_id: int | None = None

    def filter_params(self) -> dict[str, str]:
        """The saved filters as query parameters."""
        out: dict[str, str] = {}
        if self.store_id is not None:
            out["store_id"] = str(self.store_id)
        if self.register_id is not None:
            out["register_id"] = str(self.register_id)
        return out


def base_columns(session: Session, code: str, company_id: int) -> list[Column]:
    """The ready report's columns (built over no registers: cheap)."""
    empty = Scope(company_id, 0.0, 86400.0, ())
    return catalog.build(session, code, empty, None).columns


def check(session: Session, company_id: int, spec: TemplateSpec) -> None:
    """`InvalidReportError` naming each wrong field."""
    fields: dict[str, str] = {}
    if not spec.name.strip() or len(spec.name) > NAME_MAX:
        fields["name"] = f"Название — от 1 до {NAME_MAX} символов"
    if spec.base not in catalog.REPORTS:
        fields["base"] = "Выберите отчёт из списка"
        raise InvalidReportError("Шаблон не сохранён: проверьте поля", fields=fields)
    keys = {c.key: c for c in base_columns(session, spec.base, company_id)}
    if not spec.columns:
        fields["columns"] = "Выберите хотя бы одну колонку"
    elif any(k not in keys for k in spec.columns):
        fields["columns"] = "Колонки нет в этом отчёте"
    if spec.group_by and spec.group_by not in spec.columns:
        fields["group_by"] = "Группировать можно по одной из выбранных колонок"
    elif spec.group_by and keys[spec.group_by].numeric:
        fields["group_by"] = "Группировать можно по колонке-признаку, не по сумме"
    if spec.sort and spec.sort.lstrip("-") not in spec.columns:
        fields["sort"] = "Сортировать можно по одной из выбранных колонок"
    if fields:
        raise InvalidReportError("Шаблон не сохранён: проверьте поля", fields=fields)


def apply(table: ReportTable, spec: TemplateSpec) -> ReportTable:
    """The custom report from the ready report's table."""
    cols = {c.key: c for c in table.columns}
    chosen = [cols[k] for k in spec.columns if k in cols]
    rows = table.rows
    if spec.group_by:
        keep = [c for c in chosen if c.key == spec.group_by or c.numeric]
        acc: dict[Any, dict[str, Any]] = {}
        sums: dict[Any, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for r in rows:
            key = r.get(spec.group_by)
            acc.setdefault(key, {spec.group_by: key})
            for c in keep:
                if c.numeric:
                    sums[key][c.key] += int(r.get(c.key) or 0)
        rows = [{**acc[k], **sums[k]} for k in acc]
        chosen = keep
    if spec.sort:
        key = spec.sort.lstrip("-")
        desc = spec.sort.startswith("-")
        present = [r for r in rows if r.get(key) is not None]
        absent = [r for r in rows if r.get(key) is None]
        rows = sorted(present, key=lambda r: r[key], reverse=desc) + absent
    keys = {c.key for c in chosen}
    chart = table.chart
    if chart is not None and not {chart[0], chart[1]} <= keys:
        label = spec.group_by or next((c.key for c in chosen if not c.numeric), "")
        value = next((c.key for c in chosen if c.numeric), "")
        chart = (label, value) if label and value else None
    return ReportTable(
        code=table.code,
        title=spec.name,
        columns=chosen,
        rows=[{k: r.get(k) for k in keys} for r in rows],
        chart=chart,
        period=table.period,
        notes=table.notes,
        truncated=table.truncated,
        series=table.series,  # it sums every row of the period: columns and order do not matter
    )


def spec_of(t: ReportTemplate) -> TemplateSpec:
    """The spec a saved template holds."""
    filters = json.loads(t.filters or "{}")
    return TemplateSpec(
        name=t.name,
        base=t.base,
        columns=tuple(k for k in t.columns.split(",") if k),
        group_by=t.group_by,
        sort=t.sort,
        store_id=filters.get("store_id"),
        register_id=filters.get("register_id"),
    )


def get(session: Session, principal: Principal, template_id: int) -> ReportTemplate:
    """The company's template; `ReportNotFoundError` for another company's or none."""
    t = session.get(ReportTemplate, template_id)
    if t is None or t.company_id != principal.company_id:
        raise ReportNotFoundError("Шаблон отчёта не найден")
    return t


def list_templates(session: Session, principal: Principal) -> list[ReportTemplate]:
    """The company's templates by name."""
    return list(
        session.exec(
            select(ReportTemplate)
            .where(ReportTemplate.company_id == principal.company_id)
            .order_by(col(ReportTemplate.name), col(ReportTemplate.id))
        ).all()
    )


def save(
    session: Session,
    principal: Principal,
    clock: Clock,
    spec: TemplateSpec,
    template_id: int | None = None,
) -> ReportTemplate:
    """Create (no id) or replace a template; refused input changes nothing."""
    check(session, principal.company_id, spec)
    now = clock.wall()
    t = (
        get(session, principal, template_id)
        if template_id is not None
        else ReportTemplate(
            company_id=principal.company_id,
            user_id=principal.user_id,
            name="",
            base=spec.base,
            created_at=now,
            updated_at=now,
        )
    )
    t.name = spec.name.strip()
    t.base = spec.base
    t.columns = ",".join(spec.columns)
    t.group_by = spec.group_by
    t.sort = spec.sort
    t.filters = json.dumps(
        {
            k: v
            for k, v in (("store_id", spec.store_id), ("register_id", spec.register_id))
            if v is not None
        }
    )
    t.updated_at = now
    session.add(t)
    session.flush()
    return t


def delete(session: Session, principal: Principal, template_id: int) -> None:
    """Delete a template no auto-report uses."""
    t = get(session, principal, template_id)
    used = session.exec(
        select(ReportSchedule.id).where(ReportSchedule.template_id == template_id)
    ).first()
    if used is not None:
        raise TemplateInUseError("Шаблон используется в автоотчёте: сначала удалите автоотчёт")
    session.delete(t)
    session.flush()
