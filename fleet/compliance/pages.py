"""The «Контроль штрафов» pages: the findings list and the register card's block."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from fleet.access.deps import page_need
from fleet.access.permissions import Permission
from fleet.access.principal import Principal
from fleet.compliance import view
from fleet.compliance.catalogue import CHECKS, SEVERITY_LABEL
from fleet.compliance.runner import open_counts
from fleet.deps import SessionDep, StateDep
from fleet.web.render import render_page

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


@router.get("/compliance", response_class=HTMLResponse)
def findings_page(
    request: Request,
    state: StateDep,
    session: SessionDep,
    principal: Annotated[Principal, page_need(Permission.REGISTERS_VIEW)],
    status: Annotated[str | None, Query()] = None,
    severity: Annotated[str | None, Query()] = None,
    check: Annotated[str | None, Query()] = None,
    register_id: Annotated[str | None, Query()] = None,
) -> HTMLResponse:
    """Findings with filters; each with its explanation, fix steps and fix link."""
    f = view.parse_filters(status, severity, check, register_id)
    return render_page(
        request,
        state,
        "compliance/list.html",
        principal=principal,
        rows=view.findings(session, principal, f),
        counts=open_counts(session, principal.company_id),
        filters=f,
        checks=CHECKS,
        severities=SEVERITY_LABEL,
        statuses=view.STATUS_LABEL,
    )


@router.get("/compliance/registers/{register_id}/block", response_class=HTMLResponse)
def register_block(
    register_id: int,
    request: Request,
    state: StateDep,
    session: SessionDep,
    principal: Annotated[Principal, page_need(Permission.REGISTERS_VIEW)],
) -> HTMLResponse:
    """The register card's block (loaded by htmx): the register's open findings."""
    return render_page(
        request,
        state,
        "compliance/_register_block.html",
        principal=principal,
        register_id=register_id,
        rows=view.register_findings(session, principal, register_id),
    )
