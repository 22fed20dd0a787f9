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

What goes to the FNS is checked against what the register itself sent: `check_requisites`
finds the fiscal document the fleet ingested (``fiscaldocument``, by drive and FD number) and
compares its type, fiscal sign and date, and its own TLV (1041, 1040, 1077, 1012), with the
requisites — a difference or a missing document is a typed error naming the field, and nothing
is sent. Requisites typed for a register whose drive's documents the fleet does not hold (it
never sent any: not connected to Oblako) cannot be checked; they pass as "manual" and the
application says so. `closing_state` reads the OFD's answer on the closing report (the
register's `ofd` events, ``fiscaldocument.ofd_status``) and the drive's unsent documents (the
shadow's ``drive.unsent``) for the replacement and deregistration steps.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any, Final

from sqlmodel import Session, col, func, select

from fleet.accounts.models import Company
from fleet.core.clock import Clock
from fleet.documents.models import DOC_TYPE_LABEL, DocType, FiscalDocument, OfdStatus
from fleet.link.commands import enqueue
from fleet.link.ingest_models import DeviceShadow, LinkCommand, StoredWatermark
from fleet.registers.models import Register
from fleet.registration.application import ApplicationForm
from fleet.registration.exceptions import (
    RegistrationStateError,
    ReportMismatchError,
    ReportNotStoredError,
)
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
from protocol.errors import TlvDecodeError
from protocol.tlv import decode

__all__ = [
    "SOURCE_FLEET",
    "SOURCE_MANUAL",
    "ClosingState",
    "ReportOutcome",
    "Requisites",
    "check_requisites",
    "close_outcome",
    "close_request_id",
    "closing_state",
    "holds_drive",
    "order",
    "order_close",
    "outcome",
    "request_body",
    "request_id",
    "stored_document",
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


# ---- the requisites checked against the documents the register sent -----------------------

#: where requisites come from: checked against the register's fiscal document, or typed for a
#: register whose drive's documents the fleet does not hold (not checked)
SOURCE_FLEET: Final = "fleet"
SOURCE_MANUAL: Final = "manual"
#: without the document's TLV the date is checked against its UTC time within the span of
#: Russia's time zones (UTC+2 … UTC+12) and the minute the requisites are cut to
_ZONE_SPAN_S: Final = 13 * 3600


@dataclass(frozen=True)
class Requisites:
    """A report's requisites as they go to the FNS: drive, FD number, fiscal sign, local time
    (ГГГГ-ММ-ДДTЧЧ:ММ, as printed on the report)."""

    fn_number: str
    fd_number: int
    fiscal_sign: str
    date: str


def holds_drive(session: Session, register_id: int, fn_number: str) -> bool:
    """Whether the fleet has anything the register sent from this drive: a stored document,
    a storage watermark, or the shadow naming the drive. Only then can requisites be checked."""
    if not fn_number:
        return False
    shadow = session.get(DeviceShadow, register_id)
    if shadow is not None and shadow.drive_fn == fn_number:
        return True
    if session.get(StoredWatermark, fn_number) is not None:
        return True
    found = session.exec(
        select(FiscalDocument.id).where(FiscalDocument.fn_number == fn_number).limit(1)
    ).first()
    return found is not None


def stored_document(session: Session, fn_number: str, fd_number: int) -> FiscalDocument | None:
    """The fiscal document the register sent the fleet, by drive and FD number."""
    return session.exec(
        select(FiscalDocument)
        .where(FiscalDocument.fn_number == fn_number)
        .where(FiscalDocument.fd_number == fd_number)
    ).first()


def _label(doc_type: int) -> str:
    try:
        return DOC_TYPE_LABEL[DocType(doc_type)]
    except ValueError:
        return f"документ типа {doc_type}"


def _tlv_facts(tlv: bytes) -> dict[int, Any]:
    """Tags 1041, 1040, 1077 (its ФП: the last four bytes) and 1012 of the document's TLV;
    empty when the TLV does not decode (the ingest checked its framing, not every value)."""
    try:
        fields = decode(tlv)
    except TlvDecodeError:
        return {}
    out: dict[int, Any] = {}
    for f in fields:
        if f.tag in (1041, 1040, 1012):
            out[f.tag] = f.value
        elif f.tag == 1077 and isinstance(f.value, bytes) and len(f.value) == 6:
            out[1077] = int.from_bytes(f.value[2:], "big")
    return out


def _minute(seconds: int) -> str:
    # tag 1012 is the local time counted as if it were UTC (FFD's "UnixTime" of local time)
    return dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m-%dT%H:%M")


def check_requisites(
    session: Session,
    register_id: int,
    wanted: Requisites,
    doc_type: DocType,
    *,
    prefix: str = "",
    from_register: bool = False,
) -> str:
    """`SOURCE_FLEET` when ``wanted`` names the register's own ``doc_type`` report exactly as
    the fiscal document it sent the fleet says; `SOURCE_MANUAL` when the fleet holds nothing
    of the drive (`holds_drive`) and the requisites are not the register's own answer
    (``from_register``: its document will come, so it is waited for). ReportNotStoredError
    (field ``{prefix}fd_number``) when the document has not reached the fleet;
    ReportMismatchError naming each field that differs."""
    if not from_register and not holds_drive(session, register_id, wanted.fn_number):
        return SOURCE_MANUAL
    fd, fn, what = wanted.fd_number, wanted.fn_number, _label(doc_type)
    doc = stored_document(session, fn, fd)
    if doc is None:
        raise ReportNotStoredError(
            f"{what}: документ № {fd} ФН № {fn} ещё не получен от кассы — реквизиты не отправлены",
            fields={
                f"{prefix}fd_number": f"ФД № {fd} ФН № {fn} нет среди документов, которые "
                "касса передала в Облако: дождитесь его передачи (касса должна быть на связи) "
                "или проверьте номер"
            },
        )
    fields: dict[str, str] = {}
    if doc.register_id != register_id:
        fields[f"{prefix}fd_number"] = f"ФД № {fd} ФН № {fn} передан другой кассой"
    elif doc.doc_type != int(doc_type):
        fields[f"{prefix}fd_number"] = f"ФД № {fd} — «{_label(doc.doc_type)}», а нужен «{what}»"
    sign = wanted.fiscal_sign.strip()
    facts = _tlv_facts(doc.tlv) if doc.tlv else {}
    stored_fp = {doc.fiscal_sign.lstrip("0") or "0"}
    if 1077 in facts:
        stored_fp.add(str(facts[1077]))
    if (sign.lstrip("0") or "0") not in stored_fp or len(stored_fp) > 1:
        fields[f"{prefix}fiscal_sign"] = (
            f"ФП документа № {fd}, переданного кассой, — {doc.fiscal_sign}, а указан {sign or '—'}"
        )
    if (facts.get(1041, fn), facts.get(1040, fd)) != (fn, fd):
        fields.setdefault(
            f"{prefix}fd_number",
            f"Документ в Облаке не сходится сам с собой: в нём ФН № {facts.get(1041)}, "
            f"ФД № {facts.get(1040)}",
        )
    date = wanted.date.strip()[:16]
    if isinstance(facts.get(1012), int):
        if _minute(facts[1012]) != date:
            fields[f"{prefix}date"] = (
                f"Дата и время документа № {fd}, переданного кассой, — "
                f"{_minute(facts[1012]).replace('T', ' ')}, а указано {date.replace('T', ' ')}"
            )
    else:
        try:
            local = dt.datetime.fromisoformat(date).replace(tzinfo=dt.UTC).timestamp()
        except ValueError:
            local = None
        if local is None or not 0 <= local - doc.issued_at + 59 <= _ZONE_SPAN_S + 59:
            fields[f"{prefix}date"] = (
                f"Дата и время не сходятся с документом № {fd}, переданным кассой"
            )
    if fields:
        raise ReportMismatchError(
            f"Реквизиты не совпадают с документом «{what}», который касса передала в Облако: "
            "в ФНС ничего не отправлено",
            fields=fields,
        )
    return SOURCE_FLEET


# ---- the OFD's confirmation of the closing report ---------------------------------------------


@dataclass(frozen=True)
class ClosingState:
    """What the fleet knows of a drive's closing report: the register's answer (``report``),
    the stored document and the OFD's answer to it, and the drive's unsent documents."""

    fn_number: str
    report: Requisites | None
    stored: bool  # the closing report reached the fleet
    ofd_status: str | None  # OfdStatus of the stored report
    ofd_code: int | None
    ofd_answered_at: float | None
    unsent: int | None  # the drive's own count (the shadow's drive.unsent), if reported
    unsent_at: float | None
    #: the drive's documents in the fleet without the OFD's acceptance (once it is closed)
    not_accepted: int

    @property
    def confirmed(self) -> bool:
        return self.stored and self.ofd_status == OfdStatus.ACCEPTED.value

    @property
    def message(self) -> str:
        """The step's line for the card and the operator's page."""
        r = self.report
        if r is None:
            return (
                "Отчёта о закрытии ФН ещё нет: отправьте кассе команду закрытия (смена должна "
                "быть закрыта) и дождитесь её ответа"
            )
        what = ", ".join(
            p for p in (f"ФД № {r.fd_number}", f"ФП {r.fiscal_sign}", r.date.replace("T", " ")) if p
        )
        if not self.stored:
            return (
                f"Касса сформировала отчёт о закрытии ФН ({what}), но документ ещё не пришёл в "
                "Облако: ждём, пока касса его передаст (она должна быть на связи)"
            )
        if self.ofd_status == OfdStatus.ACCEPTED.value:
            return f"ОФД подтвердил отчёт о закрытии ФН ({what})"
        if self.ofd_status == OfdStatus.REJECTED.value:
            code = "—" if self.ofd_code is None else str(self.ofd_code)
            return (
                f"ОФД отклонил отчёт о закрытии ФН ({what}), код ошибки {code}: выясните "
                "причину у ОФД; документ должен быть принят ОФД до замены ФН"
            )
        return (
            f"Ждём подтверждения ОФД на отчёт о закрытии ФН ({what}): касса передаёт "
            "документы ОФД сама — она должна быть на связи, а ОФД доступен; квитанция придёт "
            "в Облако автоматически"
        )

    @property
    def unsent_message(self) -> str | None:
        """The drive's documents not yet with the OFD (the law: all before the closing)."""
        parts = []
        if self.unsent is not None:
            parts.append(f"по данным кассы — {self.unsent}")
        if self.not_accepted:
            parts.append(f"в Облаке без квитанции ОФД — {self.not_accepted}")
        if not parts:
            return None
        return "Непереданные ОФД документы ФН: " + "; ".join(parts)


def closing_state(session: Session, register: Register) -> ClosingState:
    """The closing report of the register's installed drive as the fleet knows it."""
    fn = register.drive_number or ""
    answer = close_outcome(session, register)
    report = (
        Requisites(fn, answer.fd_number, answer.fiscal_sign, answer.date)
        if answer is not None and answer.made
        else None
    )
    doc = stored_document(session, fn, report.fd_number) if report is not None else None
    if report is None and fn:
        # closed without the command (on the register by hand): the closing report is the
        # drive's last document — one probe of the (drive, FD) index
        doc = session.exec(
            select(FiscalDocument)
            .where(FiscalDocument.fn_number == fn)
            .order_by(col(FiscalDocument.fd_number).desc())
            .limit(1)
        ).first()
        if doc is not None and doc.doc_type == int(DocType.ARCHIVE_CLOSE):
            at = _tlv_facts(doc.tlv).get(1012) if doc.tlv else None
            date = _minute(at) if isinstance(at, int) else ""
            report = Requisites(fn, doc.fd_number, doc.fiscal_sign, date)
    if doc is not None and doc.doc_type != int(DocType.ARCHIVE_CLOSE):
        doc = None
    unsent = unsent_at = None
    shadow = session.get(DeviceShadow, register.id) if register.id is not None else None
    if shadow is not None and shadow.drive_fn == fn and shadow.reported:
        value = (shadow.reported.get("drive") or {}).get("unsent")
        if isinstance(value, int):
            unsent, unsent_at = value, shadow.reported_at
    not_accepted = 0
    if report is not None:
        # counted once the drive is closed (a step taken once per drive): it reads all the
        # drive's documents, too much for every view of the card
        not_accepted = session.exec(
            select(func.count())
            .select_from(FiscalDocument)
            .where(FiscalDocument.fn_number == fn)
            .where(col(FiscalDocument.ofd_status) != OfdStatus.ACCEPTED.value)
        ).one()
    return ClosingState(
        fn_number=fn,
        report=report,
        stored=doc is not None,
        ofd_status=doc.ofd_status if doc is not None else None,
        ofd_code=doc.ofd_code if doc is not None else None,
        ofd_answered_at=doc.ofd_answered_at if doc is not None else None,
        unsent=unsent,
        unsent_at=unsent_at,
        not_accepted=int(not_accepted),
    )
