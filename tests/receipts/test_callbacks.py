"""Callbacks against a real local HTTP server: HMAC-signed, event ids, retried with backoff."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from fleet.core.clock import SettableClock
from fleet.receipts.callbacks import (
    EVENT_HEADER,
    MAX_ATTEMPTS,
    SIGNATURE_HEADER,
    deliver_due,
    retry_after_s,
    sign,
    verify,
)
from fleet.receipts.models import CallbackDelivery, CallbackSettings, ReceiptPart
from fleet.receipts.routing import route
from fleet.receipts.service import create_receipt
from fleet.receipts.tracker import track
from tests.receipts.builders import add_register, sale
from tests.receipts.test_routing import answer, company

SECRET = "callback-secret-0123456789"


class Receiver:
    """A local HTTP server that answers with the next status of `script` (then 200)."""

    def __init__(self) -> None:
        self.got: list[tuple[dict[str, str], bytes]] = []
        self.script: list[int] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.got.append(({k: v for k, v in self.headers.items()}, body))
                code = receiver.script.pop(0) if receiver.script else 200
                self.send_response(code)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(name="receiver")
def fixture_receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def fiscalise_one(engine: Engine, clock: SettableClock, url: str) -> int:
    """A receipt of a company with callbacks, made by its register: one event queued."""
    with Session(engine, expire_on_commit=False) as s:
        a = company(s, clock, 1)
        add_register(s, clock, a, "HOOK0001")
        s.add(CallbackSettings(company_id=a.id, url=url, secret=SECRET, updated_at=0))  # type: ignore[arg-type]
        s.commit()
        rec, _ = create_receipt(s, a, sale("cb-1", 777), clock=clock)
    route(engine, clock)
    with Session(engine) as s:
        part = s.exec(select(ReceiptPart)).one()
    answer(engine, part, status="made", fn="9999078900000009", fd=3, fp="42", shift=1, number=1)
    track(engine, clock)
    assert rec.id is not None
    return rec.id


def test_signature_round_trip_and_refusals() -> None:
    body = b'{"a":1}'
    header = sign(SECRET, 1_700_000_000, body)
    assert header.startswith("t=1700000000,v1=") and len(header.split("v1=")[1]) == 64
    assert verify(SECRET, header, body, 1_700_000_100)
    assert not verify(SECRET, header, body + b" ", 1_700_000_100)  # altered body
    assert not verify("another-secret-000000", header, body, 1_700_000_100)
    assert not verify(SECRET, header, body, 1_700_000_000 + 301)  # too old: a replay
    assert not verify(SECRET, "garbage", body, 1_700_000_000)


def test_an_event_is_signed_retried_with_backoff_and_delivered_once(
    engine: Engine, clock: SettableClock, receiver: Receiver
) -> None:
    receipt_id = fiscalise_one(engine, clock, receiver.url)
    receiver.script = [500, 503]
    with httpx.Client() as http:
        first = deliver_due(engine, clock, http)
        assert (first.delivered, first.failed) == (0, 1)
        clock.advance(retry_after_s(1) - 1)
        assert deliver_due(engine, clock, http).failed == 0  # not due yet
        clock.advance(1)
        assert deliver_due(engine, clock, http).failed == 1
        clock.advance(retry_after_s(2))
        assert deliver_due(engine, clock, http).delivered == 1
        clock.advance(10_000)
        assert deliver_due(engine, clock, http).delivered == 0  # delivered: never again
    assert len(receiver.got) == 3
    ids = {h[EVENT_HEADER] for h, _b in receiver.got}
    assert len(ids) == 1  # every attempt carries the same event id
    for headers, body in receiver.got:
        t = int(headers[SIGNATURE_HEADER].split(",")[0][2:])
        assert verify(SECRET, headers[SIGNATURE_HEADER], body, t)
        event = json.loads(body)
        assert event["event_id"] == headers[EVENT_HEADER] and event["event"] == "fiscalised"
        assert event["receipt"]["id"] == receipt_id
        assert event["receipt"]["parts"][0]["fd_number"] == 3
    with Session(engine) as s:
        d = s.exec(select(CallbackDelivery)).one()
    assert d.status == "delivered" and d.attempts == 3 and d.last_error is None


def test_a_receiver_that_never_answers_2xx_is_given_up_on(
    engine: Engine, clock: SettableClock, receiver: Receiver
) -> None:
    fiscalise_one(engine, clock, receiver.url)
    receiver.script = [500] * 100
    with httpx.Client() as http:
        for attempt in range(1, MAX_ATTEMPTS + 1):
            deliver_due(engine, clock, http)
            clock.advance(retry_after_s(attempt))
    with Session(engine) as s:
        d = s.exec(select(CallbackDelivery)).one()
    assert d.status == "gave_up" and d.attempts == MAX_ATTEMPTS and d.last_error == "HTTP 500"
    assert len(receiver.got) == MAX_ATTEMPTS


def test_an_unreachable_receiver_is_retried(engine: Engine, clock: SettableClock) -> None:
    fiscalise_one(engine, clock, "http://127.0.0.1:9/hook")  # the discard port: refused
    with httpx.Client() as http:
        assert deliver_due(engine, clock, http, timeout_s=1).failed == 1
    with Session(engine) as s:
        d = s.exec(select(CallbackDelivery)).one()
    assert d.status == "pending" and d.attempts == 1 and "ConnectError" in (d.last_error or "")
