"""Employees' signatures: the company's МЧД on record and the check of a signer against them.

A qualified certificate of a company's head carries the company's ИНН ЮЛ and ОГРН; since 2022 an
employee signs with their own certificate of a natural person (ИНН ФЛ, СНИЛС) and a
machine-readable power of attorney (63-ФЗ ст. 17.2 п. 2). The МЧД is uploaded with the head's
detached signature over its XML; the signer of an application must then be its representative
(by СНИЛС or ИНН ФЛ), inside its validity, with a power over cash registers.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Sequence

from sqlmodel import Session, col, select

from fleet import audit
from fleet.access.principal import Principal
from fleet.accounts.models import Company
from fleet.core.clock import Clock
from fleet.registration.exceptions import InvalidPoaError, InvalidSignatureError
from fleet.registration.models import PowerOfAttorney
from fleet.registration.ocsp import RevocationSource, check_status
from fleet.registration.poa import Poa, allows_kkt, parse_poa
from protocol.errors import KepError
from protocol.kep.verify import verify
from protocol.kep.x509 import CertInfo

__all__ = ["is_head", "list_poas", "poa_for_signer", "upload_poa"]

_DAY = 86400.0


def _start(day: dt.date) -> float:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).timestamp()


def _day(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%d.%m.%Y")


def is_head(cert: CertInfo, company: Company) -> bool:
    """Is the certificate the company's own (its head's): ИНН ЮЛ (or an ИП's ИНН) and ОГРН?"""
    inn = cert.org_inn if len(company.inn) == 10 else cert.person_inn
    return inn == company.inn and cert.ogrn == company.ogrn


def upload_poa(
    *,
    session: Session,
    clock: Clock,
    principal: Principal,
    company: Company,
    xml: bytes,
    signature: bytes,
    trusted_roots: Sequence[bytes],
    crls: RevocationSource = (),
) -> PowerOfAttorney:
    """Check the МЧД (the head's signature — not by a revoked certificate —, the principal = the
    company, the dates, a power over cash registers) and keep it for the company."""
    now = clock.wall()
    poa = parse_poa(xml)
    try:
        verified = verify(signature, xml, trusted_roots, now)
    except KepError as exc:
        raise InvalidPoaError(
            "Подпись доверенности не принята", fields={"poa_signature": str(exc)}
        ) from exc
    check_status(crls, verified, now, field="poa_signature")
    if not is_head(verified.certificate, company):
        raise InvalidPoaError(
            "Доверенность подписана не руководителем",
            fields={
                "poa_signature": "Машиночитаемую доверенность подписывает руководитель "
                f"компании (ИНН {company.inn}, ОГРН {company.ogrn}) своей КЭП; подпись "
                f"сделана сертификатом «{verified.name}»"
            },
        )
    _check_principal(poa, company)
    if _start(poa.valid_to) + _DAY <= now:
        raise InvalidPoaError(
            "Срок доверенности истёк",
            fields={"poa": f"Доверенность № {poa.number} действовала по {poa.valid_to:%d.%m.%Y}"},
        )
    if not allows_kkt(poa.powers):
        raise InvalidPoaError(
            "В доверенности нет нужного полномочия",
            fields={
                "poa": "Среди полномочий нет действий с контрольно-кассовой техникой "
                "(регистрация, перерегистрация, снятие ККТ с учёта)"
            },
        )
    row = PowerOfAttorney(
        company_id=company.id or 0,
        number=poa.number[:64],
        principal_inn=poa.principal_inn,
        principal_ogrn=poa.principal_ogrn,
        representative_name=poa.representative_name[:300],
        representative_snils=poa.representative_snils,
        representative_inn=poa.representative_inn,
        valid_from=_start(poa.valid_from),
        valid_to=_start(poa.valid_to) + _DAY,
        powers=json.dumps([p.text or p.code for p in poa.powers], ensure_ascii=False),
        xml=base64.b64encode(xml).decode(),
        signature=base64.b64encode(signature).decode(),
        uploaded_at=now,
    )
    session.add(row)
    session.flush()
    audit.record_by(
        session,
        clock,
        principal,
        action="registration.poa_uploaded",
        entity="poa",
        entity_id=row.id,
        number=row.number,
    )
    session.commit()
    return row


def _check_principal(poa: Poa, company: Company) -> None:
    if poa.principal_inn != company.inn or poa.principal_ogrn != company.ogrn:
        raise InvalidPoaError(
            "Доверенность выдана другой организацией",
            fields={
                "poa": f"Доверитель в доверенности: ИНН {poa.principal_inn}, ОГРН "
                f"{poa.principal_ogrn}; компания: ИНН {company.inn}, ОГРН {company.ogrn}"
            },
        )


def list_poas(session: Session, company_id: int) -> list[PowerOfAttorney]:
    """The company's МЧД, newest first."""
    return list(
        session.exec(
            select(PowerOfAttorney)
            .where(PowerOfAttorney.company_id == company_id)
            .order_by(col(PowerOfAttorney.id).desc())
        )
    )


def poa_for_signer(
    session: Session, company: Company, cert: CertInfo, now: float
) -> PowerOfAttorney:
    """The МЧД under which this person's certificate may sign for the company, or a precise
    refusal (no МЧД for this person, not yet valid, expired)."""
    person = " ".join(p for p in (cert.subject.get("2.5.4.4"), cert.subject.get("2.5.4.42")) if p)
    who = f"{person or cert.common_name} (СНИЛС {cert.snils or '—'}, ИНН {cert.person_inn or '—'})"
    mine = [
        p
        for p in list_poas(session, company.id or 0)
        if (cert.snils and p.representative_snils == cert.snils)
        or (cert.person_inn and p.representative_inn == cert.person_inn)
    ]
    if not mine:
        raise InvalidSignatureError(
            "Подпись сделана не руководителем компании",
            fields={
                "signature": f"Сертификат выдан физическому лицу {who}, а не организации "
                f"ИНН {company.inn}: сотрудник подписывает по машиночитаемой доверенности (МЧД). "
                "Загрузите МЧД, в которой он указан представителем, и подпишите заново"
            },
        )
    current = [p for p in mine if p.valid_from <= now < p.valid_to]
    if not current:
        last = max(mine, key=lambda p: p.valid_to)
        when = (
            f"действует с {_day(last.valid_from)}"
            if last.valid_from > now
            else f"действовала по {_day(last.valid_to - _DAY)}"
        )
        raise InvalidSignatureError(
            "Доверенность не действует",
            fields={"signature": f"Доверенность № {last.number} на {who} {when}"},
        )
    return max(current, key=lambda p: p.valid_to)
