"""Sending notification letters through the fleet's `MailSender` (SMTP in production).

Letters are sent by a job after the notifications are committed, so a rolled-back forecast run
sends nothing. A letter may be sent twice if the process dies between sending and committing
its state (at least once); a failure is retried on the next run, up to MAX_ATTEMPTS.
"""

from __future__ import annotations

from typing import Final

from sqlmodel import Session, col, select

from fleet.accounts.mail import MailSender, OutgoingMail
from fleet.accounts.models import User
from fleet.core.clock import Clock
from fleet.jobs.runner import JobSpec
from fleet.notify.models import EmailState, Notification

__all__ = ["MAX_ATTEMPTS", "deliver_pending", "mail_job"]

MAX_ATTEMPTS: Final = 5


def _letter(note: Notification, to: str, base_url: str) -> OutgoingMail:
    body = note.body
    if note.link:
        body += f"\n\n{base_url.rstrip('/')}{note.link}"
    body += (
        "\n\n—\nОблако. Какие уведомления приходят на почту, выбирается в кабинете: "
        f"{base_url.rstrip('/')}/notifications"
    )
    return OutgoingMail(to=to, subject=f"Облако: {note.title}", body=body)


def deliver_pending(
    session: Session, clock: Clock, mailer: MailSender, *, base_url: str, limit: int = 200
) -> int:
    """Send up to ``limit`` pending letters; returns how many went. Does not commit."""
    rows = session.exec(
        select(Notification, User.email)
        .join(User, col(User.id) == col(Notification.user_id))
        .where(
            col(Notification.email_state).in_([EmailState.PENDING, EmailState.FAILED]),
            col(Notification.email_attempts) < MAX_ATTEMPTS,
        )
        .order_by(col(Notification.id))
        .limit(limit)
    ).all()
    sent = 0
    for note, email in rows:
        note.email_attempts += 1
        try:
            mailer.send(_letter(note, email, base_url))
        except OSError as exc:
            note.email_state = EmailState.FAILED
            note.email_error = f"{type(exc).__name__}: {exc}"[:300]
        else:
            note.email_state = EmailState.SENT
            note.emailed_at = clock.wall()
            note.email_error = None
            sent += 1
        session.add(note)
    session.flush()
    return sent


def mail_job(mailer: MailSender, base_url: str, *, interval_s: float = 60.0) -> JobSpec:
    """The scheduled job that sends pending letters."""

    def run(session: Session, clock: Clock) -> int:
        return deliver_pending(session, clock, mailer, base_url=base_url)

    return JobSpec("notify-mail", interval_s=interval_s, run=run)
