"""Account logic: sign-up with e-mail confirmation, sign-in with throttling, sessions, tenants.

Services validate everything before writing (decision 7), write an audit row for every change in
the same transaction, and raise the domain errors of `fleet.accounts.exceptions`.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from typing import Final

from email_validator import EmailNotValidError
from email_validator import validate_email as _check_email
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from fleet import audit
from fleet.access.models import RoleKind
from fleet.access.roles import ensure_builtin_roles
from fleet.accounts.exceptions import (
    AlreadyRegisteredError,
    BadCredentialsError,
    CompanyNotFoundError,
    EmailNotConfirmedError,
    InvalidRequisiteError,
    InvalidSignUpError,
    InvalidTokenError,
    NotSignedInError,
    TooManyAttemptsError,
    UserBlockedError,
)
from fleet.accounts.mail import MailSender, OutgoingMail
from fleet.accounts.models import AuthSession, Company, EmailToken, SignInThrottle, User
from fleet.accounts.passwords import Passwords
from fleet.accounts.requisites import validate_inn, validate_ogrn
from fleet.core.clock import Clock
from fleet.core.config import Settings

__all__ = [
    "MIN_PASSWORD",
    "AccountsContext",
    "IssuedSession",
    "SignUpResult",
    "confirm_email",
    "current_user",
    "get_company",
    "hash_token",
    "sign_in",
    "sign_out",
    "sign_up",
]

log = logging.getLogger(__name__)

MIN_PASSWORD: Final = 10
MAX_PASSWORD: Final = 128


@dataclass(frozen=True)
class AccountsContext:
    """What account services need besides the database session."""

    settings: Settings
    clock: Clock
    mailer: MailSender
    passwords: Passwords


@dataclass(frozen=True)
class SignUpResult:
    """The new user and company (unconfirmed until the e-mailed link is followed)."""

    user: User
    company: Company


@dataclass(frozen=True)
class IssuedSession:
    """A new session token (given to the client once) and its expiry (UTC seconds)."""

    token: str
    expires_at: float
    user: User


def hash_token(token: str) -> str:
    """SHA-256 hex of a token: the database never holds a usable token."""
    return hashlib.sha256(token.encode()).hexdigest()


def _normal_email(email: str) -> str:
    return email.strip().lower()


def _validate_sign_up(
    email: str, password: str, company_name: str, inn: str, ogrn: str
) -> tuple[str, str, str, str]:
    fields: dict[str, str] = {}
    clean_email = _normal_email(email)
    try:
        _check_email(clean_email, check_deliverability=False)
    except EmailNotValidError:
        fields["email"] = "Укажите адрес электронной почты вида name@example.ru"
    if len(password) < MIN_PASSWORD:
        fields["password"] = f"Пароль должен быть не короче {MIN_PASSWORD} символов"
    elif len(password) > MAX_PASSWORD:
        fields["password"] = f"Пароль должен быть не длиннее {MAX_PASSWORD} символов"
    elif password.strip().lower() == clean_email:
        fields["password"] = "Пароль не должен совпадать с адресом почты"
    name = " ".join(company_name.split())
    if not name:
        fields["company_name"] = "Укажите название компании или ФИО предпринимателя"
    elif len(name) > 200:
        fields["company_name"] = "Название должно быть не длиннее 200 символов"
    clean_inn = clean_ogrn = ""
    try:
        clean_inn = validate_inn(inn)
    except InvalidRequisiteError as exc:
        fields.update(exc.fields)
    if clean_inn:
        try:
            clean_ogrn = validate_ogrn(ogrn, inn_length=len(clean_inn))
        except InvalidRequisiteError as exc:
            fields.update(exc.fields)
    if fields:
        raise InvalidSignUpError("Проверьте поля формы", fields=fields)
    return clean_email, name, clean_inn, clean_ogrn


def _taken(session: Session, email: str, inn: str) -> AlreadyRegisteredError | None:
    if session.exec(select(User).where(User.email == email)).first() is not None:
        return AlreadyRegisteredError(
            "Этот адрес уже зарегистрирован: войдите или восстановите пароль",
            fields={"email": "Адрес уже зарегистрирован"},
        )
    if session.exec(select(Company).where(Company.inn == inn)).first() is not None:
        return AlreadyRegisteredError(
            f"Компания с ИНН {inn} уже зарегистрирована; попросите её администратора добавить вас",
            fields={"inn": "Компания с этим ИНН уже зарегистрирована"},
        )
    return None


def sign_up(
    *,
    session: Session,
    ctx: AccountsContext,
    email: str,
    password: str,
    company_name: str,
    inn: str,
    ogrn: str,
) -> SignUpResult:
    """Create a company and its first user, unconfirmed; e-mail a confirmation link."""
    clean_email, name, clean_inn, clean_ogrn = _validate_sign_up(
        email, password, company_name, inn, ogrn
    )
    taken = _taken(session, clean_email, clean_inn)
    if taken is not None:
        raise taken
    try:
        now = ctx.clock.wall()
        company = Company(name=name, inn=clean_inn, ogrn=clean_ogrn, created_at=now)
        session.add(company)
        session.flush()
        assert company.id is not None
        roles = ensure_builtin_roles(session, ctx.clock, company.id)
        user = User(
            email=clean_email,
            password_hash=ctx.passwords.hash(password),
            company_id=company.id,
            created_at=now,
            role_id=roles[RoleKind.OWNER].id,
        )
        session.add(user)
        session.flush()
        assert user.id is not None
        token = secrets.token_urlsafe(32)
        session.add(
            EmailToken(
                token_hash=hash_token(token),
                user_id=user.id,
                expires_at=now + ctx.settings.confirm_ttl_s,
            )
        )
        audit.record(
            session,
            ctx.clock,
            action="company.create",
            entity="company",
            entity_id=company.id,
            company_id=company.id,
            user_id=user.id,
            inn=clean_inn,
        )
        audit.record(
            session,
            ctx.clock,
            action="user.sign_up",
            entity="user",
            entity_id=user.id,
            company_id=company.id,
            user_id=user.id,
            email=clean_email,
        )
        session.commit()
    except IntegrityError:
        # A concurrent sign-up took the e-mail or the ИНН between the check and the insert.
        session.rollback()
        raise AlreadyRegisteredError(
            "Этот адрес или компания с этим ИНН уже зарегистрированы"
        ) from None
    link = f"{ctx.settings.base_url.rstrip('/')}/confirm?token={token}"
    mail = OutgoingMail(
        to=clean_email,
        subject="Облако: подтвердите адрес электронной почты",
        body=(
            f"Здравствуйте!\n\nВы зарегистрировали компанию «{name}» (ИНН {clean_inn}) в Облаке.\n"
            f"Чтобы подтвердить адрес и войти, откройте ссылку:\n{link}\n\n"
            "Если вы не регистрировались, просто удалите это письмо."
        ),
    )
    try:
        ctx.mailer.send(mail)
    except OSError:
        log.exception("confirmation mail to %s not sent", clean_email)
    return SignUpResult(user=user, company=company)


def confirm_email(*, session: Session, ctx: AccountsContext, token: str) -> User:
    """Confirm the address behind a one-time token."""
    row = session.get(EmailToken, hash_token(token.strip()))
    now = ctx.clock.wall()
    if row is None or row.used_at is not None or row.purpose != "confirm":
        raise InvalidTokenError("Ссылка подтверждения недействительна или уже использована")
    if row.expires_at <= now:
        raise InvalidTokenError("Срок действия ссылки истёк: зарегистрируйтесь ещё раз")
    user = session.get(User, row.user_id)
    assert user is not None  # foreign key
    row.used_at = now
    user.email_confirmed = True
    session.add(row)
    session.add(user)
    audit.record(
        session,
        ctx.clock,
        action="user.confirm_email",
        entity="user",
        entity_id=user.id,
        company_id=user.company_id,
        user_id=user.id,
    )
    session.commit()
    return user


def _throttle_key(email: str, ip: str) -> str:
    return f"{email}|{ip}"[:400]


def _register_failure(session: Session, ctx: AccountsContext, key: str, now: float) -> None:
    row = session.get(SignInThrottle, key)
    if row is None or now - row.window_start > ctx.settings.signin_window_s:
        row = row or SignInThrottle(key=key, window_start=now)
        row.window_start, row.failures, row.locked_until = now, 0, None
    row.failures += 1
    if row.failures >= ctx.settings.signin_max_failures:
        row.locked_until = now + ctx.settings.signin_lockout_s
    session.add(row)


def _audit_failure(
    session: Session, ctx: AccountsContext, user: User | None, email: str, ip: str
) -> None:
    audit.record(
        session,
        ctx.clock,
        action="user.sign_in_failed",
        entity="user",
        entity_id=user.id if user else None,
        company_id=user.company_id if user else None,
        email=email,
        ip=ip,
    )


def sign_in(
    *, session: Session, ctx: AccountsContext, email: str, password: str, ip: str
) -> IssuedSession:
    """Check the password (throttled per account+IP) and open a session."""
    clean_email = _normal_email(email)
    key = _throttle_key(clean_email, ip)
    now = ctx.clock.wall()
    throttle = session.get(SignInThrottle, key)
    if throttle is not None and throttle.locked_until is not None and throttle.locked_until > now:
        wait_s = throttle.locked_until - now
        raise TooManyAttemptsError(
            f"Слишком много неудачных попыток входа. Повторите через {max(1, round(wait_s / 60))} "
            "мин.",
            retry_after_s=wait_s,
        )
    user = session.exec(select(User).where(User.email == clean_email)).first()
    if not ctx.passwords.verify(user.password_hash if user else None, password):
        _register_failure(session, ctx, key, now)
        _audit_failure(session, ctx, user, clean_email, ip)
        try:
            session.commit()
        except IntegrityError:
            # Another failed attempt for the same pair created the throttle row first: count
            # this failure on that row (the audit row goes with it).
            session.rollback()
            _register_failure(session, ctx, key, now)
            _audit_failure(session, ctx, user, clean_email, ip)
            session.commit()
        raise BadCredentialsError("Неверный адрес почты или пароль")
    assert user is not None and user.id is not None
    if user.blocked_at is not None:
        raise UserBlockedError("Учётная запись заблокирована администратором компании")
    if not user.email_confirmed:
        raise EmailNotConfirmedError(
            "Адрес почты не подтверждён: откройте ссылку из письма, которое мы отправили"
        )
    if throttle is not None:
        session.delete(throttle)
    token = secrets.token_urlsafe(32)
    expires_at = now + ctx.settings.session_ttl_s
    session.add(
        AuthSession(
            token_hash=hash_token(token), user_id=user.id, created_at=now, expires_at=expires_at
        )
    )
    audit.record(
        session,
        ctx.clock,
        action="user.sign_in",
        entity="user",
        entity_id=user.id,
        company_id=user.company_id,
        user_id=user.id,
        ip=ip,
    )
    session.commit()
    return IssuedSession(token=token, expires_at=expires_at, user=user)


def current_user(*, session: Session, clock: Clock, token: str | None) -> User:
    """The user of a live session token, else `NotSignedInError`."""
    if not token:
        raise NotSignedInError("Войдите в кабинет")
    row = session.get(AuthSession, hash_token(token))
    if row is None or row.expires_at <= clock.wall():
        raise NotSignedInError("Сеанс истёк или недействителен: войдите снова")
    user = session.get(User, row.user_id)
    if user is None or user.blocked_at is not None:
        raise NotSignedInError("Войдите в кабинет")
    return user


def sign_out(*, session: Session, ctx: AccountsContext, token: str) -> None:
    """End a session (idempotent)."""
    row = session.get(AuthSession, hash_token(token))
    if row is None:
        return
    user = session.get(User, row.user_id)
    session.delete(row)
    audit.record(
        session,
        ctx.clock,
        action="user.sign_out",
        entity="user",
        entity_id=row.user_id,
        company_id=user.company_id if user else None,
        user_id=row.user_id,
    )
    session.commit()


def get_company(*, session: Session, user: User, company_id: int) -> Company:
    """A company the user belongs to; any other id is 'not found' (tenant isolation)."""
    company = session.get(Company, company_id)
    if company is None or company.id != user.company_id:
        raise CompanyNotFoundError(f"Компания № {company_id} не найдена")
    return company
