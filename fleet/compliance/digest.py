"""The weekly run and its e-mail digest to each company's owners (the `compliance-weekly` job)."""

from __future__ import annotations

from collections import defaultdict
from typing import Final

from sqlalchemy import or_
from sqlmodel import Session, col, select

from fleet.access.models import Role, RoleKind
from fleet.accounts.mail import MailSender, OutgoingMail
from fleet.accounts.models import User
from fleet.compliance.catalogue import SEVERITY_LABEL, SEVERITY_ORDER, Severity, by_code
from fleet.compliance.models import ComplianceFinding, FindingStatus
from fleet.compliance.runner import run_weekly
from fleet.compliance.view import COMPANY_LABEL
from fleet.core.clock import Clock
from fleet.jobs.runner import JobSpec
from fleet.registers.models import Register

__all__ = ["WEEK_S", "digest_letters", "send_digests", "weekly_job"]

WEEK_S: Final = 7 * 86400.0
_MAX_LINES: Final = 50


def _where(names: dict[int | None, str], register_id: int | None) -> str:
    if register_id is None:
        return COMPANY_LABEL
    return names.get(register_id, f"Касса № {register_id}")


def digest_letters(session: Session, base_url: str) -> list[OutgoingMail]:
    """One letter per owner (the built-in owner role) of each company with open findings."""
    findings = session.exec(
        select(ComplianceFinding).where(col(ComplianceFinding.status) == FindingStatus.OPEN.value)
    ).all()
    by_company: dict[int, list[ComplianceFinding]] = defaultdict(list)
    for f in findings:
        by_company[f.company_id].append(f)
    if not by_company:
        return []
    names = {
        r.id: r.name or f"Касса № {r.id}"
        for r in session.exec(
            select(Register).where(
                col(Register.id).in_({f.register_id for f in findings if f.register_id})
            )
        ).all()
    }
    owners = session.exec(
        select(User)
        .outerjoin(Role, col(Role.id) == col(User.role_id))
        .where(
            col(User.company_id).in_(list(by_company)),
            or_(col(User.role_id).is_(None), col(Role.kind) == RoleKind.OWNER.value),
            col(User.email_confirmed).is_(True),
            col(User.is_operator).is_(False),
        )
    ).all()
    letters = []
    for user in owners:
        items = sorted(
            by_company[user.company_id],
            key=lambda f: (SEVERITY_ORDER.get(Severity(f.severity), 9), f.check_code),
        )
        lines = [
            f"Контроль штрафов: открытых нарушений — {len(items)}.",
            "",
        ]
        for f in items[:_MAX_LINES]:
            check = by_code(f.check_code)
            title = check.title if check else f.check_code
            label = SEVERITY_LABEL.get(Severity(f.severity), f.severity)
            lines.append(f"• [{label}] {_where(names, f.register_id)}: {title}. {f.detail}")
        if len(items) > _MAX_LINES:
            lines.append(f"… и ещё {len(items) - _MAX_LINES}.")
        lines += ["", f"Подробности и как исправить: {base_url.rstrip('/')}/compliance"]
        letters.append(
            OutgoingMail(
                to=user.email,
                subject=f"Контроль штрафов: нарушений — {len(items)}",
                body="\n".join(lines),
            )
        )
    return letters


def send_digests(session: Session, mailer: MailSender, base_url: str) -> int:
    """Send the digest letters; returns letters sent (a failed letter is logged, not retried:
    the next week's digest repeats whatever is still open)."""
    sent = 0
    for letter in digest_letters(session, base_url):
        try:
            mailer.send(letter)
        except OSError:
            continue
        sent += 1
    return sent


def weekly_job(mailer: MailSender, base_url: str) -> JobSpec:
    """The `compliance-weekly` job: every check on every register, then the digest."""

    def run(session: Session, clock: Clock) -> int:
        result = run_weekly(session, clock)
        send_digests(session, mailer, base_url)
        return result.changed

    return JobSpec("compliance-weekly", interval_s=WEEK_S, run=run)
