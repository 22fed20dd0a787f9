"""Auto-reports: schedules, the job that runs the due ones, and the finished reports kept.

A schedule names a ready report or a template, a frequency (daily, weekly on Mondays, monthly
on the 1st; at 07:00 Moscow time), the period (the last whole day, week or month), a format and
an address. The `report-schedules` job builds each due report as the schedule's owner sees the
data (their role's folders), keeps it as a `ReportRun` and mails it as an attachment. A mail
failure keeps the report (``emailed_to`` stays empty) and the schedule moves on: the file is in
the section's history.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Final

from sqlalchemy.orm import defer
from sqlmodel import Session, col, select

from fleet.access.permissions import CLIENT_PERMISSIONS
from fleet.access.principal import Principal
from fleet.access.resolve import principal_for_user
from fleet.accounts.mail import Attachment, MailSender, OutgoingMail
from fleet.accounts.models import User
from fleet.core.clock import Clock
from fleet.jobs.runner import JobSpec
from fleet.reports import catalog, custom, service
from fleet.reports.exceptions import InvalidReportError, ReportNotFoundError
from fleet.reports.export import MEDIA, Format, export, filename
from fleet.reports.filters import ReportFilter
from fleet.reports.models import ReportRun, ReportSchedule
from fleet.reports.table import MSK

__all__ = [
    "FREQUENCY_LABEL",
    "PERIOD_LABEL",
    "ScheduleForm",
    "create",
    "delete",
    "get_run",
    "list_runs",
    "list_schedules",
    "next_run_after",
    "period_for",
    "run_due",
    "run_schedule",
    "schedule_job",
]

log = logging.getLogger(__name__)

FREQUENCY_LABEL: Final = {
    "daily": "каждый день",
    "weekly": "каждый понедельник",
    "monthly": "первого числа месяца",
}
PERIOD_LABEL: Final = {"day": "за вчера", "week": "за прошлую неделю", "month": "за прошлый месяц"}
RUN_HOUR: Final = 7  # Moscow time: the night's documents are in
RUNS_SHOWN: Final = 100
JOB_EVERY_S: Final = 60.0


@dataclass(frozen=True)
class ScheduleForm:
    """What the user asked for: ``report`` is a ready report's code or ``t<template id>``."""

    report: str
    frequency: str
    period: str
    fmt: str
    email: str


def next_run_after(now: float, frequency: str) -> float:
    """The first run moment (07:00 Moscow) strictly after ``now`` for the frequency."""
    local = dt.datetime.fromtimestamp(now, MSK)
    day = local.date()
    for _ in range(40):
        moment = dt.datetime.combine(day, dt.time(RUN_HOUR), tzinfo=MSK)
        fits = (
            frequency == "daily"
            or (frequency == "weekly" and day.weekday() == 0)
            or (frequency == "monthly" and day.day == 1)
        )
        if fits and moment.timestamp() > now:
            return moment.timestamp()
        day += dt.timedelta(days=1)
    raise InvalidReportError("Неизвестная частота", fields={"frequency": "Выберите из списка"})


def period_for(now: float, period: str) -> ReportFilter:
    """The last whole day, week (Mon–Sun) or month before ``now`` (Moscow)."""
    today = dt.datetime.fromtimestamp(now, MSK).date()
    if period == "day":
        d = today - dt.timedelta(days=1)
        return ReportFilter(d, d)
    if period == "week":
        monday = today - dt.timedelta(days=today.weekday() + 7)
        return ReportFilter(monday, monday + dt.timedelta(days=6))
    last = today.replace(day=1) - dt.timedelta(days=1)
    return ReportFilter(last.replace(day=1), last)


def _target(session: Session, principal: Principal, report: str) -> tuple[str, int | None]:
    """(ready report code or "", template id or None) of the form's choice."""
    if report.startswith("t") and report[1:].isdigit():
        t = custom.get(session, principal, int(report[1:]))
        return "", t.id
    if report in catalog.REPORTS:
        return report, None
    raise InvalidReportError(
        "Автоотчёт не сохранён: выберите отчёт", fields={"report": "Выберите отчёт из списка"}
    )


def create(
    session: Session, principal: Principal, clock: Clock, form: ScheduleForm
) -> ReportSchedule:
    """Save a schedule; refused input changes nothing."""
    fields: dict[str, str] = {}
    if form.frequency not in FREQUENCY_LABEL:
        fields["frequency"] = "Выберите частоту из списка"
    if form.period not in PERIOD_LABEL:
        fields["period"] = "Выберите период из списка"
    if form.fmt not in {f.value for f in Format}:
        fields["fmt"] = "XLSX, CSV или PDF"
    email = form.email.strip()
    local, _, domain = email.partition("@")
    if not local or "." not in domain or len(email) > 254 or " " in email:
        fields["email"] = "Адрес e-mail вида name@example.ru"
    try:
        code, template_id = _target(session, principal, form.report)
    except (InvalidReportError, ReportNotFoundError):
        fields["report"] = "Выберите отчёт из списка"
    if fields:
        raise InvalidReportError("Автоотчёт не сохранён: проверьте поля", fields=fields)
    s = ReportSchedule(
        company_id=principal.company_id,
        user_id=principal.user_id,
        report=code,
        template_id=template_id,
        frequency=form.frequency,
        period=form.period,
        fmt=form.fmt,
        email=email,
        next_run_at=next_run_after(clock.wall(), form.frequency),
        created_at=clock.wall(),
    )
    session.add(s)
    session.flush()
    return s


