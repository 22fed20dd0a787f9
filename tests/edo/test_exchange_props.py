"""Hypothesis over the exchange: whatever the operator's faults and the order of job runs,
each (company, month, kind) reaches the operator as one document, and once the faults stop
every document ends signed."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine
from sqlmodel import Session, delete

from fleet.accounts.mail import MemoryMailSender
from fleet.accounts.service import AccountsContext
from fleet.core.clock import SettableClock
from fleet.edo import service
from fleet.edo.models import EdoDocument
from tests.edo.builders import JANUARY, SELLER, company_with_charges, simulator

steps = st.lists(
    st.one_of(
        st.tuples(st.just("fail"), st.integers(1, 3)),
        st.tuples(st.just("lose"), st.integers(1, 3)),
        st.tuples(st.just("wait"), st.sampled_from([1.0, 61.0, 400.0, 4000.0])),
        st.tuples(st.just("run"), st.just(0)),
    ),
    max_size=12,
)


def test_never_twice_and_eventually_signed(
    engine: Engine, ctx: AccountsContext, mailer: MemoryMailSender
) -> None:
    with Session(engine) as session:
        company = company_with_charges(session, ctx, mailer, 31)
        assert company.id is not None
        company_id = company.id

    @settings(
        max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
    )
    @given(steps)
    def run(plan: list[tuple[str, float]]) -> None:
        sim = simulator(sign_after_s=30.0)
        clock = SettableClock(JANUARY + 3600.0)
        with Session(engine) as session:
            session.exec(delete(EdoDocument))
            session.commit()
            service.connect(
                session, clock, sim.gateway, company_id, operator_id="2BE", participant_id="2BE-P"
            )
            service.assemble_due(session, clock, SELLER)
            session.commit()
            for action, value in plan:
                if action == "fail":
                    sim.state.faults.fail_next += int(value)
                elif action == "lose":
                    sim.state.faults.lose_next += int(value)
                elif action == "wait":
                    clock.advance(value)
                    sim.now[0] += value
                else:
                    service.exchange(session, clock, sim.gateway, SELLER)
                keys = [d.key for d in sim.state.documents.values()]
                assert len(keys) == len(set(keys))  # never a second document for a key
            sim.state.faults.fail_next = sim.state.faults.lose_next = 0
            for _ in range(3):
                clock.advance(3600.0)
                sim.now[0] += 3600.0
                service.exchange(session, clock, sim.gateway, SELLER)
            docs = service.documents(session, company_id)
            assert {d.status for d in docs} == {"signed"} and len(docs) == 3
            assert len(sim.state.documents) == 3

    run()
