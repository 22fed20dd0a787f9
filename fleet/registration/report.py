"""The registration report the register makes itself, ordered by the cabinet over MQTT.

Once the FNS assigns the RNM (54-FZ art. 4.2 p. 2: the user then makes the registration report
on the register and sends its requisites to the FNS), `order` queues the register's
``registration`` command (docs/register.md; `fleet.link.commands.enqueue`) built from the
application. The register answers with the document it made (``fd``, ``fp``, ``date_time``),
which the ingest keeps in ``LinkCommand`` under the command's request id; `outcome` reads it
back, and `fleet.registration.service.collect_report` sends the requisites to the FNS.

The request id is derived from the application and its RNM, so ordering twice queues one
command, and a new RNM (a new application) orders a new report.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from sqlmodel import Session, select

from fleet.accounts.models import Company
from fleet.core.clock import Clock
from fleet.link.commands import enqueue
from fleet.link.ingest_models import LinkCommand
from fleet.registers.models import Register
from fleet.registration.application import ApplicationForm
from fleet.registration.exceptions import RegistrationStateError
from fleet.registration.models import RegistrationApplication

__all__ = ["ReportOutcome", "order", "outcome", "request_body", "request_id"]

ACTION: Final = "registration"
#: the FNS site printed on the report (tag 1060)
FNS_SITE: Final = "www.nalog.gov.ru"
#: the application's usage flags → the register's modes (firmware WORK_MODES / EXTENDED_MODES;
#: tags 1001, 1002, 1108, 1109, 1207, 1193, 1126, 1290)
_MODES: Final[dict[str, str]] = {
    "automatic": "automatic",
    "autonomous": "autonomous",
    "internet": "internet",
    "services": "services",
    "excise": "excise",
    "gambling": "gambling",
    "lottery": "lottery",
    "marked": "marking",
    "pawnshop": "pawnshop",
    "insurance": "insurance",
}


def request_id(application: RegistrationApplication) -> str:
    """The command's request id: one per application and RNM."""
    return f"reg-{application.id}-{application.rnm}"


def _cp866(text: str) -> str:
    # the drive stores texts in CP866, which has no guillemets
    return text.replace("«", '"').replace("»", '"')


def request_body(
    application: RegistrationApplication,
    register: Register,
    company: Company,
    form: ApplicationForm,
) -> dict[str, Any]:
    """The register's ``registration`` request from the application the FNS accepted."""
    modes = [mode for flag, mode in _MODES.items() if form.flag(flag)]
    if form.automat_number:
        modes.append("automat")
    body: dict[str, Any] = {
        "id": request_id(application),
        "kind": "registration",
        "inn": company.inn,
        "rnm": application.rnm,
        "kkt_serial": register.serial,
        "tax_systems": list(form.tax_systems),
        "modes": modes,
        "user_name": _cp866(company.name),
        "address": _cp866(form.address.text()),
        "place": _cp866(form.place),
        "fns_site": FNS_SITE,
    }
    if form.ofd_inn:
        body["ofd_inn"] = form.ofd_inn
    if form.ofd_name:
        body["ofd_name"] = _cp866(form.ofd_name)
    if form.automat_number:
        body["automat_number"] = form.automat_number
    return body


def order(
    session: Session,
    clock: Clock,
    application: RegistrationApplication,
    register: Register,
    company: Company,
    form: ApplicationForm,
) -> str:
    """Queue the registration command (in the caller's transaction); returns its request id."""
    if register.id is None:
        raise RegistrationStateError("Касса ещё не сохранена: команду регистрации отправить нельзя")
    rid = request_id(application)
    enqueue(
        session,
        clock,
        register_id=register.id,
        serial=register.serial or "",
        request_id=rid,
        action=ACTION,
        body=request_body(application, register, company, form),
    )
    return rid


@dataclass(frozen=True)
class ReportOutcome:
    """What the register answered: the report's requisites, or why it made none."""

    made: bool
    fd_number: int = 0
    fiscal_sign: str = ""
    date: str = ""
    error: str = ""


def outcome(
    session: Session, application: RegistrationApplication, register_id: int
) -> ReportOutcome | None:
    """The register's answer to the registration command; None while there is none."""
    row = session.exec(
        select(LinkCommand)
        .where(LinkCommand.register_id == register_id)
        .where(LinkCommand.request_id == request_id(application))
    ).first()
    if row is None or row.result_status not in ("made", "failed"):
        return None  # no answer yet, or "unknown": the register is still finding out
    result = row.result or {}
    if row.result_status == "made":
        fd, fp, at = result.get("fd"), result.get("fp"), result.get("date_time")
        if isinstance(fd, int) and isinstance(fp, int | str) and isinstance(at, str):
            return ReportOutcome(True, fd_number=fd, fiscal_sign=str(fp), date=at[:16])
        return ReportOutcome(False, error="Касса не сообщила реквизиты отчёта о регистрации")
    errors = result.get("errors") or []
    text = "; ".join(str(e.get("message", "")) for e in errors if isinstance(e, dict))
    return ReportOutcome(False, error=f"Касса не сделала отчёт о регистрации: {text or '—'}")
