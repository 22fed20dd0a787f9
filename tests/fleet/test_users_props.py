"""A state machine over users, roles and blocking: whatever any member of the company tries,
the company keeps an active owner, nobody gains rights beyond the actor's, non-owners never
change an owner, and a refused action changes nothing."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule
from sqlalchemy.pool import StaticPool
from sqlmodel import Session, SQLModel, create_engine, select

import fleet.models  # noqa: F401  (registers the tables)
from fleet.access.models import Role, RoleKind
from fleet.access.resolve import principal_for_user
from fleet.access.roles import is_owner, role_permissions
from fleet.accounts import users
from fleet.accounts.mail import MemoryMailSender
from fleet.accounts.models import User
from fleet.accounts.passwords import Passwords
from fleet.accounts.service import AccountsContext
from fleet.core.clock import SettableClock
from fleet.core.config import Settings
from fleet.core.errors import DomainError
from tests.fleet.helpers import confirmed_user

KINDS = [k for k in RoleKind if k != RoleKind.CUSTOM]


def _snapshot(session: Session) -> list[tuple[Any, ...]]:
    session.expire_all()
    return [
        (u.id, u.role_id, u.blocked_at, u.email_confirmed)
        for u in session.exec(select(User).order_by(User.id)).all()  # type: ignore[arg-type]
    ]


class Company(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.engine = create_engine(
            "sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False}
        )
        SQLModel.metadata.create_all(self.engine)
        self.clock = SettableClock()
        self.mailer = MemoryMailSender()
        config = Settings(environment="test", secret_key="k" * 40, base_url="http://t")
        self.ctx = AccountsContext(
            config, self.clock, self.mailer, Passwords(time_cost=1, memory_kib=8)
        )
        self.session = Session(self.engine)
        _owner, company = confirmed_user(self.session, self.ctx, self.mailer, 1)
        assert company.id is not None
        self.company_id = company.id
        self.roles = {
            RoleKind(r.kind): r.id
            for r in self.session.exec(select(Role).where(Role.company_id == company.id)).all()
        }
        self.count = 0

    def teardown(self) -> None:
        self.session.close()
        self.engine.dispose()

    def _members(self) -> list[User]:
        return list(
            self.session.exec(
                select(User).where(User.company_id == self.company_id).order_by(User.id)  # type: ignore[arg-type]
            ).all()
        )

    def _actor(self, index: int) -> User | None:
        active = [u for u in self._members() if u.blocked_at is None and u.email_confirmed]
        return active[index % len(active)] if active else None

    def _attempt(self, actor: User, action: Any) -> None:
        before = _snapshot(self.session)
        try:
            action(principal_for_user(self.session, actor))
        except DomainError:
            self.session.rollback()
            assert _snapshot(self.session) == before, "a refused action changed users"

    @rule(actor=st.integers(0, 20), kind=st.sampled_from(KINDS))
    def invite(self, actor: int, kind: RoleKind) -> None:
        who = self._actor(actor)
        assert who is not None
        self.count += 1
        email = f"p{self.count}@example.ru"

        def act(p: Any) -> None:
            users.invite_user(
                self.session, self.ctx, principal=p, email=email, role_id=self.roles[kind]
            )
            assert role_permissions(self.session.get(Role, self.roles[kind])) <= p.permissions  # type: ignore[arg-type]
            token = self.mailer.outbox[-1].body.split("token=")[1].split()[0]
            users.accept_invite(self.session, self.ctx, token=token, password="пароль-длинный-1")

        self._attempt(who, act)

    @rule(actor=st.integers(0, 20), who_else=st.integers(0, 20), kind=st.sampled_from(KINDS))
    def change_role(self, actor: int, who_else: int, kind: RoleKind) -> None:
        who = self._actor(actor)
        members = self._members()
        victim = members[who_else % len(members)]
        assert who is not None and victim.id is not None
        was_owner = is_owner(self.session, victim)
        actor_owner = is_owner(self.session, who)

        def act(p: Any) -> None:
            users.change_role(
                self.session, self.clock, principal=p, user_id=victim.id, role_id=self.roles[kind]
            )
            if was_owner and kind != RoleKind.OWNER:
                assert actor_owner, "a non-owner demoted an owner"
            if kind == RoleKind.OWNER and not was_owner:
                assert actor_owner, "a non-owner appointed an owner"

        self._attempt(who, act)

    @rule(actor=st.integers(0, 20), who_else=st.integers(0, 20), block=st.booleans())
    def set_blocked(self, actor: int, who_else: int, block: bool) -> None:
        who = self._actor(actor)
        members = self._members()
        victim = members[who_else % len(members)]
        assert who is not None and victim.id is not None
        was_owner = is_owner(self.session, victim)
        changed_state = (victim.blocked_at is not None) != block
        actor_owner = is_owner(self.session, who)

        def act(p: Any) -> None:
            users.set_blocked(
                self.session, self.clock, principal=p, user_id=victim.id, blocked=block
            )
            if was_owner and changed_state:
                assert actor_owner, "a non-owner blocked or unblocked an owner"

        self._attempt(who, act)

    @invariant()
    def an_active_owner_remains(self) -> None:
        owners = [
            u
            for u in self._members()
            if u.blocked_at is None and u.email_confirmed and is_owner(self.session, u)
        ]
        assert owners, "the company lost its last active owner"


Company.TestCase.settings = settings(
    max_examples=25,
    stateful_step_count=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestCompanyUsers = Company.TestCase
