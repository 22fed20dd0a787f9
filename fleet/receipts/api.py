"""The integrator API for receipts: create (idempotent), look up, list; callbacks; the queue."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Query, Response, status
from fastapi.responses import JSONResponse

from fleet.access.deps import need
from fleet.access.permissions import Permission
from fleet.access.principal import Principal
from fleet.adreceipts import consent as ad_consent_records
from fleet.deps import SessionDep, StateDep
from fleet.receipts import service
from fleet.receipts.create_route import CreateRoute
from fleet.receipts.exceptions import IdempotencyConflictError, InvalidReceiptError
from fleet.receipts.models import Receipt, ReceiptStatus
from fleet.receipts.queue import GroupBy, queue_depth
from fleet.receipts.schemas import (
    CallbackIn,
    CallbackPublic,
    QueueGroup,
    ReceiptList,
    ReceiptPublic,
    receipt_view,
)

__all__ = ["create_router", "operator_router", "router"]

router = APIRouter(prefix="/api/receipts", tags=["Чеки"])
#: the create alone, included first (fleet/main.py): the hot path matched at the first route,
#: served by `CreateRoute` (fleet/receipts/create_route.py)
create_router = APIRouter(prefix="/api/receipts", tags=["Чеки"], route_class=CreateRoute)
operator_router = APIRouter(prefix="/api/operator/receipts", tags=["Чеки (оператор)"])

_EXAMPLE: dict[str, Any] = {
    "id": "order-42",
    "operation": "sale",
    "tax_system": "osn",
    "items": [
        {
            "name": "Хлеб Бородинский",
            "price": 4990,
            "quantity": "2",
            "measure": 0,
            "sum": 9980,
            "vat": "vat22",
            "type": 1,
            "method": "full_payment",
        }
    ],
    "payments": {"electronic": 9980},
    "total": 9980,
    "buyer_contact": "buyer@example.ru",
}


def _public(session: SessionDep, rows: list[Receipt]) -> list[ReceiptPublic]:
    parts = service.parts_of(session, [r.id for r in rows if r.id is not None])
    return [
        ReceiptPublic.model_validate(receipt_view(r.model_dump(), parts[r.id or 0])) for r in rows
    ]


@create_router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ReceiptPublic,
    responses={
        200: {"description": "Этот чек уже создан (тот же запрос повторён)"},
        409: {"description": "Внешний идентификатор или Idempotency-Key уже у другого чека"},
        422: {"description": "Ошибки по полям (fields) и полный список (errors)"},
    },
)
def create(
    session: SessionDep,
    state: StateDep,
    p: Annotated[Principal, need(Permission.RECEIPTS_CREATE)],
    body: Annotated[
        Any,
        Body(
            description="Запрос чека по общей схеме (docs/receipt-schema.md); id — внешний "
            "идентификатор",
            openapi_examples={"sale": {"summary": "Продажа", "value": _EXAMPLE}},
        ),
    ],
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
    store_id: Annotated[
        int | None,
        Query(
            description="Торговая точка: чек пробьёт только касса этой точки "
            "(её адрес и часовой пояс)"
        ),
    ] = None,
    ad_consent: Annotated[
        bool | None,
        Query(
            description="Согласие покупателя (buyer_contact) на рекламу в электронном чеке: "
            "true или false; без параметра прежний ответ покупателя не меняется"
        ),
    ] = None,
) -> Any:
    """Create a receipt (201), or return the one this request repeats (200)."""
    # also called directly, in one worker thread, by `CreateRoute`'s fast path (the docstring
    # is the OpenAPI description)
    try:
        done = service.accept(
            session, p, body, idempotency_key=idempotency_key, clock=state.clock, store_id=store_id
        )
    except InvalidReceiptError as e:
        return JSONResponse(
            {
                "error": e.code,
                "message": e.message,
                "fields": e.fields,
                "errors": [{"path": a, "code": b, "message": c} for a, b, c in e.errors],
            },
            status_code=422,
        )
    except IdempotencyConflictError as e:
        return JSONResponse(
            {
                "error": e.code,
                "message": e.message,
                "fields": e.fields,
                "receipt_id": e.receipt_id,
            },
            status_code=409,
        )
    if ad_consent is not None:  # fleet/adreceipts: advertising consent
        ad_consent_records.record_from_request(
            session, state.clock, company_id=p.company_id, receipt_id=done.receipt["id"],
            body=done.receipt["body"], ad_consent=ad_consent,
        )  # fmt: skip
        session.commit()
    # serialised by pydantic-core at once (the same JSON as the response model gives)
    return Response(
        ReceiptPublic.model_validate(done.view(session)).model_dump_json(),
        status_code=status.HTTP_201_CREATED if done.created else status.HTTP_200_OK,
        media_type="application/json",
    )


@router.get("", response_model=ReceiptList)
def list_receipts(
    session: SessionDep,
    p: Annotated[Principal, need(Permission.RECEIPTS_VIEW)],
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    external_id: Annotated[str | None, Query(max_length=128)] = None,
    receipt_status: Annotated[ReceiptStatus | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=service.MAX_LIST)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> ReceiptList:
    """Receipts created in [since, until), newest first; or the one with `external_id`."""
    if external_id is not None:
        rec = service.find_by_external_id(session, p, external_id)
        return ReceiptList(items=_public(session, [rec]), total=1, limit=limit, offset=0)
    rows, total = service.list_receipts(
        session,
        p,
        since=since.timestamp() if since else None,
        until=until.timestamp() if until else None,
        status=receipt_status,
        limit=limit,
        offset=offset,
    )
    return ReceiptList(items=_public(session, rows), total=total, limit=limit, offset=offset)


@router.get("/queue", response_model=list[QueueGroup])
def queue(
    session: SessionDep,
    state: StateDep,
    p: Annotated[Principal, need(Permission.RECEIPTS_VIEW)],
    group_by: GroupBy = "register",
) -> list[QueueGroup]:
    """The company's receipts waiting and queued per register (or folder, or store), with the
    lag."""
    rows = queue_depth(
        session.connection(), state.clock.wall(), company_id=p.company_id, group_by=group_by
    )
    return [QueueGroup(**r) for r in rows]


@router.get("/callback", response_model=CallbackPublic | None)
def get_callback(
    session: SessionDep, p: Annotated[Principal, need(Permission.RECEIPTS_VIEW)]
) -> CallbackPublic | None:
    """The company's callback URL (null when none is set)."""
    row = service.callback_settings(session, p)
    if row is None:
        return None
    return CallbackPublic(url=row.url, updated_at=dt.datetime.fromtimestamp(row.updated_at, dt.UTC))


