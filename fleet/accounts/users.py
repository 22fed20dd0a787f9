"""Several users per company: invitations by e-mail, roles, blocking.

Rules: a principal grants only what it holds (permissions and folders) and touches only users
whose rights it holds itself; only an owner appoints, demotes or blocks an owner; the last owner
of a company is never demoted or blocked; a blocked user's sessions end at once.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from email_validator import EmailNotValidError
from email_validator import validate_email as _check_email
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from fleet import audit
from fleet.access.exceptions import RoleNotFoundError
from fleet.access.models import Role, RoleKind
from fleet.access.principal import Principal
from fleet.access.resolve import principal_for_user
from fleet.access.roles import check_grant, get_role, is_owner, role_folder_ids, role_permissions
from fleet.accounts.exceptions import (
    InvalidInviteError,
    LastOwnerError,
    OwnerProtectedError,
    UserConflictError,
    UserNotFoundError,
)
from fleet.accounts.mail import OutgoingMail
from fleet.accounts.models import AuthSession, Company, EmailToken, User
from fleet.accounts.service import MAX_PASSWORD, MIN_PASSWORD, AccountsContext, hash_token
from fleet.core.clock import Clock

__all__ = [
    "INVITE_TTL_S",
    "UserStatus",
    "UserView",
    "accept_invite",
    "change_role",
    "get_user",
    "invite_user",
    "list_users",
    "set_blocked",
    "view_user",
]

log = logging.getLogger(__name__)

INVITE_TTL_S: Final = 7 * 24 * 3600.0


class UserStatus(StrEnum):
    """Where a user stands."""

    INVITED = "invited"
    ACTIVE = "active"
    BLOCKED = "blocked"


STATUS_LABEL: Final[dict[UserStatus, str]] = {
    UserStatus.INVITED: "Приглашён",
    UserStatus.ACTIVE: "Активен",
    UserStatus.BLOCKED: "Заблокирован",
}


@dataclass(frozen=True)
class UserView:
    """A user with their role (None: an owner from before roles) and status."""

    user: User
    role: Role | None
    owner: bool
    status: UserStatus

    @property
    def role_name(self) -> str:
        """The role's name as people read it."""
        return self.role.name if self.role is not None else "Владелец"

    @property
    def status_label(self) -> str:
        """The status in Russian."""
        return STATUS_LABEL[self.status]


def _status(user: User) -> UserStatus:
    if user.blocked_at is not None:
        return UserStatus.BLOCKED
    if not user.email_confirmed:
        return UserStatus.INVITED
    return UserStatus.ACTIVE


def view_user(session: Session, user: User) -> UserView:
    """The user with role and status."""
    role = None if user.role_id is None else session.get(Role, user.role_id)
    return UserView(user=user, role=role, owner=is_owner(session, user), status=_status(user))


def get_user(session: Session, *, company_id: int, user_id: int) -> User:
    """A user of the company; any other id is 'not found'."""
    user = session.get(User, user_id)
    if user is None or user.company_id != company_id:
        raise UserNotFoundError(f"Пользователь № {user_id} не найден")
    return user


def list_users(session: Session, *, principal: Principal) -> list[UserView]:
    """The company's users by e-mail."""
    rows = session.exec(
        select(User).where(User.company_id == principal.company_id).order_by(col(User.email))
    ).all()
    return [view_user(session, u) for u in rows]


def _actor_is_owner(session: Session, principal: Principal) -> bool:
    if principal.user_id is None:
        return False
    actor = session.get(User, principal.user_id)
    return actor is not None and (actor.is_operator or is_owner(session, actor))


def _active_owners(session: Session, company_id: int) -> list[User]:
    rows = session.exec(
        select(User).where(
            User.company_id == company_id,
            col(User.blocked_at).is_(None),
            col(User.email_confirmed),
        )
    ).all()
    return [u for u in rows if is_owner(session, u)]


def _check_may_touch(session: Session, principal: Principal, target: User) -> None:
    """The actor must hold the target's rights, and only an owner touches an owner."""
    if is_owner(session, target) and not _actor_is_owner(session, principal):
        raise OwnerProtectedError("Изменить или заблокировать владельца может только владелец")
    theirs = principal_for_user(session, target)
    if not theirs.permissions <= principal.permissions or (
        principal.folder_ids is not None
        and (theirs.folder_ids is None or not theirs.folder_ids <= principal.folder_ids)
    ):
        raise OwnerProtectedError(
            "У этого пользователя больше прав, чем у вас: изменить его может тот, у кого они есть"
        )


def _role_for_grant(session: Session, principal: Principal, role_id: int) -> Role:
    try:
        role = get_role(session, company_id=principal.company_id, role_id=role_id)
    except RoleNotFoundError as exc:
        raise InvalidInviteError(exc.message, fields={"role_id": exc.message}) from None
    assert role.id is not None
    check_grant(principal, role_permissions(role), role_folder_ids(session, role.id))
    if role.kind == RoleKind.OWNER.value and not _actor_is_owner(session, principal):
        raise OwnerProtectedError("Назначить владельца может только владелец")
    return role


