"""A dead register: the drive's archive decides what was made; the rest moves to another
register with a new request id, nothing is fiscalised twice, a replacement opens."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from fleet.console import alarms, dead
from fleet.console.exceptions import ArchiveIncompleteError, RegisterAlreadyDeadError
from fleet.console.models import Alarm, DeadRegister
from fleet.core.clock import SettableClock
from fleet.documents.models import FiscalDocument
from fleet.link.command_models import SentCommand
from fleet.link.ingest_models import LinkCommand, StoredWatermark
from fleet.link.models import MqttAccount
from fleet.receipts.models import ReceiptPart
from fleet.receipts.routing import route
from fleet.receipts.service import create_receipt
from fleet.registers.models import Register, RegisterState
from tests.console.world import company, operator, register, set_shadow
from tests.receipts.builders import sale

FN = "9999078900000001"


def parts(engine: Engine) -> list[ReceiptPart]:
    with Session(engine) as s:
        return list(s.exec(select(ReceiptPart).order_by(ReceiptPart.id)).all())  # type: ignore[arg-type]


def world(engine: Engine, clock: SettableClock) -> tuple[int, int, object]:
    """Register A holds four queued parts: one made (its result came), one that a stored
    document of A's drive may be (same total, no result), two with no trace in the archive."""
    with Session(engine, expire_on_commit=False) as s:
        c = company(s, clock, 1)
        _u, p = operator(s, clock, c.id or 0)
        a = register(s, clock, c, "DEADREG001")
        b = register(s, clock, c, "SPAREREG01", slot="R1-S02", online=False)
        b_shadow = b.id or 0
        s.add(
            MqttAccount(
                username="DEADREG001",
                kind="register",
                password_hash="$7$x",
                created_at=clock.wall(),
            )
        )
        s.commit()
        for i, total in enumerate([1000, 2000, 3000, 4000]):
            create_receipt(s, c, sale(f"r-{i}", total), clock=clock)
    route(engine, clock)
    ps = parts(engine)
    assert {x.register_id for x in ps} == {a.id} and all(x.status == "queued" for x in ps)
    with Session(engine, expire_on_commit=False) as s:
        s.add(
            LinkCommand(
                register_id=a.id or 0,
                request_id=ps[0].request_id,
                ack_status="accepted",
                result_status="made",
                result={"fn": FN, "fd": 1, "fp": "11"},
                result_at=clock.wall(),
            )
        )
        for fd, total in ((1, 1000), (2, 2000)):
            s.add(
                FiscalDocument(
                    register_id=a.id or 0,
                    company_id=c.id,
                    fn_number=FN,
                    fd_number=fd,
                    doc_type=3,
                    operation=1,
                    total=total,
                    tax_system=1,
                    fiscal_sign=str(fd),
                    issued_at=clock.wall(),
                    received_at=clock.wall(),
                    tlv=b"",
                )
            )
        s.add(
            StoredWatermark(
                fn_number=FN, register_id=a.id or 0, through=2, highest=2, updated_at=clock.wall()
            )
        )
        s.commit()
        set_shadow(s, a.id or 0, online=False, drive_last_fd=2)
        set_shadow(s, b_shadow, online=True)
    return a.id or 0, b.id or 0, p


def test_the_archive_decides_and_the_rest_moves_to_another_register_once(
    engine: Engine, clock: SettableClock
) -> None:
    a, b, p = world(engine, clock)
    with Session(engine) as s:  # the register is offline: its alarm is open
        clock.advance(300)
        alarms.evaluate(s, clock)
        s.commit()
        mine = select(Alarm).where(Alarm.register_id == a)
        raised = {(x.rule, x.status) for x in s.exec(mine).all()}
        assert ("offline", "open") in raised
    before = parts(engine)
    with Session(engine) as s:
        verdicts = [(v.part_id, v.verdict) for v in dead.assess(s, a).parts]
    assert verdicts == [
        (before[0].id, "made"),
        (before[1].id, "held"),
        (before[2].id, "moved"),
        (before[3].id, "moved"),
    ]
    with Session(engine) as s:
        row = dead.declare(s, clock, p, a, "плата не включается")  # type: ignore[arg-type]
        s.commit()
        assert (row.made, row.held, row.moved) == (1, 1, 2)
        replacement = s.get(Register, row.replacement_id)
        reg = s.get(Register, a)
        assert reg is not None and reg.state == RegisterState.DEAD.value
        assert replacement is not None and replacement.serial is None
        assert (replacement.company_id, replacement.state) == (reg.company_id, "paid")
        assert s.get(MqttAccount, "DEADREG001").revoked_at == clock.wall()  # type: ignore[union-attr]
        old = {x.request_id: x.status for x in s.exec(select(SentCommand)).all()}
        ended = {
            (x.status, x.cleared_by)
            for x in s.exec(select(Alarm).where(Alarm.register_id == a)).all()
        }
        assert ended == {("cleared", p.user_id)}  # type: ignore[attr-defined]
    assert old[before[2].request_id] == old[before[3].request_id] == "expired"
    assert old[before[1].request_id] == "pending"  # held: its answer would be the proof
    after = parts(engine)
    assert [x.status for x in after] == ["queued", "queued", "accepted", "accepted"]
    for moved, was in zip(after[2:], before[2:], strict=True):
        assert moved.register_id is None and moved.tried == [a]
        assert moved.request_id == f"{was.request_id}.1" and moved.request["id"] == moved.request_id
    clock.advance(1)
    stats = route(engine, clock)
    assert stats.routed == 2 and stats.by_register == {b: 2}
    final = parts(engine)
    assert [x.register_id for x in final] == [a, a, b, b]
    # no request was given to two registers: every live command names one register per part
    with Session(engine) as s:
        live = s.exec(select(SentCommand).where(SentCommand.status == "pending")).all()
    ids = [c.request_id for c in live]
    assert len(ids) == len(set(ids))
    assert sorted((c.register_id, c.request_id) for c in live) == sorted(
        [(a, x.request_id) for x in before[:2]] + [(b, x.request_id) for x in final[2:]]
    )


def test_a_missing_document_refuses_until_the_archive_is_read_or_declared_unreadable(
    engine: Engine, clock: SettableClock
) -> None:
    a, _b, p = world(engine, clock)
    with Session(engine) as s:
        set_shadow(s, a, drive_last_fd=5)
    with Session(engine) as s:
        with pytest.raises(ArchiveIncompleteError) as err:
            dead.declare(s, clock, p, a, "не включается")  # type: ignore[arg-type]
        assert "с № 3 по № 5" in err.value.message
        s.rollback()
    assert [x.status for x in parts(engine)] == ["queued"] * 4
    with Session(engine) as s:
        assert s.exec(select(DeadRegister)).all() == []
        row = dead.declare(s, clock, p, a, "не включается", archive_unreadable=True)  # type: ignore[arg-type]
        s.commit()
        assert (row.made, row.held, row.moved) == (1, 3, 0)
        with pytest.raises(RegisterAlreadyDeadError):
            dead.declare(s, clock, p, a, "ещё раз")  # type: ignore[arg-type]
    assert [x.status for x in parts(engine)] == ["queued"] * 4
