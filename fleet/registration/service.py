"""Registration logic: the form, the bytes to sign, the signature check, the FNS exchange.

Oblako never holds the user's private key: it freezes the canonical bytes when the form is saved,
the user signs them with their own tool, and the detached CMS is verified here (chain to the
configured accredited roots, signer = the company) before it goes to the FNS gateway.
Each change commits with its audit row; a gateway failure keeps the state and says why.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, select

from fleet import audit
from fleet.access.principal import Principal
from fleet.accounts.models import Company
from fleet.core.clock import Clock
from fleet.documents.models import DocType
from fleet.receipts.profiles import put_profile
from fleet.registers import service as registers
from fleet.registers.models import Register, RegisterState
from fleet.registration import report
from fleet.registration.application import ApplicationForm, canonical_bytes, validate_form
from fleet.registration.attorney import is_head, poa_for_signer
from fleet.registration.exceptions import (
    FnsUnavailableError,
    InvalidApplicationError,
    InvalidSignatureError,
    RegistrationNotFoundError,
    RegistrationStateError,
    ReportMismatchError,
    ReportNotStoredError,
)
from fleet.registration.gateway import FnsAnswer, FnsGateway, PoaFile
from fleet.registration.models import (
    ApplicationKind,
    ApplicationStatus,
    PowerOfAttorney,
    RegistrationApplication,
)
from fleet.registration.ocsp import RevocationSource, check_status
from fleet.registration.rules import RegisteredParams
from fleet.registration.used_drives import keep_drive
from fleet.stores.models import Store
from protocol.errors import KepError
from protocol.kep.verify import VerifiedSignature, verify

__all__ = [
    "State",
    "accept_signature",
    "collect_report",
    "collect_reports",
    "default_form",
    "document_bytes",
    "get_state",
    "refresh",
    "save_form",
    "send",
    "send_report",
    "state_of",
]

_EDITABLE = {ApplicationStatus.DRAFT, ApplicationStatus.SIGNED, ApplicationStatus.REFUSED}
_ENTITY = "registration"


@dataclass(frozen=True)
class State:
    """A register and its application (None before the first save)."""

    register: Register
    company: Company
    application: RegistrationApplication | None
    form: ApplicationForm

    @property
    def status(self) -> ApplicationStatus:
        if self.application is None:
            return ApplicationStatus.DRAFT
        return ApplicationStatus(self.application.status)

    @property
    def kind(self) -> ApplicationKind:
        if self.application is None:
            return ApplicationKind.REGISTRATION
        return ApplicationKind(self.application.kind)

    @property
    def registered(self) -> RegisteredParams | None:
        """What the FNS holds since the last card (None before the first)."""
        if self.application is None or not self.application.registered:
            return None
        data = json.loads(self.application.registered)
        return RegisteredParams(
            form=ApplicationForm.from_json(data["form"]), user_name=str(data["user_name"])
        )

    @property
    def reason_codes(self) -> list[Any]:
        if self.application is None:
            return []
        codes = json.loads(self.application.reason_codes)
        return codes if isinstance(codes, list) else []

    @property
    def reasons(self) -> list[str]:
        if self.application is None:
            return []
        return [str(r) for r in json.loads(self.application.reasons)]

    @property
    def card(self) -> dict[str, Any] | None:
        if self.application is None or not self.application.card:
            return None
        card = json.loads(self.application.card)
        return card if isinstance(card, dict) else None


def _load(session: Session, principal: Principal, register_id: int) -> State:
    register = registers.get_register(
        session=session,
        company_id=principal.company_id,
        register_id=register_id,
        folder_ids=principal.folder_ids,
    )
    return state_of(session, register)


def state_of(session: Session, register: Register) -> State:
    """A register's application state, whoever asks (the caller has checked access)."""
    assert register.company_id is not None and register.id is not None
    company = session.get(Company, register.company_id)
    assert company is not None  # the register's company exists (foreign key)
    row = session.exec(
        select(RegistrationApplication).where(RegistrationApplication.register_id == register.id)
    ).first()
    form = (
        ApplicationForm.from_json(json.loads(row.form))
        if row is not None
        else default_form(session, register)
    )
    return State(register=register, company=company, application=row, form=form)


def default_form(session: Session, register: Register) -> ApplicationForm:
    """What Oblako already knows: the drive number and the store's address and website."""
    form = ApplicationForm(fn_number=register.drive_number or "")
    store = None if register.store_id is None else session.get(Store, register.store_id)
    if store is not None:
        form.address.region_code = store.region_code or ""
        form.address.municipal = store.city or ""
        form.address.street = store.street or ""
        form.address.house = store.house or ""
        form.address.flat = store.flat or ""
        form.address.postal_code = store.postal_code or ""
        form.website = store.website or ""
        form.place = store.name
    return form