@router.put("/callback", response_model=CallbackPublic)
def put_callback(
    session: SessionDep,
    state: StateDep,
    p: Annotated[Principal, need(Permission.COMPANY_MANAGE)],
    body: CallbackIn,
) -> CallbackPublic:
    """Set where events go and the secret they are signed with."""
    row = service.set_callback_settings(session, p, body.url, body.secret, state.clock)
    return CallbackPublic(url=row.url, updated_at=dt.datetime.fromtimestamp(row.updated_at, dt.UTC))


@router.get("/{receipt_id}", response_model=ReceiptPublic)
def get_receipt(
    session: SessionDep,
    receipt_id: int,
    p: Annotated[Principal, need(Permission.RECEIPTS_VIEW)],
) -> ReceiptPublic:
    """One receipt with its parts."""
    return _public(session, [service.get_receipt(session, p, receipt_id)])[0]


@operator_router.get("/queue", response_model=list[QueueGroup])
def operator_queue(
    session: SessionDep,
    state: StateDep,
    _p: Annotated[Principal, need(Permission.OPERATOR_FLEET)],
    group_by: GroupBy = "company",
) -> list[QueueGroup]:
    """Every company's receipts waiting and queued, by company, register, folder or store."""
    rows = queue_depth(session.connection(), state.clock.wall(), group_by=group_by)
    return [QueueGroup(**r) for r in rows]
