"""The main page's summary of a company: registers by state, the next steps, the balance."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func
from sqlmodel import Session, col, select

from fleet.access.principal import Principal
from fleet.registers.models import NEXT_STEP, STATE_LABEL, Register, RegisterState

__all__ = ["StateCount", "Summary", "summarise", "summarise_fleet"]


@dataclass(frozen=True)
class StateCount:
    """How many of the company's registers are in one state, and what to do next."""

    state: str
    label: str
    count: int
    next_step: str


@dataclass(frozen=True)
class Summary:
    """Registers by state (lifecycle order, only the states that occur) and their total."""

    total: int
    by_state: tuple[StateCount, ...]


def summarise(session: Session, principal: Principal) -> Summary:
    """Count the principal's visible registers by state (one grouped query)."""
    query = (
        select(Register.state, func.count())
        .where(Register.company_id == principal.company_id)
        .group_by(Register.state)
    )
    folders = principal.visible_folders()
    if folders is not None:
        query = query.where(col(Register.folder_id).in_(list(folders)))
    return _summary({state: int(n) for state, n in session.exec(query).all()})


def summarise_fleet(session: Session) -> Summary:
    """Every register of every client and the shelf, by state (the operator's view)."""
    query = select(Register.state, func.count()).group_by(Register.state)
    return _summary({state: int(n) for state, n in session.exec(query).all()})


def _summary(counts: dict[str, int]) -> Summary:
    by_state = tuple(
        StateCount(s.value, STATE_LABEL[s], counts[s.value], NEXT_STEP[s])
        for s in RegisterState
        if counts.get(s.value)
    )
    return Summary(total=sum(c.count for c in by_state), by_state=by_state)