def get_state(*, session: Session, principal: Principal, register_id: int) -> State:
    """The register's application state (a default form when nothing is saved yet)."""
    return _load(session, principal, register_id)


def _require_hardware(register: Register) -> None:
    if not register.serial or not register.model or not register.firmware_version:
        raise RegistrationStateError(
            "У кассы ещё нет оборудования (заводского номера, модели, версии ПО): "
            "заявление можно подать после его установки"
        )


def save_form(
    *, session: Session, clock: Clock, principal: Principal, register_id: int, form: ApplicationForm
) -> State:
    """Validate and save the user's part; freezes the bytes to sign (any earlier signature
    is dropped, since it was over other bytes)."""
    state = _load(session, principal, register_id)
    if state.status not in _EDITABLE:
        raise RegistrationStateError(
            "Заявление уже отправлено в ФНС: его нельзя изменить до ответа налоговой"
        )
    if state.registered is not None or state.kind is not ApplicationKind.REGISTRATION:
        raise RegistrationStateError(
            "Касса уже зарегистрирована: изменения её параметров подаются как перерегистрация, "
            "а снятие с учёта — заявлением КНД 1110062"
        )
    _require_hardware(state.register)
    form = validate_form(form)
    now = clock.wall()
    register = state.register
    document = canonical_bytes(
        form,
        user_inn=state.company.inn,
        user_ogrn=state.company.ogrn,
        user_name=state.company.name,
        kkt_model=register.model or "",
        kkt_serial=register.serial or "",
        kkt_firmware=register.firmware_version or "",
        prepared_at=dt.datetime.fromtimestamp(now, dt.UTC).isoformat(timespec="seconds"),
    )
    row = state.application or RegistrationApplication(
        company_id=principal.company_id, register_id=register_id, created_at=now, updated_at=now
    )
    row.form = json.dumps(form.to_json(), ensure_ascii=False, sort_keys=True)
    row.document = document.decode("utf-8")
    row.status = ApplicationStatus.DRAFT.value
    row.signature = None
    row.signer_name = row.signer_inn = row.signer_ogrn = row.signer_person = None
    row.signer_issuer = row.signer_status = None
    row.signer_valid_from = row.signer_valid_to = row.signed_at = None
    row.reasons = "[]"
    row.last_error = None
    row.updated_at = now
    session.add(row)
    audit.record_by(
        session,
        clock,
        principal,
        action="registration.form_saved",
        entity=_ENTITY,
        entity_id=register_id,
    )
    session.commit()
    return _load(session, principal, register_id)


def document_bytes(*, session: Session, principal: Principal, register_id: int) -> bytes:
    """The exact bytes to sign."""
    state = _load(session, principal, register_id)
    if state.application is None or not state.application.document:
        raise RegistrationNotFoundError("Сначала заполните и сохраните заявление")
    return state.application.document.encode("utf-8")


def signature_bytes(raw: bytes) -> bytes:
    """A detached CMS from an upload: DER as is, or base64 / PEM text (the API sends base64)."""
    if raw[:1] == b"\x30":
        return raw
    body = b"".join(
        line.strip() for line in raw.splitlines() if line.strip() and not line.startswith(b"-----")
    )
    try:
        return base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise InvalidSignatureError(
            "Подпись не разобрана",
            fields={"signature": "Нужен файл подписи CMS: DER (.sig, .p7s) или base64"},
        ) from exc


def _check_signer(
    session: Session, verified: VerifiedSignature, company: Company, now: float
) -> str | None:
    """None when the head signed; the МЧД's number when an employee did under one."""
    cert = verified.certificate
    if is_head(cert, company):
        return None
    cert_inn = cert.org_inn if len(company.inn) == 10 else cert.person_inn
    if len(company.inn) == 10 and cert.org_inn is None:
        # A natural person's certificate: an employee, who signs under a МЧД.
        return poa_for_signer(session, company, cert, now).number
    fields: dict[str, str] = {}
    if cert_inn != company.inn:
        fields["signature"] = (
            f"ИНН в сертификате подписи ({cert_inn or 'не указан'}) не совпадает с ИНН "
            f"компании ({company.inn}): подписать заявление может руководитель организации "
            "своей КЭП или сотрудник своей КЭП физического лица по машиночитаемой доверенности"
        )
    else:
        fields["signature"] = (
            f"ОГРН в сертификате подписи ({cert.ogrn or 'не указан'}) не совпадает с ОГРН "
            f"компании ({company.ogrn})"
        )
    raise InvalidSignatureError("Подпись сделана не владельцем кассы", fields=fields)


