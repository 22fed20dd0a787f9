"""The reports the register makes itself, ordered by the cabinet over MQTT.

Once the FNS assigns the RNM (54-FZ art. 4.2 p. 2: the user then makes the registration report
on the register and sends its requisites to the FNS), `order` queues the register's
``registration`` command (docs/register.md; `fleet.link.commands.enqueue`) built from the
application; for a re-registration the FNS accepted (art. 4.2 p. 7: the report on the change of
registration parameters), the ``reregistration`` command with its reasons (tag 1205, and the
drive replacement's new drive). `order_close` queues ``close_fiscal_mode``: the report on
closing the drive's fiscal mode before a drive replacement or a deregistration (art. 4.2 p. 6,
4.2 p. 12). The register answers with the document it made (``fd``, ``fp``, ``date_time``),
which the ingest keeps in ``LinkCommand`` under the command's request id; `outcome` and
`close_outcome` read it back, and `fleet.registration.service.collect_report` sends the
requisites to the FNS; the closing report's become the application's.

Request ids are derived from the application (its RNM, or the FNS's id of a re-registration)
or from the register and its drive, so ordering twice queues one command, and a new
application orders a new report.
"""

from __future__ import annotations

import json
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
from fleet.registration.models import ApplicationKind, RegistrationApplication
from fleet.registration.rules import (
    REASON_ADDRESS,
    REASON_AUTOMAT,
    REASON_DRIVE,
    REASON_OFD,
    REASON_OTHER,
    REASON_TO_AUTONOMOUS,
    REASON_TO_ONLINE,
    REASON_USER_NAME,
)

__all__ = [
    "ReportOutcome",
    "close_outcome",
    "close_request_id",
    "order",
    "order_close",
    "outcome",
    "request_body",
    "request_id",
]

ACTION: Final = "registration"
REREG_ACTION: Final = "reregistration"
CLOSE_ACTION: Final = "close_fiscal_mode"
#: the application's reason codes (КНД 1110061) → the report's reasons (tag 1205 bits, the
#: firmware's REASONS names; fiscal-protocols.md §1.9)
_REASONS_1205: Final[dict[int, str]] = {
    REASON_ADDRESS: "address",
    REASON_OFD: "ofd_change",
    REASON_AUTOMAT: "automat_number",
    REASON_DRIVE: "fn_replacement",
    REASON_TO_ONLINE: "autonomous_to_online",
    REASON_TO_AUTONOMOUS: "online_to_autonomous",
    REASON_USER_NAME: "user_name",
    REASON_OTHER: "other",
}
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


def _rereg(application: RegistrationApplication) -> bool:
    return application.kind == ApplicationKind.REREGISTRATION.value


def request_id(application: RegistrationApplication) -> str:
    """The command's request id: one per registration and RNM, one per re-registration the
    FNS accepted (its id there; the register keeps its RNM)."""
    if _rereg(application):
        return f"rereg-{application.id}-{application.fns_id}"
    return f"reg-{application.id}-{application.rnm}"


def close_request_id(register: Register) -> str:
    """The closing command's request id: one per register and drive."""
    return f"close-{register.id}-{register.drive_number}"


def _cp866(text: str) -> str:
    # the drive stores texts in CP866, which has no guillemets
    return text.replace("«", '"').replace("»", '"')


def request_body(
    application: RegistrationApplication,
    register: Register,
    company: Company,
    form: ApplicationForm,
) -> dict[str, Any]:
    """The register's ``registration`` (or ``reregistration``) request from the application
    the FNS accepted."""
    modes = [mode for flag, mode in _MODES.items() if form.flag(flag)]
    if form.automat_number:
        modes.append("automat")
    body: dict[str, Any] = {
        "id": request_id(application),
        "kind": REREG_ACTION if _rereg(application) else ACTION,
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
    if _rereg(application):
        codes = [int(c) for c in json.loads(application.reason_codes or "[]")]
        body["reasons"] = sorted({_REASONS_1205.get(c, "other") for c in codes}) or ["other"]
        # a new drive: the report opens its fiscal mode (02h type 1, §1.7)
        body["fn_replacement"] = REASON_DRIVE in codes
    return body


def order(
    session: Session,
    clock: Clock,
    application: RegistrationApplication,
    register: Register,
    company: Company,
    form: ApplicationForm,
) -> str:
    """Queue the registration or re-registration command (in the caller's transaction);
    returns its request id."""
    if register.id is None:
        raise RegistrationStateError("Касса ещё не сохранена: команду регистрации отправить нельзя")
    rid = request_id(application)
    enqueue(
        session,
        clock,
        register_id=register.id,
        serial=register.serial or "",
        request_id=rid,
        action=REREG_ACTION if _rereg(application) else ACTION,
        body=request_body(application, register, company, form),
    )
    return rid


def order_close(session: Session, clock: Clock, register: Register) -> str:
    """Queue the report on closing the drive's fiscal mode (in the caller's transaction);
    returns its request id. The register refuses it with an open shift or unsent documents
    (its answer says so)."""
    if register.id is None or not register.drive_number:
        raise RegistrationStateError("В кассе нет фискального накопителя: закрывать нечего")
    rid = close_request_id(register)
    enqueue(
        session,
        clock,
        register_id=register.id,
        serial=register.serial or "",
        request_id=rid,
        action=CLOSE_ACTION,
        body={"id": rid, "kind": CLOSE_ACTION},
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
    """The register's answer to the (re-)registration command; None while there is none."""
    what = "о перерегистрации" if _rereg(application) else "о регистрации"
    return _answer(session, register_id, request_id(application), what)


def close_outcome(session: Session, register: Register) -> ReportOutcome | None:
    """The register's answer to the closing command for its drive; None while there is none
    (or none was ordered)."""
    if register.id is None:
        return None
    return _answer(session, register.id, close_request_id(register), "о закрытии ФН")


def _answer(session: Session, register_id: int, rid: str, what: str) -> ReportOutcome | None:
    row = session.exec(
        select(LinkCommand)
        .where(LinkCommand.register_id == register_id)
        .where(LinkCommand.request_id == rid)
    ).first()
    if row is None or row.result_status not in ("made", "failed"):
        return None  # no answer yet, or "unknown": the register is still finding out
    result = row.result or {}
    if row.result_status == "made":
        fd, fp, at = result.get("fd"), result.get("fp"), result.get("date_time")
        if isinstance(fd, int) and isinstance(fp, int | str) and isinstance(at, str):
            return ReportOutcome(True, fd_number=fd, fiscal_sign=str(fp), date=at[:16])
        return ReportOutcome(False, error=f"Касса не сообщила реквизиты отчёта {what}")
    errors = result.get("errors") or []
    text = "; ".join(str(e.get("message", "")) for e in errors if isinstance(e, dict))
    return ReportOutcome(False, error=f"Касса не сделала отчёт {what}: {text or '—'}")
