"""After registration: re-registration by the rules table, drive replacement, deregistration.

Each prepares an application on the register's one row (its ``kind`` says which form) and the
registration flow of `fleet.registration.service` carries it on: the user signs the frozen bytes,
the FNS answers, the report's requisites go back, the card arrives. A change that needs no
application (`fleet.registration.rules`) is applied at once and the user is told so.

Closing the drive's fiscal mode (replacement, deregistration): the closing report's requisites
are checked against the document the register sent (`report.check_requisites`), and the OFD must
have accepted that document — the fleet knows, from the register's `ofd` events
(`report.closing_state`). Without the OFD's acceptance (still waiting, refused, or requisites
typed for a register whose documents the fleet does not hold) the step goes on only with an
override: the person states why they know the OFD has the report (at least
`OVERRIDE_MIN_CHARS` characters), and the reason is written to the audit log.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any, Final

from sqlmodel import Session, select

from fleet import audit
from fleet.access.principal import Principal
from fleet.core.clock import Clock
from fleet.documents.models import DocType, OfdStatus
from fleet.notify.service import Event, notify_company
from fleet.receipts.profiles import put_profile
from fleet.registers.exceptions import RegisterNotFoundError
from fleet.registers.models import Register
from fleet.registration import report, service
from fleet.registration.application import (
    DEREG_REASONS,
    ApplicationForm,
    canonical_bytes,
    deregistration_bytes,
    validate_form,
)
from fleet.registration.exceptions import (
    ClosingNotConfirmedError,
    InvalidApplicationError,
    RegistrationStateError,
)
from fleet.registration.models import ApplicationKind, ApplicationStatus, UsedDrive
from fleet.registration.rules import REASON_DRIVE, Decision, RegisteredParams, decide
from fleet.registration.used_drives import keep_drive

__all__ = [
    "OVERRIDE_MIN_CHARS",
    "ChangeOutcome",
    "CloseReport",
    "closing",
    "closing_report",
    "order_closing",
    "prepare_deregistration",
    "propose_change",
    "replace_drive",
]

_ENTITY = "registration"
_OPEN = {ApplicationStatus.DRAFT, ApplicationStatus.SIGNED, ApplicationStatus.REFUSED}
#: the shortest reason accepted for going on without the OFD's confirmation in the fleet
OVERRIDE_MIN_CHARS: Final = 10


@dataclass(frozen=True)
class CloseReport:
    """The requisites of the report on closing the drive's fiscal mode."""

    fd_number: int
    fiscal_sign: str
    date: str

    def checked(self, prefix: str = "") -> CloseReport:
        """Itself, or InvalidApplicationError naming each wrong requisite."""
        fields: dict[str, str] = {}
        if self.fd_number <= 0:
            fields[f"{prefix}fd_number"] = "Номер фискального документа — целое число больше нуля"
        sign = self.fiscal_sign.strip()
        if not (sign.isascii() and sign.isdigit() and 1 <= len(sign) <= 10):
            fields[f"{prefix}fiscal_sign"] = "Фискальный признак — до 10 цифр"
        try:
            dt.datetime.fromisoformat(self.date.strip())
        except ValueError:
            fields[f"{prefix}date"] = "Дата и время отчёта в формате ГГГГ-ММ-ДДTЧЧ:ММ"
        if fields:
            raise InvalidApplicationError(
                "Реквизиты отчёта о закрытии фискального накопителя указаны неверно",
                fields=fields,
            )
        return CloseReport(self.fd_number, sign, self.date.strip())

    def to_json(self) -> dict[str, Any]:
        return {"fd_number": self.fd_number, "fiscal_sign": self.fiscal_sign, "date": self.date}


@dataclass(frozen=True)
class ChangeOutcome:
    """What editing the registered settings did: the decision and the state after it."""

    decision: Decision
    state: service.State

    @property
    def message(self) -> str:
        d = self.decision
        if not d.changes:
            return "Изменений нет: параметры совпадают с зарегистрированными в ФНС"
        if not d.needs_application:
            fields = ", ".join(c.rule.label for c in d.changes)
            return (
                f"Изменения применены ({fields}). Заявление в ФНС не требуется: эти сведения "
                "не входят в параметры регистрации ККТ"
            )
        return (
            "Нужно заявление о перерегистрации (КНД 1110061), коды причин: "
            f"{', '.join(str(r) for r in d.reasons)}. Подпишите его своей КЭП — подать "
            "заявление нужно не позднее следующего рабочего дня после изменения"
        )


