"""The EDO exchange against the simulator: documents made once from the ledger, sent once,
signed or refused, retried after failures, never delivered twice."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from fleet.accounts.mail import MemoryMailSender
from fleet.accounts.service import AccountsContext
from fleet.billing import ledger
from fleet.billing.models import ACCOUNT_REVENUE
from fleet.core.clock import SettableClock
from fleet.edo import service
from fleet.edo.exceptions import EdoInputError, EdoNotConnectedError, EdoUnavailableError
from fleet.edo.jobs import edo_job
from fleet.edo.models import EdoConnection, EdoDocument
from fleet.edo.upd import check_upd, upd_bytes
from tests.edo.builders import CHARGES, DECEMBER, JANUARY, SELLER, company_with_charges, simulator


def _connected(session: Session, sim_gateway: object, company_id: int, n: int = 1) -> None:
    clock = SettableClock(JANUARY)
    link = service.connect(
        session,
        clock,
        sim_gateway,  # type: ignore[arg-type]
        company_id,
        operator_id="2be",
        participant_id=f"2BE-{n:010d}",
    )
    assert link.status == "active"


def test_connect_refuses_bad_ids_and_unknown_participants(
    engine: Engine, ctx: AccountsContext, mailer: MemoryMailSender
) -> None:
    sim = simulator()
    with Session(engine) as session:
        company = company_with_charges(session, ctx, mailer, 1)
        assert company.id is not None
        clock = SettableClock(JANUARY)
        with pytest.raises(EdoInputError) as bad:
            service.connect(
                session, clock, sim.gateway, company.id, operator_id="XX", participant_id="2BE1"
            )
        assert set(bad.value.fields) == {"operator_id"}
        with pytest.raises(EdoInputError) as foreign:
            service.connect(
                session, clock, sim.gateway, company.id, operator_id="2BE", participant_id="2AL-1"
            )
        assert "2BE" in foreign.value.fields["participant_id"]
        assert session.get(EdoConnection, company.id) is None  # bad input changes nothing
        sim.state.faults.unknown.append("2BE-404")
        link = service.connect(
            session, clock, sim.gateway, company.id, operator_id="2BE", participant_id="2BE-404"
        )
        assert link.status == "refused" and link.message and "не найден" in link.message
        with pytest.raises(EdoNotConnectedError):
            service.assemble(session, clock, SELLER, company.id, "2023-12")
        sim.state.faults.fail_next = 1
        with pytest.raises(EdoUnavailableError):
            service.connect(
                session, clock, sim.gateway, company.id, operator_id="2BE", participant_id="2BE-1"
            )
        assert session.get(EdoConnection, company.id).status == "refused"  # type: ignore[union-attr]


def test_month_documents_are_made_once_per_kind_from_the_ledger(
    engine: Engine, ctx: AccountsContext, mailer: MemoryMailSender
) -> None:
    sim = simulator()
    with Session(engine) as session:
        company = company_with_charges(session, ctx, mailer, 2)
        assert company.id is not None
        _connected(session, sim.gateway, company.id)
        clock = SettableClock(JANUARY + 3600.0)
        assert service.assemble_due(session, clock, SELLER) == 3
        session.commit()
        assert service.assemble_due(session, clock, SELLER) == 0  # idempotent
        docs = {d.kind: d for d in service.documents(session, company.id)}
        assert set(docs) == {"tariffs", "drives", "messages"}
        assert docs["tariffs"].amount == CHARGES[0][2] + CHARGES[1][2]  # January's is not here
        assert [line["name"] for line in docs["tariffs"].lines] == [CHARGES[0][1], CHARGES[1][1]]
        assert docs["drives"].amount == CHARGES[2][2]
        assert docs["messages"].amount == CHARGES[3][2]
        for doc in docs.values():
            assert doc.period == "2023-12" and doc.status == "ready"
            check_upd(upd_bytes(doc.xml))
            assert company.inn in doc.xml and SELLER.inn in doc.xml


def test_send_sign_and_poll(engine: Engine, ctx: AccountsContext, mailer: MemoryMailSender) -> None:
    sim = simulator(sign_after_s=120.0)
    with Session(engine) as session:
        company = company_with_charges(session, ctx, mailer, 3)
        assert company.id is not None
        _connected(session, sim.gateway, company.id)
        clock = SettableClock(JANUARY + 3600.0)
        service.assemble_due(session, clock, SELLER)
        session.commit()
        assert service.exchange(session, clock, sim.gateway, SELLER) == 3
        sent = service.documents(session, company.id)
        assert {d.status for d in sent} == {"sent"}
        assert len(sim.state.documents) == 3
        received = {d.kind: d for d in sim.state.documents.values()}
        tariffs = next(d for d in sent if d.kind == "tariffs")
        check_upd(received["tariffs"].content)
        assert received["tariffs"].content == upd_bytes(tariffs.xml)
        assert received["tariffs"].recipient == "2BE-0000000001"
        assert service.exchange(session, clock, sim.gateway, SELLER) == 0  # not yet signed
        sim.now[0] += 121.0
        assert service.exchange(session, clock, sim.gateway, SELLER) == 3
        assert {d.status for d in service.documents(session, company.id)} == {"signed"}
        assert sim.state.sends == 3  # nothing was sent again
        assert service.exchange(session, clock, sim.gateway, SELLER) == 0


def test_refusal_is_kept_with_its_reason(
    engine: Engine, ctx: AccountsContext, mailer: MemoryMailSender
) -> None:
    sim = simulator(sign_after_s=0.0)
    sim.state.faults.refuse["2BE-0000000001"] = "Сумма не совпадает с актом сверки"
    with Session(engine) as session:
        company = company_with_charges(session, ctx, mailer, 4)
        assert company.id is not None
        _connected(session, sim.gateway, company.id)
        clock = SettableClock(JANUARY + 3600.0)
        service.assemble_due(session, clock, SELLER)
        session.commit()
        service.exchange(session, clock, sim.gateway, SELLER)
        docs = service.documents(session, company.id)
        assert {d.status for d in docs} == {"refused"}
        assert all(d.refusal == "Сумма не совпадает с актом сверки" for d in docs)
        assert all(d.answered_at is not None for d in docs)


def test_failures_are_retried_later_and_a_lost_answer_never_duplicates(
    engine: Engine, ctx: AccountsContext, mailer: MemoryMailSender
) -> None:
    sim = simulator(sign_after_s=0.0)
    with Session(engine) as session:
        company = company_with_charges(session, ctx, mailer, 5)
        assert company.id is not None
        _connected(session, sim.gateway, company.id)
        clock = SettableClock(JANUARY + 3600.0)
        service.assemble_due(session, clock, SELLER)
        session.commit()
        sim.state.faults.fail_next = 1  # the first send finds the operator down
        sim.state.faults.lose_next = 1  # the second is taken but its answer is lost
        assert service.exchange(session, clock, sim.gateway, SELLER) == 1
        docs = {d.kind: d for d in service.documents(session, company.id)}
        failed = [d for d in docs.values() if d.status == "ready"]
        assert len(failed) == 2
        assert all(d.last_error and d.attempts == 1 for d in failed)
        assert len(sim.state.documents) == 2  # one never arrived, one arrived unanswered
        assert service.exchange(session, clock, sim.gateway, SELLER) == 0  # back-off: not due
        clock.advance(61.0)
        assert service.exchange(session, clock, sim.gateway, SELLER) == 2
        assert {d.status for d in service.documents(session, company.id)} == {"signed"}
        assert len(sim.state.documents) == 3  # the lost one was answered, not made again
        keys = sorted(d.key for d in sim.state.documents.values())
        assert keys == sorted(
            f"{company.id}:2023-12:{k}" for k in ("tariffs", "drives", "messages")
        )


def test_the_job_runs_through_the_app_wiring(
    engine: Engine, ctx: AccountsContext, mailer: MemoryMailSender, client: TestClient
) -> None:
    sim = simulator(sign_after_s=0.0)
    with Session(engine) as session:
        company = company_with_charges(session, ctx, mailer, 6)
        assert company.id is not None
        _connected(session, sim.gateway, company.id)
        job = edo_job(sim.gateway, SELLER)
        clock = SettableClock(JANUARY + 3600.0)
        assert job.run(session, clock) == 6  # three made, three sent (signed at once)
        assert job.run(session, clock) == 0
        rows = session.exec(select(EdoDocument)).all()
        assert {r.status for r in rows} == {"signed"}


def test_paid_messages_are_one_line_per_channel_less_refunds(
    engine: Engine, ctx: AccountsContext, mailer: MemoryMailSender
) -> None:
    sim = simulator()
    with Session(engine) as session:
        company = company_with_charges(session, ctx, mailer, 7)
        assert company.id is not None
        clock = SettableClock(DECEMBER + 86_400.0)
        for i in range(3):
            ledger.charge(
                session, clock, company.id, 399, "delivery", "SMS с чеком покупателю", f"m{i}"
            )
        ledger.credit(
            session,
            clock,
            company_id=company.id,
            amount=399,
            source=ACCOUNT_REVENUE,
            kind="delivery_refund",
            memo="Возврат: провайдер не принял чек покупателю",
            idempotency_key="refund-1",
        )
        session.commit()
        _connected(session, sim.gateway, company.id)
        made = service.assemble(session, SettableClock(JANUARY), SELLER, company.id, "2023-12")
        messages = next(d for d in made if d.kind == "messages")
        # the builder's one SMS and these three, one refunded: one line of four, paid for three
        assert messages.lines == [{"name": "SMS с чеком покупателю (4 шт.)", "amount": 3 * 399}]
        assert messages.amount == 3 * 399
        check_upd(upd_bytes(messages.xml))


def test_a_disconnected_company_gets_nothing_new(
    engine: Engine, ctx: AccountsContext, mailer: MemoryMailSender
) -> None:
    sim = simulator(sign_after_s=0.0)
    with Session(engine) as session:
        company = company_with_charges(session, ctx, mailer, 8)
        assert company.id is not None
        _connected(session, sim.gateway, company.id)
        clock = SettableClock(JANUARY + 3600.0)
        service.assemble_due(session, clock, SELLER)
        session.commit()
        service.disconnect(session, clock, company.id)
        assert service.exchange(session, clock, sim.gateway, SELLER) == 0
        assert not sim.state.documents
        _connected(session, sim.gateway, company.id)
        assert service.exchange(session, clock, sim.gateway, SELLER) == 3
