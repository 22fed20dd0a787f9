"""The sandbox's scheduled job, and `settle` for a server or a test without the receipt worker."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from fleet.core.clock import Clock
from fleet.receipts.routing import route
from fleet.receipts.tracker import track
from fleet.sandbox.models import SandboxRegister
from fleet.sandbox.service import mark_paid
from fleet.sandbox.simulated import answer_commands

__all__ = [
    "SANDBOX_BILLING_EVERY_S",
    "SANDBOX_EVERY_S",
    "sandbox_billing",
    "sandbox_registers",
    "settle",
]

SANDBOX_EVERY_S = 2.0
# this and next month are marked at once: hourly is early enough for any month's start
SANDBOX_BILLING_EVERY_S = 3600.0


def sandbox_registers(session: Session, clock: Clock) -> int:
    """The `sandbox-registers` job: the simulated registers answer their commands."""
    return answer_commands(session.get_bind(), clock)  # type: ignore[arg-type]


def sandbox_billing(session: Session, clock: Clock) -> int:
    """The `sandbox-billing` job: every simulated register's this and next month paid at 0 ₽
    (a sandbox costs nothing, and routing never finds it in arrears). Commits."""
    sims = session.exec(select(SandboxRegister).order_by(col(SandboxRegister.register_id))).all()
    for sim in sims:
        mark_paid(session, clock, sim.register_id, sim.company_id)
    session.commit()
    return len(sims)


def settle(engine: Engine, clock: Clock) -> None:
    """Route, answer on the simulated registers and track, once: what the receipt worker and
    the sandbox job do in turn. The routing and tracking passes are the fleet's own (every
    company's accepted and queued parts), as the worker runs them."""
    route(engine, clock)
    answer_commands(engine, clock)
    track(engine, clock, quiet_s=0.0)
