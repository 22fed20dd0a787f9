"""Small builders shared by the fleet tests."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

from sqlmodel import Session

from fleet.accounts import service
from fleet.accounts.mail import MemoryMailSender
from fleet.accounts.models import Company, User
from fleet.accounts.service import AccountsContext
from tests.fleet.oracle import company_requisites

PASSWORD = "верный-пароль-123"


def token_from(mailer: MemoryMailSender) -> str:
    """The confirmation token in the last letter."""
    link = next(line for line in mailer.outbox[-1].body.splitlines() if "/confirm?" in line)
    return parse_qs(urlparse(link).query)["token"][0]


def confirmed_user(
    session: Session, ctx: AccountsContext, mailer: MemoryMailSender, n: int
) -> tuple[User, Company]:
    """Sign up company n and confirm its first user."""
    inn, ogrn = company_requisites(n)
    result = service.sign_up(
        session=session,
        ctx=ctx,
        email=f"user{n}@example.ru",
        password=PASSWORD,
        company_name=f"ООО «Компания {n}»",
        inn=inn,
        ogrn=ogrn,
    )
    service.confirm_email(session=session, ctx=ctx, token=token_from(mailer))
    return result.user, result.company