def order_closing(
    *, session: Session, clock: Clock, principal: Principal | None, register_id: int
) -> str:
    """Command the register to close its drive's fiscal mode (the report on closing, before
    a drive replacement or a deregistration); returns the command's request id. Ordering
    twice queues one command (`report.close_request_id`). ``principal`` None: the operator
    (any company's register)."""
    register = session.get(Register, register_id)
    if (
        register is None
        or register.company_id is None
        or (principal is not None and register.company_id != principal.company_id)
    ):
        raise RegisterNotFoundError(f"Касса № {register_id} не найдена")
    st = service.state_of(session, register)
    if st.registered is None or st.status is ApplicationStatus.DEREGISTERED:
        raise RegistrationStateError(
            "Касса не зарегистрирована в ФНС: фискальный режим её ФН не открыт"
        )
    rid = report.order_close(session, clock, register)
    if principal is not None:
        audit.record_by(
            session,
            clock,
            principal,
            action="registration.close_ordered",
            entity=_ENTITY,
            entity_id=register_id,
            request_id=rid,
        )
    session.commit()
    return rid


def closing(
    *, session: Session, principal: Principal | None, register_id: int
) -> report.ClosingState:
    """What the fleet knows of the installed drive's closing report: the register's answer,
    the stored document, the OFD's answer, the unsent documents. ``principal`` None: the
    operator (any company's register)."""
    if principal is None:
        register = session.get(Register, register_id)
        if register is None or register.company_id is None:
            raise RegisterNotFoundError(f"Касса № {register_id} не найдена")
    else:
        register = service.get_state(
            session=session, principal=principal, register_id=register_id
        ).register
    return report.closing_state(session, register)


def _stored_closing(session: Session, register: Register) -> CloseReport | None:
    """The closing report the register sent the fleet without our command (closed on the
    register by hand): the drive's last stored document, if it is one."""
    state = report.closing_state(session, register)
    r = state.report
    if r is None or not state.stored or not r.date:
        return None
    return CloseReport(r.fd_number, r.fiscal_sign, r.date)


def closing_report(session: Session, register: Register) -> CloseReport:
    """The requisites of the closing report the register made on command (`order_closing`),
    as its result carried them, or (no command) the one it sent the fleet; RegistrationStateError
    while there is none or it failed."""
    answer = report.close_outcome(session, register)
    if answer is None:
        stored = _stored_closing(session, register)
        if stored is not None:
            return stored.checked("close.")
        raise RegistrationStateError(
            "Касса ещё не сформировала отчёт о закрытии фискального накопителя: отправьте ей "
            "команду закрытия и дождитесь ответа (или укажите реквизиты отчёта вручную)"
        )
    if not answer.made:
        raise RegistrationStateError(answer.error)
    return CloseReport(answer.fd_number, answer.fiscal_sign, answer.date).checked("close.")


