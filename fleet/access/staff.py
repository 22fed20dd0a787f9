"""Oblako's own staff: which users are operators (every permission, every company).

`grant_operator` works without an actor so the command line can make the first operator.
"""

from __future__ import annotations

from sqlmodel import Session, col, select

from fleet import audit
from fleet.access.exceptions import StaffConflictError, StaffNotFoundError
from fleet.access.principal import Principal
from fleet.accounts.models import User
from fleet.core.clock import Clock

__all__ = ["grant_operator", "list_operators", "revoke_operator"]


def grant_operator(
    session: Session, clock: Clock, email: str, actor_user_id: int | None = None
) -> User:
    """Make the user with this e-mail an operator (idempotent); commits."""
    clean = email.strip().lower()
    user = session.exec(select(User).where(User.email == clean)).first()
    if user is None:
        raise StaffNotFoundError(
            f"Пользователь {clean} не найден: он должен сначала зарегистрироваться"
        )
    if user.is_operator:
        return user
    user.is_operator = True
    session.add(user)
    audit.record(
        session,
        clock,
        action="operator.grant",
        entity="user",
        entity_id=user.id,
        company_id=user.company_id,
        user_id=actor_user_id,
        email=clean,
    )
    session.commit()
    return user


def revoke_operator(session: Session, clock: Clock, *, principal: Principal, user_id: int) -> User:
    """Take operator rights away (not from oneself: an operator cannot lock themselves out)."""
    user = session.get(User, user_id)
    if user is None or not user.is_operator:
        raise StaffNotFoundError(f"Оператор № {user_id} не найден")
    if user.id == principal.user_id:
        raise StaffConflictError("Нельзя снять права оператора с самого себя")
    user.is_operator = False
    session.add(user)
    audit.record_by(
        session,
        clock,
        principal,
        action="operator.revoke",
        entity="user",
        entity_id=user.id,
        company_id=user.company_id,
        email=user.email,
    )
    session.commit()
    return user


def list_operators(session: Session) -> list[User]:
    """Every operator, by e-mail."""
    return list(
        session.exec(select(User).where(col(User.is_operator)).order_by(col(User.email))).all()
    )