def get_schedule(session: Session, principal: Principal, schedule_id: int) -> ReportSchedule:
    """The company's schedule; `ReportNotFoundError` otherwise."""
    s = session.get(ReportSchedule, schedule_id)
    if s is None or s.company_id != principal.company_id:
        raise ReportNotFoundError("Автоотчёт не найден")
    return s


def delete(session: Session, principal: Principal, schedule_id: int) -> None:
    """Delete a schedule; its finished reports stay in the history."""
    s = get_schedule(session, principal, schedule_id)
    for run in session.exec(select(ReportRun).where(ReportRun.schedule_id == s.id)).all():
        run.schedule_id = None
        session.add(run)
    session.flush()
    session.delete(s)
    session.flush()


def list_schedules(session: Session, principal: Principal) -> list[ReportSchedule]:
    """The company's schedules, oldest first."""
    return list(
        session.exec(
            select(ReportSchedule)
            .where(ReportSchedule.company_id == principal.company_id)
            .order_by(col(ReportSchedule.id))
        ).all()
    )


def list_runs(session: Session, principal: Principal) -> list[ReportRun]:
    """The company's latest finished reports (their files' bytes are not loaded)."""
    return list(
        session.exec(
            select(ReportRun)
            .options(defer(ReportRun.content))  # type: ignore[arg-type]
            .where(ReportRun.company_id == principal.company_id)
            .order_by(col(ReportRun.created_at).desc(), col(ReportRun.id).desc())
            .limit(RUNS_SHOWN)
        ).all()
    )


def get_run(session: Session, principal: Principal, run_id: int) -> ReportRun:
    """The company's finished report; `ReportNotFoundError` otherwise."""
    run = session.get(ReportRun, run_id)
    if run is None or run.company_id != principal.company_id:
        raise ReportNotFoundError("Готовый отчёт не найден")
    return run


def _owner(session: Session, s: ReportSchedule) -> Principal:
    """Whose eyes the report is built with: the owner's, or the company's (owner gone)."""
    user = session.get(User, s.user_id) if s.user_id is not None else None
    if user is not None and user.company_id == s.company_id:
        return principal_for_user(session, user)
    return Principal(company_id=s.company_id, permissions=CLIENT_PERMISSIONS)


def schedule_title(session: Session, principal: Principal, s: ReportSchedule) -> str:
    """The report's name as the list shows it."""
    if s.template_id is not None:
        return custom.get(session, principal, s.template_id).name
    return catalog.report(s.report).title


def run_schedule(
    session: Session, s: ReportSchedule, clock: Clock, mailer: MailSender
) -> ReportRun:
    """Build, keep and mail one schedule's report now."""
    principal = _owner(session, s)
    flt = period_for(clock.wall(), s.period)
    table = service.produce(session, principal, flt, code=s.report, template_id=s.template_id)
    fmt = Format(s.fmt)
    content = export(table, fmt)
    name = filename(table, fmt)
    run = ReportRun(
        company_id=s.company_id,
        schedule_id=s.id,
        title=f"{table.title}, {table.period}",
        fmt=fmt.value,
        filename=name,
        content=content,
        rows=len(table.rows),
        created_at=clock.wall(),
    )
    maintype, _, subtype = MEDIA[fmt].split(";")[0].partition("/")
    try:
        mailer.send(
            OutgoingMail(
                to=s.email,
                subject=f"Облако: {table.title} {table.period}",
                body=(
                    f"Здравствуйте!\n\nАвтоотчёт «{table.title}» за {table.period} — во вложении "
                    f"({fmt.value.upper()}, строк: {len(table.rows)}). Он также сохранён в "
                    "разделе «Отчёты» кабинета.\n\nОблако"
                ),
                attachments=(Attachment(name, content, maintype, subtype),),
            )
        )
        run.emailed_to = s.email
    except OSError:
        log.exception("auto-report %s: mail to %s failed", s.id, s.email)
    session.add(run)
    s.last_run_at = clock.wall()
    s.next_run_at = next_run_after(clock.wall(), s.frequency)
    session.add(s)
    session.flush()
    return run


def run_due(session: Session, clock: Clock, mailer: MailSender) -> int:
    """Run every active schedule whose time has come; returns how many ran."""
    due = session.exec(
        select(ReportSchedule)
        .where(col(ReportSchedule.active).is_(True), ReportSchedule.next_run_at <= clock.wall())
        .order_by(col(ReportSchedule.next_run_at))
        .limit(100)
    ).all()
    for s in due:
        run_schedule(session, s, clock, mailer)
    return len(due)


def schedule_job(mailer: MailSender) -> JobSpec:
    """The `report-schedules` job with the app's mail sender."""

    def run(session: Session, clock: Clock) -> int:
        return run_due(session, clock, mailer)

    return JobSpec("report-schedules", interval_s=JOB_EVERY_S, run=run)