def _closed_checked(
    session: Session,
    clock: Clock,
    principal: Principal,
    register: Register,
    close: CloseReport,
    ofd_override: str,
    *,
    from_register: bool,
) -> str:
    """The closing report checked against the register's document and the OFD's answer; its
    source (`report.SOURCE_FLEET` or `report.SOURCE_MANUAL`). Refusals: ReportMismatchError /
    ReportNotStoredError from the check, ClosingNotConfirmedError without the OFD's acceptance
    and without an override's reason (``ofd_override``), which is audited when it is used."""
    assert register.id is not None
    fn = register.drive_number or ""
    wanted = report.Requisites(fn, close.fd_number, close.fiscal_sign, close.date)
    source = report.check_requisites(
        session,
        register.id,
        wanted,
        DocType.ARCHIVE_CLOSE,
        prefix="close.",
        from_register=from_register,
    )
    doc = report.stored_document(session, fn, close.fd_number)
    status = doc.ofd_status if doc is not None and source == report.SOURCE_FLEET else None
    if status == OfdStatus.ACCEPTED.value:
        return source
    reason = " ".join(ofd_override.split())
    if len(reason) < OVERRIDE_MIN_CHARS:
        what = f"ФД № {close.fd_number}, ФП {close.fiscal_sign}"
        if status == OfdStatus.REJECTED.value:
            code = "—" if doc is None or doc.ofd_code is None else str(doc.ofd_code)
            message = f"ОФД отклонил отчёт о закрытии ФН ({what}), код ошибки {code}"
        elif status is not None:
            message = f"Ждём подтверждения ОФД на отчёт о закрытии ФН ({what})"
        else:
            message = (
                f"Подтверждение ОФД на отчёт о закрытии ФН ({what}) в Облако не приходит: "
                "документы этой кассы Облаку не передавались"
            )
        raise ClosingNotConfirmedError(
            message,
            fields={
                "ofd_override": "Без квитанции ОФД продолжить можно, только указав, откуда "
                "известно, что ОФД принял отчёт (например, номер квитанции в личном кабинете "
                f"ОФД), — не короче {OVERRIDE_MIN_CHARS} символов; это попадёт в журнал"
            },
        )
    audit.record_by(
        session,
        clock,
        principal,
        action="registration.ofd_confirmation_overridden",
        entity=_ENTITY,
        entity_id=register.id,
        company_id=register.company_id,
        fn_number=fn,
        fd_number=close.fd_number,
        ofd_status=status or "unknown",
        reason=reason[:500],
    )
    return source


def _now_iso(now: float) -> str:
    return dt.datetime.fromtimestamp(now, dt.UTC).isoformat(timespec="seconds")


def _registered(st: service.State) -> RegisteredParams:
    registered = st.registered
    if registered is None or st.application is None:
        raise RegistrationStateError(
            "Касса ещё не зарегистрирована в ФНС: сначала завершите регистрацию"
        )
    if st.status is ApplicationStatus.DEREGISTERED or st.kind is ApplicationKind.DEREGISTRATION:
        raise RegistrationStateError(
            "Касса снимается (или снята) с регистрационного учёта: её параметры не меняются"
        )
    if st.status not in (ApplicationStatus.REGISTERED, *_OPEN):
        raise RegistrationStateError(
            "Заявление о перерегистрации уже рассматривается ФНС: дождитесь ответа и карточки"
        )
    return registered


def _fn_close(row_close: tuple[int | None, str | None, str | None]) -> dict[str, Any] | None:
    fd, sign, date = row_close
    if fd is None or sign is None or date is None:
        return None
    return {"fd_number": fd, "fiscal_sign": sign, "date": date}


def _apply_change(
    session: Session,
    clock: Clock,
    principal: Principal,
    st: service.State,
    form: ApplicationForm,
    *,
    action: str,
) -> Decision:
    """Decide and write: a draft re-registration, or the change applied without one."""
    registered = _registered(st)
    row = st.application
    assert row is not None
    now = clock.wall()
    decision = decide(registered, RegisteredParams(form=form, user_name=st.company.name))
    row.form = json.dumps(form.to_json(), ensure_ascii=False, sort_keys=True)
    row.updated_at = now
    row.last_error = None
    if not decision.needs_application:
        # Nothing the FNS holds has changed (or only what it does not hold): in force at once.
        row.status = ApplicationStatus.REGISTERED.value
        row.registered = json.dumps(
            {"form": form.to_json(), "user_name": st.company.name},
            ensure_ascii=False,
            sort_keys=True,
        )
        row.reason_codes = "[]"
        put_profile(
            session,
            register_id=st.register.id or 0,
            inn=st.company.inn,
            form=form.to_json(),
            now=now,
        )
    else:
        register = st.register
        fn_close = (
            _fn_close((row.close_fd_number, row.close_fiscal_sign, row.close_date))
            if REASON_DRIVE in decision.reasons
            else None
        )
        document = canonical_bytes(
            form,
            user_inn=st.company.inn,
            user_ogrn=st.company.ogrn,
            user_name=st.company.name,
            kkt_model=register.model or "",
            kkt_serial=register.serial or "",
            kkt_firmware=register.firmware_version or "",
            prepared_at=_now_iso(now),
            kind=ApplicationKind.REREGISTRATION.value,
            rnm=register.rnm,
            reason_codes=list(decision.reasons),
            fn_close=fn_close,
        )
        row.kind = ApplicationKind.REREGISTRATION.value
        row.reason_codes = json.dumps(list(decision.reasons))
        row.document = document.decode("utf-8")
        _reset_signature(row)
        row.status = ApplicationStatus.DRAFT.value
    session.add(row)
    audit.record_by(
        session,
        clock,
        principal,
        action=action,
        entity=_ENTITY,
        entity_id=st.register.id,
        company_id=st.company.id,
        changed=[c.key for c in decision.changes],
        reasons=list(decision.reasons),
    )
    session.commit()
    return decision


