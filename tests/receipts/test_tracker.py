"""One tracking pass writes every decision of the pass at once (fleet/receipts/tracker.py
`_apply`): each part gets exactly the columns its answer sets, whatever the others' are."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from fleet.core.clock import SettableClock
from fleet.documents.models import FiscalDocument
from fleet.link.command_models import SentCommand
from fleet.link.ingest_models import LinkCommand
from fleet.receipts.models import Receipt, ReceiptPart, ReceiptStatus
from fleet.receipts.routing import route
from fleet.receipts.service import create_receipt
from fleet.receipts.tracker import track
from tests.receipts.builders import add_register, sale
from tests.receipts.test_routing import answer, company, parts


def test_made_refused_not_executed_and_rejected_in_one_pass(
    engine: Engine, clock: SettableClock
) -> None:
    with Session(engine, expire_on_commit=False) as s:
        a = company(s, clock, 1)
        reg = add_register(s, clock, a, "TRACK001")
        for total in (1001, 1002, 1003, 1004, 1005):
            create_receipt(s, a, sale(f"t-{total}", total), clock=clock)
    route(engine, clock)
    with Session(engine, expire_on_commit=False) as s:
        for cmd in s.exec(select(SentCommand)).all():
            cmd.sent_at = clock.wall()  # the sender's side is not under test here
            s.add(cmd)
        s.commit()
    by_total = {p.total: p for p in parts(engine)}
    qr = "t=20240115T1030&s=10.01&fn=9999078900000002&i=7&fp=123456&n=1"
    answer(
        engine, by_total[1001], status="made", fn="9999078900000002", fd=7, fp="123456",
        shift=1, number=3, date_time="2024-01-15T10:30:00+03:00", qr=qr,
    )  # fmt: skip
    refused = [{"path": "items[0].vat", "code": "bad", "message": "ставка НДС"}]
    answer(engine, by_total[1002], status="failed", retryable=False, errors=refused)
    down = [{"path": "", "code": "drive_unreachable", "message": "ФН не отвечает"}]
    answer(engine, by_total[1003], status="failed", retryable=True, errors=down)
    with Session(engine) as s:
        s.add(
            LinkCommand(
                register_id=reg.id,
                request_id=by_total[1004].request_id,
                ack_status="rejected",
                ack_errors=[{"path": "id", "message": "плохой id"}],
            )
        )
        s.commit()
    # 1005 has no answer: it stays queued
    clock.advance(6)
    writes: list[str] = []

    def count(_c: Any, _cur: Any, statement: str, *_a: Any) -> None:
        if statement.lstrip().upper().startswith("UPDATE RECEIPTPART"):
            writes.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        stats = track(engine, clock, quiet_s=5)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert (stats.fiscalised, stats.failed, stats.rerouted) == (1, 2, 1)
    # PostgreSQL: the decisions in one statement (and the OFD's in another); SQLite: one
    # executemany per set of columns
    if engine.dialect.name == "postgresql":
        assert len(writes) == 2
    got = {p.total: p for p in parts(engine)}
    made, bad, moved, rejected, waiting = (got[t] for t in (1001, 1002, 1003, 1004, 1005))
    assert (made.status, made.fn_number, made.fd_number, made.fiscal_sign) == (
        ReceiptStatus.FISCALISED,
        "9999078900000002",
        7,
        "123456",
    )
    assert (made.shift_number, made.receipt_number, made.qr) == (1, 3, qr)
    assert made.register_id == reg.id and made.request_id == by_total[1001].request_id
    assert (bad.status, bad.retryable, bad.failure) == (
        ReceiptStatus.FAILED,
        False,
        "items[0].vat: ставка НДС",
    )
    assert bad.register_id == reg.id and bad.fn_number is None
    assert (moved.status, moved.register_id, moved.routed_at, moved.tried) == (
        ReceiptStatus.ACCEPTED,
        None,
        None,
        [reg.id],
    )
    assert moved.request_id == by_total[1003].request_id + ".1"
    assert moved.request == {**by_total[1003].request, "id": moved.request_id}
    assert moved.failure == "ФН не отвечает" and moved.retryable is None
    assert (rejected.status, rejected.retryable) == (ReceiptStatus.FAILED, False)
    assert "плохой id" in (rejected.failure or "")
    assert waiting.status == ReceiptStatus.QUEUED and waiting == by_total[1005]
    with Session(engine) as s:
        statuses = {r.total: r.status for r in s.exec(select(Receipt)).all()}
    assert statuses == {
        1001: "fiscalised",
        1002: "failed",
        1003: "accepted",
        1004: "failed",
        1005: "queued",
    }


def test_the_ofd_verdicts_confirm_in_the_same_statement_that_reads_them(
    engine: Engine, clock: SettableClock
) -> None:
    with Session(engine, expire_on_commit=False) as s:
        a = company(s, clock, 1)
        reg = add_register(s, clock, a, "OFDV0001")
        for total in (2001, 2002, 2003):
            create_receipt(s, a, sale(f"o-{total}", total), clock=clock)
    route(engine, clock)
    for fd, p in enumerate(sorted(parts(engine), key=lambda p: p.total), start=1):
        answer(engine, p, status="made", fn="9999078900000003", fd=fd, fp=str(fd))
        with Session(engine) as s:
            s.add(
                FiscalDocument(
                    register_id=reg.id, fn_number="9999078900000003", fd_number=fd,
                    doc_type=3, fiscal_sign=str(fd), issued_at=clock.wall(),
                    received_at=clock.wall(),
                    ofd_status=("accepted", "rejected", "pending")[fd - 1],
                )
            )  # fmt: skip
            s.commit()
    stats = track(engine, clock)  # fiscalised, then the OFD's verdicts in the same pass
    assert (stats.fiscalised, stats.confirmed) == (3, 1)
    got = {p.total: (p.status, p.ofd_status) for p in parts(engine)}
    assert got == {
        2001: ("confirmed", "accepted"),
        2002: ("fiscalised", "rejected"),
        2003: ("fiscalised", None),
    }
    with Session(engine) as s:
        receipts = {r.total: (r.status, r.confirmed_at) for r in s.exec(select(Receipt)).all()}
    assert receipts[2001] == ("confirmed", clock.wall())
    assert receipts[2002][0] == "fiscalised" and receipts[2003][0] == "fiscalised"
    assert track(engine, clock).confirmed == 0  # nothing changed since
    with Session(engine) as s:
        third = update(FiscalDocument).where(FiscalDocument.fd_number == 3)  # type: ignore[arg-type]
        s.exec(third.values(ofd_status="accepted"))
        s.commit()
    assert track(engine, clock).confirmed == 1
    with Session(engine) as s:
        done = s.exec(select(ReceiptPart.total).where(ReceiptPart.status == "confirmed")).all()
    assert sorted(done) == [2001, 2003]