def accept_signature(
    *,
    session: Session,
    clock: Clock,
    principal: Principal,
    register_id: int,
    signature: bytes,
    trusted_roots: Sequence[bytes],
    gateway: FnsGateway,
    crls: RevocationSource = (),
) -> State:
    """Verify the detached CMS (DER, or base64/PEM text) over the frozen bytes — chain, time,
    and no certificate of the chain revoked (OCSP, then CRL: `fleet.registration.ocsp`) —
    store it with how its status was checked, then send it to the FNS."""
    state = _load(session, principal, register_id)
    row = state.application
    if row is None or not row.document:
        raise RegistrationNotFoundError("Сначала заполните и сохраните заявление")
    signature = signature_bytes(signature)
    if not signature:
        raise InvalidSignatureError(
            "Файл подписи пуст", fields={"signature": "Выберите файл .sig или .p7s"}
        )
    if state.status not in (ApplicationStatus.DRAFT, ApplicationStatus.SIGNED):
        raise RegistrationStateError(
            "Подпись принимается для черновика заявления; после отказа ФНС сохраните "
            "исправленное заявление заново"
        )
    now = clock.wall()
    try:
        verified = verify(signature, row.document.encode("utf-8"), trusted_roots, now)
    except KepError as exc:
        raise InvalidSignatureError("Подпись не принята", fields={"signature": str(exc)}) from exc
    status = check_status(crls, verified, now)
    poa_number = _check_signer(session, verified, state.company, now)
    cert = verified.certificate
    row.signer_poa = poa_number
    row.signature = base64.b64encode(signature).decode()
    row.signer_name = verified.name[:300]
    row.signer_inn = verified.inn
    row.signer_ogrn = verified.ogrn
    person = " ".join(
        p for p in (cert.subject.get("2.5.4.4", ""), cert.subject.get("2.5.4.42", "")) if p
    )
    row.signer_person = person[:300] or None
    row.signer_issuer = verified.root.common_name[:300]
    row.signer_valid_from = cert.not_before
    row.signer_valid_to = cert.not_after
    row.signer_status = status.text[:2000] or None
    row.signed_at = now
    row.status = ApplicationStatus.SIGNED.value
    row.updated_at = now
    session.add(row)
    audit.record_by(
        session,
        clock,
        principal,
        action="registration.signed",
        entity=_ENTITY,
        entity_id=register_id,
        signer_inn=verified.inn,
        certificate_serial=f"{cert.serial:x}",
    )
    session.commit()
    return send(
        session=session,
        clock=clock,
        principal=principal,
        register_id=register_id,
        gateway=gateway,
    )


def _apply(
    session: Session, clock: Clock, principal: Principal, state: State, answer: FnsAnswer
) -> None:
    row = state.application
    assert row is not None
    now = clock.wall()
    register = state.register
    first = state.kind is ApplicationKind.REGISTRATION
    if answer.fns_id:
        row.fns_id = answer.fns_id
    row.last_error = None
    if answer.status == "refused":
        row.status = ApplicationStatus.REFUSED.value
        row.reasons = json.dumps(answer.reasons, ensure_ascii=False)
    elif answer.status == "rnm_assigned" and answer.rnm:
        row.status = ApplicationStatus.RNM_ASSIGNED.value
        row.rnm = answer.rnm
        register.rnm = answer.rnm
        if first:
            register.state = RegisterState.RNM_ASSIGNED.value
        # the register makes its (re-)registration report itself: order it over MQTT now
        report.order(session, clock, row, register, state.company, state.form)
    elif answer.status == "registered":
        row.status = ApplicationStatus.REGISTERED.value
        row.card = json.dumps(answer.card or {}, ensure_ascii=False)
        # What the FNS now holds: the base of the next re-registration's diff.
        row.registered = json.dumps(
            {"form": json.loads(row.form), "user_name": state.company.name},
            ensure_ascii=False,
            sort_keys=True,
        )
        register.state = RegisterState.ACTIVE.value
        assert register.id is not None
        put_profile(
            session,
            register_id=register.id,
            inn=state.company.inn,
            form=json.loads(row.form),
            now=now,
        )
    elif answer.status == "deregistered":
        row.status = ApplicationStatus.DEREGISTERED.value
        row.card = json.dumps(answer.card or {}, ensure_ascii=False)
        register.state = RegisterState.DEREGISTERED.value
        if register.drive_number:
            # The drive leaves service with the register: on record for five years.
            keep_drive(
                session,
                register,
                number=register.drive_number,
                model=state.form.fn_model,
                removed_at=now,
                close_fd_number=row.close_fd_number,
                close_fiscal_sign=row.close_fiscal_sign,
                close_date=row.close_date,
            )
            register.drive_number = None
            register.drive_expires_at = None
    elif answer.status == "processing":
        row.status = (
            ApplicationStatus.REPORT_SENT.value
            if row.report_fd_number is not None
            else ApplicationStatus.SENT.value
        )
        if row.report_fd_number is None and first:
            register.state = RegisterState.REGISTRATION_APPLICATION.value
    row.updated_at = now
    session.add(row)
    session.add(register)
    audit.record_by(
        session,
        clock,
        principal,
        action=f"registration.{row.status}",
        entity=_ENTITY,
        entity_id=register.id,
        kind=row.kind,
        fns_status=answer.status,
        rnm=row.rnm,
    )
    session.commit()


