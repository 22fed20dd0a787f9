"""The receipts worker wakes when work arrives (fleet/core/wakeup.py): the API's accepted
receipt and the ingest's stored result notify it on PostgreSQL (LISTEN/NOTIFY, delivered at
commit, across processes); with no work it sleeps its idle period instead of polling."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from fleet.core.clock import SystemClock
from fleet.core.wakeup import RECEIPTS, Listener, notify
from fleet.receipts.runner import ReceiptWorker
from fleet.receipts.service import create_receipt
from protocol.mqtt.examples import EXAMPLES
from protocol.portable import link
from tests.link.test_ingest_store import msg, setup
from tests.receipts.builders import add_register, sale
from tests.receipts.test_routing import company


def _pg(engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("LISTEN/NOTIFY needs PostgreSQL (DATABASE_URL)")


def test_a_listener_hears_a_committed_notification_only(engine: Engine) -> None:
    _pg(engine)
    listener = Listener(engine, RECEIPTS)
    try:
        assert listener.wait(0) is False  # listening now; nothing yet
        with engine.connect() as conn:
            notify(conn, RECEIPTS)
            conn.rollback()  # a rolled-back transaction's work never wakes anyone
        t0 = time.monotonic()
        assert listener.wait(0.3) is False
        assert time.monotonic() - t0 >= 0.25  # it slept its timeout
        with engine.begin() as conn:
            notify(conn, RECEIPTS)
            notify(conn, RECEIPTS)
        assert listener.wait(5) is True
        assert listener.wait(0) is False  # both were consumed by the one wake-up
    finally:
        listener.close()


def test_a_listener_on_sqlite_sleeps_its_timeout(engine: Engine) -> None:
    if engine.dialect.name == "postgresql":
        pytest.skip("SQLite only")
    with engine.begin() as conn:
        notify(conn, RECEIPTS)  # nothing to do: one process polls
    t0 = time.monotonic()
    assert Listener(engine, RECEIPTS).wait(0.2) is False
    assert time.monotonic() - t0 >= 0.15


def test_bad_channel_names_are_refused() -> None:
    with pytest.raises(ValueError, match="not a channel name"):
        notify(None, "x; DROP TABLE receipt")  # type: ignore[arg-type]


def test_the_ingest_storing_a_result_wakes_the_listener(engine: Engine) -> None:
    _pg(engine)
    store = setup(engine)
    listener = Listener(engine, RECEIPTS)
    try:
        listener.wait(0)
        store.apply([msg("presence", EXAMPLES["presence"])])  # nothing for the worker
        assert listener.wait(0.2) is False
        store.apply([msg("result", EXAMPLES["result"])])
        assert listener.wait(5) is True
    finally:
        listener.close()


def test_the_worker_routes_an_accepted_receipt_at_once_not_after_its_idle_period(
    engine: Engine,
) -> None:
    _pg(engine)
    clock = SystemClock()
    with Session(engine, expire_on_commit=False) as s:
        a = company(s, clock, 1)  # type: ignore[arg-type]
        add_register(s, clock, a, "WAKE0001")
    sent: list[tuple[str, float]] = []

    def publish(topic: str, payload: bytes, *, retain: bool = False) -> None:
        sent.append((topic, time.monotonic()))

    worker = ReceiptWorker(engine, publish, clock, root="t-wake")
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,), kwargs={"idle_s": 30.0})
    thread.start()
    try:
        time.sleep(0.5)  # the first pass ran; the worker now sleeps up to 30 s
        with Session(engine, expire_on_commit=False) as s:
            create_receipt(s, a, sale("wake-1", 4200, vat="vat22"), clock=clock)
        accepted = time.monotonic()
        end = accepted + 10
        cmd = link.topic("t-wake", "WAKE0001", link.CMD)
        while not any(t == cmd for t, _ in sent) and time.monotonic() < end:
            time.sleep(0.02)
        at = [when for t, when in sent if t == cmd]
        assert at and at[0] - accepted < 5.0, sent
    finally:
        stop.set()
        with engine.begin() as conn:
            notify(conn, RECEIPTS)  # wake it to see the stop
        thread.join(10)
    assert not thread.is_alive()
