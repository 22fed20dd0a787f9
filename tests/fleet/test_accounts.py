"""Account services, called directly: sign-up, confirmation, sign-in, throttling, audit."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, func, select

from fleet.accounts import service
from fleet.accounts.exceptions import (
    AlreadyRegisteredError,
    BadCredentialsError,
    CompanyNotFoundError,
    EmailNotConfirmedError,
    InvalidSignUpError,
    InvalidTokenError,
    NotSignedInError,
    TooManyAttemptsError,
)
from fleet.accounts.mail import MemoryMailSender
from fleet.accounts.models import AuthSession, Company, SignInThrottle, User
from fleet.accounts.service import AccountsContext
from fleet.audit import AuditLog
from fleet.core.clock import SettableClock
from tests.fleet.helpers import PASSWORD, confirmed_user, token_from
from tests.fleet.oracle import IP_INN, IP_OGRNIP, SBER_INN, SBER_OGRN


@pytest.fixture(name="session")
def fixture_session(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as session:
        yield session


def _count(session: Session, model: type[User] | type[Company] | type[AuditLog]) -> int:
    return session.exec(select(func.count()).select_from(model)).one()


def _actions(session: Session) -> list[str]:
    return list(session.exec(select(AuditLog.action).order_by(col(AuditLog.id))).all())


def test_sign_up_confirm_sign_in_sign_out(
    session: Session, ctx: AccountsContext, mailer: MemoryMailSender, clock: SettableClock
) -> None:
    result = service.sign_up(
        session=session,
        ctx=ctx,
        email="  Buh@Romashka.RU ",
        password=PASSWORD,
        company_name="  ООО   «Ромашка» ",
        inn=SBER_INN,
        ogrn=SBER_OGRN,
    )
    assert result.user.email == "buh@romashka.ru" and not result.user.email_confirmed
    assert result.company.name == "ООО «Ромашка»"
    assert result.user.password_hash.startswith("$argon2id$")
    [mail] = mailer.outbox
    assert mail.to == "buh@romashka.ru" and "подтвердите" in mail.subject
    token = token_from(mailer)
    with pytest.raises(EmailNotConfirmedError):
        service.sign_in(
            session=session, ctx=ctx, email="buh@romashka.ru", password=PASSWORD, ip="1"
        )
    user = service.confirm_email(session=session, ctx=ctx, token=token)
    assert user.email_confirmed
    with pytest.raises(InvalidTokenError, match="уже использована"):
        service.confirm_email(session=session, ctx=ctx, token=token)
    issued = service.sign_in(
        session=session, ctx=ctx, email="BUH@romashka.ru", password=PASSWORD, ip="1"
    )
    assert issued.expires_at == clock.wall() + ctx.settings.session_ttl_s
    assert service.current_user(session=session, clock=clock, token=issued.token).id == user.id
    assert session.get(AuthSession, issued.token) is None  # only the hash is stored
    service.sign_out(session=session, ctx=ctx, token=issued.token)
    with pytest.raises(NotSignedInError):
        service.current_user(session=session, clock=clock, token=issued.token)
    assert _actions(session) == [
        "company.create",
        "user.sign_up",
        "user.confirm_email",
        "user.sign_in",
        "user.sign_out",
    ]


def test_sole_trader_signs_up_with_ogrnip(session: Session, ctx: AccountsContext) -> None:
    result = service.sign_up(
        session=session,
        ctx=ctx,
        email="ip@example.ru",
        password=PASSWORD,
        company_name="ИП Иванов Иван Иванович",
        inn=IP_INN,
        ogrn=IP_OGRNIP,
    )
    assert (result.company.inn, result.company.ogrn) == (IP_INN, IP_OGRNIP)


def test_bad_sign_up_lists_every_field_and_writes_nothing(
    session: Session, ctx: AccountsContext, mailer: MemoryMailSender
) -> None:
    with pytest.raises(InvalidSignUpError) as info:
        service.sign_up(
            session=session,
            ctx=ctx,
            email="не почта",
            password="short",
            company_name=" ",
            inn="7707083894",
            ogrn=SBER_OGRN,
        )
    assert set(info.value.fields) == {"email", "password", "company_name", "inn"}
    assert "не короче 10 символов" in info.value.fields["password"]
    assert _count(session, User) == _count(session, Company) == _count(session, AuditLog) == 0
    assert mailer.outbox == []


def test_duplicates_are_refused(
    session: Session, ctx: AccountsContext, mailer: MemoryMailSender
) -> None:
    confirmed_user(session, ctx, mailer, 1)
    with pytest.raises(AlreadyRegisteredError, match="уже зарегистрирован"):
        service.sign_up(
            session=session,
            ctx=ctx,
            email="USER1@example.ru",
            password=PASSWORD,
            company_name="Другая",
            inn=SBER_INN,
            ogrn=SBER_OGRN,
        )
    _, company = confirmed_user(session, ctx, mailer, 2)
    with pytest.raises(AlreadyRegisteredError, match=f"ИНН {company.inn}"):
        service.sign_up(
            session=session,
            ctx=ctx,
            email="new@example.ru",
            password=PASSWORD,
            company_name="Та же",
            inn=company.inn,
            ogrn=company.ogrn,
        )


def test_confirmation_link_expires(
    session: Session, ctx: AccountsContext, mailer: MemoryMailSender, clock: SettableClock
) -> None:
    service.sign_up(
        session=session,
        ctx=ctx,
        email="late@example.ru",
        password=PASSWORD,
        company_name="Поздняя",
        inn=SBER_INN,
        ogrn=SBER_OGRN,
    )
    clock.advance(ctx.settings.confirm_ttl_s)
    with pytest.raises(InvalidTokenError, match="истёк"):
        service.confirm_email(session=session, ctx=ctx, token=token_from(mailer))
    with pytest.raises(InvalidTokenError):
        service.confirm_email(session=session, ctx=ctx, token="подделка")


def test_sessions_expire_on_the_clock(
    session: Session, ctx: AccountsContext, mailer: MemoryMailSender, clock: SettableClock
) -> None:
    user, _ = confirmed_user(session, ctx, mailer, 1)
    issued = service.sign_in(session=session, ctx=ctx, email=user.email, password=PASSWORD, ip="1")
    clock.advance(ctx.settings.session_ttl_s)
    with pytest.raises(NotSignedInError, match="истёк"):
        service.current_user(session=session, clock=clock, token=issued.token)


def test_brute_force_is_throttled_per_account_and_ip(
    session: Session, ctx: AccountsContext, mailer: MemoryMailSender, clock: SettableClock
) -> None:
    user, _ = confirmed_user(session, ctx, mailer, 1)
    limit = ctx.settings.signin_max_failures
    for _ in range(limit):
        with pytest.raises(BadCredentialsError):
            service.sign_in(session=session, ctx=ctx, email=user.email, password="x", ip="10.0.0.1")
    # Locked out from that address, even with the right password...
    with pytest.raises(TooManyAttemptsError) as info:
        service.sign_in(
            session=session, ctx=ctx, email=user.email, password=PASSWORD, ip="10.0.0.1"
        )
    assert info.value.retry_after_s == ctx.settings.signin_lockout_s
    assert "Повторите через 15 мин." in info.value.message
    # ...but not from another address, and not for another account from that address.
    service.sign_in(session=session, ctx=ctx, email=user.email, password=PASSWORD, ip="10.0.0.2")
    other, _ = confirmed_user(session, ctx, mailer, 2)
    service.sign_in(session=session, ctx=ctx, email=other.email, password=PASSWORD, ip="10.0.0.1")
    clock.advance(ctx.settings.signin_lockout_s)
    service.sign_in(session=session, ctx=ctx, email=user.email, password=PASSWORD, ip="10.0.0.1")
    # A success resets the count: one more failure does not lock out again.
    with pytest.raises(BadCredentialsError):
        service.sign_in(session=session, ctx=ctx, email=user.email, password="x", ip="10.0.0.1")
    service.sign_in(session=session, ctx=ctx, email=user.email, password=PASSWORD, ip="10.0.0.1")


def test_failures_outside_the_window_do_not_add_up(
    session: Session, ctx: AccountsContext, mailer: MemoryMailSender, clock: SettableClock
) -> None:
    user, _ = confirmed_user(session, ctx, mailer, 1)
    for _ in range(ctx.settings.signin_max_failures * 2):
        with pytest.raises(BadCredentialsError):
            service.sign_in(session=session, ctx=ctx, email=user.email, password="x", ip="ip")
        clock.advance(ctx.settings.signin_window_s / ctx.settings.signin_max_failures * 1.5)
    service.sign_in(session=session, ctx=ctx, email=user.email, password=PASSWORD, ip="ip")


def test_unknown_email_fails_like_a_wrong_password(session: Session, ctx: AccountsContext) -> None:
    with pytest.raises(BadCredentialsError, match="Неверный адрес почты или пароль"):
        service.sign_in(session=session, ctx=ctx, email="nobody@x.ru", password=PASSWORD, ip="1")
    assert _actions(session) == ["user.sign_in_failed"]


def test_company_of_another_tenant_is_not_found(
    session: Session, ctx: AccountsContext, mailer: MemoryMailSender
) -> None:
    user_a, company_a = confirmed_user(session, ctx, mailer, 1)
    _, company_b = confirmed_user(session, ctx, mailer, 2)
    assert service.get_company(session=session, user=user_a, company_id=company_a.id or 0)
    with pytest.raises(CompanyNotFoundError):
        service.get_company(session=session, user=user_a, company_id=company_b.id or 0)


def test_a_concurrent_duplicate_sign_up_is_a_conflict_not_a_crash(
    session: Session,
    ctx: AccountsContext,
    mailer: MemoryMailSender,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    user, _ = confirmed_user(session, ctx, mailer, 1)
    # As if the other sign-up committed between our check and our insert.
    monkeypatch.setattr(service, "_taken", lambda *args: None)
    with pytest.raises(AlreadyRegisteredError, match="уже зарегистрированы"):
        service.sign_up(
            session=session,
            ctx=ctx,
            email=user.email,
            password=PASSWORD,
            company_name="Гонка",
            inn=SBER_INN,
            ogrn=SBER_OGRN,
        )
    assert _count(session, User) == 1


def test_a_concurrent_first_failure_is_still_counted(
    engine: Engine,
    session: Session,
    ctx: AccountsContext,
    mailer: MemoryMailSender,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    user, _ = confirmed_user(session, ctx, mailer, 1)
    original = service._register_failure
    raced: list[bool] = []

    def racing(s: Session, c: AccountsContext, key: str, now: float) -> None:
        original(s, c, key, now)  # our new row, not yet flushed
        if not raced:  # another worker's failed attempt commits the same row first
            raced.append(True)
            with Session(engine) as other:
                other.add(SignInThrottle(key=key, window_start=now, failures=1))
                other.commit()

    monkeypatch.setattr(service, "_register_failure", racing)
    audits: list[str] = []
    original_audit = service._audit_failure

    def counting(*args: Any) -> None:
        audits.append("failed")
        original_audit(*args)

    monkeypatch.setattr(service, "_audit_failure", counting)
    with pytest.raises(BadCredentialsError):
        service.sign_in(session=session, ctx=ctx, email=user.email, password="x", ip="ip")
    assert audits == ["failed", "failed"]  # the insert conflicted and the failure was retried
    assert _actions(session).count("user.sign_in_failed") == 1  # the retry's, not both
    row = session.get(SignInThrottle, f"{user.email}|ip")
    assert row is not None
    session.refresh(row)
    assert row.failures == 2