def _fail(session: Session, clock: Clock, principal: Principal, state: State, message: str) -> None:
    row = state.application
    assert row is not None
    row.last_error = message[:500]
    row.updated_at = clock.wall()
    session.add(row)
    audit.record_by(
        session,
        clock,
        principal,
        action="registration.gateway_failed",
        entity=_ENTITY,
        entity_id=state.register.id,
        error=message[:200],
    )
    session.commit()


def send(
    *, session: Session, clock: Clock, principal: Principal, register_id: int, gateway: FnsGateway
) -> State:
    """Submit the signed application; a gateway failure is kept in ``last_error``."""
    state = _load(session, principal, register_id)
    row = state.application
    if row is None or state.status != ApplicationStatus.SIGNED or row.signature is None:
        raise RegistrationStateError("Отправить можно только подписанное заявление")
    submit = (
        gateway.submit_deregistration
        if state.kind is ApplicationKind.DEREGISTRATION
        else gateway.submit
    )
    poa = None
    if row.signer_poa is not None:
        poa_row = session.exec(
            select(PowerOfAttorney)
            .where(PowerOfAttorney.company_id == state.company.id)
            .where(PowerOfAttorney.number == row.signer_poa)
            .order_by(col(PowerOfAttorney.id).desc())
        ).first()
        if poa_row is not None:
            poa = PoaFile(base64.b64decode(poa_row.xml), base64.b64decode(poa_row.signature))
    try:
        answer = submit(row.document.encode("utf-8"), base64.b64decode(row.signature), poa)
    except FnsUnavailableError as exc:
        _fail(session, clock, principal, state, exc.message)
        return _load(session, principal, register_id)
    row.sent_at = clock.wall()
    _apply(session, clock, principal, state, answer)
    return _load(session, principal, register_id)


def refresh(
    *, session: Session, clock: Clock, principal: Principal, register_id: int, gateway: FnsGateway
) -> State:
    """Ask the FNS about an application it is still considering."""
    state = _load(session, principal, register_id)
    row = state.application
    if row is None or state.status not in (ApplicationStatus.SENT, ApplicationStatus.REPORT_SENT):
        raise RegistrationStateError("ФНС сейчас ничего не рассматривает по этой кассе")
    assert row.fns_id is not None
    try:
        answer = gateway.poll(row.fns_id)
    except FnsUnavailableError as exc:
        _fail(session, clock, principal, state, exc.message)
        return _load(session, principal, register_id)
    _apply(session, clock, principal, state, answer)
    return _load(session, principal, register_id)


