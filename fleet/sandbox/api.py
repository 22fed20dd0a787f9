"""The sandbox's endpoints: Oblako's own receipts API on the sandbox contour
(/sandbox/api/receipts, sandbox keys only), and the cabinet's sandbox settings and keys."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Query, Response, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from fleet.access.deps import need
from fleet.access.permissions import Permission
from fleet.access.principal import Principal
from fleet.compat.groups import group_codes
from fleet.core.errors import DomainError, status_for
from fleet.deps import SessionDep, StateDep
from fleet.receipts import service
from fleet.receipts.exceptions import IdempotencyConflictError, InvalidReceiptError
from fleet.receipts.schemas import ReceiptPublic, receipt_view
from fleet.sandbox import service as sandbox

__all__ = ["cabinet_router", "router"]

router = APIRouter(prefix="/sandbox/api/receipts", tags=["Песочница"])
cabinet_router = APIRouter(prefix="/api/sandbox", tags=["Песочница"])


class SandboxReceipt(ReceiptPublic):
    """A receipt of the sandbox: always a test."""

    test: bool = True


class SandboxInfo(BaseModel):
    """What a client configures to use its sandbox."""

    sandbox_company_id: int
    group_codes: list[str]
    atol_base: str
    ferma_base: str
    api_base: str


class SandboxKey(BaseModel):
    """A new sandbox key: shown once."""

    key: str
    login: str
    name: str


def _refusal(e: DomainError) -> JSONResponse:
    """Oblako's JSON error (the app maps domain errors to JSON only under /api)."""
    return JSONResponse(
        {"error": e.code, "message": e.message, "fields": e.fields}, status_code=status_for(e)
    )


def _principal(session: SessionDep, authorization: str | None) -> Principal:
    token = (authorization or "").removeprefix("Bearer ").strip() or None
    return sandbox.sandbox_principal(session, token)


def _view(session: SessionDep, rec: Any) -> dict[str, Any]:
    parts = service.parts_of(session, [rec.id])[rec.id]
    return {**receipt_view(rec.model_dump(), parts), "test": True}


@router.post("", status_code=status.HTTP_201_CREATED, response_model=SandboxReceipt)
def create(
    session: SessionDep,
    state: StateDep,
    response: Response,
    body: Annotated[Any, Body()],
    authorization: Annotated[str | None, Header()] = None,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> Any:
    """As POST /api/receipts, in the sandbox (a sandbox key: ``Bearer obt_…``)."""
    try:
        p = _principal(session, authorization)
        p.check(Permission.RECEIPTS_CREATE)
        rec, created = service.create_receipt(
            session, p, body, idempotency_key=idempotency_key, clock=state.clock
        )
    except InvalidReceiptError as e:
        errors = [{"path": a, "code": b, "message": c} for a, b, c in e.errors]
        return JSONResponse(
            {"error": e.code, "message": e.message, "fields": e.fields, "errors": errors},
            status_code=422,
        )
    except IdempotencyConflictError as e:
        return JSONResponse(
            {"error": e.code, "message": e.message, "receipt_id": e.receipt_id}, status_code=409
        )
    except DomainError as e:
        return _refusal(e)
    if not created:
        response.status_code = status.HTTP_200_OK
    return _view(session, rec)


@router.get("", response_model=SandboxReceipt)
def by_external_id(
    session: SessionDep,
    external_id: Annotated[str, Query(max_length=128)],
    authorization: Annotated[str | None, Header()] = None,
) -> Any:
    """The sandbox receipt with this external id."""
    try:
        p = _principal(session, authorization)
        p.check(Permission.RECEIPTS_VIEW)
        return _view(session, service.find_by_external_id(session, p, external_id))
    except DomainError as e:
        return _refusal(e)


@router.get("/{receipt_id}", response_model=SandboxReceipt)
def get_receipt(
    session: SessionDep, receipt_id: int, authorization: Annotated[str | None, Header()] = None
) -> Any:
    """One sandbox receipt with its parts."""
    try:
        p = _principal(session, authorization)
        p.check(Permission.RECEIPTS_VIEW)
        return _view(session, service.get_receipt(session, p, receipt_id))
    except DomainError as e:
        return _refusal(e)


@cabinet_router.get("", response_model=SandboxInfo)
def info(
    session: SessionDep,
    state: StateDep,
    p: Annotated[Principal, need(Permission.RECEIPTS_VIEW)],
) -> SandboxInfo:
    """The company's sandbox (made on first use): group codes and base URLs."""
    link = sandbox.ensure_sandbox(session, state.clock, p.company_id)
    base = state.settings.base_url.rstrip("/")
    return SandboxInfo(
        sandbox_company_id=link.sandbox_company_id,
        group_codes=group_codes(session, link.sandbox_company_id),
        atol_base=f"{base}/sandbox/atol/possystem",
        ferma_base=f"{base}/sandbox/ferma",
        api_base=f"{base}/sandbox/api/receipts",
    )


@cabinet_router.post("/keys", status_code=status.HTTP_201_CREATED, response_model=SandboxKey)
def new_key(
    session: SessionDep,
    state: StateDep,
    p: Annotated[Principal, need(Permission.COMPANY_MANAGE)],
) -> SandboxKey:
    """A new sandbox key (shown once); it works only in the sandbox."""
    made = sandbox.issue_key(session, state.clock, p.company_id)
    return SandboxKey(key=made.secret, login=made.row.prefix, name=made.row.name)
