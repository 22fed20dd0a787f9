"""The free test send: the template around a sample receipt, to the signed-in user's own
address, through the fleet's mail sender; no charge, no buyer, no consent needed."""

from __future__ import annotations

from sqlmodel import Session

from fleet import audit
from fleet.access.principal import Principal
from fleet.accounts.mail import MailSender, OutgoingMail
from fleet.accounts.models import Company, User
from fleet.adreceipts import markup, service
from fleet.adreceipts.exceptions import TestSendError
from fleet.adreceipts.sample import sample_html, sample_text
from fleet.core.clock import Clock

__all__ = ["send_test"]


def send_test(
    session: Session,
    clock: Clock,
    mailer: MailSender,
    principal: Principal,
    template_id: int,
    *,
    base_url: str | None,
) -> str:
    """Send the template to the principal's own e-mail; returns that address."""
    template = service.get_template(session, principal.company_id, template_id)
    user = session.get(User, principal.user_id) if principal.user_id is not None else None
    if user is None:
        raise TestSendError("Тестовое письмо уходит на адрес пользователя: войдите в кабинет")
    company = session.get(Company, principal.company_id)
    name, inn = (company.name, company.inn) if company is not None else ("", "")
    view = service.view_of(session, template, base_url=base_url)
    mail = OutgoingMail(
        to=user.email,
        subject=f"Тестовый рекламный чек: «{template.name}»",
        body=markup.plain_text(view, sample_text(name, inn)),
        html=markup.document(view, sample_html(name, inn)),
    )
    try:
        mailer.send(mail)
    except OSError as exc:
        raise TestSendError(f"Почтовый сервер не принял письмо: {exc}") from exc
    audit.record_by(
        session,
        clock,
        principal,
        action="adreceipts.test_send",
        entity="ad_template",
        entity_id=template.id,
    )
    session.commit()
    return user.email