def _reset_signature(row: Any) -> None:
    row.signature = None
    row.signer_name = row.signer_inn = row.signer_ogrn = row.signer_person = None
    row.signer_issuer = row.signer_poa = None
    row.signer_valid_from = row.signer_valid_to = row.signed_at = None
    row.reasons = "[]"
    row.report_fd_number = None
    row.report_fiscal_sign = None
    row.report_date = None
    row.fns_id = None


def propose_change(
    *, session: Session, clock: Clock, principal: Principal, register_id: int, form: ApplicationForm
) -> ChangeOutcome:
    """Edit a registered register's settings: the diff against what the FNS holds decides
    between a re-registration application (with its reason codes) and applying at once.

    The drive's model and number are not the user's to edit: they follow the register (a new
    drive comes through `replace_drive`)."""
    st = service.get_state(session=session, principal=principal, register_id=register_id)
    _registered(st)
    form.fn_model = st.form.fn_model
    form.fn_number = st.form.fn_number
    form = validate_form(form)
    decision = _apply_change(
        session, clock, principal, st, form, action="registration.settings_changed"
    )
    return ChangeOutcome(
        decision=decision,
        state=service.get_state(session=session, principal=principal, register_id=register_id),
    )


def replace_drive(
    *,
    session: Session,
    clock: Clock,
    principal: Principal,
    register_id: int,
    close: CloseReport | None,
    new_model: str,
    new_number: str,
    ofd_override: str = "",
) -> ChangeOutcome:
    """The operator's drive replacement (§2.2 "FN replacement procedure"): the old drive's
    fiscal mode is closed and the OFD accepted the report (as the fleet received its answer;
    else ``ofd_override``, the operator's audited reason); the old drive goes on record for
    five years; the new one is installed; a re-registration with reason 4 is drafted for the
    user, carrying the closing report's requisites: those the register made on command
    (`order_closing`) when ``close`` is None, else as typed — checked against the register's
    document either way (`report.check_requisites`)."""
    register = session.get(Register, register_id)
    if register is None or register.company_id is None:
        raise RegisterNotFoundError(f"Касса № {register_id} не найдена")
    st = service.state_of(session, register)
    _registered(st)
    row = st.application
    assert row is not None
    from_register = close is None
    close = close.checked("close.") if close is not None else closing_report(session, register)
    new_number, new_model = new_number.strip(), new_model.strip() or st.form.fn_model
    fields: dict[str, str] = {}
    if not (new_number.isascii() and new_number.isdigit() and len(new_number) == 16):
        fields["new_number"] = "Заводской номер нового ФН — 16 цифр"
    elif new_number == register.drive_number:
        fields["new_number"] = "Это номер установленного ФН: укажите номер нового"
    elif session.exec(select(UsedDrive).where(UsedDrive.drive_number == new_number)).first():
        fields["new_number"] = (
            f"ФН № {new_number} уже снят с кассы и закрыт: его фискальный режим не открыть снова"
        )
    if fields:
        raise InvalidApplicationError("Замена ФН не выполнена", fields=fields)
    source = _closed_checked(
        session, clock, principal, register, close, ofd_override, from_register=from_register
    )
    now = clock.wall()
    if register.drive_number:
        keep_drive(
            session,
            register,
            number=register.drive_number,
            model=st.form.fn_model,
            removed_at=now,
            close_fd_number=close.fd_number,
            close_fiscal_sign=close.fiscal_sign,
            close_date=close.date,
        )
    register.drive_number = new_number
    register.drive_expires_at = None  # the new drive reports its own term
    session.add(register)
    row.close_fd_number = close.fd_number
    row.close_fiscal_sign = close.fiscal_sign
    row.close_date = close.date
    row.close_source = source
    form = ApplicationForm.from_json(st.form.to_json())
    form.fn_number, form.fn_model = new_number, new_model
    # The user must sign the re-registration by the next business day: tell them.
    notify_company(
        session,
        clock,
        [
            Event(
                company_id=register.company_id,
                kind="drive.replace",
                key=f"reregistration:{register_id}:{new_number}",
                title=f"Касса № {register_id}: ФН заменён, подпишите заявление о перерегистрации",
                body=f"Оператор установил ФН № {new_number} вместо закрытого. Подпишите "
                "заявление о перерегистрации (код причины 4 — замена ФН) своей КЭП не позднее "
                "следующего рабочего дня.",
                link=f"/registers/{register_id}/registration",
            )
        ],
    )
    decision = _apply_change(
        session, clock, principal, st, form, action="registration.drive_replaced"
    )
    return ChangeOutcome(decision=decision, state=service.state_of(session, register))