def invite_user(
    session: Session, ctx: AccountsContext, *, principal: Principal, email: str, role_id: int
) -> User:
    """Invite a person by e-mail with a role: a one-time link lets them set a password."""
    clean = email.strip().lower()
    try:
        _check_email(clean, check_deliverability=False)
    except EmailNotValidError:
        raise InvalidInviteError(
            "Проверьте адрес",
            fields={"email": "Укажите адрес электронной почты вида name@example.ru"},
        ) from None
    role = _role_for_grant(session, principal, role_id)
    if session.exec(select(User).where(User.email == clean)).first() is not None:
        raise UserConflictError(
            "Этот адрес уже зарегистрирован в Облаке", fields={"email": "Адрес уже зарегистрирован"}
        )
    company = session.get(Company, principal.company_id)
    assert company is not None  # the principal's company exists
    now = ctx.clock.wall()
    token = secrets.token_urlsafe(32)
    try:
        user = User(
            email=clean,
            password_hash="",
            company_id=principal.company_id,
            email_confirmed=False,
            created_at=now,
            role_id=role.id,
            invited_by=principal.user_id,
        )
        session.add(user)
        session.flush()
        assert user.id is not None
        session.add(
            EmailToken(
                token_hash=hash_token(token),
                user_id=user.id,
                purpose="invite",
                expires_at=now + INVITE_TTL_S,
            )
        )
        audit.record_by(
            session,
            ctx.clock,
            principal,
            action="user.invite",
            entity="user",
            entity_id=user.id,
            email=clean,
            role=role.name,
        )
        session.commit()
    except IntegrityError:
        session.rollback()
        raise UserConflictError("Этот адрес уже зарегистрирован в Облаке") from None
    link = f"{ctx.settings.base_url.rstrip('/')}/invite?token={token}"
    mail = OutgoingMail(
        to=clean,
        subject=f"Облако: приглашение в кабинет компании «{company.name}»",
        body=(
            f"Здравствуйте!\n\nВас пригласили в кабинет компании «{company.name}» "
            f"(ИНН {company.inn}) в Облаке с ролью «{role.name}».\n"
            f"Чтобы задать пароль и войти, откройте ссылку (действует 7 дней):\n{link}\n\n"
            "Если вы не ждали приглашения, просто удалите это письмо."
        ),
    )
    try:
        ctx.mailer.send(mail)
    except OSError:
        log.exception("invitation mail to %s not sent", clean)
    return user


def invite_of(session: Session, clock: Clock, token: str) -> User:
    """The invited user behind a live invitation token (nothing changes)."""
    row = session.get(EmailToken, hash_token(token.strip()))
    if row is None or row.purpose != "invite" or row.used_at is not None:
        raise InvalidInviteError("Ссылка приглашения недействительна или уже использована")
    if row.expires_at <= clock.wall():
        raise InvalidInviteError("Срок действия приглашения истёк: попросите прислать новое")
    user = session.get(User, row.user_id)
    assert user is not None  # foreign key
    return user


def accept_invite(session: Session, ctx: AccountsContext, *, token: str, password: str) -> User:
    """Set the invited user's password and confirm their address (the link is then used)."""
    user = invite_of(session, ctx.clock, token)
    if len(password) < MIN_PASSWORD:
        reason = f"Пароль должен быть не короче {MIN_PASSWORD} символов"
    elif len(password) > MAX_PASSWORD:
        reason = f"Пароль должен быть не длиннее {MAX_PASSWORD} символов"
    elif password.strip().lower() == user.email:
        reason = "Пароль не должен совпадать с адресом почты"
    else:
        reason = ""
    if reason:
        raise InvalidInviteError("Проверьте пароль", fields={"password": reason})
    row = session.get(EmailToken, hash_token(token.strip()))
    assert row is not None  # checked by invite_of
    row.used_at = ctx.clock.wall()
    user.password_hash = ctx.passwords.hash(password)
    user.email_confirmed = True
    session.add(row)
    session.add(user)
    audit.record(
        session,
        ctx.clock,
        action="user.accept_invite",
        entity="user",
        entity_id=user.id,
        company_id=user.company_id,
        user_id=user.id,
    )
    session.commit()
    return user


def change_role(
    session: Session, clock: Clock, *, principal: Principal, user_id: int, role_id: int
) -> UserView:
    """Give a user another role of the company."""
    target = get_user(session, company_id=principal.company_id, user_id=user_id)
    role = _role_for_grant(session, principal, role_id)
    if target.role_id == role.id:
        return view_user(session, target)
    _check_may_touch(session, principal, target)
    if (
        is_owner(session, target)
        and role.kind != RoleKind.OWNER.value
        and [u.id for u in _active_owners(session, target.company_id)] == [target.id]
    ):
        raise LastOwnerError("Это последний владелец компании: сначала назначьте другого")
    old = view_user(session, target).role_name
    target.role_id = role.id
    session.add(target)
    audit.record_by(
        session,
        clock,
        principal,
        action="user.change_role",
        entity="user",
        entity_id=target.id,
        email=target.email,
        old=old,
        role=role.name,
    )
    session.commit()
    return view_user(session, target)


def set_blocked(
    session: Session, clock: Clock, *, principal: Principal, user_id: int, blocked: bool
) -> UserView:
    """Block (ending every session at once) or unblock a user; repeating changes nothing."""
    target = get_user(session, company_id=principal.company_id, user_id=user_id)
    if (target.blocked_at is not None) == blocked:
        return view_user(session, target)
    if target.id == principal.user_id:
        raise UserConflictError("Нельзя заблокировать самого себя")
    _check_may_touch(session, principal, target)
    if blocked and [u.id for u in _active_owners(session, target.company_id)] == [target.id]:
        raise LastOwnerError("Это последний владелец компании: его нельзя заблокировать")
    target.blocked_at = clock.wall() if blocked else None
    session.add(target)
    ended = 0
    if blocked:
        for row in session.exec(select(AuthSession).where(AuthSession.user_id == target.id)):
            session.delete(row)
            ended += 1
    audit.record_by(
        session,
        clock,
        principal,
        action="user.block" if blocked else "user.unblock",
        entity="user",
        entity_id=target.id,
        email=target.email,
        sessions_ended=ended,
    )
    session.commit()
    return view_user(session, target)
