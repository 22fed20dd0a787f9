"""The create's hot path (issue 8, stop 22): the receipt alone in autocommit on PostgreSQL,
the fast path's own threads within the engine's pool, the server's frozen heap."""

from __future__ import annotations

import gc
import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlmodel import Session, select

import fleet.serve
from fleet.accounts.mail import MemoryMailSender
from fleet.accounts.models import Company
from fleet.core.clock import SettableClock
from fleet.core.db import make_engine
from fleet.receipts import create_route, service
from fleet.receipts.exceptions import IdempotencyConflictError
from fleet.receipts.models import Receipt, ReceiptPart
from tests.receipts.builders import sale
from tests.receipts.test_api import integrator
from tests.receipts.test_routing import company

#: what differs between two stored receipts of the same request made twice
_OWN = {
    "id",
    "receipt_id",
    "external_id",
    "idempotency_key",
    "request_id",
    "body",
    "request",
    "body_hash",
}


def _pg(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("the autocommit statement is PostgreSQL's (set DATABASE_URL)")


def _stored(engine: Engine, receipt_id: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    with Session(engine) as s:
        rec = s.get(Receipt, receipt_id)
        assert rec is not None
        parts = s.exec(select(ReceiptPart).where(ReceiptPart.receipt_id == receipt_id)).all()
        return (
            {k: v for k, v in rec.model_dump().items() if k not in _OWN},
            [{k: v for k, v in p.model_dump().items() if k not in _OWN} for p in parts],
        )


def _spy(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many parts each autocommit insert wrote (the real function, counted)."""
    calls: list[int] = []
    real = service._insert_alone

    def counting(engine: Engine, receipt: dict[str, Any], parts: list[dict[str, Any]]) -> Any:
        calls.append(len(parts))
        return real(engine, receipt, parts)

    monkeypatch.setattr(service, "_insert_alone", counting)
    return calls


def test_alone_the_receipt_is_stored_in_autocommit_as_it_is_in_the_callers_transaction(
    engine: Engine, clock: SettableClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    _pg(engine)
    calls = _spy(monkeypatch)
    with Session(engine, expire_on_commit=False) as s:
        c = company(s, clock, 1)
    assert c.id is not None
    big = sale("big", 1000 * 300, items=300)  # split: several parts in the one statement
    for i, it in enumerate(big["items"]):
        it["name"] = f"Позиция номер {i:04d} с очень длинным названием для проверки деления чека"
    made: dict[str, int] = {}
    for name, body in (("one", sale("alone-1", 12345, items=2)), ("big", big)):
        with Session(engine, expire_on_commit=False) as s:  # nothing else in the session
            done = service.accept(s, c.id, body, clock=clock, idempotency_key=f"k-{name}")
            assert done.created and not s.in_transaction()
            view = done.view(s)
        made[name] = int(done.receipt["id"])
        # the same request through a session already in a transaction: its path as before,
        # the caller's change committed with the receipt
        with Session(engine, expire_on_commit=False) as s:
            row = s.get(Company, c.id)
            assert row is not None
            row.name = f"ООО «{name}»"
            s.add(row)
            again = dict(body, id=f"{body['id']}-tx")
            other = service.accept(s, c.id, again, clock=clock, idempotency_key=f"k-{name}-tx")
            other_view = other.view(s)
        assert other.created
        with Session(engine) as s:
            assert s.exec(select(Company.name).where(Company.id == c.id)).one() == f"ООО «{name}»"
        assert _stored(engine, made[name]) == _stored(engine, int(other.receipt["id"]))
        assert view == {**other_view, "id": made[name], "external_id": body["id"]}
        with Session(engine) as s:  # the JSON columns as SQLAlchemy would have written them
            rec = s.get(Receipt, made[name])
            assert rec is not None and rec.body == body and rec.idempotency_key == f"k-{name}"
            first = s.exec(select(ReceiptPart).where(ReceiptPart.receipt_id == made[name])).first()
            assert first is not None and first.request["items"][0] == body["items"][0]
            raw = s.connection().execute(
                text("SELECT body::text FROM receipt WHERE id = :id"), {"id": made[name]}
            )
            assert raw.scalar() == json.dumps(body)
    assert calls[0] == 1 and calls[1] >= 2 and len(calls) == 2
    # a repeat and a conflict through the autocommit statement answer as before
    with Session(engine, expire_on_commit=False) as s:
        repeat = service.accept(s, c.id, sale("alone-1", 12345, items=2), clock=clock)
    assert not repeat.created and repeat.receipt["id"] == made["one"]
    with Session(engine, expire_on_commit=False) as s, pytest.raises(IdempotencyConflictError) as e:
        service.accept(s, c.id, sale("alone-1", 999), clock=clock)
    assert e.value.receipt_id == made["one"]
    assert len(calls) == 4  # both went to the statement; the constraints found the receipt


def test_the_driver_statements_error_is_sqlalchemys_and_leaves_the_connection_usable(
    engine: Engine, clock: SettableClock
) -> None:
    _pg(engine)
    own = make_engine(engine.url.render_as_string(hide_password=False))  # one connection
    try:
        with Session(own, expire_on_commit=False) as s:
            c = company(s, clock, 2)
        assert c.id is not None
        body = sale("fk-1", 100)
        receipt = {
            "company_id": c.id + 1000,  # no such company: the foreign key refuses it
            "external_id": "fk-1",
            "idempotency_key": None,
            "body_hash": service.body_hash(body),
            "body": body,
            "kind": "sale",
            "total": 100,
            "parts": 1,
            "status": "accepted",
            "created_at": clock.wall(),
            "updated_at": clock.wall(),
        }
        part = {
            "company_id": c.id,
            "part_no": 1,
            "request_id": "fk-1-1",
            "action": "receipt",
            "request": body,
            "pinned_register_id": None,
            "store_id": None,
            "total": 100,
            "status": "accepted",
            "tried": [],
            "created_at": clock.wall(),
            "updated_at": clock.wall(),
        }
        with pytest.raises(IntegrityError):
            service._insert_alone(own, receipt, [part])
        assert own.pool.checkedin() == 1  # the one connection, back in the pool
        with own.connect() as conn:
            assert conn.connection.driver_connection.autocommit is False
            assert conn.execute(text("SELECT count(*) FROM receipt")).scalar() == 0
        with Session(own, expire_on_commit=False) as s:
            assert service.accept(s, c.id, body, clock=clock).created
    finally:
        own.dispose()


def test_a_connection_the_server_dropped_is_replaced_after_the_statement_fails(
    engine: Engine, clock: SettableClock
) -> None:
    _pg(engine)
    own = make_engine(engine.url.render_as_string(hide_password=False))  # one connection
    try:
        with Session(own, expire_on_commit=False) as s:
            c = company(s, clock, 3)
        assert c.id is not None
        with own.connect() as conn:
            pid = conn.execute(text("SELECT pg_backend_pid()")).scalar()
        with engine.connect() as other:
            other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            other.commit()
        try:  # the engine's checkout may ping it first (fleet/core/db.py); if not, the
            # statement fails as SQLAlchemy's would and the connection is replaced
            with Session(own, expire_on_commit=False) as s:
                service.accept(s, c.id, sale("gone-1", 100), clock=clock)
        except DBAPIError as e:
            assert e.connection_invalidated
            with Session(own, expire_on_commit=False) as s:
                assert service.accept(s, c.id, sale("gone-1", 100), clock=clock).created
        with own.connect() as conn:
            assert conn.execute(text("SELECT pg_backend_pid()")).scalar() != pid
            assert (
                conn.execute(
                    text("SELECT count(*) FROM receipt WHERE external_id = 'gone-1'")
                ).scalar()
                == 1
            )
    finally:
        own.dispose()


def test_the_fast_path_uses_no_more_threads_than_the_pool_keeps_connections(
    client: TestClient, mailer: MemoryMailSender, engine: Engine
) -> None:
    h = integrator(client, mailer)
    assert client.post("/api/receipts", json=sale("threads-1", 100), headers=h).status_code == 201
    pool = create_route._pool
    assert pool is not None
    size = getattr(engine.pool, "size", None)
    kept = size() if callable(size) else create_route.THREADS
    assert 1 <= pool._max_workers <= min(kept, create_route.THREADS)


def test_a_server_freezes_what_it_has_made_before_serving() -> None:
    before = gc.get_freeze_count()
    try:
        fleet.serve.freeze_heap()
        assert gc.get_freeze_count() > before
    finally:
        gc.unfreeze()