def prepare_deregistration(
    *,
    session: Session,
    clock: Clock,
    principal: Principal,
    register_id: int,
    reason: str,
    close: CloseReport | None,
    ofd_override: str = "",
) -> service.State:
    """Draft the КНД 1110062 application. The closing report's requisites are required unless
    the register was stolen or lost (then there is no drive to close): as typed, or (``close``
    None) those of the report the register made on command (`order_closing`); checked against
    the register's document, and accepted by the OFD (else ``ofd_override``, audited)."""
    st = service.get_state(session=session, principal=principal, register_id=register_id)
    row = st.application
    if st.registered is None or row is None or row.rnm is None:
        raise RegistrationStateError("Касса не зарегистрирована в ФНС: снимать с учёта нечего")
    if st.status is ApplicationStatus.DEREGISTERED:
        raise RegistrationStateError("Касса уже снята с регистрационного учёта")
    if st.status not in (ApplicationStatus.REGISTERED, *_OPEN):
        raise RegistrationStateError(
            "По кассе рассматривается другое заявление: дождитесь ответа ФНС"
        )
    if reason not in DEREG_REASONS:
        raise InvalidApplicationError(
            "Причина снятия с учёта не указана",
            fields={"reason": "Выберите причину: " + "; ".join(DEREG_REASONS.values())},
        )
    from_register = close is None
    if close is None and reason not in ("theft", "loss"):
        answer = report.close_outcome(session, st.register)
        if answer is not None and not answer.made:
            raise RegistrationStateError(answer.error)
        if answer is not None:
            close = CloseReport(answer.fd_number, answer.fiscal_sign, answer.date)
        else:
            close = _stored_closing(session, st.register)
    if close is None and reason not in ("theft", "loss"):
        raise InvalidApplicationError(
            "Нужен отчёт о закрытии фискального накопителя",
            fields={
                "close.fd_number": "Отправьте кассе команду закрытия ФН (или сформируйте на "
                "кассе отчёт о закрытии ФН и укажите его реквизиты: номер ФД, ФП, дата)"
            },
        )
    close = close.checked("close.") if close is not None else None
    register = st.register
    source = (
        _closed_checked(
            session, clock, principal, register, close, ofd_override, from_register=from_register
        )
        if close is not None
        else None
    )
    now = clock.wall()
    document = deregistration_bytes(
        user_inn=st.company.inn,
        user_ogrn=st.company.ogrn,
        user_name=st.company.name,
        kkt_model=register.model or "",
        kkt_serial=register.serial or "",
        rnm=row.rnm,
        fn_number=register.drive_number or "",
        reason=reason,
        fn_close=close.to_json() if close is not None else None,
        prepared_at=_now_iso(now),
    )
    row.kind = ApplicationKind.DEREGISTRATION.value
    row.dereg_reason = reason
    row.reason_codes = json.dumps([reason])
    if close is not None:
        row.close_fd_number, row.close_fiscal_sign, row.close_date = (
            close.fd_number,
            close.fiscal_sign,
            close.date,
        )
        row.close_source = source
    row.document = document.decode("utf-8")
    _reset_signature(row)
    row.status = ApplicationStatus.DRAFT.value
    row.last_error = None
    row.updated_at = now
    session.add(row)
    audit.record_by(
        session,
        clock,
        principal,
        action="registration.deregistration_prepared",
        entity=_ENTITY,
        entity_id=register_id,
        reason=reason,
    )
    session.commit()
    return service.get_state(session=session, principal=principal, register_id=register_id)