def send_report(
    *,
    session: Session,
    clock: Clock,
    principal: Principal,
    register_id: int,
    gateway: FnsGateway,
    fd_number: int,
    fiscal_sign: str,
    date: str,
    from_register: bool = False,
) -> State:
    """Send the registration report's requisites (FD number, fiscal sign, date) to the FNS,
    once they match the report the register sent the fleet (`report.check_requisites`; typed
    for a register whose documents Oblako does not hold: sent unchecked, marked "manual").
    ``from_register``: they are the register's own answer, so its document is waited for."""
    state = _load(session, principal, register_id)
    row = state.application
    if row is None or state.status != ApplicationStatus.RNM_ASSIGNED or row.fns_id is None:
        raise RegistrationStateError("Реквизиты отчёта отправляются после присвоения РНМ")
    fields: dict[str, str] = {}
    if fd_number <= 0:
        fields["fd_number"] = "Номер фискального документа — целое число больше нуля"
    if not (fiscal_sign.isascii() and fiscal_sign.isdigit() and 1 <= len(fiscal_sign) <= 10):
        fields["fiscal_sign"] = "Фискальный признак — до 10 цифр"
    try:
        dt.datetime.fromisoformat(date)
    except ValueError:
        fields["date"] = "Дата и время отчёта в формате ГГГГ-ММ-ДДTЧЧ:ММ"
    if fields:
        raise InvalidApplicationError("Реквизиты отчёта указаны неверно", fields=fields)
    rereg = state.kind is ApplicationKind.REREGISTRATION
    source = report.check_requisites(
        session,
        register_id,
        report.Requisites(
            state.register.drive_number or state.form.fn_number, fd_number, fiscal_sign, date
        ),
        DocType.REREGISTRATION if rereg else DocType.REGISTRATION,
        from_register=from_register,
    )
    try:
        answer = gateway.send_report(
            row.fns_id, fd_number=fd_number, fiscal_sign=fiscal_sign, date=date
        )
    except FnsUnavailableError as exc:
        _fail(session, clock, principal, state, exc.message)
        return _load(session, principal, register_id)
    if answer.status == "refused":
        # The report's requisites were refused, not the registration: keep the RNM, say why.
        _fail(session, clock, principal, state, "; ".join(answer.reasons) or "Отказ ФНС")
        return _load(session, principal, register_id)
    row.report_fd_number = fd_number
    row.report_fiscal_sign = fiscal_sign
    row.report_date = date
    row.report_source = source
    _apply(session, clock, principal, state, answer)
    return _load(session, principal, register_id)


def collect_report(
    *, session: Session, clock: Clock, principal: Principal, register_id: int, gateway: FnsGateway
) -> State:
    """If the register has answered the (re-)registration command (`report.order`), send the
    report's requisites to the FNS (`send_report`), or keep the register's refusal in
    ``last_error``; unchanged while it has not answered."""
    state = _load(session, principal, register_id)
    row = state.application
    if (
        row is None
        or state.kind is ApplicationKind.DEREGISTRATION
        or state.status != ApplicationStatus.RNM_ASSIGNED
    ):
        raise RegistrationStateError("Отчёт о регистрации ждут после присвоения РНМ")
    answer = report.outcome(session, row, register_id)
    if answer is None:
        return state
    if not answer.made:
        if row.last_error != answer.error[:500]:
            _fail(session, clock, principal, state, answer.error)
        return _load(session, principal, register_id)
    try:
        return send_report(
            session=session,
            clock=clock,
            principal=principal,
            register_id=register_id,
            gateway=gateway,
            fd_number=answer.fd_number,
            fiscal_sign=answer.fiscal_sign,
            date=answer.date,
            from_register=True,
        )
    except (ReportNotStoredError, ReportMismatchError) as exc:
        # nothing was sent: the report is waited for (or wrong) and the card says why
        session.rollback()
        text = "; ".join([exc.message, *exc.fields.values()])[:500]
        if row.last_error != text:
            _fail(session, clock, principal, _load(session, principal, register_id), text)
        return _load(session, principal, register_id)


def collect_reports(session: Session, clock: Clock, gateway: FnsGateway) -> int:
    """`collect_report` for every registration or re-registration waiting for its report;
    returns how many were sent to the FNS. Acts for each register's company (audited without
    a user)."""
    waiting = session.exec(
        select(RegistrationApplication, Register)
        .join(Register, col(Register.id) == RegistrationApplication.register_id)
        .where(RegistrationApplication.status == ApplicationStatus.RNM_ASSIGNED.value)
        .where(
            col(RegistrationApplication.kind).in_(
                [ApplicationKind.REGISTRATION.value, ApplicationKind.REREGISTRATION.value]
            )
        )
        .where(col(Register.company_id).is_not(None))
    ).all()
    sent = 0
    for row, register in waiting:
        if register.id is None or register.company_id is None:
            continue
        if report.outcome(session, row, register.id) is None:
            continue
        company = Principal(company_id=register.company_id, permissions=frozenset())
        try:
            state = collect_report(
                session=session,
                clock=clock,
                principal=company,
                register_id=register.id,
                gateway=gateway,
            )
        except RegistrationStateError:
            # Another process's job sent this report between our query and now (each
            # `oblako fleet serve` runs the job): nothing is left to do for it.
            continue
        if state.status != ApplicationStatus.RNM_ASSIGNED:
            sent += 1
    return sent
